//go:build unix

package service_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// jobEnv is a service on a fresh store (wrapped by wrap when non-nil)
// with a settable clock and a connection "imp".
type jobEnv struct {
	store *db.DB
	svc   *service.Service
	clk   *testenv.Clock
	log   *jobLog
}

func newJobEnv(t *testing.T, url string, staleAfter time.Duration, wrap func(*db.DB) service.Store) *jobEnv {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, url)
	testenv.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	var st service.Store = store
	if wrap != nil {
		st = wrap(store)
	}
	e := &jobEnv{store: store, clk: testenv.NewClock(time.Now().UTC().Truncate(time.Second)), log: &jobLog{}}
	hasher, err := passwords.New(passwords.Config{BcryptCost: 4})
	testenv.NoError(t, err)
	e.svc = service.New(st, hasher, nil, nil, service.Config{Now: e.clk.Now, Logger: slog.New(e.log), JobStaleAfter: staleAfter})
	if _, err := e.svc.CreateConnection(ctx, service.Operator(), service.ConnectionSpec{Name: "imp", Strategy: policy.StrategyDatabase}); err != nil {
		t.Fatal(err)
	}
	return e
}

// importFile writes an NDJSON file of n users and returns its path.
func importFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"email":"u%d@example.com"}`+"\n", i)
	}
	p := filepath.Join(t.TempDir(), "users.ndjson")
	testenv.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}

// waitFinished waits for job id's goroutine to end and returns the attrs
// of its "job finished" line.
func (e *jobEnv) waitFinished(t *testing.T, id string) map[string]slog.Value {
	t.Helper()
	select {
	case r := <-e.log.ch(id):
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		return attrs
	case <-time.After(hangDeadline):
		t.Fatalf("the job did not finish within %v", hangDeadline)
		return nil
	}
}

// Jobs a dead process left RUNNING hold every slot; with no other process
// to fail them, a new job waiting for a slot fails them itself once they
// are stale, and runs.
func TestJobPendingFailsStaleJobsHoldingSlots(t *testing.T) {
	stores(t, func(t *testing.T, url string) {
		ctx := context.Background()
		e := newJobEnv(t, url, 0, nil)
		var dead []string
		for i := range service.MaxConcurrentJobs {
			now := e.clk.Now()
			j := service.Job{ID: fmt.Sprintf("job_dead%d", i), Type: service.JobImport, Connection: "imp", Status: service.JobRunning,
				Total: 10, CreatedAt: now, UpdatedAt: now}
			testenv.NoError(t, e.store.InsertJob(ctx, j))
			dead = append(dead, j.ID)
		}
		e.clk.Advance(service.DefaultJobStaleAfter + time.Minute)
		j, err := e.svc.StartImportFile(ctx, service.Operator(), "imp", importFile(t, 3), false)
		testenv.NoError(t, err)
		e.waitFinished(t, j.ID)
		got, err := e.store.JobByID(ctx, j.ID)
		if err != nil || got.Status != service.JobCompleted || got.Inserted != 3 {
			t.Fatalf("new job = %+v, %v; want completed with 3 inserted", got, err)
		}
		for _, id := range dead {
			d, err := e.store.JobByID(ctx, id)
			if err != nil || d.Status != service.JobFailed || !strings.HasPrefix(d.Message, "interrupted") {
				t.Errorf("dead job %s = %+v, %v; want failed (interrupted)", id, d, err)
			}
		}
	})
}

// finalWriteStore fails the first final write of a job's record (status
// completed or failed) with err.
type finalWriteStore struct {
	*db.DB
	err   error
	mu    sync.Mutex
	calls int // final writes tried
}

func (s *finalWriteStore) SaveJobProgress(ctx context.Context, j service.Job) error {
	if j.Status == service.JobCompleted || j.Status == service.JobFailed {
		s.mu.Lock()
		s.calls++
		first := s.calls == 1
		s.mu.Unlock()
		if first || errors.Is(s.err, service.ErrJobEnded) {
			return s.err
		}
	}
	return s.DB.SaveJobProgress(ctx, j)
}

func (s *finalWriteStore) finalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// A transient store error on the final write is retried: the completed
// job is recorded completed (not left running, to be marked interrupted
// later). A refusal because another process ended the job is not retried.
func TestJobFinalWriteRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		wantCalls int
		status    service.JobStatus
	}{
		{name: "transient", err: errors.New("connection reset"), wantCalls: 2, status: service.JobCompleted},
		{name: "ended", err: fmt.Errorf("db: save job: %w", service.ErrJobEnded), wantCalls: 1, status: service.JobRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stores(t, func(t *testing.T, url string) {
				ctx := context.Background()
				var fs *finalWriteStore
				e := newJobEnv(t, url, 0, func(d *db.DB) service.Store { fs = &finalWriteStore{DB: d, err: tc.err}; return fs })
				j, err := e.svc.StartImportFile(ctx, service.Operator(), "imp", importFile(t, 3), false)
				testenv.NoError(t, err)
				fin := e.waitFinished(t, j.ID)
				if n := fs.finalCalls(); n != tc.wantCalls {
					t.Errorf("final writes tried: %d, want %d", n, tc.wantCalls)
				}
				got, err := e.store.JobByID(ctx, j.ID)
				if err != nil || got.Status != tc.status || got.Inserted != 3 {
					t.Fatalf("job = %+v, %v; want %s with 3 inserted", got, err, tc.status)
				}
				if want := errors.Is(tc.err, service.ErrJobEnded); fin["ended_elsewhere"].Bool() != want {
					t.Errorf("ended_elsewhere = %v, want %v", fin["ended_elsewhere"], want)
				}
			})
		})
	}
}

// hangingTouchStore is a store whose TouchJob never answers (a network
// blackhole) until its context ends; its import batches wait for a
// heartbeat to be hanging, so the job ends while one is.
type hangingTouchStore struct {
	*db.DB
	once     sync.Once
	hanging  chan struct{}
	mu       sync.Mutex
	deadline bool // a hanging TouchJob ended by its deadline
}

func (s *hangingTouchStore) TouchJob(ctx context.Context, id string, now time.Time) (bool, error) {
	s.once.Do(func() { close(s.hanging) })
	<-ctx.Done()
	s.mu.Lock()
	s.deadline = s.deadline || errors.Is(ctx.Err(), context.DeadlineExceeded)
	s.mu.Unlock()
	return false, ctx.Err()
}

func (s *hangingTouchStore) WithImportTx(ctx context.Context, fn func(tx service.ImportQueries) error) error {
	<-s.hanging
	return s.DB.WithImportTx(ctx, fn)
}

// A heartbeat whose store does not answer times out: the job still
// finishes and records its outcome (stop does not wait forever).
func TestJobHeartbeatTimesOut(t *testing.T) {
	stores(t, func(t *testing.T, url string) {
		ctx := context.Background()
		var hs *hangingTouchStore
		e := newJobEnv(t, url, staleAfter, func(d *db.DB) service.Store {
			hs = &hangingTouchStore{DB: d, hanging: make(chan struct{})}
			return hs
		})
		j, err := e.svc.StartImportFile(ctx, service.Operator(), "imp", importFile(t, 3), false)
		testenv.NoError(t, err)
		e.waitFinished(t, j.ID)
		got, err := e.store.JobByID(ctx, j.ID)
		if err != nil || got.Status != service.JobCompleted || got.Inserted != 3 {
			t.Fatalf("job = %+v, %v; want completed with 3 inserted", got, err)
		}
		hs.mu.Lock()
		defer hs.mu.Unlock()
		if !hs.deadline {
			t.Error("no hanging heartbeat ended by its deadline")
		}
	})
}
