// Package sandbox runs customers' custom-database action scripts, compiled
// to WebAssembly, under wazero, and gives them the only doors out they get:
// the host functions of sandbox/ABI.md (the connection's database with
// positional parameters, native bcrypt/argon2id, the read-only
// configuration, a bounded log).
//
// One Runtime per process holds one wazero runtime (compiler engine,
// termination on context done, a memory cap), the compiled modules (by
// content hash, within a byte budget: least recently called ones are
// evicted and compiled again on their next call; compiled.go), a database
// pool per database URL, and one Module per connection. A Module keeps a bounded pool of reactor instances: a Go
// guest costs a few milliseconds to instantiate but microseconds to call, so
// instances are reused across calls of one connection (never across
// connections) and replaced after any trap, panic, limit hit or timeout.
//
// Deny by default: instances get no filesystem, no network, no environment
// and no arguments; their clocks and random source are the real ones
// (wazero's defaults are fake and deterministic); stdout and stderr go to
// bounded per-call buffers that end up in the call's log.
//
// This package owns the sandbox; it imports abi and the database drivers,
// never policy, service, db or graph (internal/archtest checks): it returns
// what the script said, and package scripting turns that into the domain's
// terms.
package sandbox

import (
	"bytes"
	"container/list"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/sandbox/wasmbin"
)

// Runtime runs the scripts of every connection. It is safe for concurrent
// use. Close it to release everything.
type Runtime struct {
	cfg   Config
	wr    wazero.Runtime
	cache wazero.CompilationCache

	mu       sync.Mutex
	closed   bool
	modules  map[string]*Module
	compiled map[[32]byte]*compiled
	dbs      map[string]*dbPool

	// The compiled-module budget (compiled.go), under mu.
	lru           *lruList      // compiled modules, most recently called first
	compiledBytes int64         // reserved: CompiledSize of each module kept or compiling
	compiledFreed chan struct{} // closed and replaced when budget may have become free
	budgetWaiters int           // compilations waiting for the budget
	// evictions and recompiles count compiled modules evicted and
	// compiled again (Stats).
	evictions, recompiles atomic.Int64

	done       chan struct{}  // closed by Close
	compileSem chan struct{}  // one compilation at a time
	compiling  sync.WaitGroup // compilations in flight (Close waits for them)
	budget     *budget        // the memory budget of all instances and hashes
	idle       atomic.Int64   // idle instances of all modules (MaxIdleInstances)
	hashSem    chan struct{}  // MaxParallelHashes host hashes at once

	// hashStarts counts host hashes started; hashRefused those refused
	// because the call's deadline passed before they could start (tests).
	hashStarts, hashRefused atomic.Int64

	dummyMu     sync.Mutex
	dummyHashes map[int][]byte // bcrypt cost → a fixed hash (login timing)
	// dummyCompares counts equalizing compares (observed by tests).
	dummyCompares atomic.Int64
	// dummyWaits counts equalizing verifications that started waiting for
	// a hashing slot (observed by tests).
	dummyWaits atomic.Int64
}

// compiled is a compiled module shared by the connections whose scripts
// have the same bytes; closed when the last user lets go, or evicted
// (compiled.go). Fields other than ready are under Runtime.mu.
type compiled struct {
	key   [32]byte
	ready chan struct{}         // closed when cm/err are set
	cm    wazero.CompiledModule // nil before it is ready, and once evicted or dropped
	err   error
	refs  int           // holders: Modules, Inspect, callers waiting for it
	pins  int           // calls using cm now (never evicted while > 0)
	size  int64         // its reservation in the compiled-module budget (0 once given back)
	elem  *list.Element // in Runtime.lru while cm is kept
}

// Spec describes a connection's script and what it may reach.
type Spec struct {
	Connection    string         // connection name (for logs, and one module per connection)
	Wasm          []byte         // the module
	DatabaseURL   string         // "mysql://user[:pass]@host:port/db" or "sqlite:PATH"
	Configuration map[string]any // read-only settings and secrets for the script
	Timeout       time.Duration  // per call; 0 = Config.DefaultTimeout
	// Load reads the module's bytes again (the same bytes as Wasm) when
	// its compiled code was evicted under Config.MaxCompiledBytes and a
	// call needs it. nil: the Module keeps Wasm in memory for that.
	Load func(ctx context.Context) ([]byte, error)
}

