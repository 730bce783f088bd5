package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// createCustom creates a CUSTOM_DATABASE connection on url and returns the
// response.
func createCustom(e *env, name, url string) gqlResponse {
	e.t.Helper()
	return e.raw(e.admin, `mutation($n: String!, $u: String!) { createConnection(input: {name: $n, strategy: CUSTOM_DATABASE, databaseURL: $u}) { name } }`,
		map[string]any{"n": name, "u": url})
}

func wantURLRefused(t *testing.T, what string, r gqlResponse, sub string) {
	t.Helper()
	if r.code() != "BAD_USER_INPUT" || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, sub) {
		t.Fatalf("%s: want BAD_USER_INPUT mentioning %q, got %s", what, sub, r.Raw)
	}
}

// TestCustomDBSQLiteRefusedByDefault: without the operator's leave, no
// sqlite: custom database (it could name any file the server can read,
// its own store first).
func TestCustomDBSQLiteRefusedByDefault(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	own := e.store.Config().Path
	cwd, _ := os.Getwd()
	rel, err := filepath.Rel(cwd, own)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range []string{"sqlite:" + own, "sqlite:" + rel, "sqlite:" + filepath.Join(t.TempDir(), "customer.db")} {
		wantURLRefused(t, u, createCustom(e, "c"+string(rune('a'+i)), u), "may not be sqlite:")
	}
	if r := e.raw(e.admin, `{ connections { name } }`, nil); strings.Contains(string(r.Data), `"name"`) {
		t.Fatalf("a refused connection was stored: %s", r.Raw)
	}
}

// TestCustomDBSQLiteDir: with a directory allowed, a sqlite: URL must
// stay inside it once cleaned and its links resolved, and never name the
// service's own store (nor its journal files).
func TestCustomDBSQLiteDir(t *testing.T) {
	dir := t.TempDir()
	storePath := filepath.Join(dir, "profiled.db")
	store := testenv.OpenStore(t, "sqlite:"+storePath)
	outside := t.TempDir()
	if err := os.Symlink(storePath, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	s := testenv.Start(t, store, testenv.Options{Service: service.Config{Now: clk.Now, CustomDB: service.CustomDBConfig{SQLiteDir: dir}}})
	e := &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: clk, admin: s.Admin, gql: s.GraphQL(nil)}

	for _, c := range []struct{ url, sub string }{
		{"sqlite:" + storePath, "own store"},
		{"sqlite:" + storePath + "-wal", "own store"},
		{"sqlite://" + storePath, "own store"},
		{"sqlite:" + filepath.Join(dir, "sub") + "/../profiled.db", "own store"},
		{"sqlite:" + filepath.Join(dir, "link.db"), "own store"},
		{"sqlite:" + filepath.Join(dir, "profiled%2edb"), "must not contain"},
		{"sqlite:" + filepath.Join(dir, "profiled.db?mode=ro"), "must not contain"},
		{"sqlite:" + dir + "/../escape.db", "inside the directory"},
		{"sqlite:" + filepath.Join(dir, "out", "x.db"), "inside the directory"},
		{"sqlite:/etc/passwd", "inside the directory"},
	} {
		wantURLRefused(t, c.url, createCustom(e, "bad", c.url), c.sub)
	}
	wantOK(t, "customer database inside the directory", createCustom(e, "ok", "sqlite:"+filepath.Join(dir, "sub", "customer.db")))
	r := e.raw(e.admin, `mutation($u: String!) { updateConnection(name: "ok", input: {databaseURL: $u}) { name } }`, map[string]any{"u": "sqlite:" + filepath.Join(dir, "link.db")})
	wantURLRefused(t, "update to the store through a link", r, "own store")
}

// TestCustomDBOwnStoreRefused: a URL naming the service's own store is
// refused at create, update, upload, try and call time, on both stores.
func TestCustomDBOwnStoreRefused(t *testing.T) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) {
			url := storeURL(t, k)
			var dir string
			if k == sqliteStore {
				dir = filepath.Dir(strings.TrimPrefix(url, "sqlite:"))
			}
			store := testenv.OpenStore(t, url)
			clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
			s := testenv.Start(t, store, testenv.Options{Scripts: scripts.Runner(t, store, nil),
				Service: service.Config{Now: clk.Now, CustomDB: service.CustomDBConfig{SQLiteDir: dir}}})
			e := &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: clk, admin: s.Admin, gql: s.GraphQL(nil)}
			own := ownURLs(t, store.Config())
			for i, u := range own {
				wantURLRefused(t, u, createCustom(e, "own"+string(rune('a'+i)), u), "own store")
			}
			legacy := newLegacyDB(t)
			customConnection(t, e, "legacy", legacy, false, true)
			r := e.raw(e.admin, `mutation($u: String!) { updateConnection(name: "legacy", input: {databaseURL: $u}) { name } }`, map[string]any{"u": own[0]})
			wantURLRefused(t, "update", r, "own store")

			// Written behind the API's back (or stored before this check
			// existed): upload, try and every call refuse it.
			ctx := context.Background()
			c, err := store.ConnectionByName(ctx, "legacy")
			if err != nil {
				t.Fatal(err)
			}
			c.DatabaseURL = own[0]
			if err := store.UpdateConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
			up, err := e.gql.UploadScript(e.admin, "legacy", script(t, "templates/mysql"))
			if err != nil {
				t.Fatal(err)
			}
			wantURLRefused(t, "upload", gqlResponse(up), "own store")
			tr := e.raw(e.admin, `mutation { tryConnectionScript(connection: "legacy", action: GET_USER, email: "a@example.com") { ok errorCode errorMessage } }`, nil)
			if !strings.Contains(string(tr.Data), `"errorCode":"CONNECTION_UNAVAILABLE"`) {
				t.Fatalf("try: %s", tr.Raw)
			}
			lr := e.raw("", `mutation { login(connection: "legacy", email: "a@example.com", password: "pw") { accessToken } }`, nil)
			if lr.code() != "CONNECTION_UNAVAILABLE" {
				t.Fatalf("login: %s", lr.Raw)
			}
		})
	}
}

// ownURLs spells the store's own URL in several ways.
func ownURLs(t *testing.T, c db.Config) []string {
	if c.Dialect == db.DialectSQLite {
		cwd, _ := os.Getwd()
		rel, err := filepath.Rel(cwd, c.Path)
		if err != nil {
			t.Fatal(err)
		}
		return []string{"sqlite:" + c.Path, "sqlite:" + rel, "sqlite:" + filepath.Dir(c.Path) + "/./" + filepath.Base(c.Path)}
	}
	port := c.Port
	urls := []string{
		"mysql://someone@localhost:" + strconv.Itoa(port) + "/" + c.DBName,
		"mysql://someone:pw@127.0.0.1:" + strconv.Itoa(port) + "/" + c.DBName,
		"mysql://someone@[::ffff:127.0.0.1]:" + strconv.Itoa(port) + "/" + strings.ToUpper(c.DBName),
	}
	if port == 3306 {
		urls = append(urls, "mysql://someone@127.0.0.2/"+c.DBName)
	}
	return urls
}
