package sandbox

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
)

// The compiled-module budget (Config.MaxCompiledBytes).
//
// A compiled module (wazero's machine code, mapped outside the Go heap, and
// the parsed module wazero keeps on the heap) lives in r.compiled under its
// content hash while anyone holds it: a connection's Module (refs), an
// upload's Inspect, a caller waiting for its compilation. Each reserves
// CompiledSize(len(wasm)) bytes of the budget from before it is compiled
// until it is dropped.
//
// Compiled modules are ordered by their last call in r.lru. A call pins
// the compiled module it runs on (pins) from before it takes an instance
// until the instance is back in the pool or closed: a pinned module is
// never evicted, so nothing is closed under a running call. When a module
// must be compiled and its bytes do not fit, the least recently used
// unpinned modules are evicted: removed from r.compiled, their idle
// instances closed (they hold the code), their CompiledModule closed. The
// connections holding one keep their Module; its next call reads the
// module's bytes again (Spec.Load) and compiles it again — from wazero's
// file cache when Config.CacheDir is set.

// CompiledSize is what a module of n bytes reserves from
// Config.MaxCompiledBytes while it is compiled: an estimate meant to be on
// the safe side, five times its size plus 256 KiB. wazero's machine code
// for a Go script is about 3.5 times the module (the MySQL template's 2.9
// MB module gives a 10.1 MB file-cache entry, BENCHMARKS.md), and wazero
// keeps the parsed module on the Go heap (about 1.2 times the module,
// measured on generated modules); the constant covers the per-module
// tables of small modules.
func CompiledSize(n int) int64 { return 5*int64(n) + 256<<10 }

// ErrCompiledBudget matches a *CompiledBudgetError.
var ErrCompiledBudget = errors.New("sandbox: the module is too large for the compiled-module budget")

// CompiledBudgetError refuses a module whose compiled size alone
// (CompiledSize) is over Config.MaxCompiledBytes: it could never be kept
// compiled. It matches ErrCompiledBudget.
type CompiledBudgetError struct {
	ModuleBytes int   // the module's size
	Estimate    int64 // CompiledSize(ModuleBytes)
	Budget      int64 // Config.MaxCompiledBytes
}

func (e *CompiledBudgetError) Error() string {
	return fmt.Sprintf("sandbox: the module (%d bytes) would take about %.1f MiB once compiled, over the sandbox's compiled-module budget of %.1f MiB",
		e.ModuleBytes, float64(e.Estimate)/(1<<20), float64(e.Budget)/(1<<20))
}

func (e *CompiledBudgetError) Is(target error) bool { return target == ErrCompiledBudget }

// Stats is a snapshot of the sandbox's compiled modules.
type Stats struct {
	// CompiledModules is the number of compiled modules kept (ready to
	// instantiate).
	CompiledModules int
	// CompiledBytes is the estimated size (CompiledSize) of the compiled
	// modules kept and of those being compiled.
	CompiledBytes int64
	// CompiledBudget is Config.MaxCompiledBytes.
	CompiledBudget int64
	// Evictions counts compiled modules closed to make room, since start.
	Evictions int64
	// Recompiles counts modules compiled again after an eviction.
	Recompiles int64
}

// Stats returns the counts of the compiled-module budget.
func (r *Runtime) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{
		CompiledModules: r.lru.Len(),
		CompiledBytes:   r.compiledBytes,
		CompiledBudget:  r.cfg.MaxCompiledBytes,
		Evictions:       r.evictions.Load(),
		Recompiles:      r.recompiles.Load(),
	}
}

// evicted is what an eviction closes once r.mu is released.
type evicted struct {
	cms   []wazero.CompiledModule
	idle  []idleInstance
	bytes int64 // their reservations
}

type idleInstance struct {
	m  *Module
	in *instance
}

// closeEvicted closes the evicted instances, then the compiled modules
// (wazero unmaps their code once nothing references it, at a later GC),
// and logs the eviction at debug level.
func (r *Runtime) closeEvicted(ev *evicted) {
	for _, x := range ev.idle {
		x.m.discard(x.in)
	}
	for _, cm := range ev.cms {
		cm.Close(context.Background())
	}
	if len(ev.cms) > 0 {
		s := r.Stats()
		r.cfg.Logger.Debug("sandbox: compiled modules evicted", "evicted", len(ev.cms), "evicted_bytes", ev.bytes,
			"idle_instances_closed", len(ev.idle), "compiled_modules", s.CompiledModules, "compiled_bytes", s.CompiledBytes,
			"budget_bytes", s.CompiledBudget, "evictions", s.Evictions)
	}
	*ev = evicted{}
}