// New starts a Runtime: one wazero runtime with the compiler engine,
// termination on context done, the memory cap and the compilation cache, and
// the WASI and "profiled" host modules instantiated once.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	rc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(!cfg.noCloseOnContextDone).
		WithMemoryLimitPages(cfg.MemoryLimitPages)
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("sandbox: compilation cache %s: %w", cfg.CacheDir, err)
		}
		cache = c
		rc = rc.WithCompilationCache(c)
	}
	r := &Runtime{
		cfg:      cfg,
		cache:    cache,
		wr:       wazero.NewRuntimeWithConfig(ctx, rc),
		modules:  map[string]*Module{},
		compiled: map[[32]byte]*compiled{},
		dbs:      map[string]*dbPool{},

		lru:           list.New(),
		compiledFreed: make(chan struct{}),

		done:       make(chan struct{}),
		compileSem: make(chan struct{}, 1),
		budget:     newBudget(cfg.MemoryBudgetBytes),
		hashSem:    make(chan struct{}, cfg.MaxParallelHashes),
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.wr); err != nil {
		r.wr.Close(ctx)
		return nil, fmt.Errorf("sandbox: WASI: %w", err)
	}
	if err := r.instantiateHost(ctx); err != nil {
		r.wr.Close(ctx)
		return nil, fmt.Errorf("sandbox: host module: %w", err)
	}
	return r, nil
}

