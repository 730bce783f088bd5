package scripttest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/profiled/profiled/internal/scriptbuild"
	"github.com/profiled/profiled/internal/testmysql"
)

// TestTemplates runs every template's script_test.json (templates/NAME)
// against a fresh MariaDB database, as `profiled script test` does: the
// MySQL template, Django's auth_user (a login at Django's default 600,000
// and 1,000,000 PBKDF2 iterations within the default deadline, disabled
// accounts, a create rolled back) and WordPress's wp_users/wp_usermeta
// (phpass, $wp$, $2y$, MD5, spam flags, a two-table create rolled back).
// Each template is built once.
func TestTemplates(t *testing.T) {
	testmysql.New(t) // MariaDB reachable (fails in CI when not)
	server := testmysql.URLOf(testmysql.ServerDSN())
	dirs, err := filepath.Glob(filepath.Join("..", "..", "templates", "*", FileName))
	if err != nil || len(dirs) < 3 {
		t.Fatalf("templates with a %s: %v %v", FileName, dirs, err)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			abs, _ := filepath.Abs(dir)
			wasm, err := scriptbuild.Compile(context.Background(), abs, scriptbuild.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			res, err := Run(context.Background(), wasm, f, Options{DatabaseURL: server, Out: &out, CacheDir: testCacheDir(t)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed > 0 || res.Passed == 0 {
				t.Fatalf("%d passed, %d failed:\n%s", res.Passed, res.Failed, out.String())
			}
		})
	}
}

// TestRunReportsFailures: a test file whose expectations the module does
// not meet fails step by step, and a malformed file is refused whole.
func TestRunReportsFailures(t *testing.T) {
	testmysql.New(t)
	server := testmysql.URLOf(testmysql.ServerDSN())
	wasm, err := scriptbuild.Compile(context.Background(), mustAbs(t, "../../templates/mysql"), scriptbuild.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	schema, _ := os.ReadFile("../../templates/mysql/schema.sql")
	os.WriteFile(filepath.Join(dir, "schema.sql"), schema, 0o644)
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"schema": "schema.sql", "steps": [
		{"name": "nobody logs in", "action": "login", "email": "x@example.com", "password": "p"},
		{"name": "a wrong count", "sql": "SELECT COUNT(*) FROM users", "equals": "3"},
		{"name": "right", "action": "get_user", "email": "x@example.com", "want": "user_not_found"}]}`), 0o644)
	var out bytes.Buffer
	res, err := Run(context.Background(), wasm, filepath.Join(dir, FileName), Options{DatabaseURL: server, Out: &out, CacheDir: testCacheDir(t)})
	if err != nil || res.Passed != 1 || res.Failed != 2 {
		t.Fatalf("%+v %v\n%s", res, err, out.String())
	}
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"steps": [{"action": "fly"}]}`), 0o644)
	if _, err := Run(context.Background(), wasm, filepath.Join(dir, FileName), Options{DatabaseURL: server, CacheDir: testCacheDir(t)}); err == nil {
		t.Fatal("an unknown action was accepted")
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// testCacheDir is wazero's compilation cache for the tests:
// $PROFILED_TEST_WAZERO_CACHE when set (`make test` fills it without -race
// first: see internal/tests/wazerowarm), else one for this test binary,
// removed by TestMain. Not the user's cache directory: a test binary names
// wazero's version "dev" in its entries, so they could be served to (or
// from) another wazero version.
func testCacheDir(t *testing.T) string {
	if d := os.Getenv("PROFILED_TEST_WAZERO_CACHE"); d != "" {
		return d
	}
	d, err := binaryCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var binaryCacheDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "scripttest-wazero-") })

func TestMain(m *testing.M) {
	code := m.Run()
	if d, err := binaryCacheDir(); err == nil {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
