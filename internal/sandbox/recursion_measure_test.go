package sandbox

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDeepRecursionInParallel measures (logs) what 8 parallel calls that
// recurse without end cost; it asserts only the outcome (a script error
// naming the stack overflow). The call stack lives outside linear memory
// and is not capped by the sandbox yet (RELIABILITY.md, open item), so
// this measurement takes ~0.7 GiB and ~15 s: it runs only when asked,
// with PROFILED_MEASURE=1.
func TestDeepRecursionInParallel(t *testing.T) {
	if os.Getenv("PROFILED_MEASURE") == "" {
		t.Skip("a measurement (0.7 GiB, 15 s): set PROFILED_MEASURE=1")
	}
	r := corpusRuntime(t, Config{MaxInstances: 8})
	// f(): 16 i32 locals, calls itself.
	rec := hmod{
		login: hfunc{code: cat([]byte{opCall}, leb(3))},
		extra: []hfunc{{typ: ftype{results: []byte{tI32}}, locals: make16(), code: cat([]byte{opCall}, leb(3))}},
	}.build()
	m := mustModule(t, r, Spec{Connection: "rec", Wasm: rec, DatabaseURL: sqliteURL(t), Timeout: 10 * time.Second})
	base := rss(t)
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			if v := rss(t); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := runLogin(m, context.Background())
			wantScriptErrorNoT(t, err, "overflowed its stack")
		}()
	}
	wg.Wait()
	close(stop)
	t.Logf("8 parallel runaway recursions: RSS %d MiB before, peak %d MiB", base>>20, peak.Load()>>20)
}

func make16() []byte {
	b := make([]byte, 16)
	for i := range b {
		b[i] = tI32
	}
	return b
}

func wantScriptErrorNoT(t *testing.T, err error, contains string) {
	var se *ScriptError
	if errors.Is(err, ErrTimeout) {
		return // the deadline came first (a loaded machine)
	}
	if !errors.As(err, &se) {
		t.Errorf("want a ScriptError, got %T %v", err, err)
		return
	}
	if !strings.Contains(se.Message, contains) {
		t.Errorf("ScriptError %q does not mention %q", se.Message, contains)
	}
}