// Close closes every module and instance, the database pools and the
// wazero runtime. Calls in flight fail.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	mods := make([]*Module, 0, len(r.modules))
	for _, m := range r.modules {
		mods = append(mods, m)
	}
	r.modules = map[string]*Module{}
	r.mu.Unlock()
	for _, m := range mods {
		m.close()
	}
	r.compiling.Wait() // a compilation cannot be interrupted
	err := r.wr.Close(ctx)
	r.mu.Lock()
	for url, p := range r.dbs {
		p.db.Close()
		delete(r.dbs, url)
	}
	r.mu.Unlock()
	if r.cache != nil {
		if cerr := r.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// Inspect checks a module's structure for upload without compiling it,
// under the default limits (see Runtime.Inspect): a WebAssembly reactor
// module (exports _initialize and memory) built against ABI v1 (exports
// profiled_abi_v1), at most MaxModuleBytes long with at most MaxFunctions
// functions, every table with a declared maximum of at most
// MaxTableElements, importing only functions: WASI functions and "profiled"
// host functions under their names and exact signatures; and exporting at
// least one action as a function () -> i32. It returns the actions it
// exports, in the order of abi.Actions. Failures are *ScriptError.
func Inspect(ctx context.Context, wasm []byte) ([]Action, error) {
	actions, _, err := inspect(wasm, Config{}.withDefaults())
	return actions, err
}

func inspect(wasm []byte, cfg Config) ([]Action, *wasmbin.Info, error) {
	if len(wasm) > cfg.MaxModuleBytes {
		return nil, nil, scriptErr(fmt.Sprintf("the module is %d bytes, over the limit of %d bytes", len(wasm), cfg.MaxModuleBytes))
	}
	info, err := wasmbin.Inspect(wasm)
	if err != nil {
		return nil, nil, scriptErr("not a valid WebAssembly module: " + err.Error())
	}
	if info.Functions > cfg.MaxFunctions {
		return nil, nil, scriptErr(fmt.Sprintf("the module defines %d functions, over the limit of %d functions", info.Functions, cfg.MaxFunctions))
	}
	for i, t := range info.Tables {
		if !t.HasMax && t.Min > cfg.MaxTableElements {
			return nil, nil, scriptErr(fmt.Sprintf("table %d has %d entries and no declared maximum, over the limit of %d", i, t.Min, cfg.MaxTableElements))
		}
		if t.HasMax && t.Max > cfg.MaxTableElements {
			return nil, nil, scriptErr(fmt.Sprintf("table %d declares a maximum of %d entries, over the limit of %d", i, t.Max, cfg.MaxTableElements))
		}
	}
	if e, ok := info.Export(abi.InitializeExport); !ok || e.Kind != wasmbin.KindFunc {
		return nil, nil, scriptErr("not a reactor module (no _initialize export): build it with `profiled script build` (go build -buildmode=c-shared)")
	}
	if e, ok := info.Export(abi.MemoryExport); !ok || e.Kind != wasmbin.KindMemory {
		return nil, nil, scriptErr("the module exports no memory")
	}
	if _, ok := info.Export(abi.VersionExport); !ok {
		return nil, nil, scriptErr("the module was not built against the Profiled script ABI v1 (no profiled_abi_v1 export): use the SDK, or see ABI.md")
	}
	for _, im := range info.Imports {
		if err := checkImport(im); err != nil {
			return nil, nil, err
		}
	}
	var actions []Action
	for i, name := range abi.Actions {
		e, ok := info.Export(name)
		if !ok {
			continue
		}
		if e.Kind != wasmbin.KindFunc || len(e.Type.Params) != 0 || len(e.Type.Results) != 1 || e.Type.Results[0] != wasmbin.I32 {
			return nil, nil, scriptErr("export " + name + " must be a function () -> i32")
		}
		actions = append(actions, actionList[i])
	}
	if len(actions) == 0 {
		return nil, nil, scriptErr("the module exports none of the actions (" + strings.Join(abi.Actions[:], ", ") + ")")
	}
	return actions, info, nil
}

var kindNames = [...]string{wasmbin.KindFunc: "function", wasmbin.KindTable: "table", wasmbin.KindMemory: "memory", wasmbin.KindGlobal: "global"}

// checkImport accepts a function import of a WASI or "profiled" host
// function with its exact signature, and nothing else.
func checkImport(im wasmbin.Import) error {
	what := im.Module + "." + im.Name
	var want *wasmbin.FuncType
	switch im.Module {
	case wasiModule:
		ft, ok := wasiSignatures()[im.Name]
		if !ok {
			return scriptErr(fmt.Sprintf("the module imports %s, which wasi_snapshot_preview1 does not provide", what))
		}
		want = &ft
	case abi.ImportModule:
		for _, hf := range abi.HostFuncs {
			if hf.Name == im.Name {
				want = &wasmbin.FuncType{Params: bytes.Repeat([]byte{wasmbin.I32}, hf.Params), Results: []byte{wasmbin.I32}}
			}
		}
		if want == nil {
			return scriptErr("the module imports profiled." + im.Name + ", which does not exist in ABI v1")
		}
	default:
		return scriptErr(fmt.Sprintf("the module imports %s: only functions of wasi_snapshot_preview1 and profiled are available", what))
	}
	if im.Kind != wasmbin.KindFunc {
		kind := "kind " + strconv.Itoa(int(im.Kind))
		if int(im.Kind) < len(kindNames) {
			kind = kindNames[im.Kind]
		}
		return scriptErr(fmt.Sprintf("the module imports %s as a %s: it is a function %s", what, kind, sigString(*want)))
	}
	if !bytes.Equal(im.Type.Params, want.Params) || !bytes.Equal(im.Type.Results, want.Results) {
		return scriptErr(fmt.Sprintf("the module imports %s with the wrong signature %s: want %s", what, sigString(*im.Type), sigString(*want)))
	}
	return nil
}

func sigString(ft wasmbin.FuncType) string {
	names := func(ts []byte) string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(out, ", ") + ")"
	}
	return names(ft.Params) + " -> " + names(ft.Results)
}

const wasiModule = wasi_snapshot_preview1.ModuleName

// wasiSignatures lists the functions wazero's WASI module provides, with
// their signatures (read once from a throwaway runtime, which compiles
// nothing).
var wasiSignatures = sync.OnceValue(func() map[string]wasmbin.FuncType {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		panic("sandbox: WASI: " + err.Error())
	}
	mod := rt.Module(wasiModule)
	out := map[string]wasmbin.FuncType{}
	for name, def := range mod.ExportedFunctionDefinitions() {
		out[name] = wasmbin.FuncType{Params: append([]byte(nil), def.ParamTypes()...), Results: append([]byte(nil), def.ResultTypes()...)}
	}
	return out
})

