package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The hostile corpus: testdata/scripts/hostile misbehaves in the way the
// login email names. Timing assertions are deliberately generous (the
// machine is shared and noisy): they check that a call stops, not how fast.
const slack = 5 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type hostile struct {
	r  *Runtime
	m  *Module
	db *sql.DB
}

func hostileModule(t testing.TB, cfg Config, timeout time.Duration) *hostile {
	t.Helper()
	url, db := legacyDB(t, ann)
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	r := newRuntime(t, cfg)
	m := mustModule(t, r, Spec{Connection: "hostile", Wasm: script(t, "hostile"), DatabaseURL: url, Timeout: timeout})
	return &hostile{r: r, m: m, db: db}
}

func (h *hostile) login(email string) (Result, error) {
	return h.m.Run(context.Background(), Call{Action: ActionLogin, Email: email, Password: "pw"})
}

// loginWithin calls login under the caller's deadline d (the module's own
// timeout stays long, so the check that it still serves afterwards is not
// bound by d on a loaded machine).
func (h *hostile) loginWithin(d time.Duration, email string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return h.m.Run(ctx, Call{Action: ActionLogin, Email: email, Password: "pw"})
}

// stillServes checks that the module answers a good call after the bad one.
func (h *hostile) stillServes(t *testing.T) {
	t.Helper()
	if res, err := h.login("ok"); err != nil || prof(res) == nil {
		t.Fatalf("the module no longer serves: %v", err)
	}
}

func wantScriptError(t *testing.T, err error, contains string) *ScriptError {
	t.Helper()
	var se *ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("want a ScriptError, got %T %v", err, err)
	}
	if !strings.Contains(se.Message, contains) {
		t.Fatalf("ScriptError %q does not mention %q", se.Message, contains)
	}
	return se
}

func wantTimeout(t *testing.T, err error, elapsed, deadline time.Duration) {
	t.Helper()
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want ErrTimeout (and context.DeadlineExceeded), got %T %v", err, err)
	}
	if elapsed > deadline+slack {
		t.Fatalf("stopped after %v, deadline %v", elapsed, deadline)
	}
	t.Logf("stopped %v after the %v deadline", elapsed-deadline, deadline)
}

func TestHostileInfiniteLoop(t *testing.T) {
	const deadline = 300 * time.Millisecond
	h := hostileModule(t, Config{}, 20*time.Second)
	start := time.Now()
	_, err := h.loginWithin(deadline, "loop")
	wantTimeout(t, err, time.Since(start), deadline)
	h.stillServes(t)
}

func TestHostileCallTreeWithoutLoops(t *testing.T) {
	const deadline = 300 * time.Millisecond
	h := hostileModule(t, Config{}, 20*time.Second)
	start := time.Now()
	_, err := h.loginWithin(deadline, "tree") // 2^62 calls, no loop anywhere
	wantTimeout(t, err, time.Since(start), deadline)
	h.stillServes(t)
}

func TestHostileSlowQueryIsCancelledAtTheDeadline(t *testing.T) {
	const deadline = 500 * time.Millisecond
	h := hostileModule(t, Config{}, 20*time.Second)
	start := time.Now()
	_, err := h.loginWithin(deadline, "sleepquery") // SELECT SLEEP(30)
	wantTimeout(t, err, time.Since(start), deadline)
	h.stillServes(t)
}

func TestHostileMemoryBomb(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	_, err := h.login("bomb")
	wantScriptError(t, err, "out of memory")
	h.stillServes(t)
}

func TestHostileDeepRecursion(t *testing.T) {
	// A 16 MiB cap makes the stack hit it quickly even under -race on a
	// loaded machine (with the default 64 MiB it can take the whole deadline).
	h := hostileModule(t, Config{MemoryLimitPages: 256}, 20*time.Second)
	_, err := h.login("recursion")
	se := wantScriptError(t, err, "")
	t.Logf("deep recursion: %s", firstLine(se.Message))
	h.stillServes(t)
}

func TestHostilePanic(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	_, err := h.login("panic")
	wantScriptError(t, err, "assignment to entry in nil map")
	h.stillServes(t)
}

func TestHostileExit(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	_, err := h.login("exit")
	wantScriptError(t, err, "exited with code 3")
	h.stillServes(t)
}

