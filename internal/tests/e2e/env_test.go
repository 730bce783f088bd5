// Package e2e tests Profiled end to end: the real HTTP handler (GraphQL,
// auth middleware, presenter), the service, the policy core and a real
// store — SQLite always, MariaDB too — driven through the genqlient typed
// client and raw HTTP.
package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Khan/genqlient/graphql"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
	"github.com/profiled/profiled/internal/testmysql"
)

// env is one running service on one store (see testenv.Start), with a
// clock the test moves.
type env struct {
	t       testing.TB
	store   *db.DB
	keyring *auth.Keyring
	srv     *httptest.Server
	clock   *testenv.Clock // the service's and the keyring's
	admin   string         // a token with every management scope
	gql     testenv.Client
	svc     *service.Service
	issuer  string // the OpenID Provider's
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

// storeURL returns the URL of a fresh store of kind k.
func storeURL(t testing.TB, k storeKind) string {
	t.Helper()
	if k == mysqlStore {
		return testmysql.URL(t)
	}
	return testenv.SQLiteURL(t)
}

func newEnv(t *testing.T, k storeKind, scripts service.Scripts) *env {
	t.Helper()
	return newEnvTB(t, k, scripts)
}

func newEnvTB(t testing.TB, k storeKind, scripts service.Scripts) *env {
	t.Helper()
	return startEnv(t, testenv.OpenStore(t, storeURL(t, k)), scripts)
}

// startEnv serves the service on store, with a settable clock.
func startEnv(t testing.TB, store *db.DB, scripts service.Scripts) *env {
	t.Helper()
	clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	s := testenv.Start(t, store, testenv.Options{Scripts: scripts, Service: service.Config{Now: clk.Now}})
	return &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: clk, admin: s.Admin, gql: s.GraphQL(nil), svc: s.Service, issuer: s.Issuer}
}

// token issues a management token with just these scopes.
func (e *env) token(scopes ...policy.Scope) string {
	e.t.Helper()
	return testenv.Token(e.t, e.keyring, scopes...)
}

// client returns a typed client that sends token ("" = none).
func (e *env) client(token string) graphql.Client { return e.gql.Typed(token) }

func (e *env) adminClient() graphql.Client { return e.client(e.admin) }

// gqlResponse is a GraphQL response as it came.
type gqlResponse testenv.Response

// code is the extensions.code of the first error ("" when none).
func (r gqlResponse) code() string { return testenv.Response(r).Code() }

// raw posts a GraphQL request and decodes the response as it is.
func (e *env) raw(token, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	return gqlResponse(e.gql.Query(e.t, token, query, vars))
}

// post sends body to /graphql and decodes the response; anything but a
// GraphQL response fails the test.
func (e *env) post(token, contentType string, body []byte) gqlResponse {
	e.t.Helper()
	r, err := e.gql.Post(token, contentType, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return gqlResponse(r)
}

var (
	wantCode  = testenv.WantCode // fails unless a genqlient error carries a code
	field     = testenv.Field    // the extensions.field of a genqlient error
	mustNoErr = testenv.NoError
)

func ptr[T any](v T) *T { return &v }

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
