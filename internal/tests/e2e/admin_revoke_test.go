package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
)

// TestAdminTokenDiesWithItsRights: the management token an admin
// connection's user gets at login stops working as soon as the user is
// blocked or deleted or the connection stops granting its scopes — not at
// its expiry an hour later — and works again when the rights come back.
func TestAdminTokenDiesWithItsRights(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := e.adminClient()
		_, err := client.CreateConnection(ctx, admin, client.ConnectionInput{Name: "staff", Strategy: client.StrategyDatabase, AdminScopes: []string{"read:users"}})
		mustNoErr(t, err)
		r := e.raw(e.admin, `mutation { createUser(input: {connection: "staff", email: "boss@example.com", password: "staff-password-1"}) { id } }`, nil)
		wantOK(t, "createUser", r)
		var created struct{ CreateUser struct{ ID string } }
		mustNoErr(t, json.Unmarshal(r.Data, &created))
		boss := created.CreateUser.ID
		login, err := client.Login(ctx, e.client(""), "staff", "boss@example.com", "staff-password-1")
		mustNoErr(t, err)
		mt := *login.Login.ManagementToken
		read := func() gqlResponse { return e.raw(mt, `{ users { totalCount } }`, nil) }
		wantOK(t, "the admin's token", read())

		setBlocked := func(b bool) {
			wantOK(t, "block", e.raw(e.admin, `mutation($id: ID!, $b: Boolean!) { updateUser(id: $id, input: {blocked: $b}) { id } }`, map[string]any{"id": boss, "b": b}))
		}
		setBlocked(true)
		wantRefused(t, "the token of a blocked admin", read(), "UNAUTHENTICATED", "revoked", "blocked")
		setBlocked(false)
		wantOK(t, "the token once unblocked", read())

		wantOK(t, "withdraw read:users", e.raw(e.admin, `mutation { updateConnection(name: "staff", input: {adminScopes: []}) { name } }`, nil))
		wantRefused(t, "the token once its scope is withdrawn", read(), "UNAUTHENTICATED", "revoked", `no longer grants read:users`)

		// An operator's token (not tied to a user) is not affected.
		wantOK(t, "an operator token", e.raw(e.token(policy.ScopeReadUsers), `{ users { totalCount } }`, nil))

		wantOK(t, "delete", e.raw(e.admin, `mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": boss}))
		wantRefused(t, "the token of a deleted admin", read(), "UNAUTHENTICATED", "revoked", "no longer exists")
	})
}
