package auth

import (
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// The ID token's profile claims are exactly the table's Claim fields: all
// of them for a full profile, none for the others, email_verified only
// beside an email.
func TestIDTokenClaimsFollowProfileTable(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u := policy.User{
		ID: "db|1", Connection: "db", Email: "a@example.com", EmailVerified: false, Username: "a",
		PhoneNumber: "+1555", PhoneVerified: true, Name: "A B", GivenName: "A", FamilyName: "B", Nickname: "ab",
		Picture: "https://example.com/a.png", Blocked: true, PasswordHash: "$2a$10$x",
		CreatedAt: at, UpdatedAt: at, LastLogin: &at, LastIP: "192.0.2.1", LoginsCount: 2,
		UserMetadata: policy.Metadata{"k": "v"}, AppMetadata: policy.Metadata{"role": "admin"},
	}
	c := IDTokenClaims(u)
	n := 0
	for _, f := range policy.ProfileFields {
		if f.Claim == "" {
			continue
		}
		n++
		if _, ok := c[f.Claim]; !ok {
			t.Errorf("claim %s (field %s) missing from a full profile's ID token", f.Claim, f.Name)
		}
	}
	if len(c) != n {
		t.Errorf("claims = %v, want only the table's %d Claim fields", c, n)
	}
	if c["email_verified"] != false || c["updated_at"] != at.Unix() {
		t.Errorf("email_verified = %v, updated_at = %v", c["email_verified"], c["updated_at"])
	}
	u.Email = ""
	if v, ok := IDTokenClaims(u)["email_verified"]; ok {
		t.Errorf("email_verified = %v without an email", v)
	}
	if c := IDTokenClaims(policy.User{ID: "x", EmailVerified: true}); len(c) != 0 {
		t.Errorf("a sparse profile's claims = %v", c)
	}
}