func TestHostileOpenFile(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	res, err := h.login("file")
	se := wantScriptError(t, err, "/etc/passwd")
	if strings.Contains(se.Message, "root:") || prof(res) != nil {
		t.Fatal("the script read the host's /etc/passwd")
	}
	os.Remove("/tmp/profiled-hostile")
	_, err = h.login("write")
	wantScriptError(t, err, "profiled-hostile")
	if _, statErr := os.Stat("/tmp/profiled-hostile"); statErr == nil {
		t.Fatal("the script wrote a file on the host")
	}
}

func TestHostileOpenSocket(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	res, err := h.login("socket") // net.Dial("tcp", "127.0.0.1:3306"): a real server listens there
	se := wantScriptError(t, err, "dial tcp")
	if prof(res) != nil {
		t.Fatal("the script connected to a socket")
	}
	t.Logf("socket: %s", se.Message)
}

func TestHostileSQLInjectionThroughEmail(t *testing.T) {
	m, db := templateModule(t, ann)
	ctx := context.Background()
	for _, email := range []string{"' OR '1'='1", "x' OR 1=1 -- ", `" OR ""="`, "ann@example.com' -- "} {
		if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: email, Password: "anything"}); !errors.Is(err, ErrWrongCredentials) {
			t.Errorf("login %q: want ErrWrongCredentials, got %v", email, err)
		}
		if _, err := m.Run(ctx, Call{Action: ActionGetUser, Email: email}); !errors.Is(err, ErrUserNotFound) {
			t.Errorf("get_user %q: want ErrUserNotFound, got %v", email, err)
		}
	}
	evil := "a@b.c'); DROP TABLE users; -- "
	if _, err := m.Run(ctx, Call{Action: ActionCreate, User: map[string]any{"email": evil, "password": "pw123456"}}); err != nil {
		t.Fatalf("create with a hostile email: %v", err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM users WHERE email = ?", evil).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the hostile email was not stored literally (table intact?): n=%d err=%v", n, err)
	}
	// A script cannot smuggle a second statement either.
	h := hostileModule(t, Config{}, 20*time.Second)
	_, err := h.login("multistatement")
	wantScriptError(t, err, "")
	if err := h.db.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		t.Fatalf("users table gone after a multi-statement attempt: %v", err)
	}
}

func TestHostileHugeResult(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	_, err := h.login("huge") // a 4 MiB profile
	wantScriptError(t, err, "over the limit")
	_, err = h.login("manyrows") // 5000 rows
	wantScriptError(t, err, "more than 1000 rows")
	h.stillServes(t)
}

func TestHostileMissingID(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	_, err := h.login("noid")
	wantScriptError(t, err, "no user id")
}

func TestHostileHostCallCap(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	_, err := h.login("manyqueries")
	wantScriptError(t, err, "more than 32")
	// Ignoring the limit error and returning success does not help.
	_, err = h.login("swallow")
	wantScriptError(t, err, "more than 32")
	h.stillServes(t)
}

func TestHostileExtremeHashCostsAreRefused(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	start := time.Now()
	_, err := h.login("bcryptcost") // a $2a$31$ hash: days of CPU if verified
	wantScriptError(t, err, "over the limit of 14")
	_, err = h.login("argon2mem") // m = 4 GiB
	wantScriptError(t, err, "memory")
	if d := time.Since(start); d > slack {
		t.Fatalf("refusing took %v: was the hash verified?", d)
	}
}

func TestHostileLogFloodIsBounded(t *testing.T) {
	h := hostileModule(t, Config{}, 20*time.Second)
	res, err := h.login("logflood")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Logs) > maxLogLines+1 || !strings.Contains(res.Logs[len(res.Logs)-1], "dropped") {
		t.Fatalf("%d log lines, last %q", len(res.Logs), res.Logs[len(res.Logs)-1])
	}
}

// TestGlobalStateStaysWithinOneConnection: package variables survive
// between calls of one connection (like Auth0's global) but an instance
// never serves another connection.
func TestGlobalStateStaysWithinOneConnection(t *testing.T) {
	r := newRuntime(t, Config{MaxInstances: 1, Logger: quiet})
	wasm := script(t, "hostile")
	url := sqliteURL(t)
	a := mustModule(t, r, Spec{Connection: "a", Wasm: wasm, DatabaseURL: url})
	b := mustModule(t, r, Spec{Connection: "b", Wasm: wasm, DatabaseURL: url})
	ctx := context.Background()
	id := func(m *Module) string {
		res, err := m.Run(ctx, Call{Action: ActionLogin, Email: "global"})
		if err != nil {
			t.Fatal(err)
		}
		return prof(res).UserID
	}
	if got := []string{id(a), id(a), id(b), id(a)}; strings.Join(got, ",") != "1,2,1,3" {
		t.Fatalf("counters %v, want 1,2,1,3", got)
	}
}

