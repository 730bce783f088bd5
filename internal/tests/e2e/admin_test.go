package e2e

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
)

// wantRefused fails unless the response's first error has code and a
// message containing every one of subs.
func wantRefused(t *testing.T, what string, r gqlResponse, code string, subs ...string) {
	t.Helper()
	if r.code() != code {
		t.Fatalf("%s: code %q, want %q: %s", what, r.code(), code, r.Raw)
	}
	for _, s := range subs {
		if !strings.Contains(r.Errors[0].Message, s) {
			t.Fatalf("%s: message %q does not say %q", what, r.Errors[0].Message, s)
		}
	}
}

func wantOK(t *testing.T, what string, r gqlResponse) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("%s: %s", what, r.Raw)
	}
}

// TestAdminConnection: a DATABASE connection whose users hold admin scopes.
// Its users' login returns a management token with exactly those scopes;
// nobody grants, signs up into or manages the users of such a connection
// without holding every scope it grants.
func TestAdminConnection(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := e.adminClient()
		res, err := client.CreateConnection(ctx, admin, client.ConnectionInput{Name: "staff", Strategy: client.StrategyDatabase, AdminScopes: []string{"read:users"}})
		mustNoErr(t, err)
		if got := res.CreateConnection.AdminScopes; !reflect.DeepEqual(got, []string{"read:users"}) {
			t.Fatalf("adminScopes = %v", got)
		}
		createDBConnection(t, e, "main")
		count := func() int {
			n, err := e.store.CountUsers(ctx)
			mustNoErr(t, err)
			return n
		}
		createStaff := `mutation($e: String!) { createUser(input: {connection: "staff", email: $e, password: "staff-password-1"}) { id } }`

		// create:users without read:users cannot make a user who reads users.
		before := count()
		wantRefused(t, "createUser without read:users", e.raw(e.token(policy.ScopeCreateUsers), createStaff, map[string]any{"e": "sneaky@example.com"}),
			"FORBIDDEN", "read:users")
		if count() != before {
			t.Fatal("a refused createUser stored a user")
		}

		// An administrator holding read:users creates one.
		r := e.raw(e.token(policy.ScopeCreateUsers, policy.ScopeReadUsers), createStaff, map[string]any{"e": "boss@example.com"})
		wantOK(t, "createUser with read:users", r)
		var created struct{ CreateUser struct{ ID string } }
		mustNoErr(t, json.Unmarshal(r.Data, &created))
		boss := created.CreateUser.ID
		// The same person also has an account on an ordinary connection.
		_, err = client.CreateUser(ctx, admin, client.CreateUserInput{Connection: "main", Email: "boss@example.com", Password: ptr("main-password-1")})
		mustNoErr(t, err)

		// Login returns a management token with exactly read:users.
		login, err := client.Login(ctx, e.client(""), "staff", "boss@example.com", "staff-password-1")
		mustNoErr(t, err)
		lr := login.Login
		if lr.ManagementToken == nil || *lr.ManagementToken == "" || !reflect.DeepEqual(lr.ManagementScopes, []string{"read:users"}) ||
			lr.ManagementExpiresIn == nil || *lr.ManagementExpiresIn != 3600 {
			t.Fatalf("login = token %v scopes %v expires %v", lr.ManagementToken != nil, lr.ManagementScopes, lr.ManagementExpiresIn)
		}
		mt := *lr.ManagementToken
		caller, err := e.keyring.Verify(mt)
		mustNoErr(t, err)
		if caller.Self || caller.Subject != "user:"+boss || len(caller.Scopes) != 1 || !caller.Has(policy.ScopeReadUsers) {
			t.Fatalf("management token = %+v", caller)
		}
		// The user tokens stay self-service.
		if u, err := e.keyring.Verify(lr.AccessToken); err != nil || !u.Self || u.Has(policy.ScopeReadUsers) {
			t.Fatalf("access token = %+v, %v", u, err)
		}

		// The management token reads users, and nothing more.
		r = e.raw(mt, `{ users { totalCount } }`, nil)
		wantOK(t, "users with the admin's token", r)
		if !strings.Contains(r.Raw, `"totalCount":2`) {
			t.Fatalf("users = %s", r.Raw)
		}
		wantRefused(t, "updateUser with the admin's token", e.raw(mt, `mutation($id: ID!) { updateUser(id: $id, input: {name: "x"}) { id } }`, map[string]any{"id": boss}), "FORBIDDEN")
		wantRefused(t, "connections with the admin's token", e.raw(mt, `{ connections { name } }`, nil), "FORBIDDEN")
		wantRefused(t, "me with the admin's token", e.raw(mt, `{ me { id } }`, nil), "FORBIDDEN")

		// The login is in the user's history with the scopes handed out,
		// never the token.
		r = e.raw(e.admin, `query($id: ID!) { user(id: $id) { logs { edges { node { type detail } } } } }`, map[string]any{"id": boss})
		wantOK(t, "logs", r)
		if !strings.Contains(r.Raw, `"type":"login","detail":"management token: read:users"`) || strings.Contains(r.Raw, mt) {
			t.Fatalf("logs = %s", r.Raw)
		}

		// The same person's login on an ordinary connection gets no
		// management token.
		plain, err := client.Login(ctx, e.client(""), "main", "boss@example.com", "main-password-1")
		mustNoErr(t, err)
		if plain.Login.ManagementToken != nil || len(plain.Login.ManagementScopes) != 0 || plain.Login.ManagementExpiresIn != nil {
			t.Fatalf("login on main = %+v", plain.Login)
		}

		// Nobody signs up on it.
		before = count()
		wantRefused(t, "signup", e.raw("", `mutation { signup(connection: "staff", email: "me@example.com", password: "signup-password-1") { id } }`, nil),
			"FORBIDDEN", "self-signup is disabled on a connection that grants admin scopes")
		if count() != before {
			t.Fatal("a refused signup stored a user")
		}

		// update:connections alone cannot grant update:users.
		grant := `mutation($s: [String!]) { updateConnection(name: "staff", input: {adminScopes: $s, syncUserProfile: false}) { adminScopes syncUserProfile } }`
		r = e.raw(e.token(policy.ScopeUpdateConnections, policy.ScopeReadUsers), grant, map[string]any{"s": []string{"read:users", "update:users"}})
		wantRefused(t, "granting update:users without it", r, "FORBIDDEN", "update:users")
		if f, _ := r.Errors[0].Extensions["field"].(string); f != "adminScopes" {
			t.Fatalf("field = %q", f)
		}
		c, err := e.store.ConnectionByName(ctx, "staff")
		mustNoErr(t, err)
		if !reflect.DeepEqual(c.AdminScopes, []policy.Scope{policy.ScopeReadUsers}) || !c.SyncUserProfile {
			t.Fatalf("a refused update changed the connection: %+v %v", c.AdminScopes, c.SyncUserProfile)
		}
		// Sending the list unchanged grants nothing, so it needs nothing.
		r = e.raw(e.token(policy.ScopeUpdateConnections), grant, map[string]any{"s": []string{"read:users"}})
		wantOK(t, "unchanged adminScopes", r)

		// Writes on its users need every scope it grants.
		idVars := map[string]any{"id": boss}
		upd := e.token(policy.ScopeUpdateUsers, policy.ScopeUpdateUsersAppMetadata)
		for name, q := range map[string]string{
			"updateUser":        `mutation($id: ID!) { updateUser(id: $id, input: {password: "taken-over-pw-1"}) { id } }`,
			"appMetadata":       `mutation($id: ID!) { updateUser(id: $id, input: {appMetadata: {role: "x"}}) { id } }`,
			"changePassword":    `mutation($id: ID!) { changePassword(id: $id, password: "taken-over-pw-1") }`,
			"markEmailVerified": `mutation($id: ID!) { markEmailVerified(id: $id) { id } }`,
		} {
			wantRefused(t, name+" without read:users", e.raw(upd, q, idVars), "FORBIDDEN", "lacks read:users")
		}
		wantRefused(t, "resetPassword without read:users",
			e.raw(upd, `mutation { resetPassword(connection: "staff", email: "boss@example.com", password: "taken-over-pw-1") }`, nil), "FORBIDDEN", "read:users")
		wantRefused(t, "deleteUser without read:users",
			e.raw(e.token(policy.ScopeDeleteUsers), `mutation($id: ID!) { deleteUser(id: $id) }`, idVars), "FORBIDDEN", "read:users")
		wantRefused(t, "importUsers without read:users",
			e.importUsers(t, e.token(policy.ScopeCreateUsers), "staff", ndjson(t, map[string]any{"email": "imported@example.com"}), false), "FORBIDDEN", "read:users")
		// Nothing changed: the password still works.
		_, err = client.Login(ctx, e.client(""), "staff", "boss@example.com", "staff-password-1")
		mustNoErr(t, err)
		if count() != before {
			t.Fatal("a refused write changed the users")
		}
		// With the scope the same writes go through.
		wantOK(t, "updateUser with read:users", e.raw(e.token(policy.ScopeUpdateUsers, policy.ScopeReadUsers),
			`mutation($id: ID!) { updateUser(id: $id, input: {name: "The Boss"}) { id } }`, idVars))

		// The management token expires after an hour.
		e.clock.Advance(time.Hour + time.Minute)
		wantRefused(t, "an expired admin token", e.raw(mt, `{ users { totalCount } }`, nil), "UNAUTHENTICATED")

		// Removing the scopes needs none, and ends the grant.
		wantOK(t, "clearing adminScopes", e.raw(e.token(policy.ScopeUpdateConnections), grant, map[string]any{"s": []string{}}))
		again, err := client.Login(ctx, e.client(""), "staff", "boss@example.com", "staff-password-1")
		mustNoErr(t, err)
		if again.Login.ManagementToken != nil {
			t.Fatal("a connection without admin scopes still hands out management tokens")
		}
	})
}

