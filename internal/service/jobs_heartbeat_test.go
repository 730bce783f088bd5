//go:build unix

package service_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
	"github.com/profiled/profiled/internal/testmysql"
)

// stalledImport is an import job reading a named pipe the test feeds: the
// job imports the first rows, then waits for the rest as long as the test
// wants (a slow upload, a slow disk), with its record untouched by any
// batch meanwhile.
type stalledImport struct {
	store   *db.DB
	svc     *service.Service
	clk     *testenv.Clock
	log     *jobLog
	id      string
	first   int            // rows imported before the stall
	total   int            // rows in the file
	release chan struct{}  // closing it sends the rest
	fed     chan error     // the feeder's outcome
	ticks   chan time.Time // the job's heartbeat (service.SetJobHeartbeatTicks)
}

// staleAfter is the shortest stale-after, for the tests that let the
// heartbeat's own ticker run (every 166 ms).
const staleAfter = time.Second

// hangDeadline bounds the waits for something that must happen (a job
// finishing, its first rows imported): a deadline for a hang, not a
// measurement, so it is generous (with -race, GOMAXPROCS=1 and a load of
// 30, importing the first 4,000 rows into SQLite took over 2 minutes).
const hangDeadline = 5 * time.Minute

// jobLog is the service's log, read for the end of its jobs ("job
// finished", logged once a job's goroutine is done with the store).
type jobLog struct {
	mu       sync.Mutex
	finished map[string]chan slog.Record
}

func (l *jobLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *jobLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *jobLog) WithGroup(string) slog.Handler            { return l }

func (l *jobLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "job finished" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "job" {
			l.ch(a.Value.String()) <- r.Clone()
			return false
		}
		return true
	})
	return nil
}

func (l *jobLog) ch(id string) chan slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished == nil {
		l.finished = map[string]chan slog.Record{}
	}
	if l.finished[id] == nil {
		l.finished[id] = make(chan slog.Record, 1)
	}
	return l.finished[id]
}

// waitFinished waits for the job's goroutine to end and returns the attrs
// of its "job finished" line.
func (si *stalledImport) waitFinished(t *testing.T) map[string]slog.Value {
	t.Helper()
	select {
	case r := <-si.log.ch(si.id):
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		return attrs
	case <-time.After(hangDeadline):
		t.Fatalf("the job did not finish within %v", hangDeadline)
		return nil
	}
}

// heartbeat makes the job's heartbeat beat, and returns once that beat has
// written: the heartbeat takes a tick only between beats, so the second
// tick is taken after the first beat is done (that second beat may still
// be writing: the same time, the clock has not moved).
func (si *stalledImport) heartbeat(t *testing.T) {
	t.Helper()
	for range 2 {
		si.tick(t)
	}
}

// tick sends one tick to the job's heartbeat.
func (si *stalledImport) tick(t *testing.T) {
	t.Helper()
	select {
	case si.ticks <- si.clk.Now():
	case <-time.After(hangDeadline):
		t.Fatalf("the job's heartbeat took no tick within %v", hangDeadline)
	}
}

