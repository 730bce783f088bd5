package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// Pages of a low-selectivity term query (a quarter of the users match),
// read from the term index in id order, against the ids computed here and
// against the generic plan (one condition on users) page by page, before
// and after writes that add, move and remove matches.

func TestSQLiteSearchIndexTermPages(t *testing.T) {
	t.Parallel()
	runIndexTermPages(t, openSQLiteStore(t))
}

func TestMySQLSearchIndexTermPages(t *testing.T) {
	t.Parallel()
	runIndexTermPages(t, openMySQLStore(t))
}

// indexPageUser is user i of the page test: ids of several shapes (so that
// id order is not insertion order), a quarter with app_metadata.plan "pro"
// (some as a list holding "pro" twice), and near misses ("Pro", "pro ",
// "pro" under another path or in user_metadata).
func indexPageUser(i int) policy.User {
	prefixes := []string{"auth0|", "google-oauth2|", "Auth0|", "samlp|x", "é|"}
	id := fmt.Sprintf("%s%03d", prefixes[(i*7)%len(prefixes)], (i*37)%211)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	u := policy.User{ID: id, Connection: "db", Email: fmt.Sprintf("u%d@example.com", i), CreatedAt: now, UpdatedAt: now,
		UserMetadata: policy.Metadata{}, AppMetadata: policy.Metadata{}}
	switch i % 8 {
	case 0:
		u.AppMetadata["plan"] = "pro"
	case 4:
		u.AppMetadata["plan"] = []any{"pro", "team", "pro"}
	case 1:
		u.AppMetadata["plan"] = "Pro"
	case 2:
		u.AppMetadata["plan"] = "pro "
	case 3:
		u.AppMetadata["plans"] = "pro"
	case 5:
		u.UserMetadata["plan"] = "pro"
	case 6:
		u.AppMetadata["plan"] = map[string]any{"name": "pro"}
	}
	return u
}

const indexPageQuery = "app_metadata.plan:pro"

func runIndexTermPages(t *testing.T, d *DB) {
	const n = 211 // ids are distinct: i*37 mod 211 for i < 211
	want := map[string]bool{}
	for i := range n {
		u := indexPageUser(i)
		if err := d.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			want[u.ID] = true
		}
	}
	if s, _ := buildSearch(d.dialect, service.SearchParams{Query: indexPageQuery, Count: true}, searchPlan{from: "users"}); !strings.Contains(s.page, "users ON users.id = t.user_id") ||
		strings.Contains(s.count, "users") {
		t.Fatalf("%s does not take the term-index plan:\n%s\n%s", indexPageQuery, s.page, s.count)
	}
	check := func(t *testing.T) {
		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		slices.Sort(ids) // byte order, the order of both stores' ids
		for _, desc := range []bool{false, true} {
			sort := "user_id:1"
			order := slices.Clone(ids)
			if desc {
				sort = "user_id:-1"
				slices.Reverse(order)
			}
			for _, limit := range []int{1, 6, 53, MaxPageSize} {
				var got []string
				after := ""
				for page := 0; ; page++ {
					if page > n {
						t.Fatal("pagination does not end")
					}
					p := service.SearchParams{Query: indexPageQuery, Sort: sort, After: after, Limit: limit, Count: true}
					hits, total, err := d.SearchUsers(ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					if total != len(ids) {
						t.Fatalf("%s limit %d page %d: total %d, want %d", sort, limit, page, total, len(ids))
					}
					s, err := buildSearch(d.dialect, p, searchPlan{from: "users", generic: true})
					if err != nil {
						t.Fatal(err)
					}
					ghits, gtotal, err := d.runSearch(ctx, s)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(hitIDs(ghits), hitIDs(hits)) || gtotal != total {
						t.Fatalf("%s limit %d page %d: term-index plan %v (total %d), generic plan %v (total %d)",
							sort, limit, page, hitIDs(hits), total, hitIDs(ghits), gtotal)
					}
					for i, h := range hits {
						if h.Cursor != ghits[i].Cursor {
							t.Fatalf("cursor %q, generic plan's %q", h.Cursor, ghits[i].Cursor)
						}
						got = append(got, h.User.ID)
					}
					if len(hits) < limit {
						break
					}
					after = hits[len(hits)-1].Cursor
				}
				if !slices.Equal(got, order) {
					t.Fatalf("%s limit %d:\n got %v\nwant %v", sort, limit, got, order)
				}
			}
		}
	}
	t.Run("seeded", check)
	t.Run("after writes", func(t *testing.T) {
		// A match leaves, a near miss joins, a match is deleted, a new
		// match is created.
		for i, change := range map[int]func(u *policy.User){
			0: func(u *policy.User) { u.AppMetadata["plan"] = "free" },
			1: func(u *policy.User) { u.AppMetadata["plan"] = "pro" },
			4: func(u *policy.User) { u.AppMetadata["plan"] = []any{"team"} },
			5: func(u *policy.User) { u.AppMetadata["plan"] = []any{"pro"} },
		} {
			id := indexPageUser(i).ID
			u, err := d.UserByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			change(&u)
			if err := d.UpdateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			want[id] = i == 1 || i == 5
		}
		gone := indexPageUser(8).ID
		if err := d.DeleteUser(ctx, gone); err != nil {
			t.Fatal(err)
		}
		delete(want, gone)
		u := indexPageUser(0)
		u.ID, u.Email = "auth0|new", "new@example.com"
		u.AppMetadata = policy.Metadata{"plan": "pro"}
		if err := d.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		want[u.ID] = true
		for id, ok := range want {
			if !ok {
				delete(want, id)
			}
		}
		check(t)
	})
}

