package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tests of the compiled-module budget (Config.MaxCompiledBytes). The
// modules are generated (bigModule): distinct bytes for each seed, so each
// is a compilation of its own, and quick to compile.

// budgetFor is a budget that holds n compiled modules of size bytes
// (and not n+1).
func budgetFor(n, size int) int64 { return int64(n)*CompiledSize(size) + CompiledSize(size)/2 }

// loginOK runs a login that must return the module's profile.
func loginOK(t testing.TB, m *Module) {
	t.Helper()
	res, err := m.Run(context.Background(), Call{Action: ActionLogin, Email: "ann@example.com", Password: "pw"})
	if p := prof(res); err != nil || p == nil || p.UserID != "42" {
		t.Fatalf("login on %s: %v (profile %v)", m.conn, err, p)
	}
}

// counted is a Spec.Load that counts its reads.
type counted struct {
	wasm  []byte
	reads atomic.Int64
}

func (c *counted) load(context.Context) ([]byte, error) {
	c.reads.Add(1)
	return c.wasm, nil
}

func checkWithinBudget(t testing.TB, r *Runtime) Stats {
	t.Helper()
	s := r.Stats()
	if s.CompiledBytes > s.CompiledBudget || s.CompiledBytes < 0 {
		t.Fatalf("compiled bytes %d, budget %d", s.CompiledBytes, s.CompiledBudget)
	}
	return s
}

// The least recently called module is evicted for a new one, its idle
// instances closed with it; its next call reads the bytes again and
// compiles them, transparently.
func TestCompiledBudgetEvictsTheLeastRecentlyUsed(t *testing.T) {
	const size = 64 << 10
	r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: budgetFor(2, size)})
	url := sqliteURL(t)
	mods := map[string]*Module{}
	loads := map[string]*counted{}
	for i, name := range []string{"a", "b", "c"} {
		loads[name] = &counted{wasm: bigModule(size, i)}
		mods[name] = mustModule(t, r, Spec{Connection: name, Wasm: loads[name].wasm, Load: loads[name].load, DatabaseURL: url})
		loginOK(t, mods[name])
	}
	// a, then b, then c: making c evicted a (the least recently used).
	s := checkWithinBudget(t, r)
	if s.CompiledModules != 2 || s.Evictions != 1 || s.Recompiles != 0 {
		t.Fatalf("after a, b, c: %+v, want 2 modules, 1 eviction", s)
	}
	a := mods["a"]
	if len(a.idle) != 0 {
		t.Fatalf("a's idle instances were not closed with its compiled module: %d idle", len(a.idle))
	}
	a.mu.Lock()
	live := a.live
	a.mu.Unlock()
	if live != 0 {
		t.Fatalf("a has %d live instances after its eviction", live)
	}
	loginOK(t, mods["b"]) // b is now more recent than c
	loginOK(t, a)         // compiled again, evicting c
	s = checkWithinBudget(t, r)
	if s.CompiledModules != 2 || s.Evictions != 2 || s.Recompiles != 1 {
		t.Fatalf("after a again: %+v, want 2 modules, 2 evictions, 1 recompile", s)
	}
	if n := loads["a"].reads.Load(); n != 1 {
		t.Fatalf("a's module was read %d times, want once (to compile it again)", n)
	}
	if n := loads["b"].reads.Load(); n != 0 {
		t.Fatalf("b's module was read %d times, want never (it stayed compiled)", n)
	}
	r.mu.Lock()
	_, cKept := r.compiled[mods["c"].key]
	r.mu.Unlock()
	if cKept {
		t.Fatal("c is still compiled: the eviction did not take the least recently used")
	}
	loginOK(t, mods["c"])
	checkWithinBudget(t, r)
}

// A module in use is never evicted: a compilation that finds every
// compiled module pinned waits for one until its deadline, and succeeds
// once the call is over.
func TestCompiledBudgetNeverEvictsAModuleInUse(t *testing.T) {
	const size = 64 << 10
	r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: budgetFor(1, size)})
	url := sqliteURL(t)
	a := mustModule(t, r, Spec{Connection: "a", Wasm: bigModule(size, 1), DatabaseURL: url})
	in, err := a.acquire(context.Background(), &callState{m: a}) // a call in progress on a
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = r.Module(ctx, Spec{Connection: "b", Wasm: bigModule(size, 2), DatabaseURL: url})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "compiled-module budget") {
		t.Fatalf("b while a is in use: %v, want a timeout waiting for the compiled-module budget", err)
	}
	r.mu.Lock()
	kept := a.comp.cm != nil
	r.mu.Unlock()
	if s := r.Stats(); s.Evictions != 0 || !kept || in.mod.IsClosed() {
		t.Fatalf("a was evicted under its call: %+v", s)
	}
	a.release(in, true)
	b := mustModule(t, r, Spec{Connection: "b", Wasm: bigModule(size, 2), DatabaseURL: url})
	loginOK(t, b)
	if s := checkWithinBudget(t, r); s.Evictions != 1 || s.CompiledModules != 1 {
		t.Fatalf("after b: %+v, want a evicted", s)
	}
	loginOK(t, a)
}