// startStalledImport starts the import with the heartbeat's ticks in the
// test's hands (si.heartbeat): it beats only when told, so what a test
// proves does not depend on how fast the machine is.
func startStalledImport(t *testing.T, url string, staleAfter time.Duration) *stalledImport {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	log := &jobLog{}
	svc := service.New(store, nil, nil, nil, service.Config{Now: clk.Now, Logger: slog.New(log), JobStaleAfter: staleAfter})
	ticks := make(chan time.Time)
	service.SetJobHeartbeatTicks(svc, ticks)
	if _, err := svc.CreateConnection(ctx, service.Operator(), service.ConnectionSpec{Name: "imp", Strategy: policy.StrategyDatabase}); err != nil {
		t.Fatal(err)
	}
	si := &stalledImport{store: store, svc: svc, clk: clk, log: log, first: 2 * service.ImportBatchSize, total: 2*service.ImportBatchSize + 200,
		release: make(chan struct{}), fed: make(chan error, 1), ticks: ticks}
	var head, tail bytes.Buffer
	for i := range si.total {
		w := &head
		if i >= si.first {
			w = &tail
		}
		fmt.Fprintf(w, `{"email":"u%d@example.com","name":"User %d"}`+"\n", i, i)
	}
	pipe := filepath.Join(t.TempDir(), "users.ndjson")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	// StartImportFile reads the file twice: a first pass counts the rows,
	// then the job reads it. feed writes one pass: the first rows, then,
	// once release is closed, the rest.
	feed := func(release <-chan struct{}) error {
		f, err := os.OpenFile(pipe, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.Write(head.Bytes()); err != nil {
			return err
		}
		<-release
		_, err = f.Write(tail.Bytes())
		return err
	}
	counted := make(chan error, 1)
	atOnce := make(chan struct{})
	close(atOnce)
	go func() { counted <- feed(atOnce) }() // the count pass takes the whole file
	j, err := svc.StartImportFile(ctx, service.Operator(), "imp", pipe, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-counted; err != nil {
		t.Fatal(err)
	}
	si.id = j.ID
	go func() { si.fed <- feed(si.release) }()
	t.Cleanup(func() {
		select {
		case <-si.release:
		default:
			close(si.release)
		}
	})
	si.waitRecord(t, "the first rows imported, the job waiting for the rest", func(j service.Job) error {
		if j.Status != service.JobRunning || j.Done != int64(si.first) {
			return fmt.Errorf("%+v", j)
		}
		return nil
	})
	return si
}

// waitRecord polls the job's record (straight from the store: Service.Job
// would fail a stale job) until cond accepts it.
func (si *stalledImport) waitRecord(t *testing.T, what string, cond func(service.Job) error) service.Job {
	t.Helper()
	deadline := time.Now().Add(hangDeadline)
	for {
		j, err := si.store.JobByID(context.Background(), si.id)
		if err != nil {
			t.Fatal(err)
		}
		err = cond(j)
		if err == nil {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, hangDeadline, err)
		}
		time.Sleep(20 * time.Millisecond) // between polls of a condition with a deadline
	}
}

func stores(t *testing.T, run func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { run(t, "sqlite:"+filepath.Join(t.TempDir(), "p.db")) })
	t.Run("mysql", func(t *testing.T) { run(t, testmysql.URL(t)) })
}

// A job slower than the stale-after is kept alive by its heartbeat: while
// it waits for its file, far longer than the stale-after (by the service's
// clock), each heartbeat refreshes its record, it reads RUNNING,
// RecoverJobs leaves it alone, and it completes. Without the heartbeat its
// record would go stale and the job be FAILED. The test moves the clock
// and makes the heartbeat beat (si.heartbeat), so the stale-after is the
// default one, and a store write may take up to its half (the heartbeat's
// timeout) on a loaded machine.
func TestJobHeartbeatKeepsSlowJobAlive(t *testing.T) {
	const staleAfter = service.DefaultJobStaleAfter
	stores(t, func(t *testing.T, url string) {
		ctx := context.Background()
		si := startStalledImport(t, url, staleAfter)
		for range 3 {
			now := si.clk.Advance(3 * staleAfter)
			si.heartbeat(t)
			j, err := si.store.JobByID(ctx, si.id)
			if err != nil || now.Sub(j.UpdatedAt) >= staleAfter {
				t.Fatalf("after a heartbeat the record reads updated at %v, now %v: stale (%v)", j.UpdatedAt, now, err)
			}
			j, err = si.svc.Job(ctx, service.Operator(), si.id)
			if err != nil || j.Status != service.JobRunning || j.Done != int64(si.first) {
				t.Fatalf("a live job waiting for its file: %+v, %v", j, err)
			}
			if n, err := si.svc.RecoverJobs(ctx); err != nil || n != 0 {
				t.Fatalf("RecoverJobs = %d, %v: it failed a live job", n, err)
			}
		}
		close(si.release)
		j, err := si.svc.WaitJob(ctx, service.Operator(), si.id, 10*time.Millisecond, func(j service.Job) {
			if j.Status == service.JobFailed {
				t.Errorf("the live job was marked failed: %+v", j)
			}
		})
		if err != nil || j.Status != service.JobCompleted || j.Done != int64(si.total) || j.Inserted != int64(si.total) || j.Failed != 0 {
			t.Fatalf("job = %+v, %v", j, err)
		}
		if err := <-si.fed; err != nil {
			t.Fatal(err)
		}

		// The heartbeat ended with the job (runJob stops it before the
		// final write): it takes no more ticks, and the completed record
		// is left as it is, and goes stale like any finished job's.
		done := j.UpdatedAt
		select {
		case si.ticks <- si.clk.Now():
			t.Fatal("the heartbeat still runs after the job completed")
		default:
		}
		now := si.clk.Advance(3 * staleAfter)
		if n, err := si.svc.RecoverJobs(ctx); err != nil || n != 0 {
			t.Fatalf("RecoverJobs after the end = %d, %v", n, err)
		}
		j, err = si.svc.Job(ctx, service.Operator(), si.id)
		if err != nil || j.Status != service.JobCompleted || !j.UpdatedAt.Equal(done) {
			t.Fatalf("the completed job at %v: %+v, %v", now, j, err)
		}
	})
}

