package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// listedUser is what the hand-written list handler returns per user: the
// fields benchListQuery selects, under the same names.
type listedUser struct {
	ID            string          `json:"id"`
	Connection    string          `json:"connection"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"emailVerified"`
	Name          string          `json:"name"`
	Nickname      string          `json:"nickname"`
	Blocked       bool            `json:"blocked"`
	UserMetadata  policy.Metadata `json:"userMetadata"`
	AppMetadata   policy.Metadata `json:"appMetadata"`
	CreatedAt     time.Time       `json:"createdAt"`
	LoginsCount   int64           `json:"loginsCount"`
}

// baselineListHandler is the list endpoint a team would hand-write: verify
// the bearer token, check the scope, read a page of users in id order
// through the same store (one SELECT … ORDER BY id LIMIT n), encode them
// with encoding/json into structs.
func baselineListHandler(e *env) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := e.keyring.Verify(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil || !caller.Has(policy.ScopeReadUsers) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var req struct{ First int }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		us, err := e.store.ListUsers(r.Context(), service.ListUsersParams{Limit: req.First})
		if err != nil {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		out := make([]listedUser, len(us))
		for i, u := range us {
			out[i] = listedUser{ID: u.ID, Connection: u.Connection, Email: u.Email, EmailVerified: u.EmailVerified,
				Name: u.Name, Nickname: u.Nickname, Blocked: u.Blocked, UserMetadata: u.UserMetadata,
				AppMetadata: u.AppMetadata, CreatedAt: u.CreatedAt, LoginsCount: u.LoginsCount}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"users": out})
	})
}

// benchListQuery is the listing the Kratos comparison runs (issue 17):
// a first page of 100 users, without totalCount.
const benchListQuery = `query($first: Int) { users(first: $first) { pageInfo { hasNextPage endCursor } edges { cursor node { id connection email emailVerified name nickname blocked userMetadata appMetadata createdAt loginsCount } } } }`

// BenchmarkUsersList: users(first: 100) through the full GraphQL stack
// (HTTP, auth, gqlgen, service, store) against the hand-written list
// handler, on loopback, same store, same 100 users, same run.
func BenchmarkUsersList(b *testing.B) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		b.Run(string(k), func(b *testing.B) {
			e := newBenchEnv(b, k)
			ctx := context.Background()
			createDBConnectionB(b, e)
			for i := 0; i < 100; i++ {
				_, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "main",
					Email: fmt.Sprintf("list%03d@example.com", i), Password: ptr("password-123"), Name: ptr(fmt.Sprintf("List User %d", i)),
					Nickname:     ptr(fmt.Sprintf("lu%d", i)),
					UserMetadata: obj(map[string]any{"lang": "en", "theme": "dark", "score": i}),
					AppMetadata:  obj(map[string]any{"plan": "pro", "roles": []any{"reader", "writer"}})})
				if err != nil {
					b.Fatal(err)
				}
			}
			base := httptest.NewServer(baselineListHandler(e))
			defer base.Close()
			gqlBody, _ := json.Marshal(map[string]any{"query": benchListQuery, "variables": map[string]any{"first": 100}})
			baseBody, _ := json.Marshal(map[string]any{"first": 100})
			do := benchPoster(e.admin, "list099@example.com")
			ratioBench(b, 8,
				func() error { return do(base.URL, baseBody) },
				func() error { return do(e.srv.URL+"/graphql", gqlBody) })
		})
	}
}
