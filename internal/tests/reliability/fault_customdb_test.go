package reliability

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
)

// TestCustomDatabaseRestartUnderLogins stops the custom database (the
// customer's legacy MariaDB the connection's script reaches) under login
// load and starts it again: logins get CONNECTION_UNAVAILABLE while it is
// down and nothing else, the cached profiles (with the service-owned
// metadata) stay readable and intact, and logins recover by themselves
// once it is back.
func TestCustomDatabaseRestartUnderLogins(t *testing.T) {
	m := startMariaDB(t)
	legacyName := m.CreateDatabase("legacy")
	legacySchema(t, m.DSN(legacyName))
	legacy := m.Open(legacyName, "")
	e := newEnv(t, envConfig{scripts: true})
	customConnection(t, e, "legacy", m.URL(legacyName), false, nil)
	ctx := context.Background()
	admin, anon := e.adminClient(), e.client("")

	const workers = 4
	ids := make([]string, workers)
	for i := range workers {
		email := fmt.Sprintf("l%d@example.com", i)
		addLegacyUser(t, legacy, email, "password-"+email, fmt.Sprintf("Legacy %d", i), 4)
		r, err := client.Login(ctx, anon, "legacy", email, "password-"+email)
		mustNoErr(t, err)
		ids[i] = r.Login.User.Id
		_, err = client.UpdateUser(ctx, admin, ids[i], client.UpdateUserInput{
			UserMetadata: obj(map[string]any{"theme": "dark"}), AppMetadata: obj(map[string]any{"plan": "pro"}),
		})
		mustNoErr(t, err)
	}

	var (
		phase   atomic.Pointer[[2]atomic.Int64] // ok, failed
		mu      sync.Mutex
		bad     []string
		acked   [workers]atomic.Int64
		tried   [workers]atomic.Int64
		slowest time.Duration
	)
	phase.Store(&[2]atomic.Int64{})
	loadCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email := fmt.Sprintf("l%d@example.com", i)
			for loadCtx.Err() == nil {
				rctx, cancel := context.WithTimeout(ctx, requestDeadline)
				start := time.Now()
				tried[i].Add(1)
				_, err := client.Login(rctx, anon, "legacy", email, "password-"+email)
				cancel()
				lat := time.Since(start)
				ph := phase.Load()
				mu.Lock()
				slowest = max(slowest, lat)
				if err == nil {
					acked[i].Add(1)
					ph[0].Add(1)
				} else {
					ph[1].Add(1)
					if c := code(err); c != "CONNECTION_UNAVAILABLE" {
						bad = append(bad, c+": "+err.Error())
					}
				}
				mu.Unlock()
			}
		}()
	}
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			stop()
			wg.Wait()
		}
	}
	defer stopLoad()
	waitPhase := func(what string, idx int, n int64) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() error {
			if got := phase.Load()[idx].Load(); got < n {
				return fmt.Errorf("%d so far", got)
			}
			return nil
		})
	}

	waitPhase("logins before the outage", 0, 8)
	phase.Store(&[2]atomic.Int64{})
	m.Stop()
	waitPhase("CONNECTION_UNAVAILABLE during the outage", 1, 8)
	// The cache answers reads while the custom database is down.
	for i, id := range ids {
		checkCached(t, e, id, fmt.Sprintf("Legacy %d", i))
	}
	phase.Store(&[2]atomic.Int64{})
	restarted := time.Now()
	m.Start()
	waitPhase("logins after the restart", 0, 8)
	recovered := time.Since(restarted).Round(time.Millisecond)
	stopLoad() // the workers write slowest: read it after they stopped
	t.Logf("logins recovered %v after the custom database answered again; slowest login %v", recovered, slowest)

	mu.Lock()
	if len(bad) > 0 {
		t.Errorf("logins got codes other than CONNECTION_UNAVAILABLE: %q", bad[:min(len(bad), 10)])
	}
	mu.Unlock()
	for i, id := range ids {
		u := checkCached(t, e, id, fmt.Sprintf("Legacy %d", i))
		// +1: the login that cached the user before the load.
		if lc := int64(u.LoginsCount); lc < acked[i].Load()+1 || lc > tried[i].Load()+1 {
			t.Errorf("user %d: loginsCount %d, acknowledged %d, attempted %d", i, lc, acked[i].Load()+1, tried[i].Load()+1)
		}
	}
}

// checkCached reads a cached legacy user and checks its profile and
// metadata are intact.
func checkCached(t *testing.T, e *env, id, name string) *client.GetUserUser {
	t.Helper()
	got, err := client.GetUser(context.Background(), e.adminClient(), id)
	mustNoErr(t, err)
	u := got.User
	if u == nil || u.Name == nil || *u.Name != name || u.UserMetadata["theme"] != "dark" {
		t.Fatalf("cached profile of %s = %+v", id, u)
	}
	r := e.raw(e.admin, `query($id: ID!) { user(id: $id) { appMetadata } }`, map[string]any{"id": id})
	if len(r.Errors) > 0 || !contains(string(r.Data), `"plan":"pro"`) {
		t.Fatalf("app metadata of %s: %s", id, r.Raw)
	}
	return u
}
