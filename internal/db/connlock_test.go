package db

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// The connection reads that lock (ConnectionByNameForUpdate /
// ConnectionByNameForShare) and ConnectionInUse, on every store.

func TestSQLiteConnectionLocks(t *testing.T) {
	t.Parallel()
	runConnectionLocks(t, func(t *testing.T) *DB { return openSQLiteStore(t) })
}

func TestMySQLConnectionLocks(t *testing.T) {
	t.Parallel()
	runConnectionLocks(t, func(t *testing.T) *DB { return openMySQLStore(t) })
}

func lockTestConnection(name string, scopes ...policy.Scope) service.Connection {
	return service.Connection{
		Connection:    policy.Connection{Name: name, Strategy: policy.StrategyDatabase, SyncUserProfile: true, Actions: map[policy.Action]bool{}, AdminScopes: scopes},
		Configuration: map[string]any{},
		CreatedAt:     t0, UpdatedAt: t0,
	}
}

func runConnectionLocks(t *testing.T, open func(t *testing.T) *DB) {
	parallel(t, "ReadsInTx", func(t *testing.T) {
		d := open(t)
		must(t, d.InsertConnection(ctx, lockTestConnection("staff", policy.ScopeReadUsers)))
		want, err := d.ConnectionByName(ctx, "staff")
		must(t, err)
		must(t, d.WithTx(ctx, func(tx service.Queries) error {
			for name, read := range map[string]func(context.Context, string) (service.Connection, error){
				"for update": tx.ConnectionByNameForUpdate, "for share": tx.ConnectionByNameForShare,
			} {
				got, err := read(ctx, "staff")
				must(t, err)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: %+v, want %+v", name, got, want)
				}
				_, err = read(ctx, "nope")
				wantErr(t, err, service.ErrNotFound)
			}
			return nil
		}))
		// Outside a transaction they work too (each its own statement).
		got, err := d.ConnectionByNameForShare(ctx, "staff")
		must(t, err)
		mustEqual(t, got.AdminScopes, []policy.Scope{policy.ScopeReadUsers})
	})

	parallel(t, "ConnectionInUse", func(t *testing.T) {
		d := open(t)
		must(t, d.InsertConnection(ctx, lockTestConnection("staff")))
		must(t, d.InsertConnection(ctx, lockTestConnection("other")))
		inUse := func() bool {
			t.Helper()
			var got bool
			must(t, d.WithTx(ctx, func(tx service.Queries) error {
				if _, err := tx.ConnectionByNameForUpdate(ctx, "staff"); err != nil {
					return err
				}
				var err error
				got, err = tx.ConnectionInUse(ctx, "staff")
				return err
			}))
			return got
		}
		if inUse() {
			t.Fatal("an empty connection is in use")
		}
		// Another connection's user, an export, an ended import: not in use.
		must(t, d.InsertUser(ctx, sampleUser("auth0|o1", "other", "o@example.com")))
		must(t, d.InsertJob(ctx, service.Job{ID: "exp", Type: service.JobExport, Connection: "staff", Status: service.JobRunning, CreatedAt: t0, UpdatedAt: t0}))
		must(t, d.InsertJob(ctx, service.Job{ID: "done", Type: service.JobImport, Connection: "staff", Status: service.JobPending, CreatedAt: t0, UpdatedAt: t0}))
		must(t, d.SaveJobProgress(ctx, service.Job{ID: "done", Status: service.JobCompleted, UpdatedAt: t0}))
		if inUse() {
			t.Fatal("in use by another connection's user, an export or a completed import")
		}
		// A pending import.
		must(t, d.InsertJob(ctx, service.Job{ID: "imp", Type: service.JobImport, Connection: "staff", Status: service.JobPending, CreatedAt: t0, UpdatedAt: t0}))
		if !inUse() {
			t.Fatal("a pending import does not count")
		}
		must(t, d.SaveJobProgress(ctx, service.Job{ID: "imp", Status: service.JobRunning, UpdatedAt: t0}))
		if !inUse() {
			t.Fatal("a running import does not count")
		}
		must(t, d.SaveJobProgress(ctx, service.Job{ID: "imp", Status: service.JobFailed, UpdatedAt: t0}))
		if inUse() {
			t.Fatal("a failed import counts")
		}
		// A user.
		must(t, d.InsertUser(ctx, sampleUser("auth0|s1", "staff", "s@example.com")))
		if !inUse() {
			t.Fatal("a user does not count")
		}
	})

	// A transaction holding the connection for update (a grant) blocks a
	// shared read of it (a signup about to insert a user) until it
	// commits; the shared read then sees the committed grant.
	parallel(t, "ForUpdateBlocksForShare", func(t *testing.T) {
		d := open(t)
		must(t, d.InsertConnection(ctx, lockTestConnection("staff")))
		locked := make(chan struct{})
		release := make(chan struct{})
		granted := make(chan error, 1)
		go func() {
			granted <- d.WithTx(ctx, func(tx service.Queries) error {
				c, err := tx.ConnectionByNameForUpdate(ctx, "staff")
				if err != nil {
					return err
				}
				c.AdminScopes = []policy.Scope{policy.ScopeReadUsers}
				if err := tx.UpdateConnection(ctx, c); err != nil {
					return err
				}
				select {
				case <-locked: // a retry: already signalled
				default:
					close(locked)
				}
				<-release
				return nil
			})
		}()
		<-locked

		shared := func(ctx context.Context) (service.Connection, error) {
			var c service.Connection
			err := d.WithTx(ctx, func(tx service.Queries) error {
				var err error
				c, err = tx.ConnectionByNameForShare(ctx, "staff")
				return err
			})
			return c, err
		}
		// While the grant is open, the shared read waits: with a short
		// deadline it gives up rather than read the old row.
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		c, err := shared(short)
		cancel()
		if err == nil {
			t.Fatalf("a shared read went through while the connection was locked for update: %+v", c.AdminScopes)
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, service.ErrUnavailable) && short.Err() == nil {
			t.Fatalf("shared read: %v", err)
		}

		// One that waits returns once the grant committed, and sees it.
		type result struct {
			c   service.Connection
			err error
		}
		got := make(chan result, 1)
		go func() {
			c, err := shared(ctx)
			got <- result{c, err}
		}()
		close(release)
		must(t, <-granted)
		r := <-got
		must(t, r.err)
		mustEqual(t, r.c.AdminScopes, []policy.Scope{policy.ScopeReadUsers})
	})
}