// A job whose record another process ended (it took the job for dead)
// stops at once: it writes no more rows, and the record keeps that
// process's verdict (FAILED, its message, the counts of the rows
// committed), the store holding exactly the users recorded. One verdict
// is enough: the job's own writes of its record are conditional, so none
// can turn it back into RUNNING.
func TestJobEndedElsewhereStops(t *testing.T) {
	const verdict = "interrupted (another process)"
	for _, tc := range []struct {
		name string
		// releaseFirst sends the rest of the file right after the
		// verdict, before the job can have stopped; otherwise the
		// heartbeat beats once.
		releaseFirst bool
	}{
		// The job waits for its file: its next heartbeat finds the
		// verdict and stops it.
		{name: "heartbeat"},
		// The rest of the file comes at once and no heartbeat beats: the
		// job meets the verdict when it saves its last batch's progress,
		// which is refused and the batch rolled back.
		{name: "batch", releaseFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stores(t, func(t *testing.T, url string) {
				ctx := context.Background()
				si := startStalledImport(t, url, service.DefaultJobStaleAfter)
				now := si.clk.Now()
				if n, err := si.store.FailStaleJobs(ctx, now.Add(time.Hour), now, verdict); err != nil || n != 1 {
					t.Fatalf("FailStaleJobs = %d, %v", n, err)
				}
				if tc.releaseFirst {
					close(si.release)
				} else {
					si.tick(t)
				}
				fin := si.waitFinished(t)
				if !tc.releaseFirst {
					close(si.release) // the rest of the file comes too late
				}
				<-si.fed // the job closed its end: an error or not
				if !fin["ended_elsewhere"].Bool() {
					t.Errorf("the job did not notice the verdict: %v", fin)
				}
				n, err := si.store.CountUsersOfConnection(ctx, "imp")
				if err != nil {
					t.Fatal(err)
				}
				j, err := si.svc.Job(ctx, service.Operator(), si.id)
				if err != nil {
					t.Fatal(err)
				}
				if j.Status != service.JobFailed || j.Message != verdict {
					t.Fatalf("the other process's verdict was not kept: %+v", j)
				}
				if j.Done != int64(si.first) || j.Inserted != int64(si.first) || n != j.Inserted {
					t.Fatalf("job = %+v, %d users in the store; want the %d recorded", j, n, si.first)
				}
			})
		})
	}
}

// Config.JobStaleAfter: zero is the default, a value ValidateJobStaleAfter
// refuses is a programming error New reports at once.
func TestConfigJobStaleAfter(t *testing.T) {
	cfg := service.Config{Logger: slog.New(slog.DiscardHandler)}
	if got := service.New(nil, nil, nil, nil, cfg).JobStaleAfter(); got != service.DefaultJobStaleAfter {
		t.Fatalf("zero: %v, want %v", got, service.DefaultJobStaleAfter)
	}
	cfg.JobStaleAfter = 2 * time.Second
	if got := service.New(nil, nil, nil, nil, cfg).JobStaleAfter(); got != 2*time.Second {
		t.Fatalf("2s: %v", got)
	}
	for _, d := range []time.Duration{500 * time.Millisecond, -time.Second} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "at least 1s") {
					t.Errorf("New with JobStaleAfter %v: panic %v, want one saying it must be at least 1s", d, r)
				}
			}()
			cfg.JobStaleAfter = d
			service.New(nil, nil, nil, nil, cfg)
		}()
	}
}
