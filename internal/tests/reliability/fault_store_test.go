package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/testenv"
)

// requestDeadline is the longest any request may take, outage or not: a
// request that hangs past it is a failure of the test.
const requestDeadline = 15 * time.Second

type opKind int

const (
	opRead opKind = iota
	opUpdate
	opLogin
	opCreate
	numOps
)

func (k opKind) String() string { return [...]string{"read", "update", "login", "create"}[k] }

// outcome counts, per kind of operation, what happened in a phase.
type outcome struct {
	ok, failed atomic.Int64
}

// loadWorker is one client of the steady load. Worker i reads and updates
// users[i] (its own key "w<i>" in userMetadata), logs in as users[i] and
// creates users "w<i>-<n>@example.com".
type loadWorker struct {
	i                       int
	lastAcked, lastTried    atomic.Int64 // the w<i> value of the last acknowledged / attempted update
	loginsAcked, loginsTry  atomic.Int64
	createdAcked, createdTr []string
}

type faultLoad struct {
	e       *env
	users   []string // ids
	workers []*loadWorker

	mu       sync.Mutex
	codes    map[string]int // error code (or transport error class) → count
	badCodes []string       // codes that are never acceptable
	maxLat   time.Duration
	phase    atomic.Pointer[[numOps]outcome]
}

// acceptableOutage are the codes a request may get while the store is down.
var acceptableOutage = map[string]bool{"INTERNAL": true, "CONNECTION_UNAVAILABLE": true}

func (l *faultLoad) record(k opKind, err error, lat time.Duration) bool {
	ph := l.phase.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if lat > l.maxLat {
		l.maxLat = lat
	}
	if err == nil {
		ph[k].ok.Add(1)
		return true
	}
	ph[k].failed.Add(1)
	c := code(err)
	l.codes[k.String()+": "+c]++
	switch {
	case !acceptableOutage[c]:
		l.badCodes = append(l.badCodes, fmt.Sprintf("%s: %s (%v)", k, c, err))
	case c == "INTERNAL" && !testenv.Retryable(err):
		// The store being down must read as such (extensions.retryable).
		l.badCodes = append(l.badCodes, fmt.Sprintf("%s: INTERNAL without retryable (%v)", k, err))
	}
	return false
}

func (l *faultLoad) run(ctx context.Context, w *loadWorker) {
	admin := l.e.adminClient()
	anon := l.e.client("")
	id := l.users[w.i]
	email := fmt.Sprintf("u%d@example.com", w.i)
	for n := 0; ctx.Err() == nil; n++ {
		k := opKind(n % int(numOps))
		rctx, cancel := context.WithTimeout(context.Background(), requestDeadline)
		start := time.Now()
		var err error
		switch k {
		case opRead:
			var r *client.GetUserResponse
			if r, err = client.GetUser(rctx, admin, id); err == nil && (r.User == nil || r.User.Id != id) {
				err = fmt.Errorf("read returned %+v", r.User)
			}
		case opUpdate:
			v := w.lastTried.Add(1)
			_, err = client.UpdateUser(rctx, admin, id, client.UpdateUserInput{UserMetadata: obj(map[string]any{fmt.Sprintf("w%d", w.i): v})})
			if err == nil {
				w.lastAcked.Store(v)
			}
		case opLogin:
			w.loginsTry.Add(1)
			if _, err = client.Login(rctx, anon, "main", email, "password-"+email); err == nil {
				w.loginsAcked.Add(1)
			}
		case opCreate:
			ne := fmt.Sprintf("w%d-%d@example.com", w.i, n)
			w.createdTr = append(w.createdTr, ne)
			_, err = client.CreateUser(rctx, admin, client.CreateUserInput{
				Connection: "main", Email: ne, Password: ptr("password-" + ne), Name: ptr("Made " + ne),
				UserMetadata: obj(map[string]any{"made": true}), AppMetadata: obj(map[string]any{"plan": "p" + ne}),
			})
			if err == nil {
				w.createdAcked = append(w.createdAcked, ne)
			}
		}
		lat := time.Since(start)
		cancel()
		l.record(k, err, lat)
	}
}

// waitAll polls until every kind of operation has cond true in the current
// phase.
func (l *faultLoad) waitAll(t *testing.T, within time.Duration, what string, cond func(o *outcome) bool) {
	t.Helper()
	eventually(t, within, what, func() error {
		ph := l.phase.Load()
		for k := opKind(0); k < numOps; k++ {
			if !cond(&ph[k]) {
				return fmt.Errorf("%s not yet (ok %d, failed %d)", k, ph[k].ok.Load(), ph[k].failed.Load())
			}
		}
		return nil
	})
}

