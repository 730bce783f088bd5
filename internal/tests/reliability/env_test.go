package reliability

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
	"github.com/profiled/profiled/internal/testmysql"
)

// envConfig says how to build an env. The zero value is SQLite, no
// scripts, bcrypt cost 4, logs kept in memory.
type envConfig struct {
	storeURL   string // "" = a fresh SQLite file
	sharedSQL  bool   // a fresh database on the shared MariaDB (testmysql)
	scripts    bool   // wire the real sandbox for custom-database connections
	bcryptCost int
	// wrap, when set, wraps the whole HTTP handler (the secrets harness
	// records requests and responses there).
	wrap func(http.Handler) http.Handler
	// storeOpts are passed to db.Open.
	storeOpts []db.Option
	// service is the service's configuration (its Logger is set by newEnv).
	service service.Config
}

// env is one running service (see testenv.Start), its logs kept, and an
// HTTP client sized for load.
type env struct {
	t       testing.TB
	store   *db.DB
	keyring *auth.Keyring
	srv     *httptest.Server
	admin   string // a token with every management scope
	logs    *logSink
	http    *http.Client
	gql     testenv.Client // over http
}

// logSink keeps every log line of the service (JSON, one per line).
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func newEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	url := cfg.storeURL
	switch {
	case url != "":
	case cfg.sharedSQL:
		url = testmysql.URL(t)
	default:
		url = testenv.SQLiteURL(t)
	}
	store := testenv.OpenStore(t, url, cfg.storeOpts...)
	sink := &logSink{}
	logger := slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var scripts service.Scripts
	if cfg.scripts {
		scripts = scriptCache.Runner(t, store, logger)
	}
	scfg := cfg.service
	scfg.Logger = logger
	s := testenv.Start(t, store, testenv.Options{Scripts: scripts, BcryptCost: cfg.bcryptCost, Service: scfg, Wrap: cfg.wrap})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 100
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 3 * time.Minute}
	return &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, admin: s.Admin, logs: sink, http: hc, gql: s.GraphQL(hc)}
}

// token issues a management token with just these scopes.
func (e *env) token(scopes ...policy.Scope) string {
	e.t.Helper()
	return testenv.Token(e.t, e.keyring, scopes...)
}

// client returns a typed client sending token ("" = none).
func (e *env) client(token string) graphql.Client { return e.gql.Typed(token) }

func (e *env) adminClient() graphql.Client { return e.client(e.admin) }

// gqlResponse is a GraphQL response as it came.
type gqlResponse testenv.Response

// code is the extensions.code of the first error ("" when none).
func (r gqlResponse) code() string { return testenv.Response(r).Code() }

// raw posts a GraphQL request and returns the response as it is.
func (e *env) raw(token, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	return gqlResponse(e.gql.Query(e.t, token, query, vars))
}

// post sends a body to /graphql; transport errors are returned, a non-JSON
// answer is an error too.
func (e *env) post(token, contentType string, body []byte) (gqlResponse, error) {
	r, err := e.gql.Post(token, contentType, body)
	return gqlResponse(r), err
}

var (
	code      = testenv.Code     // the extensions.code of a genqlient error ("" for nil)
	wantCode  = testenv.WantCode // fails unless a genqlient error carries a code
	mustNoErr = testenv.NoError
)

func ptr[T any](v T) *T { return &v }

func obj(m map[string]any) *map[string]any { return &m }

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, within, err)
		}
		time.Sleep(50 * time.Millisecond) // between polls of a condition with a deadline
	}
}

func createDBConnection(t testing.TB, e *env, name string) {
	t.Helper()
	_, err := client.CreateConnection(context.Background(), e.adminClient(), client.ConnectionInput{Name: name, Strategy: client.StrategyDatabase})
	mustNoErr(t, err)
}

// --- custom databases ---

// scriptCache compiles the MySQL template once per test binary and holds
// wazero's cache.
var scriptCache = testenv.NewScriptCache("profiled-reliability-")

func TestMain(m *testing.M) {
	code := m.Run()
	scriptCache.Close()
	if templateDir != "" {
		os.RemoveAll(filepath.Dir(templateDir))
	}
	os.Exit(code)
}

// templateScript builds templates/mysql once per test binary.
func templateScript(t testing.TB) []byte {
	t.Helper()
	return scriptCache.Build(t, "templates/mysql")
}

// legacySchema creates the template's users table in the database at dsn.
var legacySchema = testenv.LegacySchema

// customConnection creates a CUSTOM_DATABASE connection on databaseURL
// with the MySQL template script (config nil: bcrypt cost 4).
func customConnection(t testing.TB, e *env, name, databaseURL string, importMode bool, config map[string]any) {
	t.Helper()
	in := client.ConnectionInput{Name: name, ImportMode: ptr(importMode), SyncUserProfile: ptr(true), DatabaseURL: ptr(databaseURL)}
	if config != nil {
		in.Configuration = obj(config)
	}
	e.gql.CustomConnection(t, e.admin, in, templateScript(t))
}

// uploadScript calls setConnectionScript with a multipart request.
func (e *env) uploadScript(t testing.TB, connection string, wasm []byte) gqlResponse {
	t.Helper()
	r, err := e.gql.UploadScript(e.admin, connection, wasm)
	if err != nil {
		t.Fatal(err)
	}
	return gqlResponse(r)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