// evictLocked evicts least recently used unpinned compiled modules until
// need more bytes fit in the budget or none is left to evict. r.mu held.
func (r *Runtime) evictLocked(need int64, ev *evicted) {
	for e := r.lru.Back(); e != nil && r.compiledBytes+need > r.cfg.MaxCompiledBytes; {
		prev := e.Prev()
		if c := e.Value.(*compiled); c.pins == 0 {
			r.evictOneLocked(c, ev)
		}
		e = prev
	}
}

// evictOneLocked drops c from the cache and the budget and takes the idle
// instances made from it out of their pools; ev closes them. The Modules
// holding c keep it (refs) until their next call replaces it. r.mu held.
func (r *Runtime) evictOneLocked(c *compiled, ev *evicted) {
	r.lru.Remove(c.elem)
	c.elem = nil
	if r.compiled[c.key] == c {
		delete(r.compiled, c.key)
	}
	r.compiledBytes -= c.size
	ev.bytes += c.size
	c.size = 0
	ev.cms = append(ev.cms, c.cm)
	c.cm = nil
	r.evictions.Add(1)
	for _, m := range r.modules {
		if m.comp != c {
			continue
		}
		for drained := false; !drained; {
			select {
			case in := <-m.idle:
				r.idle.Add(-1)
				ev.idle = append(ev.idle, idleInstance{m, in})
			default:
				drained = true
			}
		}
	}
}

// signalLocked wakes compilations waiting for the budget (bytes were given
// back, or a compiled module became evictable). r.mu held.
func (r *Runtime) signalLocked() {
	if r.budgetWaiters > 0 {
		close(r.compiledFreed)
		r.compiledFreed = make(chan struct{})
	}
}

// dropLocked removes c (its last holder let go) from the cache and the
// budget and returns its CompiledModule to close (nil if none). r.mu held.
func (r *Runtime) dropLocked(c *compiled) wazero.CompiledModule {
	if c.elem != nil {
		r.lru.Remove(c.elem)
		c.elem = nil
	}
	if r.compiled[c.key] == c {
		delete(r.compiled, c.key)
	}
	r.giveBackLocked(c)
	cm := c.cm
	c.cm = nil
	return cm
}

// giveBackLocked returns c's reservation to the budget. r.mu held.
func (r *Runtime) giveBackLocked(c *compiled) {
	if c.size > 0 {
		r.compiledBytes -= c.size
		c.size = 0
		r.signalLocked()
	}
}

// unpin ends a call's use of c.
func (r *Runtime) unpin(c *compiled) {
	r.mu.Lock()
	c.pins--
	if c.pins == 0 {
		r.signalLocked()
	}
	r.mu.Unlock()
}

// pin returns the module's compiled module, pinned for one call, compiling
// it again first when it was evicted. ErrClosed once the module is closed.
func (m *Module) pin(ctx context.Context) (*compiled, error) {
	r := m.rt
	for {
		r.mu.Lock()
		c := m.comp
		if c == nil {
			r.mu.Unlock()
			return nil, ErrClosed
		}
		if c.cm != nil {
			c.pins++
			if c.elem != nil {
				r.lru.MoveToFront(c.elem)
			}
			r.mu.Unlock()
			return c, nil
		}
		r.mu.Unlock()
		c, err := m.recompile(ctx)
		if err != nil || c != nil {
			return c, err
		}
	}
}

// recompile replaces the module's evicted compiled module and returns it
// pinned: it reads the bytes again (Spec.Load), checks them against the
// digest, and compiles them (or finds them compiled for another
// connection). One call per module does it; the others wait for it,
// bounded by their deadline, and get nil (pin looks again).
func (m *Module) recompile(ctx context.Context) (*compiled, error) {
	select {
	case m.recompiling <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.closing:
		return nil, ErrClosed
	}
	defer func() { <-m.recompiling }()
	r := m.rt
	r.mu.Lock()
	cur := m.comp
	done := cur != nil && cur.cm != nil // read under r.mu: an eviction writes it
	r.mu.Unlock()
	if cur == nil {
		return nil, ErrClosed
	}
	if done {
		return nil, nil // a call before this one did it
	}
	wasm, err := m.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandbox: read the module of %s again: %w", m.conn, err)
	}
	if sha256.Sum256(wasm) != m.key {
		return nil, scriptErr("the module read again to compile it does not match its digest")
	}
	c, err := r.acquireCompiled(ctx, m.key, wasm, true) // pinned for this call
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	old := m.comp
	if old != nil {
		m.comp = c
	}
	r.mu.Unlock()
	if old == nil { // finalized meanwhile: it gave its compiled module back
		r.unpin(c)
		r.releaseCompiled(c)
		return nil, ErrClosed
	}
	r.releaseCompiled(old)
	r.recompiles.Add(1)
	return c, nil
}

// lruList is the type of Runtime.lru (most recently used first).
type lruList = list.List
