package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestClaimTypesStrict: a token signed by the service's own key whose
// exp, iat or nbf is a quoted number, or whose sub or scope is not a
// string, is refused (RFC 7519 NumericDate is a JSON number).
func TestClaimTypesStrict(t *testing.T) {
	k := newKeyring(t, &memStore{}, Config{})
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{
			"iss": DefaultIssuer, "aud": DefaultAudience, "sub": "ops",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"jti": "j1", "token_use": TokenUseManagement, "scope": "read:users",
		}
	}
	tok, err := k.sign(typAccessToken, good())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Verify(tok); err != nil {
		t.Fatalf("the well-typed token is refused: %v", err)
	}
	for name, bad := range map[string]any{
		"exp":   "9999999999",
		"iat":   "1",
		"nbf":   "1",
		"sub":   42,
		"scope": []string{"read:users"},
		"aud":   7,
	} {
		c := good()
		c[name] = bad
		tok, err := k.sign(typAccessToken, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("%s = %#v accepted (err %v)", name, bad, err)
		}
	}
}