// TestAdminScopesValidation: only known management scopes, each once, on
// DATABASE connections only — BAD_USER_INPUT naming adminScopes otherwise.
func TestAdminScopesValidation(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		create := `mutation($n: String!, $st: Strategy!, $s: [String!]) { createConnection(input: {name: $n, strategy: $st, adminScopes: $s}) { name } }`
		for _, tc := range []struct {
			name     string
			strategy string
			scopes   []string
			msg      string
		}{
			{"custom", "CUSTOM_DATABASE", []string{"read:users"}, "DATABASE connections only"},
			{"oidc", "OIDC", []string{"read:users"}, "DATABASE connections only"},
			{"unknown", "DATABASE", []string{"read:user"}, `"read:user" is not a management scope`},
			{"self-service", "DATABASE", []string{"read:current_user"}, "not a management scope"},
			{"duplicate", "DATABASE", []string{"read:users", "read:users"}, "more than once"},
		} {
			r := e.raw(e.admin, create, map[string]any{"n": "c-" + tc.name, "st": tc.strategy, "s": tc.scopes})
			wantRefused(t, tc.name, r, "BAD_USER_INPUT", tc.msg)
			if f, _ := r.Errors[0].Extensions["field"].(string); f != "adminScopes" {
				t.Fatalf("%s: field = %q", tc.name, f)
			}
			if _, err := e.store.ConnectionByName(context.Background(), "c-"+tc.name); err == nil {
				t.Fatalf("%s: a refused createConnection stored the connection", tc.name)
			}
		}
		// An empty list is no grant: fine on any strategy.
		wantOK(t, "empty list", e.raw(e.admin, `mutation($s: [String!]) { createConnection(input: {name: "legacy", strategy: CUSTOM_DATABASE, databaseURL: "mysql://app@db.example/legacy", adminScopes: $s}) { name } }`,
			map[string]any{"s": []string{}}))
		r := e.raw(e.admin, `mutation { updateConnection(name: "legacy", input: {adminScopes: ["read:users"]}) { name } }`, nil)
		wantRefused(t, "update of a custom database", r, "BAD_USER_INPUT", "DATABASE connections only")

		// Creating with scopes needs them all.
		r = e.raw(e.token(policy.ScopeCreateConnections, policy.ScopeReadUsers), create,
			map[string]any{"n": "ops", "st": "DATABASE", "s": []string{"read:users", "delete:users"}})
		wantRefused(t, "create granting delete:users without it", r, "FORBIDDEN", "lacks delete:users")
		wantOK(t, "create granting what it holds", e.raw(e.token(policy.ScopeCreateConnections, policy.ScopeReadUsers), create,
			map[string]any{"n": "ops", "st": "DATABASE", "s": []string{"read:users"}}))
	})
}
