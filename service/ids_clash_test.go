//go:build unix

package service_test

import (
	"context"
	"testing"

	"github.com/profiled/profiled/db"
	"github.com/profiled/profiled/internal/testenv"
	"github.com/profiled/profiled/passwords"
	"github.com/profiled/profiled/policy"
	"github.com/profiled/profiled/service"
)

// A new user whose id is already taken (ids are predictable, and an import
// may bring its own) gets another id instead of USER_EXISTS.
func TestCreateUserSkipsATakenID(t *testing.T) {
	stores(t, func(t *testing.T, url string) {
		ctx := context.Background()
		store, err := db.Open(ctx, url)
		testenv.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		hasher, err := passwords.New(passwords.Config{BcryptCost: 4})
		testenv.NoError(t, err)
		svc := service.New(store, hasher, nil, nil, service.Config{})
		_, err = svc.CreateConnection(ctx, service.ConnectionSpec{Name: "imp", Strategy: policy.StrategyDatabase})
		testenv.NoError(t, err)
		ids := []string{"aaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbb"}
		restore := service.SetUserIDSource(func() string { id := ids[0]; ids = ids[1:]; return id })
		defer restore()
		admin := policy.Caller{Subject: "admin", Scopes: map[policy.Scope]bool{policy.ScopeCreateUsers: true}}
		first, err := svc.CreateUser(ctx, admin, "imp", policy.Create{Email: "first@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		second, err := svc.CreateUser(ctx, admin, "imp", policy.Create{Email: "second@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatalf("second user, whose first id was taken: %v", err)
		}
		if first.ID != "imp|aaaaaaaaaaaaaaaaaaaaaaaa" || second.ID != "imp|bbbbbbbbbbbbbbbbbbbbbbbb" {
			t.Fatalf("ids %q and %q", first.ID, second.ID)
		}
		if got, err := store.UserByID(ctx, second.ID); err != nil || got.Email != "second@example.com" {
			t.Fatalf("stored second user: %+v, %v", got, err)
		}
	})
}
