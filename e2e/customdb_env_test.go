package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/testmysql"
	"github.com/profiled/profiled/sandbox"
	"github.com/profiled/profiled/scriptbuild"
	"github.com/profiled/profiled/scripting"
)

// Scripts are compiled once per test binary (Go→wasm takes seconds).
var (
	buildOnce sync.Map // path → *builtScript
	buildDir  string
)

type builtScript struct {
	once sync.Once
	wasm []byte
	err  error
}

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "profiled-e2e-")
	if err != nil {
		panic(err)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// script builds the Go script at src (relative to the repository root).
func script(t testing.TB, src string) []byte {
	t.Helper()
	v, _ := buildOnce.LoadOrStore(src, &builtScript{})
	b := v.(*builtScript)
	b.once.Do(func() {
		out := filepath.Join(buildDir, strings.ReplaceAll(src, "/", "_")+".wasm")
		if b.err = scriptbuild.Build(context.Background(), filepath.Join("..", src), out); b.err == nil {
			b.wasm, b.err = os.ReadFile(out)
		}
	})
	if b.err != nil {
		t.Fatalf("build %s: %v", src, b.err)
	}
	return b.wasm
}

// newScriptEnv is newEnv with the real sandbox wired in.
func newScriptEnv(t testing.TB, k storeKind) *env {
	t.Helper()
	ctx := context.Background()
	rt, err := sandbox.New(ctx, sandbox.Config{CacheDir: filepath.Join(buildDir, "wazero-cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	var runner *scripting.Runner
	e := newEnvTB(t, k, lazyScripts{get: func() *scripting.Runner { return runner }})
	runner = scripting.New(rt, e.store)
	return e
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
	db, err := sql.Open("mysql", dsn+"&multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	schema, err := os.ReadFile("../templates/mysql/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatalf("legacy schema: %v", err)
	}
	return legacyDB{db: db, url: testmysql.URLOf(dsn)}
}

// add inserts a legacy user and returns its id.
func (l legacyDB) add(t testing.TB, email, password, nickname, name string) int64 {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 4)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.db.Exec("INSERT INTO users (email, password, nickname, name, email_verified) VALUES (?, ?, ?, ?, 1)", email, hash, nickname, name)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
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
	_, err := client.CreateConnection(context.Background(), e.adminClient(), client.ConnectionInput{
		Name: name, Strategy: client.StrategyCustomDatabase, ImportMode: ptr(importMode), SyncUserProfile: ptr(sync),
		DatabaseURL: ptr(l.url), Configuration: obj(map[string]any{"BCRYPT_COST": "4"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	res := e.uploadScript(t, name, script(t, "templates/mysql"))
	if len(res.Errors) > 0 {
		t.Fatalf("upload: %s", res.Raw)
	}
}

// uploadScript calls setConnectionScript through a GraphQL multipart request.
func (e *env) uploadScript(t testing.TB, connection string, wasm []byte) gqlResponse {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{
		"query":     `mutation($c: String!, $f: Upload!) { setConnectionScript(connection: $c, wasm: $f) { name actions hasScript } }`,
		"variables": map[string]any{"c": connection, "f": nil},
	})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.f"]}`)
	fw, _ := w.CreateFormFile("0", "script.wasm")
	_, _ = fw.Write(wasm)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+e.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out gqlResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("upload response: %s", b)
	}
	out.Raw = string(b)
	return out
}