// Inspect is Inspect under the runtime's limits plus a full compilation
// (through the compilation cache, so the connection's first call does not
// pay for it again when CacheDir is set), bounded by CompileTimeout.
func (r *Runtime) Inspect(ctx context.Context, wasm []byte) ([]Action, error) {
	actions, _, err := inspect(wasm, r.cfg)
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256(wasm)
	c, err := r.acquireCompiled(ctx, key, wasm, false)
	if err != nil {
		return nil, timeoutOr(ctx, err)
	}
	r.releaseCompiled(c)
	return actions, nil
}

// Action names an action a script may export (abi.Actions); package
// scripting maps the domain's actions onto these.
type Action string

// The actions, named as their exports.
const (
	ActionLogin          Action = abi.ExportLogin
	ActionGetUser        Action = abi.ExportGetUser
	ActionCreate         Action = abi.ExportCreate
	ActionVerify         Action = abi.ExportVerify
	ActionChangePassword Action = abi.ExportChangePassword
	ActionDelete         Action = abi.ExportDelete
	ActionChangeEmail    Action = abi.ExportChangeEmail
)

// actionList is abi.Actions as Actions, in the same order.
var actionList = [...]Action{
	ActionLogin, ActionGetUser, ActionCreate, ActionVerify,
	ActionChangePassword, ActionDelete, ActionChangeEmail,
}

func actionIndex(a Action) int {
	for i, x := range actionList {
		if x == a {
			return i
		}
	}
	return -1
}

// Module returns the connection's module, creating it on first use; a Spec
// that differs from the current one (wasm, database URL, configuration,
// timeout) replaces it, and the previous module is closed (calls in flight
// on it finish first). Errors: *ScriptError for a module that is not a
// valid script or does not compile; a plain error for a bad database URL or
// configuration.
func (r *Runtime) Module(ctx context.Context, s Spec) (*Module, error) {
	if s.Timeout <= 0 {
		s.Timeout = r.cfg.DefaultTimeout
	}
	key := sha256.Sum256(s.Wasm)
	fp, err := fingerprint(key, s)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if m := r.modules[s.Connection]; m != nil && m.fp == fp {
		r.mu.Unlock()
		return m, nil
	}
	r.mu.Unlock()

	actions, info, err := inspect(s.Wasm, r.cfg)
	if err != nil {
		return nil, err
	}
	config, err := encodeConfig(s.Configuration)
	if err != nil {
		return nil, err
	}
	c, err := r.acquireCompiled(ctx, key, s.Wasm, false)
	if err != nil {
		return nil, timeoutOr(ctx, err)
	}
	db, err := r.acquireDB(s.DatabaseURL)
	if err != nil {
		r.releaseCompiled(c)
		return nil, err
	}
	m := newModule(r, s, fp, key, c, db, actions, config)
	m.reserve = r.instanceReserve(info)

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		m.close()
		return nil, ErrClosed
	}
	if cur := r.modules[s.Connection]; cur != nil && cur.fp == fp {
		r.mu.Unlock() // a concurrent call installed the same spec first
		m.close()
		return cur, nil
	}
	old := r.modules[s.Connection]
	r.modules[s.Connection] = m
	r.mu.Unlock()
	if old != nil {
		old.close()
	}
	return m, nil
}

// instanceReserve is what one instance of a module takes from the memory
// budget: its linear memory at the limit, its tables at their declared
// maximum (8 bytes an entry), and twice MaxStackBytes for its call stack.
func (r *Runtime) instanceReserve(info *wasmbin.Info) int64 {
	n := int64(r.cfg.MemoryLimitPages)*65536 + 2*int64(r.cfg.MaxStackBytes)
	for _, t := range info.Tables {
		n += int64(max(t.Min, t.Max)) * 8
	}
	return n
}

// timeoutOr turns err into the timeout error when ctx's deadline passed (a
// deadline is always SCRIPT_TIMEOUT, also while a module loads or compiles).
func timeoutOr(ctx context.Context, err error) error {
	var te *timeoutError
	if errors.As(err, &te) {
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &timeoutError{}
	}
	return err
}

