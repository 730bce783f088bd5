package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/service"
)

type reason string

func (r reason) Error() string            { return "revoked: " + string(r) }
func (r reason) RevocationReason() string { return string(r) }

func TestRecheckRefusal(t *testing.T) {
	// A revocation says why.
	err := recheckRefusal(fmt.Errorf("wrapped: %w", reason("its user is blocked")))
	var te *TokenError
	if !errors.As(err, &te) || te.Reason != ReasonRevoked || te.Detail != "its user is blocked" || !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revocation: %#v", err)
	}
	// The store being down is not a revocation: it stays a store outage.
	down := fmt.Errorf("recheck: %w: dial tcp 10.0.0.5:3306: connection refused", service.ErrUnavailable)
	if err := recheckRefusal(down); !errors.Is(err, service.ErrUnavailable) || errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("outage: %v", err)
	}
	// Anything else refuses without telling the holder the error's text.
	err = recheckRefusal(errors.New("db: user \"x\": secret internals"))
	if !errors.As(err, &te) || te.Reason != ReasonRevoked || strings.Contains(err.Error(), "internals") {
		t.Fatalf("other error: %v", err)
	}
}