// countingRunner records the statements a runner runs.
type countingRunner struct {
	runner
	mu    sync.Mutex
	stmts []string
}

func (c *countingRunner) record(q string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stmts = append(c.stmts, q)
}

func (c *countingRunner) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts
	c.stmts = nil
	return s
}

func (c *countingRunner) get(ctx context.Context, dest any, query string, args ...any) error {
	c.record(query)
	return c.runner.get(ctx, dest, query, args...)
}

func (c *countingRunner) sel(ctx context.Context, dest any, query string, args ...any) error {
	c.record(query)
	return c.runner.sel(ctx, dest, query, args...)
}

func (c *countingRunner) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.record(query)
	return c.runner.exec(ctx, query, args...)
}

func TestSQLiteSearchCountsOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	runCountsOnlyWhenAsked(t, openSQLiteStore(t))
}

func TestMySQLSearchCountsOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	runCountsOnlyWhenAsked(t, openMySQLStore(t))
}

// runCountsOnlyWhenAsked watches the statements a search sends to the
// store: without Count no count runs, whatever the plan; with it, one
// does, and a query that is one counted term (a metadata term the index
// answers alone, a counted field's value) reads the term counts, whatever
// the sort.
func runCountsOnlyWhenAsked(t *testing.T, d *DB) {
	for i := range 40 {
		if err := d.InsertUser(ctx, indexPageUser(i)); err != nil {
			t.Fatal(err)
		}
	}
	c := &countingRunner{runner: d.queries.r}
	d.queries.r = c
	for _, tc := range []struct {
		q, sort string
		total   int
		counted bool // the count reads the term counts
	}{
		{indexPageQuery, "", 10, true},
		{indexPageQuery, "user_id:-1", 10, true},
		{indexPageQuery, "created_at:1", 10, true},
		{"blocked:false", "", 40, true},
		{"blocked:false", "email:1", 40, true},
		{"NOT blocked:true", "", 40, false},
		{"app_metadata.plan:pro AND email:u0@example.com", "", 1, false},
		{"app_metadata.plan:p*", "", 15, false},
		{"u1*", "", 11, false},
		{"", "", 40, false},
	} {
		t.Run(tc.q+" "+tc.sort, func(t *testing.T) {
			hits, total, err := d.SearchUsers(ctx, service.SearchParams{Query: tc.q, Sort: tc.sort, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			stmts := c.take()
			if len(hits) == 0 || total != 0 || len(stmts) != 1 || strings.Contains(stmts[0], "COUNT(") {
				t.Fatalf("without Count: %d hits, total %d, statements %q", len(hits), total, stmts)
			}
			_, total, err = d.SearchUsers(ctx, service.SearchParams{Query: tc.q, Sort: tc.sort, Limit: 5, Count: true})
			if err != nil {
				t.Fatal(err)
			}
			stmts = c.take()
			if total != tc.total || len(stmts) != 2 || !strings.Contains(stmts[1], "COUNT(") && !strings.Contains(stmts[1], "SUM(") {
				t.Fatalf("with Count: total %d, want %d; statements %q", total, tc.total, stmts)
			}
			if counted := strings.Contains(stmts[1], termCountsTable); counted != tc.counted {
				t.Fatalf("count reads the term counts: %v, want %v: %s", counted, tc.counted, stmts[1])
			}
		})
	}
}