// A module whose estimate alone is over the whole budget is refused at
// upload and at load with *CompiledBudgetError, and nothing is evicted.
func TestModuleOverTheWholeCompiledBudget(t *testing.T) {
	r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: 1 << 20})
	small := mustModule(t, r, Spec{Connection: "small", Wasm: bigModule(16<<10, 1), DatabaseURL: sqliteURL(t)})
	loginOK(t, small)
	big := bigModule(512<<10, 2)
	_, err := r.Inspect(context.Background(), big)
	var be *CompiledBudgetError
	if !errors.As(err, &be) || !errors.Is(err, ErrCompiledBudget) || be.Budget != 1<<20 || be.Estimate != CompiledSize(len(big)) {
		t.Fatalf("upload: %v, want a CompiledBudgetError", err)
	}
	if !strings.Contains(err.Error(), "compiled-module budget of 1.0 MiB") {
		t.Fatalf("message %q does not name the budget", err)
	}
	if _, err := r.Module(context.Background(), Spec{Connection: "big", Wasm: big, DatabaseURL: sqliteURL(t)}); !errors.Is(err, ErrCompiledBudget) {
		t.Fatalf("load: %v, want ErrCompiledBudget", err)
	}
	if s := r.Stats(); s.Evictions != 0 || s.CompiledModules != 1 {
		t.Fatalf("after the refusals: %+v", s)
	}
	loginOK(t, small)
}

// A module read again that is not the one the connection names (the
// store's bytes changed under the digest) is refused, not run.
func TestRecompileChecksTheDigest(t *testing.T) {
	const size = 32 << 10
	r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: budgetFor(1, size)})
	url := sqliteURL(t)
	other := bigModule(size, 3)
	a := mustModule(t, r, Spec{Connection: "a", Wasm: bigModule(size, 1), DatabaseURL: url,
		Load: func(context.Context) ([]byte, error) { return other, nil }})
	loginOK(t, mustModule(t, r, Spec{Connection: "b", Wasm: bigModule(size, 2), DatabaseURL: url})) // evicts a
	_, err := a.Run(context.Background(), Call{Action: ActionLogin, Email: "ann@example.com", Password: "pw"})
	var se *ScriptError
	if !errors.As(err, &se) || !strings.Contains(se.Message, "does not match its digest") {
		t.Fatalf("login on a with other bytes: %v", err)
	}
}

