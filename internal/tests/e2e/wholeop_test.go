package e2e

import (
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/policy"
)

// TestRefusedOperationWritesNothing: what a caller may select and the
// bounds of every argument are decided before any resolver runs, so an
// operation refused anywhere is refused whole and writes nothing.
func TestRefusedOperationWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		wantOK(t, "connection", e.raw(e.admin, `mutation { createConnection(input: {name: "main", strategy: DATABASE}) { name } }`, nil))
		count := func(email string) int {
			r := e.raw(e.admin, `query($e: String!) { usersByEmail(email: $e) { id } }`, map[string]any{"e": email})
			return strings.Count(string(r.Data), `"id"`)
		}
		creator := e.token(policy.ScopeCreateUsers)

		// createUser { logs } without read:users: FORBIDDEN, no user.
		r := e.raw(creator, `mutation { createUser(input: {connection: "main", email: "ann@example.com", password: "ann-password-1"}) { id logs { edges { node { type } } } } }`, nil)
		wantRefused(t, "createUser { logs } without read:users", r, "FORBIDDEN", "read:users")
		if string(r.Data) != "null" && len(r.Data) != 0 {
			t.Fatalf("data = %s", r.Data)
		}
		if n := count("ann@example.com"); n != 0 {
			t.Fatalf("the refused createUser stored %d user(s)", n)
		}
		// Through a fragment, and on fieldRules: the same.
		r = e.raw(creator, `mutation { createUser(input: {connection: "main", email: "ann@example.com", password: "ann-password-1"}) { ...F } } fragment F on User { id fieldRules { field } }`, nil)
		wantRefused(t, "createUser { ...F(fieldRules) }", r, "FORBIDDEN", "read:users")
		if n := count("ann@example.com"); n != 0 {
			t.Fatalf("the refused createUser stored %d user(s)", n)
		}
		// Anonymous login selecting logs: refused before the login runs.
		r = e.raw("", `mutation { login(connection: "main", email: "x@example.com", password: "whatever-1") { user { logs { edges { cursor } } } } }`, nil)
		wantRefused(t, "anonymous login { user { logs } }", r, "UNAUTHENTICATED")

		// updateUser { logs(first: 500) }: BAD_USER_INPUT, nothing changed.
		wantOK(t, "createUser", e.raw(creator, `mutation { createUser(input: {connection: "main", email: "bob@example.com", password: "bob-password-1"}) { id } }`, nil))
		r = e.raw(e.admin, `{ usersByEmail(email: "bob@example.com") { id } }`, nil)
		id := strings.Split(strings.Split(string(r.Data), `"id":"`)[1], `"`)[0]
		r = e.raw(e.admin, `mutation($id: ID!) { updateUser(id: $id, input: {userMetadata: {theme: "dark"}}) { id logs(first: 500) { edges { cursor } } } }`, map[string]any{"id": id})
		wantRefused(t, "updateUser { logs(first: 500) }", r, "BAD_USER_INPUT", "between 1 and 100")
		r = e.raw(e.admin, `mutation($id: ID!, $n: Int) { updateUser(id: $id, input: {userMetadata: {theme: "dark"}}) { id logs(first: $n) { edges { cursor } } } }`, map[string]any{"id": id, "n": 0})
		wantRefused(t, "updateUser { logs(first: $n = 0) }", r, "BAD_USER_INPUT", "between 1 and 100")
		r = e.raw(e.admin, `query($id: ID!) { user(id: $id) { userMetadata } }`, map[string]any{"id": id})
		if strings.Contains(string(r.Data), "dark") {
			t.Fatalf("a refused updateUser changed the user: %s", r.Data)
		}
		// In bounds, it runs.
		wantOK(t, "updateUser { logs(first: 100) }", e.raw(e.admin, `mutation($id: ID!) { updateUser(id: $id, input: {userMetadata: {theme: "dark"}}) { id logs(first: 100) { edges { cursor } } } }`, map[string]any{"id": id}))
	})
}
