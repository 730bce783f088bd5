package auth

import (
	"errors"
	"reflect"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/profiled/profiled/internal/policy"
)

// TestAPITokens: a token for one of the customer's APIs carries the
// grant's scopes and, only when the grant has one, the permissions claim;
// this service never accepts it; its own audience is refused.
func TestAPITokens(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now})
	u := policy.User{ID: "profiled|ada", PasswordHash: "$2a$10$secret"}
	const aud = "https://orders.example.com"
	claims := func(tok string) jwt.MapClaims {
		t.Helper()
		c := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	tok, exp, err := k.IssueAPI(u, aud, policy.APITokenGrant{Scopes: []string{"openid", "read:orders"}, Permissions: []string{}})
	if err != nil || exp != DefaultUserTTL {
		t.Fatalf("IssueAPI: %v, %v", exp, err)
	}
	c := claims(tok)
	if c["aud"] != aud || c["sub"] != u.ID || c["scope"] != "openid read:orders" || c["token_use"] != TokenUseAPI {
		t.Fatalf("claims = %v", c)
	}
	if p, ok := c["permissions"].([]any); !ok || len(p) != 0 {
		t.Fatalf("an empty grant list must give an empty claim, got %#v", c["permissions"])
	}
	if _, err := k.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("Verify accepted an API token: %v", err)
	}
	tok, _, err = k.IssueAPI(u, aud, policy.APITokenGrant{Permissions: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	c = claims(tok)
	if _, ok := c["scope"]; ok || !reflect.DeepEqual(c["permissions"], []any{"a", "b"}) {
		t.Fatalf("claims = %v", c)
	}
	tok, _, _ = k.IssueAPI(u, aud, policy.APITokenGrant{Scopes: []string{"read:orders"}})
	if _, ok := claims(tok)["permissions"]; ok {
		t.Fatal("a nil grant list gave a permissions claim")
	}
	for _, bad := range []struct {
		u   policy.User
		aud string
		g   policy.APITokenGrant
	}{
		{u, k.OwnAudience(), policy.APITokenGrant{}},
		{u, "", policy.APITokenGrant{}},
		{policy.User{}, aud, policy.APITokenGrant{}},
		{u, aud, policy.APITokenGrant{Scopes: []string{"a b"}}},
	} {
		if _, _, err := k.IssueAPI(bad.u, bad.aud, bad.g); err == nil {
			t.Errorf("IssueAPI(%q, %q, %v) accepted", bad.u.ID, bad.aud, bad.g)
		}
	}
}
