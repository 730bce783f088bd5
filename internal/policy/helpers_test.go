package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	created = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	now     = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

// allActions is a script module exporting every action.
func allActions() map[Action]bool {
	return map[Action]bool{
		ActionLogin: true, ActionGetUser: true, ActionCreate: true, ActionVerify: true,
		ActionChangePassword: true, ActionDelete: true, ActionChangeEmail: true,
	}
}

// baseUser builds a fresh user of connection conn (a new value each call,
// so tests can compare against it after a call to check nothing mutated).
func baseUser(conn string) User {
	last := created.Add(time.Hour)
	return User{
		ID:            UserIDFor(conn, "42"),
		Connection:    conn,
		Email:         "ada@example.com",
		EmailVerified: false,
		Username:      "ada",
		PhoneNumber:   "+15550000000",
		Name:          "Ada Lovelace",
		GivenName:     "Ada",
		FamilyName:    "Lovelace",
		Nickname:      "ada",
		Picture:       "https://example.com/ada.png",
		UserMetadata:  Metadata{"lang": "en", "theme": Metadata{"color": "blue"}},
		AppMetadata:   Metadata{"plan": "free"},
		Identities:    []Identity{{Connection: conn, Provider: "x", UserID: "42"}},
		CreatedAt:     created,
		UpdatedAt:     created,
		LastLogin:     &last,
		LastIP:        "192.0.2.1",
		LoginsCount:   3,
	}
}

func admin() Caller {
	return Caller{Subject: "client-1", Scopes: map[Scope]bool{ScopeUpdateUsers: true}}
}

// wantRefusal fails unless err is a *Refusal with reason and field.
func wantRefusal(t *testing.T, err error, reason Reason, field string) *Refusal {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("err = %v (%T), want *Refusal %s on %q", err, err, reason, field)
	}
	if r.Reason != reason || r.Field != field {
		t.Fatalf("refusal = %s on %q (%q), want %s on %q", r.Reason, r.Field, r.Message, reason, field)
	}
	if r.Message == "" || r.Error() != r.Message {
		t.Fatalf("refusal message %q: want non-empty and equal to Error()", r.Message)
	}
	return r
}

func wantContains(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not contain %q", s, sub)
		}
	}
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