// TestStoreRestartUnderLoad kills the service's MariaDB (SIGKILL, a crash)
// under a steady load of reads, updates, logins and user creations through
// the real handler, then starts it again. During the outage every request
// gets a coded error (INTERNAL or CONNECTION_UNAVAILABLE) before the
// request deadline; after the restart the service recovers by itself (no
// restart of the service, no reconnect call); afterwards every acknowledged
// write is there and no user is half-written.
func TestStoreRestartUnderLoad(t *testing.T) {
	m := startMariaDB(t)
	e := newEnv(t, envConfig{storeURL: m.URL(m.CreateDatabase("profiled"))})
	createDBConnection(t, e, "main")
	ctx := context.Background()
	const workers = 4
	l := &faultLoad{e: e, codes: map[string]int{}}
	l.phase.Store(&[numOps]outcome{})
	for i := range workers {
		email := fmt.Sprintf("u%d@example.com", i)
		r, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "main", Email: email, Password: ptr("password-" + email)})
		mustNoErr(t, err)
		l.users = append(l.users, r.CreateUser.Id)
		l.workers = append(l.workers, &loadWorker{i: i})
	}

	loadCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, w := range l.workers {
		wg.Add(1)
		go func() { defer wg.Done(); l.run(loadCtx, w) }()
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

	// Steady state: everything succeeds.
	l.waitAll(t, 30*time.Second, "warm-up", func(o *outcome) bool { return o.ok.Load() >= 3 })
	l.mu.Lock()
	if len(l.codes) != 0 {
		t.Errorf("errors before the outage: %v", l.codes)
	}
	l.mu.Unlock()

	// Outage: every kind of request fails, with a code, in time.
	l.phase.Store(&[numOps]outcome{})
	m.Kill()
	l.waitAll(t, 30*time.Second, "failures during the outage", func(o *outcome) bool { return o.failed.Load() >= 2 })

	// Recovery: nothing but the store comes back.
	l.phase.Store(&[numOps]outcome{})
	restarted := time.Now()
	m.Start()
	l.waitAll(t, 30*time.Second, "recovery after the restart", func(o *outcome) bool { return o.ok.Load() >= 3 })
	recovered := time.Since(restarted).Round(time.Millisecond)
	stopLoad() // the workers write codes and maxLat: read them after they stopped
	t.Logf("recovered %v after mariadbd answered again; outage codes %v; slowest request %v", recovered, l.codes, l.maxLat)

	l.mu.Lock()
	if len(l.badCodes) > 0 {
		t.Errorf("requests got codes other than INTERNAL/CONNECTION_UNAVAILABLE (or no response in %v): %q", requestDeadline, l.badCodes[:min(len(l.badCodes), 10)])
	}
	l.mu.Unlock()

	// Every acknowledged write is present, within what was attempted.
	users := allUsers(t, e)
	byEmail := map[string]map[string]any{}
	for _, u := range users {
		byEmail[u["email"].(string)] = u
	}
	for _, w := range l.workers {
		u := byEmail[fmt.Sprintf("u%d@example.com", w.i)]
		meta, _ := u["userMetadata"].(map[string]any)
		got, _ := meta[fmt.Sprintf("w%d", w.i)].(json.Number)
		v, _ := got.Int64()
		if acked, tried := w.lastAcked.Load(), w.lastTried.Load(); v < acked || v > tried {
			t.Errorf("worker %d: w%d = %d, acknowledged %d, attempted up to %d", w.i, w.i, v, acked, tried)
		}
		lc, _ := u["loginsCount"].(json.Number).Int64()
		if acked, tried := w.loginsAcked.Load(), w.loginsTry.Load(); lc < acked || lc > tried {
			t.Errorf("worker %d: loginsCount %d, acknowledged %d, attempted %d", w.i, lc, acked, tried)
		}
		for _, em := range w.createdAcked {
			if _, ok := byEmail[em]; !ok {
				t.Errorf("acknowledged createUser %s is missing", em)
			}
		}
	}
	// No half-written user: each is all there (one INSERT in one
	// transaction) or absent.
	for _, u := range users {
		email := u["email"].(string)
		if !strings.Contains(email, "-") {
			continue // the workers' own users
		}
		um, _ := u["userMetadata"].(map[string]any)
		am, _ := u["appMetadata"].(map[string]any)
		ids, _ := u["identities"].([]any)
		if u["name"] != "Made "+email || um["made"] != true || am["plan"] != "p"+email || len(ids) != 1 {
			t.Errorf("half-written user %s: %v", email, u)
		}
		lr, err := client.Login(ctx, e.client(""), "main", email, "password-"+email)
		if err != nil {
			t.Errorf("user %s exists but cannot log in: %v", email, err)
		} else if lr.Login.User.Email == nil || *lr.Login.User.Email != email {
			t.Errorf("login as %s gave %+v", email, lr.Login.User)
		}
	}
}

// allUsers pages through every user with the admin token.
func allUsers(t *testing.T, e *env) []map[string]any {
	t.Helper()
	var out []map[string]any
	after := ""
	for {
		vars := map[string]any{"first": 100}
		if after != "" {
			vars["after"] = after
		}
		r := e.raw(e.admin, `query($first: Int, $after: String) { users(first: $first, after: $after) {
			edges { node { id email name userMetadata appMetadata loginsCount identities { userId } } }
			pageInfo { hasNextPage endCursor } } }`, vars)
		if len(r.Errors) > 0 {
			t.Fatalf("list users: %s", r.Raw)
		}
		var d struct {
			Users struct {
				Edges []struct {
					Node map[string]any `json:"node"`
				} `json:"edges"`
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"users"`
		}
		dec := json.NewDecoder(strings.NewReader(string(r.Data)))
		dec.UseNumber()
		if err := dec.Decode(&d); err != nil {
			t.Fatal(err)
		}
		for _, ed := range d.Users.Edges {
			out = append(out, ed.Node)
		}
		if !d.Users.PageInfo.HasNextPage {
			return out
		}
		after = d.Users.PageInfo.EndCursor
	}
}
