package sandbox

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/scriptbuild"
)

// testDir holds, for the whole test binary, the scripts built from
// testdata/scripts and ../../templates and wazero's compilation cache: each
// script is compiled once (Go→wasm takes seconds), whatever the number of
// tests using it.
var testDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "sandbox-test-")
	if err != nil {
		panic(err)
	}
	testDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

var (
	buildMu sync.Mutex
	built   = map[string]*buildResult{}
)

type buildResult struct {
	once sync.Once
	wasm []byte
	err  error
}

// script returns the module built from testdata/scripts/NAME (or, for
// "template:NAME", from ../../templates/NAME), building it on first use.
func script(t testing.TB, name string) []byte {
	t.Helper()
	buildMu.Lock()
	b := built[name]
	if b == nil {
		b = &buildResult{}
		built[name] = b
	}
	buildMu.Unlock()
	b.once.Do(func() {
		src := filepath.Join("testdata", "scripts", name)
		if tmpl, ok := strings.CutPrefix(name, "template:"); ok {
			src = filepath.Join("..", "..", "templates", tmpl)
		}
		src, _ = filepath.Abs(src)
		b.wasm, b.err = scriptbuild.Compile(context.Background(), src, scriptbuild.Options{})
	})
	if b.err != nil {
		t.Fatalf("build %s: %v", name, b.err)
	}
	return b.wasm
}

// wazeroCacheDir is wazero's compilation cache for the tests:
// $PROFILED_TEST_WAZERO_CACHE when set (`make test` sets it, after filling
// it without -race: see internal/tests/wazerowarm), else one in testDir for
// this binary. Not a persistent directory of its own: a test binary names
// wazero's version "dev" in its entries, so one kept across runs could
// serve code compiled by another version of wazero.
func wazeroCacheDir() string {
	if d := os.Getenv("PROFILED_TEST_WAZERO_CACHE"); d != "" {
		return d
	}
	return filepath.Join(testDir, "wazero-cache")
}

// newRuntime returns a Runtime with the shared compilation cache, closed at
// the end of the test.
func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = wazeroCacheDir()
	}
	if cfg.CompileTimeout == 0 {
		// The race detector makes wazero's compiler about 10x slower, and
		// CI machines are shared: a cold compile of a Go script can take
		// minutes there. Tests of the timeout set their own.
		cfg.CompileTimeout = 10 * time.Minute
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// sqliteURL creates a SQLite database with table t(email, hash) and returns
// its sqlite: URL.
func sqliteURL(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (email TEXT PRIMARY KEY, hash TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return "sqlite:" + path
}

func mustModule(t testing.TB, r *Runtime, s Spec) *Module {
	t.Helper()
	m, err := r.Module(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// prof is the profile a call returned, normalized as package scripting
// normalizes it (nil when none, or when the policy refuses it).
func prof(r Result) *policy.Profile {
	if r.Attributes == nil {
		return nil
	}
	p, err := policy.NormalizeProfile(r.Attributes)
	if err != nil {
		return nil
	}
	return &p
}
