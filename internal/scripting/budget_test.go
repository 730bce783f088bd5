package scripting

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/sandbox"
	"github.com/profiled/profiled/internal/service"
)

// tinyModule is a valid script whose login answers "wrong credentials",
// padded with a custom section named after seed to pad bytes (distinct
// bytes, a distinct compiled module, and a size the compiled-module budget
// counts, at the cost of compiling a few functions).
func tinyModule(seed string, pad int) []byte {
	uleb := func(v int) []byte {
		var b []byte
		for {
			c := byte(v & 0x7f)
			if v >>= 7; v == 0 {
				return append(b, c)
			}
			b = append(b, c|0x80)
		}
	}
	str := func(s string) []byte { return append(uleb(len(s)), s...) }
	sec := func(id byte, parts ...[]byte) []byte {
		p := bytes.Join(parts, nil)
		return append(append([]byte{id}, uleb(len(p))...), p...)
	}
	export := func(name string, kind, idx byte) []byte { return append(str(name), kind, idx) }
	return bytes.Join([][]byte{
		{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00},
		sec(1, []byte{2, 0x60, 0, 0, 0x60, 0, 1, 0x7f}), // () -> (), () -> i32
		sec(3, []byte{3, 0, 0, 1}),                      // _initialize, profiled_abi_v1, login
		sec(5, []byte{1, 0, 1}),                         // one memory of one page
		sec(7, []byte{4}, export("memory", 2, 0), export("_initialize", 0, 0), export("profiled_abi_v1", 0, 1), export("login", 0, 2)),
		sec(10, []byte{3, 2, 0, 0x0b, 2, 0, 0x0b, 4, 0, 0x41, 1, 0x0b}), // login: return 1 (wrong credentials)
		sec(0, str("pad-"+seed), make([]byte, pad)),
	}, nil)
}

// store is a ScriptLoader over modules by digest that counts its reads.
type store struct {
	mu    sync.Mutex
	mods  map[string][]byte
	reads map[string]int
}

func (s *store) add(wasm []byte) string {
	sum := sha256.Sum256(wasm)
	d := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mods[d] = wasm
	return d
}

func (s *store) ScriptModule(_ context.Context, digest string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads[digest]++
	m, ok := s.mods[digest]
	if !ok {
		return nil, service.ErrNotFound
	}
	return m, nil
}

// A connection whose compiled module was evicted (the sandbox's
// compiled-module budget) is served on its next call: the runner reads the
// module again by its digest, and the sandbox compiles it again.
func TestEvictedModuleIsReadAgainByDigest(t *testing.T) {
	const pad = 64 << 10
	budget := sandbox.CompiledSize(pad + 200) // room for one module
	rt, err := sandbox.New(context.Background(), sandbox.Config{MaxCompiledBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	st := &store{mods: map[string][]byte{}, reads: map[string]int{}}
	r := New(rt, st)
	conn := func(name string) service.Connection {
		return service.Connection{Connection: policy.Connection{Name: name}, DatabaseURL: "sqlite:/nonexistent", ScriptSHA256: st.add(tinyModule(name, pad))}
	}
	a, b := conn("a"), conn("b")
	login := func(c service.Connection) {
		t.Helper()
		_, err := r.Run(context.Background(), c, service.ScriptCall{Action: policy.ActionLogin, Email: "ann@example.com", Password: "pw"})
		if !errors.Is(err, service.ErrScriptWrongCredentials) {
			t.Fatalf("login on %s: %v, want the script's answer (wrong credentials)", c.Name, err)
		}
	}
	login(a)
	login(b) // evicts a
	login(a) // read again, compiled again (evicts b)
	login(a)
	if got := st.reads[a.ScriptSHA256]; got != 2 {
		t.Fatalf("a's module was read %d times, want 2 (first call, after its eviction)", got)
	}
	if s := rt.Stats(); s.Evictions != 2 || s.Recompiles != 1 || s.CompiledModules != 1 {
		t.Fatalf("stats %+v, want 2 evictions, 1 recompile, 1 module", s)
	}
	// Replaced since: reading it again finds nothing.
	st.mu.Lock()
	delete(st.mods, b.ScriptSHA256)
	st.mu.Unlock()
	_, err = r.Run(context.Background(), b, service.ScriptCall{Action: policy.ActionLogin, Email: "ann@example.com", Password: "pw"})
	if code, _ := service.CodeOf(err); code != service.CodeScriptError || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("b after its module was dropped: %v (%v)", code, err)
	}
}

// A module over the whole compiled-module budget is refused at upload with
// SCRIPT_ERROR and a message that says why.
func TestModuleOverTheCompiledBudgetIsRefused(t *testing.T) {
	rt, err := sandbox.New(context.Background(), sandbox.Config{MaxCompiledBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	r := New(rt, &store{})
	_, err = r.Inspect(context.Background(), tinyModule("big", 512<<10))
	var se *service.Error
	if !errors.As(err, &se) || se.Code != service.CodeScriptError || !strings.Contains(se.Message, "too large for this server") || !errors.Is(err, sandbox.ErrCompiledBudget) {
		t.Fatalf("upload: %v", err)
	}
	t.Log(se.Message)
}