// Forget closes and drops the connection's module (after its script was
// removed or the connection deleted). Calls in flight finish first.
func (r *Runtime) Forget(ctx context.Context, connection string) {
	r.mu.Lock()
	m := r.modules[connection]
	delete(r.modules, connection)
	r.mu.Unlock()
	if m != nil {
		m.close()
	}
}

// fingerprint identifies a Spec: a change of any part replaces the module.
func fingerprint(wasmHash [32]byte, s Spec) ([32]byte, error) {
	cfg, err := json.Marshal(s.Configuration) // sorted keys: deterministic
	if err != nil {
		return [32]byte{}, fmt.Errorf("sandbox: configuration: %w", err)
	}
	h := sha256.New()
	h.Write(wasmHash[:])
	fmt.Fprintf(h, "\x00%s\x00%d\x00", s.DatabaseURL, s.Timeout)
	h.Write(cfg)
	var fp [32]byte
	h.Sum(fp[:0])
	return fp, nil
}

// encodeConfig encodes each configuration value once; the script reads
// them with config_get and can never change them.
func encodeConfig(cfg map[string]any) (map[string][]byte, error) {
	out := make(map[string][]byte, len(cfg))
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, err := abi.AppendValue(nil, cfg[k])
		if err != nil {
			return nil, fmt.Errorf("sandbox: configuration key %q: %v", k, err)
		}
		out[k] = b
	}
	return out, nil
}

// acquireCompiled returns the compiled module of wasm (whose hash is key),
// with a reference the caller gives back with releaseCompiled: the one
// already compiled or compiling, or a new compilation once its estimated
// size fits in the compiled-module budget (evicting least recently used
// unpinned modules, then waiting for pins to drop until ctx is done).
// Errors: *CompiledBudgetError for a module over the whole budget; a
// timeout error when the deadline passed waiting for the budget; the
// compilation's *ScriptError; ctx's error; ErrClosed.
//
// pin: the caller is a call that will run on it (a recompilation): it is
// also pinned from the start, so that no other compilation evicts it
// between its compilation and the call (the caller unpins it).
func (r *Runtime) acquireCompiled(ctx context.Context, key [32]byte, wasm []byte, pin bool) (*compiled, error) {
	if err := ctx.Err(); err != nil {
		// Over already: not a coin toss between a compilation that ends
		// at once and the done context below.
		return nil, err
	}
	size := CompiledSize(len(wasm))
	var c *compiled
	var ev evicted
	r.mu.Lock()
	for c == nil {
		if r.closed {
			r.mu.Unlock()
			r.closeEvicted(&ev)
			return nil, ErrClosed
		}
		if c = r.compiled[key]; c != nil {
			c.refs++
			if pin {
				c.pins++
			}
			break
		}
		if size > r.cfg.MaxCompiledBytes {
			r.mu.Unlock()
			return nil, &CompiledBudgetError{ModuleBytes: len(wasm), Estimate: size, Budget: r.cfg.MaxCompiledBytes}
		}
		r.evictLocked(size, &ev)
		if r.compiledBytes+size <= r.cfg.MaxCompiledBytes {
			c = &compiled{key: key, ready: make(chan struct{}), refs: 1, size: size}
			if pin {
				c.pins = 1
			}
			r.compiledBytes += size
			r.compiled[key] = c
			r.compiling.Add(1)
			go func() {
				defer r.compiling.Done()
				r.compile(c, key, wasm)
			}()
			break
		}
		// Every compiled module is in use: wait for a call to end.
		ch := r.compiledFreed
		r.budgetWaiters++
		r.mu.Unlock()
		r.closeEvicted(&ev)
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
			if errors.Is(err, context.DeadlineExceeded) {
				err = &timeoutError{why: "waited for the sandbox's compiled-module budget"}
			}
		case <-r.done:
			err = ErrClosed
		}
		r.mu.Lock()
		r.budgetWaiters--
		if err != nil {
			r.mu.Unlock()
			return nil, err
		}
	}
	r.mu.Unlock()
	r.closeEvicted(&ev)
	fail := func(err error) (*compiled, error) {
		if pin {
			r.unpin(c)
		}
		r.releaseCompiled(c)
		return nil, err
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-r.done:
		return fail(ErrClosed)
	}
	if c.err != nil {
		return fail(c.err)
	}
	return c, nil
}

