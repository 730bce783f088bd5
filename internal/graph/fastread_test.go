package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/graph"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// fastEnv serves one store twice: through NewHandler (with the fast read
// path for user and users) and through gqlgen's executor alone.
type fastEnv struct {
	fast, ref   string
	admin, user string // a management token; a user's own token
	ids         []string
}

func newFastEnv(tb testing.TB) *fastEnv {
	tb.Helper()
	ctx := context.Background()
	store, keyring, hasher, log := sqliteStack(tb, "fast.db")
	svc := service.New(store, hasher, keyring, nil, service.Config{Logger: log})
	r := &graph.Resolver{Service: svc, Logger: log}
	opts := graph.HandlerOptions{Logger: log, Client: func(ctx context.Context) service.Client {
		ip, ua := auth.ClientFrom(ctx)
		return service.Client{IP: ip, UserAgent: ua}
	}}
	mw := auth.Middleware(keyring)
	fast := httptest.NewServer(mw(graph.NewHandler(r, opts)))
	tb.Cleanup(fast.Close)
	ref := httptest.NewServer(mw(graph.NewHandlerGqlgenOnly(r, opts)))
	tb.Cleanup(ref.Close)
	admin, err := keyring.IssueManagement([]policy.Scope{policy.ScopeReadUsers, policy.ScopeCreateUsers, policy.ScopeUpdateUsers,
		policy.ScopeUpdateUsersAppMetadata, policy.ScopeCreateConnections}, "fast", time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	e := &fastEnv{fast: fast.URL, ref: ref.URL, admin: admin}
	e.mustPost(tb, `mutation { createConnection(input: {name: "main", strategy: DATABASE}) { name } }`, nil)
	// Users whose strings and metadata hold what the encoders escape.
	odd := "q\"uote \\ back <b>&amp; \u2028\u2029 tab\t nl\n cr\r \x01 ünï 𝄞"
	oddName := "q\"uote \\ back <b>&amp; \u2028\u2029 ünï 𝄞"
	for i := range 7 {
		in := map[string]any{"connection": "main", "email": fmt.Sprintf("fast%d@example.com", i), "password": "password-fast"}
		if i%2 == 0 {
			in["name"] = oddName
			in["nickname"] = fmt.Sprintf("nick %d", i)
			in["givenName"], in["familyName"], in["picture"] = "Given<", "Family&", "https://example.com/p.png?a=1&b=2"
			in["username"] = fmt.Sprintf("user%d", i)
			in["phoneNumber"] = "+15555550100"
			in["emailVerified"] = true
		}
		if i == 4 {
			in["blocked"] = true
		}
		in["userMetadata"] = map[string]any{"lang": "en", "odd": odd, "n": i, "f": 1.5e300, "neg": -0.25, "big": json.Number("12345678901234567890"),
			"list": []any{1, "two", nil, true, map[string]any{"<k>": "v&"}}, "empty": map[string]any{}, "none": nil}
		if i != 5 {
			in["appMetadata"] = map[string]any{"plan": "pro", "roles": []any{"reader", "writer"}, "z": odd}
		}
		data := e.mustPost(tb, `mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`, map[string]any{"in": in})
		var d struct{ CreateUser struct{ ID string } }
		if err := json.Unmarshal(data, &d); err != nil {
			tb.Fatal(err)
		}
		e.ids = append(e.ids, d.CreateUser.ID)
	}
	// Logins set lastLogin, lastIp and loginsCount; the last one's token
	// is a user token (no read:users).
	for _, i := range []int{0, 3, 6} {
		res, err := svc.Login(ctx, "main", fmt.Sprintf("fast%d@example.com", i), "password-fast")
		if err != nil {
			tb.Fatal(err)
		}
		e.user = res.AccessToken
	}
	return e
}

func post(tb testing.TB, url, token, query string, vars map[string]any) (int, []byte) {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, b
}

func (e *fastEnv) mustPost(tb testing.TB, query string, vars map[string]any) json.RawMessage {
	tb.Helper()
	status, b := post(tb, e.fast, e.admin, query, vars)
	var out struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.Unmarshal(b, &out); err != nil || status != 200 || len(out.Errors) > 0 {
		tb.Fatalf("%s: %d %s", query, status, b)
	}
	return out.Data
}

// same sends query to both servers and fails unless the status and the
// body are the same bytes; it returns the body.
func (e *fastEnv) same(tb testing.TB, token, query string, vars map[string]any) []byte {
	tb.Helper()
	s1, b1 := post(tb, e.fast, token, query, vars)
	s2, b2 := post(tb, e.ref, token, query, vars)
	if s1 != s2 || !bytes.Equal(b1, b2) {
		tb.Fatalf("%s %v:\nfast path: %d %s\ngqlgen:    %d %s", query, vars, s1, b1, s2, b2)
	}
	return b1
}

const allUserFields = `__typename id connection email emailVerified username phoneNumber phoneVerified name givenName familyName nickname picture blocked userMetadata appMetadata migrated createdAt updatedAt lastLogin lastIp loginsCount`

// TestFastReadMatchesGqlgen: user and users through the fast path answer
// the same bytes as gqlgen's executor: every plain field, aliases,
// duplicates, fragments, @skip/@include, __typename, fields the fast path
// leaves to gqlgen, errors (bad cursor, bad first, missing scope, no
// token), null users, pages and cursors.
func TestFastReadMatchesGqlgen(t *testing.T) {
	t.Parallel()
	e := newFastEnv(t)
	id := e.ids[0]
	cases := []struct {
		query string
		vars  map[string]any
	}{
		{`query($id: ID!) { user(id: $id) { ` + allUserFields + ` } }`, nil},
		{`{ user(id: "` + id + `") { id a: email b: email name id } }`, nil},
		{`query($id: ID!) { user(id: $id) { ...F ... on User { nickname userMetadata } } } fragment F on User { id createdAt lastLogin }`, nil},
		{`query($id: ID!, $s: Boolean!) { user(id: $id) { id email @skip(if: $s) name @include(if: $s) appMetadata } }`, map[string]any{"s": true}},
		{`query($id: ID!, $s: Boolean!) { user(id: $id) { id email @skip(if: $s) name @include(if: $s) appMetadata } }`, map[string]any{"s": false}},
		{`query($id: ID!) { user(id: $id) { id identities { connection provider userId isSocial } } }`, nil},
		{`query($id: ID!) { user(id: $id) { id logs(first: 2) { edges { node { type } } } } }`, nil},
		{`{ user(id: "no-such-user") { id email } }`, nil},
		{`{ user(id: 42) { id } }`, nil},
		{`query($id: ID!) { a: user(id: $id) { id } b: user(id: "nobody") { id } c: users(first: 1) { totalCount } }`, nil},
		{`{ users(first: 100) { pageInfo { hasNextPage endCursor } edges { cursor node { ` + allUserFields + ` } } } }`, nil},
		{`{ users(first: 3) { __typename totalCount pageInfo { __typename hasNextPage endCursor } edges { __typename cursor node { id } } } }`, nil},
		{`{ users(first: 2) { edges { node { id } } x: edges { cursor } } }`, nil},
		{`{ users(first: 2) { edges { a: node { id } b: node { email } } } }`, nil},
		{`{ users(first: 2) { edges { node { id } node { email } } pageInfo { endCursor } pageInfo { hasNextPage } } }`, nil},
		{`{ users(first: 2) { ...C } } fragment C on UserConnection { edges { ... on UserEdge { node { ...U } } } } fragment U on User { id name }`, nil},
		{`{ users(first: 2) { edges { node { id roles { name } } } } }`, nil},
		{`{ users(first: 2) { edges { node { id identities { provider } } } } }`, nil},
		{`{ users(first: 2, after: "bm90LWEtY3Vyc29y") { edges { node { id } } } }`, nil},
		{`{ users(first: 0) { edges { node { id } } } }`, nil},
		{`{ users(query: "app_metadata.plan:pro", first: 2) { totalCount edges { node { id appMetadata } } pageInfo { hasNextPage endCursor } } }`, nil},
		{`{ users(query: "name:(", first: 2) { totalCount } }`, nil},
		{`{ users(first: 2, sort: "email:-1") { edges { cursor node { email } } } }`, nil},
		{`{ users { pageInfo { hasNextPage } } }`, nil},
		{`{ users(query: "email:nobody@example.com") { totalCount edges { node { id } } pageInfo { endCursor } } }`, nil},
	}
	for _, c := range cases {
		vars := map[string]any{"id": id}
		for k, v := range c.vars {
			vars[k] = v
		}
		for _, tok := range []string{e.admin, e.user, ""} {
			e.same(t, tok, c.query, vars)
		}
	}
	// Every page of a walk through all users, page by page.
	after := ""
	for range 10 {
		b := e.same(t, e.admin, `query($a: String) { users(first: 2, after: $a) { pageInfo { hasNextPage endCursor } edges { cursor node { id name userMetadata } } } }`, map[string]any{"a": after})
		var out struct {
			Data struct {
				Users struct {
					PageInfo struct {
						HasNextPage bool
						EndCursor   string
					}
				}
			}
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if !out.Data.Users.PageInfo.HasNextPage {
			break
		}
		after = out.Data.Users.PageInfo.EndCursor
	}
}

// TestFastReadServesListPage: the list page of the benchmarks and of the
// Kratos comparison, and user(id:), are served by the fast path (the
// bytes cannot tell; the path's counter can), with the same bytes; a
// selection with a resolver field is not. Not parallel: the counter is
// the package's.
func TestFastReadServesListPage(t *testing.T) {
	e := newFastEnv(t)
	served := func(query string, vars map[string]any) uint64 {
		t.Helper()
		n := graph.FastReads()
		b := e.same(t, e.admin, query, vars)
		if strings.Contains(string(b), `"errors"`) {
			t.Fatalf("%s: %s", query, b)
		}
		return graph.FastReads() - n
	}
	list := `{ users(first: 100) { pageInfo { hasNextPage endCursor } edges { cursor node { id connection email emailVerified name nickname blocked userMetadata appMetadata createdAt loginsCount } } } }`
	if n := served(list, nil); n != 1 {
		t.Fatalf("list page: %d fast responses, want 1", n)
	}
	if n := served(`query($id: ID!) { user(id: $id) { `+allUserFields+` } }`, map[string]any{"id": e.ids[2]}); n != 1 {
		t.Fatalf("user: %d fast responses, want 1", n)
	}
	if n := served(`{ users(first: 2) { edges { node { id identities { provider } } } } }`, nil); n != 0 {
		t.Fatalf("identities: %d fast responses, want 0", n)
	}
	_, b := post(t, e.fast, e.admin, list, nil)
	if !strings.Contains(string(b), `\u003cb\u003e\u0026amp;`) || !strings.Contains(string(b), `\u2028`) {
		t.Fatalf("escaping: %s", b)
	}
}

// fuzzSelection builds a selection set on User from b: plain fields,
// aliases, inline and named-fragment spreads, @skip/@include.
func fuzzSelection(b []byte, depth int) (sel, frags string) {
	names := strings.Fields(allUserFields)
	var out []string
	for i := 0; i+1 < len(b) && len(out) < 30; i += 2 {
		op, arg := b[i], b[i+1]
		name := names[int(arg)%len(names)]
		switch op % 8 {
		case 0, 1, 2:
			out = append(out, name)
		case 3:
			out = append(out, fmt.Sprintf("a%d: %s", arg%4, name))
		case 4:
			out = append(out, name+" @skip(if: $t)")
		case 5:
			out = append(out, name+" @include(if: $t)")
		case 6:
			if depth < 2 {
				s, f := fuzzSelection(b[i+2:min(len(b), i+2+int(arg%16))], depth+1)
				out = append(out, "... on User { "+s+" }")
				frags += f
			}
		case 7:
			if depth < 2 {
				s, f := fuzzSelection(b[i+2:min(len(b), i+2+int(arg%16))], depth+1)
				n := fmt.Sprintf("F%d_%d", depth, i)
				out = append(out, "..."+n)
				frags += " fragment " + n + " on User { " + s + " }" + f
			}
		}
	}
	if len(out) == 0 {
		out = append(out, "id")
	}
	return strings.Join(out, " "), frags
}

// FuzzFastRead: random selections on user and users answer the same bytes
// through the fast path and through gqlgen.
func FuzzFastRead(f *testing.F) {
	f.Add([]byte{0, 1, 3, 2, 6, 5, 0, 9, 4, 3, 5, 7, 7, 10, 0, 14}, true, uint8(3))
	f.Add([]byte{3, 0, 3, 0, 1, 15, 2, 16}, false, uint8(100))
	f.Add([]byte{7, 40, 0, 1, 2, 3, 6, 12, 1, 2}, true, uint8(1))
	e := newFastEnv(f)
	f.Fuzz(func(t *testing.T, b []byte, flag bool, first uint8) {
		sel, frags := fuzzSelection(b, 0)
		vars := map[string]any{"id": e.ids[int(first)%len(e.ids)], "t": flag, "n": int(first%101) + 1}
		e.same(t, e.admin, `query($id: ID!, $t: Boolean!) { user(id: $id) { `+sel+` } }`+frags, vars)
		e.same(t, e.admin, `query($n: Int, $t: Boolean!) { users(first: $n) { totalCount @include(if: $t) pageInfo { endCursor hasNextPage } edges { cursor node { `+sel+` } } } }`+frags, vars)
	})
}
