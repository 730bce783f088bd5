package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/graph"
	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/server"
	"github.com/profiled/profiled/internal/service"
)

// knownCodes are the extensions.code values the API documents.
var knownCodes = map[string]bool{
	"UNAUTHENTICATED": true, "FORBIDDEN": true, "NOT_FOUND": true, "BAD_USER_INPUT": true, "FIELD_NOT_UPDATABLE": true,
	"INVALID_CREDENTIALS": true, "USER_BLOCKED": true, "USER_EXISTS": true, "SCRIPT_ERROR": true, "SCRIPT_TIMEOUT": true,
	"CONNECTION_UNAVAILABLE": true, "TOO_MANY_ATTEMPTS": true, "GRAPHQL_PARSE_FAILED": true, "GRAPHQL_VALIDATION_FAILED": true,
}

type fuzzEnv struct {
	url, admin, user, id string
}

// newFuzzEnv is the real handler over a SQLite store with one DATABASE
// user, a management token and that user's own token.
func newFuzzEnv(f *testing.F) *fuzzEnv {
	ctx := context.Background()
	store, keyring, hasher, log := sqliteStack(f, "fuzz.db")
	svc := service.New(store, hasher, keyring, nil, service.Config{Logger: log})
	srv := httptest.NewServer(server.New(server.Options{Resolver: &graph.Resolver{Service: svc, Logger: log}, Keyring: keyring, Store: store, Logger: log}))
	f.Cleanup(srv.Close)
	admin, err := keyring.IssueManagement([]policy.Scope{policy.ScopeReadUsers, policy.ScopeCreateUsers, policy.ScopeUpdateUsers,
		policy.ScopeUpdateUsersAppMetadata, policy.ScopeCreateConnections}, "fuzz", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	e := &fuzzEnv{url: srv.URL + "/graphql", admin: admin}
	if _, errs := e.post(f, admin, []byte(`{"query":"mutation { createConnection(input: {name: \"main\", strategy: DATABASE}) { name } }"}`)); len(errs) > 0 {
		f.Fatal(errs)
	}
	data, errs := e.post(f, admin, []byte(`{"query":"mutation { createUser(input: {connection: \"main\", email: \"fuzz@example.com\", password: \"password-fuzz\"}) { id } }"}`))
	if len(errs) > 0 {
		f.Fatal(errs)
	}
	var d struct{ CreateUser struct{ ID string } }
	_ = json.Unmarshal(data, &d)
	e.id = d.CreateUser.ID
	u, err := svc.Login(ctx, "main", "fuzz@example.com", "password-fuzz")
	if err != nil {
		f.Fatal(err)
	}
	e.user = u.AccessToken
	return e
}

type fuzzError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

func (e *fuzzEnv) post(t testing.TB, token string, body []byte) (json.RawMessage, []fuzzError) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []fuzzError     `json:"errors"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not JSON (%d): %.300s", res.StatusCode, b)
	}
	for _, er := range out.Errors {
		c, _ := er.Extensions["code"].(string)
		if !knownCodes[c] {
			t.Fatalf("error code %q (INTERNAL or undocumented) for %s: %s", c, body, b)
		}
	}
	return out.Data, out.Errors
}

const updateUserQ = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id email username phoneNumber name nickname picture blocked userMetadata appMetadata } }`

// FuzzUpdateUser sends arbitrary updateUser inputs (any bytes in place of
// the input variable's JSON) through the real HTTP handler, GraphQL layer,
// service, policy core and SQLite store. Whatever the input: no 5xx, no
// INTERNAL or undocumented error code, a user token is always FORBIDDEN,
// and the user stays readable after every accepted change.
func FuzzUpdateUser(f *testing.F) {
	for _, s := range []string{
		`{"name":"Ann"}`,
		`{"userMetadata":{"a":1,"b":null},"appMetadata":{"plan":"pro"}}`,
		`{"userMetadata":{}}`,
		`{"userMetadata":{"a.b":1}}`,
		`{"appMetadata":{"email":"x"}}`,
		`{"email":"NEW@example.com","emailVerified":true}`,
		`{"password":"short"}`,
		`{"password":"a long enough password"}`,
		`{"blocked":true}`,
		`{"picture":"javascript:alert(1)","phoneNumber":"+1 555"}`,
		`{"userMetadata":"not an object"}`,
		`{"userMetadata":[1,2]}`,
		`{"username":"\u0000"}`,
		`{"name":null,"nickname":""}`,
		`{"unknownField":1}`,
		`null`,
		`{"userMetadata":{"x":{"y":{"z":[1,{"$w":2}]}}}}`,
	} {
		f.Add(s, false)
	}
	f.Add(`{"appMetadata":{"plan":"pro"}}`, true)
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, input string, asUser bool) {
		body := []byte(`{"query":` + mustJSON(updateUserQ) + `,"variables":{"id":` + mustJSON(e.id) + `,"input":` + input + `}}`)
		token := e.admin
		if asUser {
			token = e.user
		}
		_, errs := e.post(t, token, body)
		if asUser && json.Valid(body) && len(errs) > 0 {
			if c := errs[0].Extensions["code"]; c != "FORBIDDEN" && c != "GRAPHQL_VALIDATION_FAILED" && c != "BAD_USER_INPUT" {
				t.Fatalf("user token on updateUser: %v", errs)
			}
		}
		if asUser && len(errs) == 0 {
			t.Fatalf("a user token updated a user: %s", body)
		}
		_, rerrs := e.post(t, e.admin, []byte(`{"query":"query($id: ID!) { user(id: $id) { id email userMetadata appMetadata identities { userId } } }","variables":{"id":`+mustJSON(e.id)+`}}`))
		if len(rerrs) > 0 {
			t.Fatalf("the user is unreadable after %s: %v", input, rerrs)
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// sqliteStack is what the handler tests build the service from: a SQLite
// store (file name in a temporary directory), its keyring, a bcrypt-4
// hasher and a discarding logger.
func sqliteStack(tb testing.TB, name string) (*db.DB, *auth.Keyring, *passwords.Hasher, *slog.Logger) {
	tb.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, "sqlite:"+filepath.Join(tb.TempDir(), name))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	keyring, err := auth.New(ctx, store, auth.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	hasher, err := passwords.New(passwords.Config{BcryptCost: 4})
	if err != nil {
		tb.Fatal(err)
	}
	return store, keyring, hasher, slog.New(slog.NewTextHandler(io.Discard, nil))
}
