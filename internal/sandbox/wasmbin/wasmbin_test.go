package wasmbin_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/profiled/profiled/abi"

	"github.com/profiled/profiled/internal/sandbox/wasmbin"
	"github.com/profiled/profiled/internal/scriptbuild"
)

var (
	once sync.Once
	raw  []byte
	berr error
)

// unmerged builds the trivial test script without merging its segments.
func unmerged(t *testing.T) []byte {
	t.Helper()
	once.Do(func() {
		src, _ := filepath.Abs("../testdata/scripts/trivial")
		raw, berr = scriptbuild.Compile(context.Background(), src, scriptbuild.Options{NoMerge: true})
	})
	if berr != nil {
		t.Fatal(berr)
	}
	return raw
}

// TestMergeKeepsInitialMemoryIdentical instantiates the module before and
// after merging (without running any code) and compares the whole linear
// memory byte for byte, and checks every other section is unchanged.
func TestMergeKeepsInitialMemoryIdentical(t *testing.T) {
	orig := unmerged(t)
	merged, st, err := wasmbin.MergeDataSegments(orig)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != "" || st.Before < 1000 || st.After > 16 {
		t.Fatalf("merge stats: %+v", st)
	}
	t.Logf("%d segments -> %d; %d -> %d bytes", st.Before, st.After, len(orig), len(merged))

	infoA, err := wasmbin.Inspect(orig)
	if err != nil {
		t.Fatal(err)
	}
	infoB, err := wasmbin.Inspect(merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(infoA.Exports) != len(infoB.Exports) || len(infoA.Imports) != len(infoB.Imports) || infoB.DataSegments != st.After {
		t.Fatal("exports/imports changed")
	}

	a, b := goMemoryOf(t, orig), goMemoryOf(t, merged)
	if len(a) != len(b) || !bytes.Equal(a, b) {
		t.Fatalf("initial memory differs after merging (%d vs %d bytes)", len(a), len(b))
	}
}

// goMemoryOf instantiates a Go script module without running any of its
// code (no start function; imports stubbed) and returns its memory.
func goMemoryOf(t *testing.T, wasm []byte) []byte {
	t.Helper()
	ctx := context.Background()
	// The interpreter: no code runs, and its "compilation" of a Go-built
	// module is far cheaper than the compiler's (minutes under -race);
	// data segments are applied to memory the same way by both engines.
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	hb := r.NewHostModuleBuilder(abi.ImportModule)
	for _, hf := range abi.HostFuncs {
		params := make([]api.ValueType, hf.Params)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}),
			params, []api.ValueType{api.ValueTypeI32}).Export(hf.Name)
	}
	if _, err := hb.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.Memory().Read(0, m.Memory().Size())
	return append([]byte(nil), v...)
}

// TestMergeSynthetic checks the rewriter on a hand-made module: segments
// joined across a small gap, a far segment kept apart, memory identical.
func TestMergeSynthetic(t *testing.T) {
	mod := buildModule([]seg{{0, []byte("ab")}, {4, []byte("cd")}, {10000, []byte("far")}, {2, []byte("xy")}})
	merged, st, err := wasmbin.MergeDataSegments(mod)
	if err != nil {
		t.Fatal(err)
	}
	if st.Before != 4 || st.After != 2 {
		t.Fatalf("stats %+v", st)
	}
	a, b := memoryOf(t, mod), memoryOf(t, merged)
	if !bytes.Equal(a, b) {
		t.Fatal("initial memory differs after merging")
	}
	if !bytes.Equal(a[:6], []byte("abxycd")) || !bytes.Equal(a[10000:10003], []byte("far")) {
		t.Fatalf("unexpected memory %q", a[:6])
	}
	// Overlapping segments are left alone.
	ov := buildModule([]seg{{0, []byte("abcd")}, {2, []byte("zz")}})
	out, st, err := wasmbin.MergeDataSegments(ov)
	if err != nil || st.Skipped == "" || !bytes.Equal(out, ov) {
		t.Fatalf("overlap: %+v %v", st, err)
	}
}

type seg struct {
	off  int32
	data []byte
}

// buildModule assembles a module with one exported memory of 1 page and
// the given active data segments.
func buildModule(segs []seg) []byte {
	b := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	section := func(id byte, payload []byte) {
		b = append(b, id)
		b = uleb(b, uint32(len(payload)))
		b = append(b, payload...)
	}
	section(5, []byte{1, 0, 1})                   // memory: min 1
	section(7, []byte{1, 3, 'm', 'e', 'm', 2, 0}) // export "mem"
	var p []byte
	p = uleb(p, uint32(len(segs)))
	for _, s := range segs {
		p = append(p, 0, 0x41)
		p = sleb(p, s.off)
		p = append(p, 0x0b)
		p = uleb(p, uint32(len(s.data)))
		p = append(p, s.data...)
	}
	section(11, p)
	return b
}

func uleb(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func sleb(b []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func memoryOf(t *testing.T, wasm []byte) []byte {
	t.Helper()
	ctx := context.Background()
	// The interpreter: no code runs, and its "compilation" of a Go-built
	// module is far cheaper than the compiler's (minutes under -race);
	// data segments are applied to memory the same way by both engines.
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	m, err := r.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.Memory().Read(0, m.Memory().Size())
	return append([]byte(nil), v...)
}
