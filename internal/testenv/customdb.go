package testenv

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the legacy databases are MariaDB
	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/sandbox"
	"github.com/profiled/profiled/internal/scriptbuild"
	"github.com/profiled/profiled/internal/scripting"
)

// ScriptCache compiles custom-database scripts (Go to wasm takes seconds)
// once per test binary and keeps wazero's compilation cache, both in one
// temporary directory. Make one per test package and Close it in TestMain
// after m.Run.
type ScriptCache struct {
	prefix string
	mu     sync.Mutex
	dir    string
	builds map[string]*scriptBuild // by source path
}

type scriptBuild struct {
	once sync.Once
	wasm []byte
	err  error
}

// NewScriptCache returns a cache whose directory, made on first use, is
// named after prefix.
func NewScriptCache(prefix string) *ScriptCache {
	return &ScriptCache{prefix: prefix, builds: map[string]*scriptBuild{}}
}

// directory returns the cache's directory, making it on first use.
func (c *ScriptCache) directory(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == "" {
		d, err := os.MkdirTemp("", c.prefix)
		if err != nil {
			t.Fatal(err)
		}
		c.dir = d
	}
	return c.dir
}

// Build compiles the Go script at src (relative to the repository root,
// e.g. "templates/mysql") and returns its wasm; a source is compiled once.
func (c *ScriptCache) Build(t testing.TB, src string) []byte {
	t.Helper()
	dir := c.directory(t)
	c.mu.Lock()
	b, ok := c.builds[src]
	if !ok {
		b = &scriptBuild{}
		c.builds[src] = b
	}
	c.mu.Unlock()
	b.once.Do(func() {
		var root string
		if root, b.err = repoRoot(); b.err != nil {
			return
		}
		out := filepath.Join(dir, strings.ReplaceAll(src, "/", "_")+".wasm")
		if b.err = scriptbuild.Build(context.Background(), filepath.Join(root, src), out); b.err == nil {
			b.wasm, b.err = os.ReadFile(out)
		}
	})
	if b.err != nil {
		t.Fatalf("build %s: %v", src, b.err)
	}
	return b.wasm
}

// Runner returns a script runner on store over a fresh sandbox that logs
// to logger (nil: the sandbox's default) and shares the wazero compilation
// cache (see wazeroCacheDir). The sandbox is closed when t ends.
//
// Its compile timeout is testCompileTimeout, not the 2-minute default: the
// default is an upload limit (internal/sandbox tests it), while here a
// compilation only has to end. Under -race wazero compiles about 10×
// slower, and with a cold cache the parallel tests that each start a
// sandbox compile the same script at once: on a loaded 2-core machine the
// MySQL template took more than 2 minutes
// (reliability/TestConcurrentMergesLoginsAndAppMetadata failed with
// "compiling the module took longer than the limit of 2m0s").
func (c *ScriptCache) Runner(t testing.TB, store *db.DB, logger *slog.Logger) *scripting.Runner {
	t.Helper()
	rt, err := sandbox.New(context.Background(), sandbox.Config{CacheDir: c.wazeroCacheDir(t), Logger: logger, CompileTimeout: testCompileTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return scripting.New(rt, store)
}

// testCompileTimeout bounds a script's compilation in the tests' sandboxes
// (as internal/sandbox's own tests do).
const testCompileTimeout = 10 * time.Minute

// wazeroCacheDir is wazero's compilation cache for the scripts the tests
// run: $PROFILED_TEST_WAZERO_CACHE when set (`make test` sets it, after
// filling it without -race, since compiling a Go script's module under
// -race takes wazero tens of CPU seconds: see internal/tests/wazerowarm),
// else one in the cache's own directory. Not a persistent directory of its
// own: a test binary names wazero's version "dev" in its entries, so one
// kept across runs could serve code compiled by another version of wazero.
func (c *ScriptCache) wazeroCacheDir(t testing.TB) string {
	if d := os.Getenv("PROFILED_TEST_WAZERO_CACHE"); d != "" {
		return d
	}
	return filepath.Join(c.directory(t), "wazero-cache")
}

// Close removes the cache's directory.
func (c *ScriptCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir == "" {
		return nil
	}
	return os.RemoveAll(c.dir)
}

// repoRoot is the module's root: the nearest directory above the working
// directory (a test's package) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// LegacySchema creates the MySQL template's users table
// (templates/mysql/schema.sql) in the MariaDB database at dsn, a
// go-sql-driver DSN with parameters (as testmysql.New returns).
func LegacySchema(t testing.TB, dsn string) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile(filepath.Join(root, "templates", "mysql", "schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := sql.Open("mysql", dsn+"&multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(string(schema)); err != nil {
		t.Fatalf("legacy schema: %v", err)
	}
}

// AddLegacyUser inserts a user with a verified email into a template users
// table, its password hashed with bcrypt at cost, and returns its id.
func AddLegacyUser(t testing.TB, d *sql.DB, email, password, nickname, name string, cost int) int64 {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Exec("INSERT INTO users (email, password, nickname, name, email_verified) VALUES (?, ?, ?, ?, 1)", email, hash, nickname, name)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}

// CustomConnection creates the CUSTOM_DATABASE connection in (its Strategy
// is set here; a nil Configuration is {"BCRYPT_COST": "4"}) with token, and
// uploads wasm as its script.
func (c Client) CustomConnection(t testing.TB, token string, in client.ConnectionInput, wasm []byte) {
	t.Helper()
	in.Strategy = client.StrategyCustomDatabase
	if in.Configuration == nil {
		in.Configuration = &map[string]any{"BCRYPT_COST": "4"}
	}
	if _, err := client.CreateConnection(context.Background(), c.Typed(token), in); err != nil {
		t.Fatal(err)
	}
	res, err := c.UploadScript(token, in.Name, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("upload: %s", res.Raw)
	}
}
