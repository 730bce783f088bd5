package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// lostEvents is the store with its event reads failing as if the store
// went away after a mutation committed.
type lostEvents struct{ service.Store }

func (lostEvents) EventsByUsers(context.Context, []string, int) (map[string][]service.Event, error) {
	return nil, fmt.Errorf("events: %w", service.ErrUnavailable)
}

func (lostEvents) EventsByUser(context.Context, string, service.ListEventsParams) ([]service.Event, error) {
	return nil, fmt.Errorf("events: %w", service.ErrUnavailable)
}

// TestErrorAfterCommitSaysSo: when a field of a mutation's result fails
// after the mutation committed, the error says committed: true (and the
// change is there); an error of the mutation itself does not.
func TestErrorAfterCommitSaysSo(t *testing.T) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) {
			store := testenv.OpenStore(t, storeURL(t, k))
			clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
			s := testenv.Start(t, store, testenv.Options{Service: service.Config{Now: clk.Now},
				WrapStore: func(d *db.DB) service.Store { return lostEvents{d} }})
			e := &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: clk, admin: s.Admin, gql: s.GraphQL(nil)}
			wantOK(t, "connection", e.raw(e.admin, `mutation { createConnection(input: {name: "main", strategy: DATABASE}) { name } }`, nil))
			r := e.raw(e.admin, `mutation { createUser(input: {connection: "main", email: "ann@example.com", password: "ann-password-1"}) { id logs { edges { cursor } } } }`, nil)
			if len(r.Errors) != 1 || r.Errors[0].Extensions["committed"] != true {
				t.Fatalf("error after the commit: %s", r.Raw)
			}
			if got := e.raw(e.admin, `{ usersByEmail(email: "ann@example.com") { id } }`, nil); !strings.Contains(string(got.Data), `"id"`) {
				t.Fatalf("the committed user is not there: %s", got.Raw)
			}
			r = e.raw(e.admin, `mutation { createUser(input: {connection: "main", email: "ann@example.com", password: "ann-password-1"}) { id } }`, nil)
			if len(r.Errors) != 1 || r.Errors[0].Extensions["committed"] != nil {
				t.Fatalf("the mutation's own error: %s", r.Raw)
			}
		})
	}
}
