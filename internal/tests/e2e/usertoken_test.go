package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/profiled/profiled/client"
)

// TestUserTokenDiesWithItsUser: a user token stops working as soon as its
// user is blocked or deleted, not at its expiry.
func TestUserTokenDiesWithItsUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		wantOK(t, "connection", e.raw(e.admin, `mutation { createConnection(input: {name: "main", strategy: DATABASE}) { name } }`, nil))
		login := func(email string) (token, id string) {
			_, err := client.Signup(ctx, e.client(""), "main", email, "user-password-1", nil, nil)
			mustNoErr(t, err)
			l, err := client.Login(ctx, e.client(""), "main", email, "user-password-1")
			mustNoErr(t, err)
			return l.Login.AccessToken, l.Login.User.Id
		}
		me := func(tok string) gqlResponse { return e.raw(tok, `{ me { id } }`, nil) }

		tok, id := login("ann@example.com")
		wantOK(t, "me", me(tok))
		wantOK(t, "block", e.raw(e.admin, `mutation($id: ID!) { updateUser(id: $id, input: {blocked: true}) { id } }`, map[string]any{"id": id}))
		if r := me(tok); r.code() != "UNAUTHENTICATED" || !strings.Contains(r.Errors[0].Message, "blocked") {
			t.Fatalf("a blocked user's token: %s", r.Raw)
		}
		r := e.raw(tok, `mutation { updateMe(userMetadata: {x: 1}) { id } }`, nil)
		if r.code() != "UNAUTHENTICATED" {
			t.Fatalf("a blocked user's updateMe: %s", r.Raw)
		}

		tok2, id2 := login("bob@example.com")
		wantOK(t, "me", me(tok2))
		wantOK(t, "delete", e.raw(e.admin, `mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": id2}))
		if r := me(tok2); r.code() != "UNAUTHENTICATED" || !strings.Contains(r.Errors[0].Message, "no longer exists") {
			t.Fatalf("a deleted user's token: %s", r.Raw)
		}
	})
}
