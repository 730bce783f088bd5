// Package e2e tests Profiled end to end: the real HTTP handler (GraphQL,
// auth middleware, presenter), the service, the policy core and a real
// store — SQLite always, MariaDB too — driven through the genqlient typed
// client and raw HTTP.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/profiled/profiled/auth"
	"github.com/profiled/profiled/db"
	gql "github.com/profiled/profiled/graph"
	"github.com/profiled/profiled/internal/testmysql"
	"github.com/profiled/profiled/passwords"
	"github.com/profiled/profiled/policy"
	"github.com/profiled/profiled/server"
	"github.com/profiled/profiled/service"
)

// clock is a settable clock shared by the service and the keyring.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is one running service on one store.
type env struct {
	t       testing.TB
	store   *db.DB
	svc     *service.Service
	keyring *auth.Keyring
	srv     *httptest.Server
	clock   *clock
	admin   string // a token with every management scope
	scripts service.Scripts
}

type storeKind string

const (
	sqliteStore storeKind = "sqlite"
	mysqlStore  storeKind = "mysql"
)

// forEachStore runs f on SQLite and on MariaDB.
func forEachStore(t *testing.T, f func(t *testing.T, e *env)) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) {
			f(t, newEnv(t, k, nil))
		})
	}
}

var allManagementScopes = []policy.Scope{
	policy.ScopeReadUsers, policy.ScopeCreateUsers, policy.ScopeUpdateUsers, policy.ScopeUpdateUsersAppMetadata,
	policy.ScopeDeleteUsers, policy.ScopeReadConnections, policy.ScopeCreateConnections, policy.ScopeUpdateConnections,
}

func storeURL(t testing.TB, k storeKind) string {
	t.Helper()
	if k == mysqlStore {
		return testmysql.URL(t)
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "profiled.db")
}

func newEnv(t *testing.T, k storeKind, scripts service.Scripts) *env {
	t.Helper()
	return newEnvTB(t, k, scripts)
}

func newEnvTB(t testing.TB, k storeKind, scripts service.Scripts) *env {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, storeURL(t, k))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	keyring, err := auth.New(ctx, store, auth.Config{Now: clk.Now})
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	hasher, err := passwords.New(passwords.Config{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(store, hasher, keyring, scripts, service.Config{Now: clk.Now})
	h := server.New(server.Options{
		Resolver: &gql.Resolver{Service: svc},
		Keyring:  keyring,
		Store:    store,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	admin, err := keyring.IssueManagement(allManagementScopes, "test-admin", 240*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, store: store, svc: svc, keyring: keyring, srv: srv, clock: clk, admin: admin, scripts: scripts}
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

// client returns a typed client that sends token ("" = none).
func (e *env) client(token string) graphql.Client {
	hc := &http.Client{Transport: bearer{token: token, base: http.DefaultTransport}}
	return graphql.NewClient(e.srv.URL+"/graphql", hc)
}

func (e *env) adminClient() graphql.Client { return e.client(e.admin) }

// gqlError is one error of a GraphQL response.
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

// raw posts a GraphQL request and decodes the response as it is.
func (e *env) raw(token, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return e.post(token, "application/json", body)
}

func (e *env) post(token, contentType string, body []byte) gqlResponse {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out gqlResponse
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("response is not JSON (%d): %s", res.StatusCode, b)
	}
	out.Status, out.Raw = res.StatusCode, string(b)
	return out
}

// code returns the extensions.code of a genqlient error ("" for nil).
func code(t *testing.T, err error) string {
	t.Helper()
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

// field returns the extensions.field of a genqlient error.
func field(err error) string {
	var l gqlerror.List
	if errors.As(err, &l) && len(l) > 0 {
		f, _ := l[0].Extensions["field"].(string)
		return f
	}
	return ""
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(t, err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func ptr[T any](v T) *T { return &v }

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func ioReadFull(res *http.Response, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := res.Body.Read(b[n:])
		n += m
		if err != nil {
			return n, nil
		}
	}
	return n, nil
}

func obj(m map[string]any) *map[string]any { return &m }

func deref(p *map[string]any) map[string]any {
	if p == nil {
		return nil
	}
	return *p
}
