package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
)

// TestScopeMatrix: each operation with a token missing its scope is
// FORBIDDEN, without a token UNAUTHENTICATED, with a user token FORBIDDEN —
// and changes nothing.
func TestScopeMatrix(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		r, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "main", Email: "s@example.com", Password: ptr("password-123")})
		mustNoErr(t, err)
		id := r.CreateUser.Id
		// The user token is another user's: deleteUser deletes s@, and a
		// deleted user's token is refused (UNAUTHENTICATED).
		_, err = client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "main", Email: "u@example.com", Password: ptr("password-123")})
		mustNoErr(t, err)
		login, err := client.Login(ctx, e.client(""), "main", "u@example.com", "password-123")
		mustNoErr(t, err)
		userToken := login.Login.AccessToken

		ops := []struct {
			name  string
			scope policy.Scope
			query string
		}{
			{"user", policy.ScopeReadUsers, `{ user(id: "` + id + `") { id } }`},
			{"users", policy.ScopeReadUsers, `{ users { totalCount } }`},
			{"usersByEmail", policy.ScopeReadUsers, `{ usersByEmail(email: "s@example.com") { id } }`},
			{"createUser", policy.ScopeCreateUsers, `mutation { createUser(input: {connection: "main", email: "n@example.com", password: "password-123"}) { id } }`},
			{"updateUser", policy.ScopeUpdateUsers, `mutation { updateUser(id: "` + id + `", input: {name: "x"}) { id } }`},
			{"changePassword", policy.ScopeUpdateUsers, `mutation { changePassword(id: "` + id + `", password: "password-456") }`},
			{"deleteUser", policy.ScopeDeleteUsers, `mutation { deleteUser(id: "` + id + `") }`},
			{"connection", policy.ScopeReadConnections, `{ connection(name: "main") { name } }`},
			{"connections", policy.ScopeReadConnections, `{ connections { name } }`},
			{"createConnection", policy.ScopeCreateConnections, `mutation { createConnection(input: {name: "other", strategy: DATABASE}) { name } }`},
			{"updateConnection", policy.ScopeUpdateConnections, `mutation { updateConnection(name: "main", input: {syncUserProfile: false}) { name } }`},
		}
		for _, op := range ops {
			t.Run(op.name, func(t *testing.T) {
				var others []policy.Scope
				for _, s := range policy.ManagementScopes {
					if s != op.scope && !(op.scope == policy.ScopeUpdateUsers && s == policy.ScopeUpdateUsersAppMetadata) {
						others = append(others, s)
					}
				}
				if got := e.raw(e.token(others...), op.query, nil); got.code() != "FORBIDDEN" {
					t.Fatalf("missing %s: %s", op.scope, got.Raw)
				}
				if got := e.raw("", op.query, nil); got.code() != "UNAUTHENTICATED" {
					t.Fatalf("no token: %s", got.Raw)
				}
				if got := e.raw(userToken, op.query, nil); got.code() != "FORBIDDEN" {
					t.Fatalf("user token: %s", got.Raw)
				}
				if got := e.raw(e.token(op.scope), op.query, nil); len(got.Errors) != 0 && op.name != "changePassword" && op.name != "updateUser" {
					t.Fatalf("with only %s: %s", op.scope, got.Raw)
				}
			})
		}
		// Self-service operations refuse management tokens.
		for _, q := range []string{`{ me { id } }`, `mutation { updateMe(userMetadata: {a: 1}) { id } }`} {
			if got := e.raw(e.admin, q, nil); got.code() != "FORBIDDEN" {
				t.Fatalf("%s with a management token: %s", q, got.Raw)
			}
			if got := e.raw("", q, nil); got.code() != "UNAUTHENTICATED" {
				t.Fatalf("%s without a token: %s", q, got.Raw)
			}
		}
	})
}

func TestBadTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteStore, nil)
	expired, err := e.keyring.IssueManagement(policy.ManagementScopes, "x", time.Minute)
	mustNoErr(t, err)
	e.clock.Advance(2 * time.Hour)
	for name, tok := range map[string]string{
		"garbage":   "not-a-jwt",
		"alg none":  "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzY29wZSI6InJlYWQ6dXNlcnMifQ.",
		"expired":   expired,
		"truncated": e.admin[:len(e.admin)-5],
	} {
		t.Run(name, func(t *testing.T) {
			got := e.raw(tok, `{ users { totalCount } }`, nil)
			if got.code() != "UNAUTHENTICATED" {
				t.Fatalf("%s: %s", name, got.Raw)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteStore, nil)
	cases := []struct {
		name, body, code string
	}{
		{"malformed JSON", `{"query": "{ users { totalCount } }"`, ""},
		{"parse error", `{"query": "{ users { "}`, "GRAPHQL_PARSE_FAILED"},
		{"unknown field", `{"query": "{ nope }"}`, "GRAPHQL_VALIDATION_FAILED"},
		{"wrong variable type", `{"query": "query($n: Int) { users(first: $n) { totalCount } }", "variables": {"n": "ten"}}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := e.post(e.admin, "application/json", []byte(tc.body))
			if len(got.Errors) == 0 {
				t.Fatalf("no error: %s", got.Raw)
			}
			if tc.code != "" && got.code() != tc.code {
				t.Fatalf("code = %q, want %q: %s", got.code(), tc.code, got.Raw)
			}
			if got.code() == "" {
				t.Fatalf("error without a code: %s", got.Raw)
			}
		})
	}
	aliases := "{ x: connections { name }"
	for i := 0; i < 40; i++ {
		aliases += " a" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ": connections { name }"
	}
	aliases += " }"
	if got := e.raw(e.admin, aliases, nil); got.code() != "BAD_USER_INPUT" || !strings.Contains(got.Raw, "aliases") {
		t.Fatalf("40 aliases: %s", got.Raw)
	}
	// Oversized body.
	big := `{"query": "{ users { totalCount } }", "variables": {"x": "` + strings.Repeat("a", 2<<20) + `"}}`
	got := e.post(e.admin, "application/json", []byte(big))
	if got.Status != http.StatusRequestEntityTooLarge || got.code() != "BAD_USER_INPUT" {
		t.Fatalf("oversized body: %d %s", got.Status, got.Raw[:min(len(got.Raw), 200)])
	}
}

func TestOperability(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteStore, nil)
	for path, want := range map[string]string{
		"/healthz":               `"ok"`,
		"/metrics":               "profiled_http_requests_total",
		"/.well-known/jwks.json": `"RS256"`,
		"/":                      "GraphQL",
	} {
		// Hit /graphql once so the request metric exists.
		e.raw(e.admin, `{ connections { name } }`, nil)
		res, err := http.Get(e.srv.URL + path)
		mustNoErr(t, err)
		b := make([]byte, 1<<20)
		n, _ := ioReadFull(res, b)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b[:n]), want) {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b[:min(n, 300)])
		}
	}
}