// compile compiles c's module in the background, one module at a time
// (compiling a large module holds hundreds of MiB), and gives up waiting
// after CompileTimeout: wazero's compiler cannot be interrupted, so the
// compilation goes on, holding the compile slot, and its result is thrown
// away.
func (r *Runtime) compile(c *compiled, key [32]byte, wasm []byte) {
	select {
	case r.compileSem <- struct{}{}:
	case <-r.done:
		r.mu.Lock()
		c.err = ErrClosed
		r.giveBackLocked(c)
		r.mu.Unlock()
		close(c.ready)
		return
	}
	defer func() { <-r.compileSem }()
	r.mu.Lock()
	wanted := c.refs > 0
	if !wanted { // every waiter left while the module queued
		c.err = scriptErr("compilation abandoned")
		r.giveBackLocked(c)
	}
	r.mu.Unlock()
	if !wanted {
		close(c.ready)
		return
	}
	done := make(chan struct{})
	var cm wazero.CompiledModule
	var err error
	go func() {
		defer close(done)
		cctx := experimental.WithCompilationWorkers(context.Background(), goruntime.GOMAXPROCS(0))
		// Tables without a maximum get their minimum as maximum: the
		// module that runs is the one Inspect measured.
		capped, cerr := wasmbin.CapTables(wasm)
		if cerr == nil && !r.cfg.noStackLimit {
			// Every function counts its frame against MaxStackBytes.
			capped, cerr = wasmbin.LimitStack(capped, r.cfg.MaxStackBytes)
		}
		if cerr != nil {
			err = cerr
			return
		}
		cm, err = r.wr.CompileModule(cctx, capped)
	}()
	timer := time.NewTimer(r.cfg.CompileTimeout)
	defer timer.Stop()
	select {
	case <-done:
		r.mu.Lock()
		if err != nil {
			c.err = scriptErr("the module does not compile: " + err.Error())
			r.giveBackLocked(c)
		} else if c.refs > 0 {
			c.cm, cm = cm, nil
			c.elem = r.lru.PushFront(c)
			r.signalLocked() // unpinned: a compilation waiting for the budget may evict it
		}
		r.mu.Unlock()
		close(c.ready)
		if cm != nil {
			cm.Close(context.Background())
		}
		// Compiling (or reading the compilation cache) took tens of MiB of
		// heap that is garbage now: give it back to the OS at once rather
		// than over the scavenger's minutes (a script's first call is
		// otherwise what sets the server's resident size; issue 17).
		debug.FreeOSMemory()
	case <-timer.C:
		r.mu.Lock()
		c.err = scriptErr(fmt.Sprintf("compiling the module took longer than the limit of %v: make it smaller", r.cfg.CompileTimeout))
		if r.compiled[key] == c {
			delete(r.compiled, key) // a later upload of the same bytes tries again
		}
		r.giveBackLocked(c)
		r.mu.Unlock()
		close(c.ready)
		<-done
		if err == nil {
			cm.Close(context.Background())
		}
	}
}

// releaseCompiled gives back a reference acquireCompiled returned; the
// last one drops the compiled module (closed, its budget given back).
func (r *Runtime) releaseCompiled(c *compiled) {
	r.mu.Lock()
	c.refs--
	var cm wazero.CompiledModule
	if c.refs == 0 {
		cm = r.dropLocked(c)
	}
	r.mu.Unlock()
	if cm != nil {
		cm.Close(context.Background())
	}
}

// instantiate creates one instance of a compiled module: no FS, env or
// args; real clocks and crypto/rand; stdout/stderr into the instance's
// bounded buffers; _initialize run under ctx (so a looping init is stopped
// at the deadline too).
func (r *Runtime) instantiate(ctx context.Context, cm wazero.CompiledModule, in *instance) (api.Module, error) {
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions(abi.InitializeExport).
		WithStdout(outWriter{in, false}).
		WithStderr(outWriter{in, true}).
		WithRandSource(rand.Reader).
		WithSysWalltime().
		WithSysNanotime()
	return r.wr.InstantiateModule(ctx, cm, mc)
}
