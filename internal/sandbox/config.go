package sandbox

import (
	"log/slog"
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
	// Logger receives the scripts' log lines (tagged connection, action);
	// nil = slog.Default().
	Logger *slog.Logger

	// noCloseOnContextDone turns off wazero's termination checks: only the
	// package's benchmarks set it, to measure their cost. A looping guest
	// then freezes the process at the next GC.
	noCloseOnContextDone bool
}

// Defaults of Config.
const (
	DefaultMemoryLimitPages = 1024
	DefaultMaxInstances     = 4
	DefaultMaxHostCalls     = 32
	DefaultMaxRows          = 1000
	DefaultMaxResultBytes   = 1 << 20
	DefaultTimeout          = 20 * time.Second
)

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
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
