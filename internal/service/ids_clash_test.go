//go:build unix

package service_test

import (
	"context"
	"testing"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// A new user whose id is already taken (ids are predictable, and an import
// may bring its own) gets another id instead of USER_EXISTS.
func TestCreateUserSkipsATakenID(t *testing.T) {
	stores(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := newJobEnv(t, url, 0, nil) // connection "imp"
		ids := []string{"aaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbb"}
		restore := service.SetUserIDSource(func() string { id := ids[0]; ids = ids[1:]; return id })
		defer restore()
		admin := policy.Caller{Subject: "admin", Scopes: map[policy.Scope]bool{policy.ScopeCreateUsers: true}}
		first, err := e.svc.CreateUser(ctx, admin, "imp", policy.Create{Email: "first@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		second, err := e.svc.CreateUser(ctx, admin, "imp", policy.Create{Email: "second@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatalf("second user, whose first id was taken: %v", err)
		}
		if first.ID != "imp|aaaaaaaaaaaaaaaaaaaaaaaa" || second.ID != "imp|bbbbbbbbbbbbbbbbbbbbbbbb" {
			t.Fatalf("ids %q and %q", first.ID, second.ID)
		}
		if got, err := e.store.UserByID(ctx, second.ID); err != nil || got.Email != "second@example.com" {
			t.Fatalf("stored second user: %+v, %v", got, err)
		}
	})
}
