package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
)

func TestBruteForceProtection(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		anon := e.client("")
		r, err := client.Signup(ctx, anon, "main", "bf@example.com", "right password", nil, nil)
		mustNoErr(t, err)
		id := r.Signup.Id
		fail := func(n int) {
			t.Helper()
			for i := 0; i < n; i++ {
				_, err := client.Login(ctx, anon, "main", "bf@example.com", "wrong password")
				wantCode(t, err, "INVALID_CREDENTIALS")
			}
		}
		// A success resets the count.
		fail(9)
		_, err = client.Login(ctx, anon, "main", "bf@example.com", "right password")
		mustNoErr(t, err)
		fail(10)
		_, err = client.Login(ctx, anon, "main", "bf@example.com", "right password")
		wantCode(t, err, "TOO_MANY_ATTEMPTS")
		// Another account from the same IP is not affected.
		_, err = client.Signup(ctx, anon, "main", "other@example.com", "right password", nil, nil)
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "main", "other@example.com", "right password")
		mustNoErr(t, err)
		// The window passes.
		e.clock.Advance(61 * time.Minute)
		_, err = client.Login(ctx, anon, "main", "bf@example.com", "right password")
		mustNoErr(t, err)
		// An admin unblock (blocked: false) lifts a brute-force block.
		fail(10)
		_, err = client.Login(ctx, anon, "main", "bf@example.com", "right password")
		wantCode(t, err, "TOO_MANY_ATTEMPTS")
		_, err = client.UpdateUser(ctx, e.adminClient(), id, client.UpdateUserInput{Blocked: ptr(false)})
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "main", "bf@example.com", "right password")
		mustNoErr(t, err)
		// A password change lifts it too.
		fail(10)
		_, err = client.ChangePassword(ctx, e.adminClient(), id, "newer password")
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "main", "bf@example.com", "newer password")
		mustNoErr(t, err)
		// An admin block is separate: lifting brute force does not lift it.
		_, err = client.UpdateUser(ctx, e.adminClient(), id, client.UpdateUserInput{Blocked: ptr(true)})
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "main", "bf@example.com", "newer password")
		wantCode(t, err, "USER_BLOCKED")
	})
}

func TestUserLogs(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		anon := e.client("")
		r, err := client.Signup(ctx, anon, "main", "log@example.com", "secret password 1", nil, nil)
		mustNoErr(t, err)
		id := r.Signup.Id
		_, err = client.Login(ctx, anon, "main", "log@example.com", "secret password 1")
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "main", "log@example.com", "wrong password 1")
		wantCode(t, err, "INVALID_CREDENTIALS")
		admin := e.adminClient()
		_, err = client.UpdateUser(ctx, admin, id, client.UpdateUserInput{Blocked: ptr(true)})
		mustNoErr(t, err)
		_, err = client.ChangePassword(ctx, admin, id, "secret password 2")
		mustNoErr(t, err)
		_, err = client.UpdateUser(ctx, admin, id, client.UpdateUserInput{Nickname: ptr("x"), UserMetadata: obj(map[string]any{"a": 1})})
		mustNoErr(t, err)

		var types []string
		var after *string
		for {
			page, err := client.UserLogs(ctx, admin, id, ptr(2), after)
			mustNoErr(t, err)
			for _, edge := range page.User.Logs.Edges {
				types = append(types, edge.Node.Type)
				if edge.Node.Ip == nil || *edge.Node.Ip == "" || edge.Node.UserAgent == nil {
					t.Fatalf("event without client info: %+v", edge.Node)
				}
			}
			if !page.User.Logs.PageInfo.HasNextPage {
				break
			}
			after = page.User.Logs.PageInfo.EndCursor
		}
		// Newest first; the failed login of a known email is in the history.
		want := "update change_password block login_failed login signup"
		if got := strings.Join(types, " "); got != want {
			t.Fatalf("events = %q, want %q", got, want)
		}
		raw := e.raw(e.admin, `query($id: ID!) { user(id: $id) { logs { edges { node { detail } } } } }`, map[string]any{"id": id})
		if strings.Contains(raw.Raw, "secret password") {
			t.Fatalf("a password reached the logs: %s", raw.Raw)
		}
		// A user token cannot read logs.
		login, err := client.Login(ctx, anon, "main", "log@example.com", "secret password 2")
		wantCode(t, err, "USER_BLOCKED")
		_ = login
	})
}
