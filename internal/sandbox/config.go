package sandbox

import (
	"log/slog"
	"runtime"
	"time"
)

// Config holds every limit of the sandbox. Zero fields take the defaults.
type Config struct {
	// CacheDir is wazero's file compilation cache directory ("" = in-memory
	// only). With it, a 5 MB Go module compiles in about 0.1 s instead of
	// 1.3-2.7 s, also in a new process.
	CacheDir string
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages
	// (default 1024 = 64 MiB). A module declaring more fails to compile.
	MemoryLimitPages uint32
	// MaxInstances bounds the live instances per module (default 4);
	// callers beyond it wait for one, bounded by their deadline.
	MaxInstances int
	// MaxIdleInstances bounds the idle instances kept for reuse, all
	// connections together (default 2×GOMAXPROCS, at least 4): an instance
	// released while that many are idle is closed instead, so a burst on
	// many connections leaves at most this many behind (each holds its
	// linear memory, a few MiB for a Go script).
	MaxIdleInstances int
	// MaxHostCalls caps database and password-hashing host calls per script
	// call (default 32).
	MaxHostCalls int
	// MaxRows caps the rows of one query result (default 1000).
	MaxRows int
	// MaxResultBytes caps one query result, one request the guest sends and
	// the script's result (default 1 MiB).
	MaxResultBytes int
	// DefaultTimeout is the per-call deadline when a Spec sets none
	// (default 20 s).
	DefaultTimeout time.Duration
	// MaxModuleBytes caps an uploaded module's size (default 16 MiB; a Go
	// script is about 5 MB). Checked before anything else is done with it.
	MaxModuleBytes int
	// MaxFunctions caps the functions a module defines (default 50,000; a
	// Go script defines about 3,000-6,000).
	MaxFunctions int
	// MaxTableElements caps each table's declared maximum (default 65,536
	// entries = 512 KiB). A module must declare a maximum for every table,
	// so table.grow and table.fill are bounded by it.
	MaxTableElements uint32
	// CompileTimeout bounds a module's compilation (default 2 min: a 5 MB
	// Go script compiles in 1.3-2.7 s on an idle core, 10x slower on a
	// loaded machine; the 30 MB module of issue 11 took 13-37 s). The
	// compiler cannot be interrupted: it runs in the background, one module
	// at a time, and the upload (or the first call) is answered at the
	// timeout with a script error; the result is then thrown away.
	CompileTimeout time.Duration
	// MemoryBudgetBytes bounds the memory all instances of all connections
	// may hold together (default 1 GiB). Each instance reserves its worst
	// case (MemoryLimitPages plus its tables at their maximum plus twice
	// MaxStackBytes) while it lives, and a host hash reserves its memory
	// while it runs. A call that finds the budget spent closes idle
	// instances, then waits for a release until its deadline (then
	// ErrTimeout, "sandbox memory budget exhausted").
	MemoryBudgetBytes int64
	// MaxStackBytes bounds the wasm call stack of one call (default 8 MiB),
	// which wazero keeps outside linear memory: every function is rewritten
	// at load to add an estimate of its frame to a counter on entry and
	// trap past this bound ("call stack over the limit"). It is also what
	// each instance reserves for its stack in MemoryBudgetBytes (twice
	// over: wazero grows the stack by doubling).
	MaxStackBytes uint32
	// MaxCompiledBytes bounds the memory all compiled modules may hold
	// together (default 512 MiB), counted by CompiledSize (an estimate of a
	// compiled module's machine code and metadata from its size). When a
	// module must be compiled and the budget is spent, the least recently
	// used compiled modules that no call is using are closed, with their
	// idle instances, until it fits; a connection whose module was closed
	// gets it compiled again (from the compilation cache when CacheDir is
	// set) on its next call. A module whose estimate alone is over the
	// budget is refused (*CompiledBudgetError); a compilation that finds
	// every compiled module in use waits for one to be released until its
	// deadline (then ErrTimeout).
	MaxCompiledBytes int64
	// MaxParallelHashes bounds the host's password hashes running at once,
	// for all connections (default GOMAXPROCS): a flood of logins cannot take
	// every core. A call waits for a slot until its deadline.
	MaxParallelHashes int
	// Logger receives the scripts' log lines (tagged connection, action);
	// nil = slog.Default().
	Logger *slog.Logger

	// noCloseOnContextDone turns off wazero's termination checks: only the
	// package's benchmarks set it, to measure their cost. A looping guest
	// then freezes the process at the next GC.
	noCloseOnContextDone bool
	// reuseSessions pools the calls' database connections again and skips
	// reading the connection id (the behaviour before issue 11): only the
	// session benchmark sets it, as its baseline. Unsafe: sessions leak.
	reuseSessions bool
	// noStackLimit skips the call-stack rewrite (MaxStackBytes): only the
	// benchmark of its cost sets it, as its baseline.
	noStackLimit bool
}

// Defaults of Config.
const (
	DefaultMemoryLimitPages = 1024
	DefaultMaxInstances     = 4
	DefaultMaxHostCalls     = 32
	DefaultMaxRows          = 1000
	DefaultMaxResultBytes   = 1 << 20
	DefaultTimeout          = 20 * time.Second
	DefaultMaxModuleBytes   = 16 << 20
	DefaultMaxFunctions     = 50000
	DefaultMaxTableElements = 65536
	DefaultCompileTimeout   = 2 * time.Minute
	DefaultMemoryBudget     = 1 << 30
	DefaultMaxCompiledBytes = 512 << 20
)

// MaxMessageBytes bounds a message a script returns (validation or error
// message); longer messages are cut (on a rune boundary) and marked "…".
const MaxMessageBytes = 1024

// DefaultMaxStackBytes is Config.MaxStackBytes's default.
const DefaultMaxStackBytes = 8 << 20

// Per-call bounds on what a script logs.
const (
	maxLogLines     = 200
	maxLogLineBytes = 4 << 10
	maxLogBytes     = 64 << 10
	maxOutputBytes  = 64 << 10 // per stream (stdout, stderr) per call
)

func (c Config) withDefaults() Config {
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.MaxInstances <= 0 {
		c.MaxInstances = DefaultMaxInstances
	}
	if c.MaxIdleInstances <= 0 {
		c.MaxIdleInstances = max(2*runtime.GOMAXPROCS(0), 4)
	}
	if c.MaxHostCalls <= 0 {
		c.MaxHostCalls = DefaultMaxHostCalls
	}
	if c.MaxRows <= 0 {
		c.MaxRows = DefaultMaxRows
	}
	if c.MaxResultBytes <= 0 {
		c.MaxResultBytes = DefaultMaxResultBytes
	}
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = DefaultTimeout
	}
	if c.MaxModuleBytes <= 0 {
		c.MaxModuleBytes = DefaultMaxModuleBytes
	}
	if c.MaxFunctions <= 0 {
		c.MaxFunctions = DefaultMaxFunctions
	}
	if c.MaxTableElements == 0 {
		c.MaxTableElements = DefaultMaxTableElements
	}
	if c.CompileTimeout <= 0 {
		c.CompileTimeout = DefaultCompileTimeout
	}
	if c.MemoryBudgetBytes <= 0 {
		c.MemoryBudgetBytes = DefaultMemoryBudget
	}
	if c.MaxCompiledBytes <= 0 {
		c.MaxCompiledBytes = DefaultMaxCompiledBytes
	}
	if c.MaxStackBytes == 0 {
		c.MaxStackBytes = DefaultMaxStackBytes
	}
	if c.MaxParallelHashes <= 0 {
		c.MaxParallelHashes = runtime.GOMAXPROCS(0)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
