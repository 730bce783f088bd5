package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/graph"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/server"
	"github.com/profiled/profiled/internal/service"
)

// searchSpy is the SQLite store, recording whether each search asked the
// store to count.
type searchSpy struct {
	*db.DB
	mu     sync.Mutex
	counts []bool
}

func (s *searchSpy) SearchUsers(ctx context.Context, p service.SearchParams) ([]service.SearchHit, int, error) {
	s.mu.Lock()
	s.counts = append(s.counts, p.Count)
	s.mu.Unlock()
	return s.DB.SearchUsers(ctx, p)
}

func (s *searchSpy) take() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	s.counts = nil
	return c
}

// TestUsersCountsOnlyWhenTotalCountIsSelected sends users queries through
// the real HTTP handler and GraphQL layer: the store is asked to count
// exactly when the selection holds totalCount (directly, aliased, in an
// inline or named fragment, not skipped), and the count is right then.
func TestUsersCountsOnlyWhenTotalCountIsSelected(t *testing.T) {
	t.Parallel()
	store, keyring, hasher, log := sqliteStack(t, "count.db")
	spy := &searchSpy{DB: store}
	svc := service.New(spy, hasher, keyring, nil, service.Config{Logger: log})
	srv := httptest.NewServer(server.New(server.Options{Resolver: &graph.Resolver{Service: svc, Logger: log}, Keyring: keyring, Store: store, Logger: log}))
	t.Cleanup(srv.Close)
	admin, err := keyring.IssueManagement([]policy.Scope{policy.ScopeReadUsers, policy.ScopeCreateUsers,
		policy.ScopeUpdateUsersAppMetadata, policy.ScopeCreateConnections}, "count", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e := &fuzzEnv{url: srv.URL + "/graphql", admin: admin}
	post := func(query string, vars map[string]any) json.RawMessage {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		data, errs := e.post(t, admin, body)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", query, errs)
		}
		return data
	}
	post(`mutation { createConnection(input: {name: "main", strategy: DATABASE}) { name } }`, nil)
	for i := range 12 {
		plan := "free"
		if i%4 == 0 {
			plan = "pro"
		}
		post(`mutation($e: String!, $p: JSON) { createUser(input: {connection: "main", email: $e, password: "password-count", appMetadata: $p}) { id } }`,
			map[string]any{"e": fmt.Sprintf("u%d@example.com", i), "p": map[string]any{"plan": plan}})
	}
	spy.take()

	const q = `app_metadata.plan:pro`
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		count       bool
	}{
		{"page only", `{ users(query: "` + q + `", first: 2) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`, nil, false},
		{"totalCount", `{ users(query: "` + q + `", first: 2) { totalCount edges { node { id } } } }`, nil, true},
		{"totalCount alone", `{ users(query: "` + q + `") { totalCount } }`, nil, true},
		{"aliased", `{ users(query: "` + q + `", first: 2) { n: totalCount } }`, nil, true},
		{"inline fragment", `{ users(query: "` + q + `", first: 2) { ... on UserConnection { totalCount } } }`, nil, true},
		{"named fragment", `query { users(query: "` + q + `", first: 2) { ...C } } fragment C on UserConnection { totalCount pageInfo { hasNextPage } }`, nil, true},
		{"skipped", `{ users(query: "` + q + `", first: 2) { totalCount @skip(if: true) edges { node { id } } } }`, nil, false},
		{"not included", `query($c: Boolean!) { users(query: "` + q + `", first: 2) { totalCount @include(if: $c) edges { node { id } } } }`, map[string]any{"c": false}, false},
		{"included", `query($c: Boolean!) { users(query: "` + q + `", first: 2) { totalCount @include(if: $c) } }`, map[string]any{"c": true}, true},
		{"two searches", `{ a: users(query: "` + q + `", first: 1) { totalCount } b: users(first: 1) { edges { node { id } } } }`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := post(tc.query, tc.vars)
			got := spy.take()
			want := []bool{tc.count}
			if tc.name == "two searches" {
				if len(got) != 2 || got[0] == got[1] {
					t.Fatalf("store asked to count %v, want one of two searches", got)
				}
				return
			}
			if len(got) != 1 || got[0] != want[0] {
				t.Fatalf("store asked to count %v, want %v", got, want)
			}
			var out struct {
				Users map[string]json.RawMessage `json:"users"`
			}
			if err := json.Unmarshal(data, &out); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"totalCount", "n"} {
				if raw, ok := out.Users[k]; ok && string(raw) != "3" {
					t.Fatalf("%s = %s, want 3", k, raw)
				}
			}
			if _, ok := out.Users["totalCount"]; !ok && tc.count && tc.name != "aliased" {
				t.Fatalf("no totalCount in %s", data)
			}
		})
	}
}
