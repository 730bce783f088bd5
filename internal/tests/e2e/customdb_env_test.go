package e2e

import (
	"database/sql"
	"os"
	"testing"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/testenv"
	"github.com/profiled/profiled/internal/testmysql"
)

// scripts compiles the scripts once per test binary (Go→wasm takes
// seconds) and holds wazero's cache.
var scripts = testenv.NewScriptCache("profiled-e2e-")

func TestMain(m *testing.M) {
	code := m.Run()
	scripts.Close()
	os.Exit(code)
}

// script builds the Go script at src (relative to the repository root).
func script(t testing.TB, src string) []byte {
	t.Helper()
	return scripts.Build(t, src)
}

// newScriptEnv is newEnv with the real sandbox wired in.
func newScriptEnv(t testing.TB, k storeKind) *env {
	t.Helper()
	store := testenv.OpenStore(t, storeURL(t, k))
	return startEnv(t, store, scripts.Runner(t, store, nil))
}

// legacyDB is a customer's legacy MariaDB database with the template's
// users table.
type legacyDB struct {
	db  *sql.DB
	url string
}

func newLegacyDB(t testing.TB) legacyDB {
	t.Helper()
	dsn, _ := testmysql.New(t)
	testenv.LegacySchema(t, dsn)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return legacyDB{db: db, url: testmysql.URLOf(dsn)}
}

// add inserts a legacy user and returns its id.
func (l legacyDB) add(t testing.TB, email, password, nickname, name string) int64 {
	t.Helper()
	return testenv.AddLegacyUser(t, l.db, email, password, nickname, name, 4)
}

func (l legacyDB) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	if _, err := l.db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func (l legacyDB) count(t testing.TB, where string, args ...any) int {
	t.Helper()
	var n int
	if err := l.db.QueryRow("SELECT COUNT(*) FROM users WHERE "+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// customConnection creates a CUSTOM_DATABASE connection on the legacy
// database and uploads the MySQL template.
func customConnection(t testing.TB, e *env, name string, l legacyDB, importMode, sync bool) {
	t.Helper()
	in := client.ConnectionInput{Name: name, ImportMode: ptr(importMode), SyncUserProfile: ptr(sync), DatabaseURL: ptr(l.url)}
	e.gql.CustomConnection(t, e.admin, in, script(t, "templates/mysql"))
}
