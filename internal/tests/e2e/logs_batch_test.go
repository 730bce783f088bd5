package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// countingEvents counts the store's event reads.
type countingEvents struct {
	*db.DB
	one, many atomic.Int64
}

func (c *countingEvents) EventsByUser(ctx context.Context, id string, p service.ListEventsParams) ([]service.Event, error) {
	c.one.Add(1)
	return c.DB.EventsByUser(ctx, id, p)
}

func (c *countingEvents) EventsByUsers(ctx context.Context, ids []string, limit int) (map[string][]service.Event, error) {
	c.many.Add(1)
	return c.DB.EventsByUsers(ctx, ids, limit)
}

// TestUserLogsOnAListAreBatched: a page of users each showing its history
// reads the histories in one store query (a dataloader), not one per user,
// and each user gets exactly the page it gets alone.
func TestUserLogsOnAListAreBatched(t *testing.T) {
	t.Parallel()
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) {
			var counting *countingEvents
			srv := testenv.Start(t, testenv.OpenStore(t, storeURL(t, k)), testenv.Options{
				WrapStore: func(d *db.DB) service.Store { counting = &countingEvents{DB: d}; return counting },
			})
			c := srv.GraphQL(nil)
			admin := srv.Admin

			r := c.Query(t, admin, `mutation { createConnection(input: {name: "main", strategy: DATABASE}) { name } }`, nil)
			if len(r.Errors) > 0 {
				t.Fatal(r.Raw)
			}
			const n = 30
			for i := range n {
				r := c.Query(t, admin, `mutation($e: String!) { createUser(input: {connection: "main", email: $e, password: "long enough 1"}) { id } }`,
					map[string]any{"e": fmt.Sprintf("u%02d@example.com", i)})
				if len(r.Errors) > 0 {
					t.Fatal(r.Raw)
				}
				// A few more events for some users: failed logins.
				for range i % 4 {
					c.Query(t, "", `mutation($e: String!) { login(connection: "main", email: $e, password: "wrong password") { accessToken } }`,
						map[string]any{"e": fmt.Sprintf("u%02d@example.com", i)})
				}
			}

			counting.one.Store(0)
			counting.many.Store(0)
			list := c.Query(t, admin, `{ users(first: 50) { edges { node { id logs(first: 2) { pageInfo { hasNextPage } edges { node { type } } } } } } }`, nil)
			if len(list.Errors) > 0 {
				t.Fatal(list.Raw)
			}
			if one, many := counting.one.Load(), counting.many.Load(); one != 0 || many < 1 || many > 5 {
				t.Fatalf("a page of %d users read events with %d single and %d batched queries; want 0 and a few", n, one, many)
			}

			// Each user's page is what a lone user(id:) query gives.
			for i := range n {
				id := strings.Split(strings.Split(list.Raw, `"id":"`)[i+1], `"`)[0]
				alone := c.Query(t, admin, `query($id: ID!) { user(id: $id) { id logs(first: 2) { pageInfo { hasNextPage } edges { node { type } } } } }`, map[string]any{"id": id})
				if len(alone.Errors) > 0 {
					t.Fatal(alone.Raw)
				}
				want := strings.TrimSuffix(strings.TrimPrefix(alone.Raw, `{"data":{"user":`), "}}")
				if !strings.Contains(list.Raw, want) {
					t.Fatalf("user %s: alone %s, not found in the list's answer %s", id, want, list.Raw)
				}
			}
			if counting.one.Load() != int64(n) {
				t.Fatalf("lone user(id:) queries made %d single event reads, want %d (no batching wait for them)", counting.one.Load(), n)
			}
		})
	}
}
