//go:build unix

package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// grantBeforeJob is the store with InsertJob first granting read:users on
// connection "imp": a grant committing after StartImport checked the
// caller, before the job was recorded (so the grant found no import in
// progress).
type grantBeforeJob struct{ *db.DB }

func (g grantBeforeJob) InsertJob(ctx context.Context, j service.Job) error {
	err := g.DB.WithTx(ctx, func(tx service.Queries) error {
		c, err := tx.ConnectionByNameForUpdate(ctx, j.Connection)
		if err != nil {
			return err
		}
		c.AdminScopes = []policy.Scope{policy.ScopeReadUsers}
		return tx.UpdateConnection(ctx, c)
	})
	if err != nil {
		return err
	}
	return g.DB.InsertJob(ctx, j)
}

// An import whose connection starts granting admin scopes its starter
// lacks, after the start's check, writes nothing: its batch is rolled
// back and the job FAILED saying why. A starter holding the scope imports.
func TestImportRefusedWhenConnectionGrantsAfterStart(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		scopes []policy.Scope
		ok     bool
	}{
		{"lacking", []policy.Scope{policy.ScopeCreateUsers}, false},
		{"holding", []policy.Scope{policy.ScopeCreateUsers, policy.ScopeReadUsers}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stores(t, func(t *testing.T, url string) {
				e := newJobEnv(t, url, 0, func(d *db.DB) service.Store { return grantBeforeJob{d} })
				caller := policy.Caller{Subject: "importer", Scopes: map[policy.Scope]bool{}}
				for _, s := range tc.scopes {
					caller.Scopes[s] = true
				}
				file := strings.NewReader(`{"email":"a@example.com"}` + "\n" + `{"email":"b@example.com"}` + "\n")
				j, err := e.svc.StartImport(ctx, caller, "imp", file, false, service.JobDir(t.TempDir()))
				if err != nil {
					t.Fatal(err)
				}
				wctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a deadline, not a measurement
				defer cancel()
				j, err = e.svc.WaitJob(wctx, service.Operator(), j.ID, 10*time.Millisecond, nil)
				if err != nil {
					t.Fatal(err)
				}
				n, err := e.store.CountUsersOfConnection(ctx, "imp")
				if err != nil {
					t.Fatal(err)
				}
				if tc.ok {
					if j.Status != service.JobCompleted || n != 2 {
						t.Fatalf("job %s (%s), %d users", j.Status, j.Message, n)
					}
					return
				}
				if j.Status != service.JobFailed || !strings.Contains(j.Message, "lacks read:users") || !strings.Contains(j.Message, "rolled back") {
					t.Fatalf("job %s: %q", j.Status, j.Message)
				}
				if n != 0 || j.Inserted != 0 {
					t.Fatalf("a refused import wrote %d users (inserted %d)", n, j.Inserted)
				}
			})
		})
	}
}
