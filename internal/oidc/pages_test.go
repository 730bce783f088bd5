package oidc

import (
	"errors"
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/service"
)

// The hosted sign-up page names the field that clashes: a taken username
// is not reported as a taken email (the person would change the wrong
// field).
func TestSignupMessageNamesTheClashingField(t *testing.T) {
	for _, tc := range []struct {
		field, want, not string
	}{
		{"email", "email", "username"},
		{"username", "username", "email"},
	} {
		err := &service.Error{Code: service.CodeUserExists, Field: tc.field, Message: "x", Err: errors.New("conflict")}
		got := signupMessage(err)
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) {
			t.Errorf("clash on %s: %q, want it to name the %s only", tc.field, got, tc.want)
		}
	}
}
