package e2e

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// TestAdminScopesGrantOnlyWhileEmpty: adding a scope to a connection's
// adminScopes is refused (FORBIDDEN, field adminScopes) once it has a user
// or an import in progress — whoever asks, even holding every scope —
// since the grant would reach accounts that joined without its
// safeguards. Removing scopes is always allowed; adding them while the
// connection is empty too.
func TestAdminScopesGrantOnlyWhileEmpty(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		update := `mutation($n: String!, $s: [String!]) { updateConnection(name: $n, input: {adminScopes: $s}) { adminScopes } }`
		scopesOf := func(name string) []policy.Scope {
			c, err := e.store.ConnectionByName(ctx, name)
			mustNoErr(t, err)
			return c.AdminScopes
		}
		refusedGrant := func(what, name string, scopes []string, added string) {
			t.Helper()
			before := scopesOf(name)
			r := e.raw(e.admin, update, map[string]any{"n": name, "s": scopes})
			wantRefused(t, what, r, "FORBIDDEN", "already has users", added, "Create a new connection for admins")
			if f, _ := r.Errors[0].Extensions["field"].(string); f != "adminScopes" {
				t.Fatalf("%s: field = %q", what, f)
			}
			if got := scopesOf(name); !reflect.DeepEqual(got, before) {
				t.Fatalf("%s: a refused grant changed adminScopes to %v", what, got)
			}
		}

		// Someone signed up on "staff" before anyone thought of making it
		// an admin connection.
		createDBConnection(t, e, "staff")
		wantOK(t, "signup", e.raw("", `mutation { signup(connection: "staff", email: "early@example.com", password: "signup-password-1") { id } }`, nil))
		refusedGrant("granting on a connection with a user", "staff", []string{"read:users"}, "read:users")
		login, err := client.Login(ctx, e.client(""), "staff", "early@example.com", "signup-password-1")
		mustNoErr(t, err)
		if login.Login.ManagementToken != nil {
			t.Fatal("the early user got a management token")
		}

		// Created with scopes: allowed (no user yet); adding more while
		// still empty: allowed.
		_, err = client.CreateConnection(ctx, e.adminClient(), client.ConnectionInput{Name: "admins", Strategy: client.StrategyDatabase, AdminScopes: []string{"read:users"}})
		mustNoErr(t, err)
		wantOK(t, "adding while empty", e.raw(e.admin, update, map[string]any{"n": "admins", "s": []string{"read:users", "update:users"}}))
		if got := scopesOf("admins"); !reflect.DeepEqual(got, []policy.Scope{policy.ScopeReadUsers, policy.ScopeUpdateUsers}) {
			t.Fatalf("adminScopes = %v", got)
		}
		// Its first admin, by an administrator holding both scopes.
		wantOK(t, "createUser", e.raw(e.admin, `mutation { createUser(input: {connection: "admins", email: "boss@example.com", password: "boss-password-1"}) { id } }`, nil))
		// Now adding is refused, also when the list also drops a scope.
		refusedGrant("adding to an admin connection with a user", "admins", []string{"read:users", "update:users", "delete:users"}, "delete:users")
		refusedGrant("swapping a scope", "admins", []string{"read:users", "delete:users"}, "delete:users")
		// Removing is allowed, and so is sending the list unchanged.
		wantOK(t, "unchanged", e.raw(e.admin, update, map[string]any{"n": "admins", "s": []string{"update:users", "read:users"}}))
		wantOK(t, "removing one", e.raw(e.admin, update, map[string]any{"n": "admins", "s": []string{"read:users"}}))
		wantOK(t, "removing all", e.raw(e.admin, update, map[string]any{"n": "admins", "s": []string{}}))
		if got := scopesOf("admins"); len(got) != 0 {
			t.Fatalf("adminScopes = %v", got)
		}
		// Once removed, putting one back is adding.
		refusedGrant("putting a removed scope back", "admins", []string{"read:users"}, "read:users")

		// An import in progress (pending or running) counts as users.
		createDBConnection(t, e, "importing")
		now := time.Now().UTC()
		mustNoErr(t, e.store.InsertJob(ctx, service.Job{ID: "job_pending_grant", Type: service.JobImport, Connection: "importing",
			Status: service.JobPending, CreatedAt: now, UpdatedAt: now}))
		refusedGrant("granting during an import", "importing", []string{"read:users"}, "read:users")
		mustNoErr(t, e.store.SaveJobProgress(ctx, service.Job{ID: "job_pending_grant", Status: service.JobFailed, Message: "test", UpdatedAt: now}))
		wantOK(t, "granting once the import ended", e.raw(e.admin, update, map[string]any{"n": "importing", "s": []string{"read:users"}}))
	})
}