// Hammer: concurrent logins on more connections than the budget holds, so
// that evictions and compilations happen under running calls. Every call
// succeeds (run it with -race), and the budget holds throughout.
func TestCompiledBudgetHammer(t *testing.T) {
	const size = 32 << 10
	conns, workers, calls := 6, 8, 25
	if testing.Short() {
		calls = 8
	}
	r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: budgetFor(2, size), MaxInstances: 2})
	url := sqliteURL(t)
	mods := make([]*Module, conns)
	for i := range mods {
		mods[i] = mustModule(t, r, Spec{Connection: fmt.Sprint("c", i), Wasm: bigModule(size, i), DatabaseURL: url})
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range calls {
				m := mods[rng.IntN(conns)]
				res, err := m.Run(context.Background(), Call{Action: ActionLogin, Email: "ann@example.com", Password: "pw"})
				if p := prof(res); err != nil || p == nil || p.UserID != "42" {
					failed.Add(1)
					t.Errorf("login on %s: %v", m.conn, err)
				}
				if s := r.Stats(); s.CompiledBytes > s.CompiledBudget {
					t.Errorf("compiled bytes %d over the budget %d", s.CompiledBytes, s.CompiledBudget)
				}
			}
		}()
	}
	wg.Wait()
	s := checkWithinBudget(t, r)
	t.Logf("%d calls on %d connections, budget of 2 modules: %+v", workers*calls, conns, s)
	if s.Evictions == 0 || s.Recompiles == 0 {
		t.Fatalf("no eviction happened: %+v", s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.compiled {
		if c.pins != 0 {
			t.Errorf("a compiled module is still pinned by %d calls", c.pins)
		}
	}
}

// heapBytes is the Go heap's live objects after a collection.
func heapBytes() int64 {
	settle()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// settle collects garbage (twice: wazero unmaps a closed module's code in
// a finalizer) and returns free memory to the OS.
func settle() {
	for range 3 {
		runtime.GC()
		debug.FreeOSMemory()
		runtime.Gosched()
	}
}

// vmRSS reads the process's resident set size (Linux); it fails the test
// where /proc/self/status is missing.
func vmRSS(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// The hostile stream: many distinct large modules, as new versions of one
// connection and as many connections each with its own, every one called
// once. The compiled modules' memory stays near the budget: the Go heap
// (the parsed modules wazero keeps) and, without the race detector, the
// resident size (their machine code too) grow by at most the budget plus
// a fixed slack, where keeping every connection's compiled module (the
// behaviour before the budget) grows them with the stream: by 25 MiB of
// heap and 30 MiB of RSS for 40 connections here (1.2 and 3.7 MiB with
// the budget). Under the race detector, whose compiler is about ten times
// slower, the modules are 1 MiB of data each (dataModule: kept on the
// heap, not compiled), 32 connections, and the heap alone is checked.
func TestCompiledModulesStayWithinTheBudget(t *testing.T) {
	size, n, versions, gen := 512<<10, 40, 40, bigModule
	if raceEnabled {
		size, n, versions, gen = 1<<20, 32, 8, dataModule
	}
	if testing.Short() {
		n, versions = 12, 4
	}
	budget := budgetFor(1, size)
	r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: budget})
	url := sqliteURL(t)
	ctx := context.Background()
	warm := mustModule(t, r, Spec{Connection: "warm", Wasm: bigModule(16<<10, -1), DatabaseURL: url})
	loginOK(t, warm) // instances, database pool, host functions: the fixed costs
	heap0, rss0 := heapBytes(), vmRSS(t)
	var heapPeak, rssPeak int64
	sample := func() {
		if h := heapBytes() - heap0; h > heapPeak {
			heapPeak = h
		}
		if v := vmRSS(t) - rss0; v > rssPeak {
			rssPeak = v
		}
		checkWithinBudget(t, r)
	}
	// One connection updated again and again (each upload is inspected
	// first, as setConnectionScript does).
	for i := range versions {
		wasm := gen(size, 1000+i)
		if _, err := r.Inspect(ctx, wasm); err != nil {
			t.Fatal(err)
		}
		loginOK(t, mustModule(t, r, Spec{Connection: "updated", Wasm: wasm, DatabaseURL: url}))
		if i%4 == 3 {
			sample()
		}
	}
	// n connections, each with its own module, each called once. Their
	// bytes are read from "the store" again when needed (Spec.Load, as
	// package scripting does), not kept.
	var keep []*Module
	for i := range n {
		seed := 2000 + i
		load := func(context.Context) ([]byte, error) { return gen(size, seed), nil }
		wasm, _ := load(ctx)
		m := mustModule(t, r, Spec{Connection: fmt.Sprint("tenant-", i), Wasm: wasm, Load: load, DatabaseURL: url})
		loginOK(t, m)
		keep = append(keep, m)
		if i%4 == 3 {
			sample()
		}
	}
	sample()
	s := r.Stats()
	t.Logf("%d modules of %d KiB (%d MiB in all), budget %.1f MiB: Go heap grew by at most %.1f MiB, RSS by at most %.1f MiB (race %v); %+v",
		n+versions, size>>10, (n+versions)*size>>20, float64(budget)/(1<<20), float64(heapPeak)/(1<<20), float64(rssPeak)/(1<<20), raceEnabled, s)
	if s.Evictions < int64(n-1) {
		t.Fatalf("%d evictions for %d connections with a budget of 1 module", s.Evictions, n)
	}
	// The slack: what is not a compiled module (instances, buffers, the
	// collector's state at the moment of the sample).
	const heapSlack, rssSlack = 6 << 20, 16 << 20
	if heapPeak > budget+heapSlack {
		t.Errorf("the Go heap grew by %.1f MiB, over the budget (%.1f MiB) plus %d MiB", float64(heapPeak)/(1<<20), float64(budget)/(1<<20), heapSlack>>20)
	}
	if !raceEnabled && rssPeak > budget+rssSlack {
		t.Errorf("the RSS grew by %.1f MiB, over the budget (%.1f MiB) plus %d MiB", float64(rssPeak)/(1<<20), float64(budget)/(1<<20), rssSlack>>20)
	}
	for _, m := range keep[:3] {
		loginOK(t, m) // evicted long ago: compiled again
	}
	runtime.KeepAlive(keep)
}

// A compilation waiting for the budget while every byte is reserved by
// another compilation in progress is woken when that one is done (its
// module is then evictable): it does not sleep until its deadline because
// nobody called the finished module yet.
func TestCompiledBudgetWaiterWokenWhenACompilationEnds(t *testing.T) {
	const size = 64 << 10
	r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: budgetFor(1, size)})
	url := sqliteURL(t)
	r.compileSem <- struct{}{} // hold every compilation back
	aDone := make(chan error, 1)
	go func() {
		_, err := r.Module(context.Background(), Spec{Connection: "a", Wasm: bigModule(size, 1), DatabaseURL: url})
		aDone <- err
	}()
	waitFor(t, func() bool { s := r.Stats(); return s.CompiledBytes > 0 }) // a reserved, compiling
	bDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := r.Module(ctx, Spec{Connection: "b", Wasm: bigModule(size, 2), DatabaseURL: url})
		bDone <- err
	}()
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.budgetWaiters == 1 })
	<-r.compileSem // a compiles now
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	// Nobody calls a: b must still be woken, evict a and compile.
	select {
	case err := <-bDone:
		if err != nil {
			t.Fatalf("b: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b still waits for the budget although a (compiled, unused) could be evicted")
	}
	checkWithinBudget(t, r)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if ok() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

// Calls, evictions, replacements and Forget all at once: once every
// module is forgotten the budget is back to zero (no reservation leaked or
// given back twice) and nothing is left compiled, pinned or idle.
func TestCompiledBudgetNoDriftUnderChurn(t *testing.T) {
	const size = 32 << 10
	conns, workers, calls := 5, 6, 20
	r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: budgetFor(2, size), MaxInstances: 2})
	url := sqliteURL(t)
	spec := func(i, v int) Spec {
		return Spec{Connection: fmt.Sprint("c", i), Wasm: bigModule(size, i), DatabaseURL: url, Configuration: map[string]any{"v": v}}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // replaces and forgets modules under the calls
		defer wg.Done()
		for v := 0; ; v++ {
			select {
			case <-stop:
				return
			default:
			}
			if v%3 == 0 {
				r.Forget(context.Background(), fmt.Sprint("c", v%conns))
			} else if _, err := r.Module(context.Background(), spec(v%conns, v)); err != nil && !errors.Is(err, ErrTimeout) {
				t.Errorf("replace: %v", err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	var cw sync.WaitGroup
	for w := range workers {
		cw.Add(1)
		go func() {
			defer cw.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for range calls {
				i := rng.IntN(conns)
				m, err := r.Module(context.Background(), spec(i, -1))
				if err != nil {
					if !errors.Is(err, ErrTimeout) {
						t.Errorf("module: %v", err)
					}
					continue
				}
				_, err = m.Run(context.Background(), Call{Action: ActionLogin, Email: "ann@example.com", Password: "pw"})
				if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrTimeout) {
					t.Errorf("login on %s: %v", m.conn, err)
				}
			}
		}()
	}
	cw.Wait()
	close(stop)
	wg.Wait()
	for i := range conns {
		r.Forget(context.Background(), fmt.Sprint("c", i))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.compiledBytes != 0 || r.lru.Len() != 0 || len(r.compiled) != 0 || r.idle.Load() != 0 {
		t.Fatalf("after forgetting every module: %d bytes reserved, %d in the LRU, %d compiled, %d idle",
			r.compiledBytes, r.lru.Len(), len(r.compiled), r.idle.Load())
	}
	t.Logf("evictions %d, recompiles %d", r.evictions.Load(), r.recompiles.Load())
}

// A module compiled again for a call is that call's from the moment it is
// compiled: another compilation waiting for the budget cannot evict it
// before the call pins it (the call would compile it again, and under
// contention again and again until its deadline).
func TestRecompiledModuleIsNotEvictedBeforeItsCallRuns(t *testing.T) {
	const size = 64 << 10
	for i := range 8 {
		r := newRuntime(t, Config{Logger: quiet, CacheDir: t.TempDir(), MaxCompiledBytes: budgetFor(1, size)})
		url := sqliteURL(t)
		la, lb := &counted{wasm: bigModule(size, 2*i)}, &counted{wasm: bigModule(size, 2*i+1)}
		a := mustModule(t, r, Spec{Connection: "a", Wasm: la.wasm, Load: la.load, DatabaseURL: url})
		b := mustModule(t, r, Spec{Connection: "b", Wasm: lb.wasm, Load: lb.load, DatabaseURL: url}) // evicts a
		r.compileSem <- struct{}{}                                                                   // hold compilations back
		aDone := make(chan struct{})
		go func() { defer close(aDone); loginOK(t, a) }() // compiles a again: evicts b
		waitFor(t, func() bool { return la.reads.Load() == 1 && r.Stats().Evictions == 2 })
		bDone := make(chan struct{})
		go func() { defer close(bDone); loginOK(t, b) }() // waits for the budget
		waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.budgetWaiters == 1 })
		<-r.compileSem
		<-aDone
		<-bDone
		if n := la.reads.Load(); n != 1 {
			t.Fatalf("round %d: a was compiled again %d times for one call (evicted before its call could run)", i, n)
		}
		r.Close(context.Background())
	}
}
