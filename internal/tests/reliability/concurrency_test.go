package reliability

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/testmysql"
)

// TestConcurrentMergesLoginsAndAppMetadata: on one custom-database user,
// N metadata merges, logins that refresh the cached profile from the
// custom database and admin app_metadata updates all run at once. Every
// request succeeds (no deadlock or lock-wait error reaches a caller), every
// merged key and every app_metadata key is there afterwards, and every
// login was counted. SQLite and MariaDB stores.
func TestConcurrentMergesLoginsAndAppMetadata(t *testing.T) {
	for name, cfg := range map[string]envConfig{"sqlite": {scripts: true}, "mysql": {scripts: true, sharedSQL: true}} {
		t.Run(name, func(t *testing.T) { testConcurrentMerges(t, cfg) })
	}
}

func testConcurrentMerges(t *testing.T, cfg envConfig) {
	const merges, logins, appUpdates = 16, 8, 8
	ctx := context.Background()
	e := newEnv(t, cfg)
	dsn, _ := testmysql.New(t)
	legacySchema(t, dsn)
	legacy, err := openSQL(dsn)
	mustNoErr(t, err)
	t.Cleanup(func() { legacy.Close() })
	customConnection(t, e, "legacy", testmysql.URLOf(dsn), false, nil)
	addLegacyUser(t, legacy, "c@example.com", "password-c", "Conc", 4)
	admin, anon := e.adminClient(), e.client("")
	first, err := client.Login(ctx, anon, "legacy", "c@example.com", "password-c")
	mustNoErr(t, err)
	id := first.Login.User.Id

	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	run := func(what string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s: %s", what, code(err)+" "+err.Error()))
				mu.Unlock()
			}
		}()
	}
	for i := range merges {
		run(fmt.Sprint("merge ", i), func() error {
			_, err := client.UpdateUser(ctx, admin, id, client.UpdateUserInput{UserMetadata: obj(map[string]any{fmt.Sprint("k", i): i})})
			return err
		})
	}
	for i := range logins {
		run(fmt.Sprint("login ", i), func() error {
			_, err := client.Login(ctx, anon, "legacy", "c@example.com", "password-c")
			return err
		})
	}
	for i := range appUpdates {
		run(fmt.Sprint("app_metadata ", i), func() error {
			_, err := client.UpdateUser(ctx, admin, id, client.UpdateUserInput{AppMetadata: obj(map[string]any{fmt.Sprint("a", i): i})})
			return err
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d requests failed: %q", len(errs), errs)
	}

	r := e.raw(e.admin, `query($id: ID!) { user(id: $id) { name loginsCount userMetadata appMetadata } }`, map[string]any{"id": id})
	var d struct {
		User struct {
			Name         string
			LoginsCount  int
			UserMetadata map[string]any
			AppMetadata  map[string]any
		}
	}
	if err := jsonUnmarshal(r.Data, &d); err != nil || len(r.Errors) > 0 {
		t.Fatalf("read: %s", r.Raw)
	}
	u := d.User
	for i := range merges {
		if u.UserMetadata[fmt.Sprint("k", i)] != float64(i) {
			t.Errorf("userMetadata k%d lost: %v", i, u.UserMetadata)
		}
	}
	for i := range appUpdates {
		if u.AppMetadata[fmt.Sprint("a", i)] != float64(i) {
			t.Errorf("appMetadata a%d lost: %v", i, u.AppMetadata)
		}
	}
	if u.LoginsCount != 1+logins || u.Name != "Conc" {
		t.Errorf("loginsCount %d (want %d), name %q", u.LoginsCount, 1+logins, u.Name)
	}
}
