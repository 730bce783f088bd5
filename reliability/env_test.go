package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/profiled/profiled/auth"
	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/db"
	gql "github.com/profiled/profiled/graph"
	"github.com/profiled/profiled/internal/testmysql"
	"github.com/profiled/profiled/passwords"
	"github.com/profiled/profiled/policy"
	"github.com/profiled/profiled/sandbox"
	"github.com/profiled/profiled/scriptbuild"
	"github.com/profiled/profiled/scripting"
	"github.com/profiled/profiled/server"
	"github.com/profiled/profiled/service"
)

var allManagementScopes = []policy.Scope{
	policy.ScopeReadUsers, policy.ScopeCreateUsers, policy.ScopeUpdateUsers, policy.ScopeUpdateUsersAppMetadata,
	policy.ScopeDeleteUsers, policy.ScopeReadConnections, policy.ScopeCreateConnections, policy.ScopeUpdateConnections,
}

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

// env is one running service: the real handler on a loopback httptest
// server, over a real store.
type env struct {
	t       testing.TB
	store   *db.DB
	svc     *service.Service
	keyring *auth.Keyring
	srv     *httptest.Server
	admin   string
	logs    *logSink
	http    *http.Client
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
	ctx := context.Background()
	url := cfg.storeURL
	switch {
	case url != "":
	case cfg.sharedSQL:
		url = testmysql.URL(t)
	default:
		url = "sqlite:" + filepath.Join(t.TempDir(), "profiled.db")
	}
	store, err := db.Open(ctx, url, cfg.storeOpts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	sink := &logSink{}
	logger := slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	keyring, err := auth.New(ctx, store, auth.Config{})
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	if cfg.bcryptCost == 0 {
		cfg.bcryptCost = 4
	}
	hasher, err := passwords.New(passwords.Config{BcryptCost: cfg.bcryptCost})
	if err != nil {
		t.Fatal(err)
	}
	var scripts service.Scripts
	if cfg.scripts {
		rt, err := sandbox.New(ctx, sandbox.Config{CacheDir: filepath.Join(buildDir(t), "wazero-cache"), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close(context.Background()) })
		scripts = scripting.New(rt, store)
	}
	scfg := cfg.service
	scfg.Logger = logger
	svc := service.New(store, hasher, keyring, scripts, scfg)
	var h http.Handler = server.New(server.Options{
		Resolver: &gql.Resolver{Service: svc, Logger: logger},
		Keyring:  keyring,
		Store:    store,
		Logger:   logger,
	})
	if cfg.wrap != nil {
		h = cfg.wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	admin, err := keyring.IssueManagement(allManagementScopes, "test-admin", 240*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 100
	t.Cleanup(tr.CloseIdleConnections)
	return &env{t: t, store: store, svc: svc, keyring: keyring, srv: srv, admin: admin, logs: sink,
		http: &http.Client{Transport: tr, Timeout: 3 * time.Minute}}
}

// token issues a management token with just these scopes.
func (e *env) token(scopes ...policy.Scope) string {
	e.t.Helper()
	tok, err := e.keyring.IssueManagement(scopes, "test", time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.base.RoundTrip(r)
}

// client returns a typed client sending token ("" = none).
func (e *env) client(token string) graphql.Client {
	hc := &http.Client{Transport: bearer{token: token, base: e.http.Transport}, Timeout: e.http.Timeout}
	return graphql.NewClient(e.srv.URL+"/graphql", hc)
}

func (e *env) adminClient() graphql.Client { return e.client(e.admin) }

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
	Status int             `json:"-"`
	Raw    string          `json:"-"`
}

func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// raw posts a GraphQL request and returns the response as it is.
func (e *env) raw(token, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.post(token, "application/json", body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// post sends a body to /graphql; transport errors are returned, a non-JSON
// answer is an error too.
func (e *env) post(token, contentType string, body []byte) (gqlResponse, error) {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.http.Do(req)
	if err != nil {
		return gqlResponse{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return gqlResponse{}, err
	}
	var out gqlResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return gqlResponse{}, fmt.Errorf("response is not JSON (%d): %.300s", res.StatusCode, b)
	}
	out.Status, out.Raw = res.StatusCode, string(b)
	return out, nil
}

// code returns the extensions.code of a genqlient error ("" for nil).
func code(err error) string {
	if err == nil {
		return ""
	}
	var l gqlerror.List
	if errors.As(err, &l) && len(l) > 0 {
		if c, ok := l[0].Extensions["code"].(string); ok {
			return c
		}
	}
	return "no code: " + err.Error()
}

func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

func mustNoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

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

var (
	buildMu   sync.Mutex
	buildRoot string
	built     = map[string][]byte{}
)

// buildDir is a directory shared by the test binary for compiled scripts
// and wazero's cache (removed by TestMain).
func buildDir(t testing.TB) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildRoot == "" {
		d, err := os.MkdirTemp("", "profiled-reliability-")
		if err != nil {
			t.Fatal(err)
		}
		buildRoot = d
	}
	return buildRoot
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildRoot != "" {
		os.RemoveAll(buildRoot)
	}
	if templateDir != "" {
		os.RemoveAll(filepath.Dir(templateDir))
	}
	os.Exit(code)
}

// templateScript builds templates/mysql once per test binary.
func templateScript(t testing.TB) []byte {
	t.Helper()
	dir := buildDir(t)
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built["mysql"]; ok {
		return b
	}
	out := filepath.Join(dir, "mysql.wasm")
	if err := scriptbuild.Build(context.Background(), filepath.Join("..", "templates", "mysql"), out); err != nil {
		t.Fatalf("build the MySQL template: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	built["mysql"] = b
	return b
}

// legacySchema creates the template's users table through db.
func legacySchema(t testing.TB, dsn string) {
	t.Helper()
	schema, err := os.ReadFile("../templates/mysql/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	d, err := openSQL(dsn + "&multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(string(schema)); err != nil {
		t.Fatalf("legacy schema: %v", err)
	}
}

// customConnection creates a CUSTOM_DATABASE connection on databaseURL
// with the MySQL template script.
func customConnection(t testing.TB, e *env, name, databaseURL string, importMode bool, config map[string]any) {
	t.Helper()
	if config == nil {
		config = map[string]any{"BCRYPT_COST": "4"}
	}
	_, err := client.CreateConnection(context.Background(), e.adminClient(), client.ConnectionInput{
		Name: name, Strategy: client.StrategyCustomDatabase, ImportMode: ptr(importMode), SyncUserProfile: ptr(true),
		DatabaseURL: ptr(databaseURL), Configuration: obj(config),
	})
	mustNoErr(t, err)
	res := e.uploadScript(t, name, templateScript(t))
	if len(res.Errors) > 0 {
		t.Fatalf("upload: %s", res.Raw)
	}
}

// uploadScript calls setConnectionScript with a multipart request.
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
	res, err := e.post(e.admin, w.FormDataContentType(), body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
