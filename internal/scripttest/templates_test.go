package scripttest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
			res, err := Run(context.Background(), wasm, f, Options{DatabaseURL: server, Out: &out})
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
	res, err := Run(context.Background(), wasm, filepath.Join(dir, FileName), Options{DatabaseURL: server, Out: &out})
	if err != nil || res.Passed != 1 || res.Failed != 2 {
		t.Fatalf("%+v %v\n%s", res, err, out.String())
	}
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"steps": [{"action": "fly"}]}`), 0o644)
	if _, err := Run(context.Background(), wasm, filepath.Join(dir, FileName), Options{DatabaseURL: server}); err == nil {
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
