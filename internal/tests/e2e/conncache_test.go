package e2e

import (
	"context"
	"testing"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
)

// Logins keep the connections they read (issue 17) and check the store's
// version of the row before using a copy: a new script is what the next
// login runs, in the process that uploaded it and in another process
// sharing the store.
func TestLegacyConnectionCacheSeesScriptChange(t *testing.T) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) {
			e := newScriptEnv(t, k)
			other := startEnv(t, e.store, scripts.Runner(t, e.store, nil)) // a second process on the same store
			ctx := context.Background()
			legacy := newLegacyDB(t)
			customConnection(t, e, "legacy", legacy, false, true)
			legacy.add(t, "ann@example.com", "ann password", "ann", "Ann")
			for _, env := range []*env{e, other} {
				if _, err := client.Login(ctx, env.client(""), "legacy", "ann@example.com", "ann password"); err != nil {
					t.Fatal(err)
				}
				// The MySQL template knows no noop user.
				_, err := client.Login(ctx, env.client(""), "legacy", "noop@example.com", "x")
				wantCode(t, err, "INVALID_CREDENTIALS")
			}

			up, err := e.gql.UploadScript(e.admin, "legacy", script(t, "internal/sandbox/testdata/scripts/trivial"))
			if err != nil || len(up.Errors) > 0 {
				t.Fatalf("upload: %v %s", err, up.Raw)
			}
			for name, env := range map[string]*env{"uploader": e, "other process": other} {
				r, err := client.Login(ctx, env.client(""), "legacy", "noop@example.com", "x")
				if err != nil {
					t.Fatalf("%s: the next login did not run the new script: %v", name, err)
				}
				if r.Login.User.Id != policy.UserIDFor("legacy", "1") {
					t.Fatalf("%s: user %s", name, r.Login.User.Id)
				}
			}

			// A settings change is seen the same way: a database that cannot
			// be reached.
			if _, err := client.UpdateConnection(ctx, e.adminClient(), "legacy", client.UpdateConnectionInput{DatabaseURL: ptr("mysql://root@127.0.0.1:1/nowhere")}); err != nil {
				t.Fatal(err)
			}
			_, err = client.Login(ctx, other.client(""), "legacy", "ann@example.com", "ann password")
			wantCode(t, err, "CONNECTION_UNAVAILABLE")
		})
	}
}