// TestPoolWaitIsBoundedByTheDeadline: with every instance busy, a caller
// waits at most until its own deadline.
func TestPoolWaitIsBoundedByTheDeadline(t *testing.T) {
	h := hostileModule(t, Config{MaxInstances: 1}, time.Second)
	busy := make(chan error, 1)
	go func() { _, err := h.login("loop"); busy <- err }()
	for len(h.m.slots) == 0 { // wait until the looping call holds the only instance
		runtime.Gosched()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.m.Run(ctx, Call{Action: ActionLogin, Email: "ok"})
	wantTimeout(t, err, time.Since(start), 200*time.Millisecond)
	if err := <-busy; !errors.Is(err, ErrTimeout) {
		t.Fatalf("the looping call: %v", err)
	}
	h.stillServes(t)
}

// TestThousandHostileCallsLeaveNoGoroutines runs 1,000 hostile calls in a
// row (traps, panics, exits, timeouts, limit hits, memory bombs, a
// statement cut by the deadline) and checks that nothing they started
// outlives them; memory is reported.
//
// What must not leak, precisely (goroutineCensus): no goroutine of the
// sandbox, wazero or the scripts; no database connection of a call (the
// pool has none in use, and keeps at most dbMaxIdle idle); no driver
// goroutine without its connection. What legitimately stays is the pool's:
// go-sql-driver's watcher goroutine of each open connection, and
// database/sql's connection cleaner, which the pool starts when its first
// connection goes idle (ConnMaxIdleTime is set) and which ends with the
// pool. The only idle connections are those of KILL QUERY, sent when a
// call's deadline cuts one of its statements. Under load a call can hit
// its deadline in a statement anywhere in the run (manyqueries at 20 ms),
// not only in the warm-up, so counting every goroutine against the
// warm-up's baseline failed now and then: one KILL QUERY after the baseline
// added the cleaner (a goroutine no connection accounts for) and a pooled
// connection with its watcher. The run now cuts a statement (sleepquery)
// after the baseline on purpose, so that path is always taken.
func TestThousandHostileCallsLeaveNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 hostile calls")
	}
	deadline := 20 * time.Millisecond // most calls fail fast; loops run to it
	if raceEnabled {
		deadline = 300 * time.Millisecond
	}
	// The module's own timeout is long and each hostile call gets the short
	// deadline from its caller (the same timeout path): the checks that it
	// still serves do not depend on the machine being fast.
	h := hostileModule(t, Config{MemoryLimitPages: 256}, 20*time.Second)
	kinds := []string{"panic", "noid", "huge", "exit", "manyqueries", "bcryptcost", "loop", "tree", "file", "socket", "write", "multistatement"}
	// One warm-up round, so the baseline includes what is created once
	// (instances' compiled code, the pool's first connections).
	for _, kind := range kinds {
		h.loginWithin(deadline, kind)
	}
	h.stillServes(t)
	baseline := census(h)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	counts := map[string]int{}
	for i := 0; i < 1000; i++ {
		kind := kinds[i%len(kinds)]
		switch {
		case i == 500:
			kind = "sleepquery" // cut by the deadline: KILL QUERY on a pooled connection
		case i%50 == 24:
			kind = "bomb"
		case i%50 == 49:
			kind = "recursion"
		}
		if _, err := h.loginWithin(deadline, kind); err == nil {
			t.Fatalf("call %d (%s) succeeded", i, kind)
		}
		counts[kind]++
	}
	h.stillServes(t)

	// Closed connections' watchers and discarded instances' goroutines end
	// shortly after the call returns: wait for them, with a deadline.
	var after goroutineCensus
	var leak string
	for deadline := time.Now().Add(10 * time.Second); ; {
		runtime.GC()
		after = census(h)
		if leak = after.leakSince(baseline); leak == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // between polls of a condition with a deadline
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("calls per kind: %v", counts)
	t.Logf("goroutines: baseline %+v, after %+v", baseline, after)
	t.Logf("heap in use: %.1f MiB before, %.1f MiB after; sys %.1f MiB",
		float64(before.HeapInuse)/(1<<20), float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20))
	if leak != "" {
		pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
		t.Fatalf("leaked: %s", leak)
	}
}

