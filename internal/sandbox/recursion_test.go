package sandbox

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDeepRecursionInParallel runs 8 parallel calls that recurse without
// end: each must stop at the call-stack cap (MaxStackBytes) with a script
// error saying so. RSS is logged (RELIABILITY.md); before the cap, 8 such
// calls took the process from 14 MiB to 1,145 MiB.
func TestDeepRecursionInParallel(t *testing.T) {
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
			wantScriptErrorNoT(t, err, "went over the limit of 8192 KiB")
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
	if !errors.As(err, &se) {
		t.Errorf("want a ScriptError, got %T %v", err, err)
		return
	}
	if !strings.Contains(se.Message, contains) {
		t.Errorf("ScriptError %q does not mention %q", se.Message, contains)
	}
}

// TestStackAccountingIsBalanced checks the rewrite's bookkeeping: early
// returns (from nested blocks), branches to the function's label and
// multi-value results all leave the counter where they found it, so a
// million calls do not add up to an overflow.
func TestStackAccountingIsBalanced(t *testing.T) {
	r := corpusRuntime(t, Config{})
	// f(x) -> (i32, i32): returns early from a nested block when x is odd,
	// else branches out to the function's label.
	f := hfunc{
		typ: ftype{params: []byte{tI32}, results: []byte{tI32, tI32}},
		code: cat(
			[]byte{opBlock, tEmpty, opBlock, tEmpty},
			[]byte{opLocalGet, 0}, i32c(1), []byte{0x71, opIf, tEmpty}, i32c(1), i32c(2), []byte{0x0f, opEnd}, // i32.and; return
			[]byte{opEnd, opEnd},
			i32c(3), i32c(4), []byte{opBr, 0},
		),
	}
	// login: for i in 0..1e6: drop(drop(f(i))); return 0
	login := hfunc{locals: []byte{tI32}, code: cat(
		[]byte{opLoop, tEmpty},
		[]byte{opLocalGet, 0, opCall}, leb(3), []byte{opDrop, opDrop},
		[]byte{opLocalGet, 0}, i32c(1), []byte{opI32Add, opLocalTee, 0}, i32c(1000000), []byte{opI32LtS, opBrIf, 0, opEnd},
		i32c(0),
	)}
	m := mustModule(t, r, Spec{Connection: "bal", Wasm: hmod{login: login, extra: []hfunc{f}}.build(), DatabaseURL: sqliteURL(t), Timeout: 20 * time.Second})
	_, err := runLogin(m, context.Background())
	// Status 0 without a profile: the calls all returned.
	wantScriptError(t, err, "login succeeded but returned no profile")
}
