package sandbox

import (
	"context"
	"testing"
)

// Idle instances are capped sandbox-wide (MaxIdleInstances): a burst that
// made MaxInstances instances on each of two connections leaves at most the
// cap behind, the rest closed with their share of the memory budget given
// back; the kept ones serve the next calls.
func TestIdleInstancesCappedAcrossConnections(t *testing.T) {
	ctx := context.Background()
	r := newRuntime(t, Config{Logger: quiet, MaxInstances: 4, MaxIdleInstances: 3})
	wasm := script(t, "trivial")
	var mods []*Module
	for _, name := range []string{"a", "b"} {
		mods = append(mods, mustModule(t, r, Spec{Connection: name, Wasm: wasm, DatabaseURL: sqliteURL(t)}))
	}
	var held []*instance
	var owners []*Module
	for _, m := range mods {
		for i := 0; i < 4; i++ {
			in, err := m.acquire(ctx, &callState{m: m})
			if err != nil {
				t.Fatal(err)
			}
			held, owners = append(held, in), append(owners, m)
		}
	}
	if got, want := r.budget.inUse(), 8*mods[0].reserve; got != want {
		t.Fatalf("budget in use with 8 live instances: %d, want %d", got, want)
	}
	for i, in := range held {
		owners[i].release(in, true)
	}
	idle := 0
	for _, m := range mods {
		idle += len(m.idle)
		m.mu.Lock()
		if m.live != len(m.idle) {
			t.Errorf("module %s: %d live, %d idle", m.conn, m.live, len(m.idle))
		}
		m.mu.Unlock()
	}
	if idle != 3 || r.idle.Load() != 3 {
		t.Fatalf("idle after the burst: %d in pools, %d counted; want 3", idle, r.idle.Load())
	}
	if got, want := r.budget.inUse(), 3*mods[0].reserve; got != want {
		t.Fatalf("budget in use after the burst: %d, want %d", got, want)
	}
	for _, m := range mods {
		if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: "noop@example.com", Password: "pw"}); err != nil {
			t.Fatal(err)
		}
	}
	if r.idle.Load() > 3 {
		t.Fatalf("idle after more calls: %d", r.idle.Load())
	}
}