// goroutineCensus counts the process's goroutines by owner, with the
// module's pool's connections.
type goroutineCensus struct {
	Watchers int // go-sql-driver's, one per open connection (of any pool)
	Cleaners int // database/sql's connection cleaners, at most one per pool
	Other    int // everything else: the sandbox's, wazero's, the tests'
	Open     int // the module's pool: open connections
	InUse    int // the module's pool: connections in use
}

func census(h *hostile) goroutineCensus {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var c goroutineCensus
	for _, g := range strings.Split(string(buf), "\n\n") {
		switch {
		case strings.Contains(g, "github.com/go-sql-driver/mysql.(*mysqlConn).startWatcher"):
			c.Watchers++
		case strings.Contains(g, "database/sql.(*DB).connectionCleaner"):
			c.Cleaners++
		default:
			c.Other++
		}
	}
	st := h.m.db.db.Stats()
	c.Open, c.InUse = st.OpenConnections, st.InUse
	return c
}

// leakSince says what outlived the calls since the baseline b ("" when
// nothing did).
func (c goroutineCensus) leakSince(b goroutineCensus) string {
	switch {
	case c.Other > b.Other:
		return fmt.Sprintf("%d goroutines besides the database pools' (baseline %d)", c.Other, b.Other)
	case c.InUse > 0:
		return fmt.Sprintf("%d database connections still in use", c.InUse)
	case c.Open > dbMaxIdle:
		return fmt.Sprintf("%d database connections open, more than the %d the pool keeps idle", c.Open, dbMaxIdle)
	case c.Watchers-b.Watchers > c.Open-b.Open:
		return fmt.Sprintf("%d driver goroutines more than at the baseline for %d more open connections", c.Watchers-b.Watchers, c.Open-b.Open)
	case c.Cleaners > b.Cleaners+1:
		return fmt.Sprintf("%d connection cleaners (baseline %d): more than the module's pool's one", c.Cleaners, b.Cleaners)
	}
	return ""
}

// TestHammerPool runs many goroutines through one module with few
// instances, mixing good calls, typed errors and panics (which discard
// instances), and checks every outcome and the instance bound. Run with
// -race.
func TestHammerPool(t *testing.T) {
	const maxInst = 3
	r := newRuntime(t, Config{MaxInstances: maxInst, Logger: quiet})
	spec := Spec{Connection: "hammer", Wasm: script(t, "trivial"), DatabaseURL: sqliteURL(t),
		Configuration: map[string]any{"greeting": "hi"}}
	mustModule(t, r, spec)
	ctx := context.Background()
	var wg sync.WaitGroup
	var maxLive atomic.Int64
	var failures atomic.Int64
	for g := 0; g < 12; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				m, err := r.Module(ctx, spec) // the cached module, concurrently
				if err != nil {
					failures.Add(1)
					t.Error(err)
					return
				}
				if n := int64(len(m.slots)); n > maxLive.Load() {
					maxLive.Store(n)
				}
				var want func(Result, error) bool
				var c Call
				switch (g + i) % 4 {
				case 0:
					c = Call{Action: ActionLogin, Email: "noop@example.com"}
					want = func(r Result, err error) bool { return err == nil && prof(r).UserID == "1" }
				case 1:
					c = Call{Action: ActionLogin, Email: "config@example.com"}
					want = func(r Result, err error) bool { return err == nil && prof(r).Name == "hi" }
				case 2:
					c = Call{Action: ActionLogin, Email: "validation@example.com"}
					want = func(_ Result, err error) bool { var ve *ValidationError; return errors.As(err, &ve) }
				case 3:
					c = Call{Action: ActionLogin, Email: "panic@example.com"}
					want = func(_ Result, err error) bool { var se *ScriptError; return errors.As(err, &se) }
				}
				res, err := m.Run(ctx, c)
				if !want(res, err) {
					failures.Add(1)
					t.Errorf("goroutine %d call %d (%s): %+v %v", g, i, c.Email, prof(res), err)
				}
			}
		}(g)
	}
	wg.Wait()
	if maxLive.Load() > maxInst {
		t.Fatalf("%d live instances, bound %d", maxLive.Load(), maxInst)
	}
	if failures.Load() > 0 {
		t.Fatalf("%d failures", failures.Load())
	}
}
