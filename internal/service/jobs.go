package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// Bulk import and export jobs.
//
// A job is a row in the store (JobStore) and a goroutine of the process
// that started it. At most MaxConcurrentJobs jobs of each type run at once
// across every process sharing the store (StartJobIfSlot); the others wait
// in "pending". A running job writes its progress after every batch (in
// the batch's transaction) and its process refreshes the record at least
// every JobHeartbeat (jobs_heartbeat.go), however slow the job is: a
// pending or running job whose record has not changed for the stale-after
// (Config.JobStaleAfter, default DefaultJobStaleAfter) belongs to a
// process that died, and is marked failed (RecoverJobs, and lazily by Job)
// with its counts kept — the rows it committed stay. Every write of a
// job's record by its own process is conditional on the record still
// being pending or running, so a failed status written by another process
// is final (jobs_heartbeat.go).

// Job limits and defaults.
const (
	// MaxConcurrentJobs bounds the running jobs of each type (imports,
	// exports) across the store.
	MaxConcurrentJobs = 2
	// ImportBatchSize is the number of rows written per transaction.
	ImportBatchSize = 2000
	// MaxJobErrors bounds the row errors a job keeps (Failed counts all).
	MaxJobErrors = 100
	// DefaultMaxImportBytes bounds an import file (JobMaxBytes changes it).
	DefaultMaxImportBytes = 4 << 30
	// MaxExportFields bounds the columns of a CSV export.
	MaxExportFields = 30
)

// A pending job polls for a slot every pendingPoll, and fails the stale
// jobs (RecoverJobs) every pendingRecoverEvery polls (about 5 s).
const (
	pendingPoll         = 250 * time.Millisecond
	pendingRecoverEvery = 20
)

// JobOption tunes one job.
type JobOption func(*jobOptions)

type jobOptions struct {
	dir      string
	out      string
	maxBytes int64
	started  chan<- Job
}

// JobDir sets the directory for uploaded import files (kept while the job
// runs) and export files. Default: profiled-jobs under os.TempDir().
func JobDir(dir string) JobOption { return func(o *jobOptions) { o.dir = dir } }

// ExportTo makes an export write exactly the file path (the CLI's -o).
func ExportTo(path string) JobOption { return func(o *jobOptions) { o.out = path } }

// JobMaxBytes bounds an import file (default DefaultMaxImportBytes).
func JobMaxBytes(n int64) JobOption { return func(o *jobOptions) { o.maxBytes = n } }

func (s *Service) jobOptions(opts []JobOption) jobOptions {
	o := jobOptions{dir: filepath.Join(os.TempDir(), "profiled-jobs"), maxBytes: DefaultMaxImportBytes}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func jobErr(code Code, field, format string, args ...any) error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// runJob waits for a slot, runs work with the job's heartbeat going and
// records the outcome (finishJob), and reports whether another process
// ended the job first (its record is then left as that process wrote
// it). work updates j and saves its progress itself (SaveJobProgress, or
// in an import batch's transaction); a returned error fails the job with
// its message, keeping the counts. work's ctx is cancelled when the
// heartbeat finds the job ended by another process; a save refused for
// that reason (ErrJobEnded) should end work with errJobEndedElsewhere.
//
// While it waits, it fails the stale jobs (RecoverJobs) at once and then
// every pendingRecoverEvery polls: the slots may be held by jobs of a
// process that died, and no other process may be there to fail them (two
// interrupted CLI imports, no server).
func (s *Service) runJob(ctx context.Context, j Job, work func(ctx context.Context, j *Job) error) (endedElsewhere bool) {
	for polls := 0; ; polls++ {
		now := s.now()
		ok, err := s.store.StartJobIfSlot(ctx, j.ID, MaxConcurrentJobs, now)
		if err != nil {
			s.log.ErrorContext(ctx, "start job", "job", j.ID, "err", err)
			return s.finishJob(ctx, &j, errors.New("the job could not start: the store failed"))
		}
		if ok {
			j.Status, j.UpdatedAt = JobRunning, now
			break
		}
		if polls%pendingRecoverEvery == 0 {
			if n, err := s.RecoverJobs(ctx); err != nil {
				s.log.WarnContext(ctx, "recover stale jobs while pending", "job", j.ID, "err", err)
			} else if n > 0 {
				s.log.WarnContext(ctx, "marked interrupted jobs failed while pending", "job", j.ID, "count", n)
				continue // a slot may be free now
			}
		}
		// Still waiting: refresh the record so it does not look abandoned,
		// unless another process ended the job meanwhile.
		tctx, cancel := context.WithTimeout(ctx, s.JobStaleAfter()/2)
		alive, err := s.store.TouchJob(tctx, j.ID, s.now())
		cancel()
		switch {
		case err != nil:
			s.log.ErrorContext(ctx, "job heartbeat", "job", j.ID, "err", err)
		case !alive:
			s.log.WarnContext(ctx, "job ended by another process while pending; dropping it", "job", j.ID)
			return s.finishJob(ctx, &j, errJobEndedElsewhere)
		}
		t := time.NewTimer(pendingPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return s.finishJob(ctx, &j, ctx.Err())
		case <-t.C:
		}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hb := s.startHeartbeat(ctx, j.ID, cancel)
	err := work(wctx, &j)
	hb.stop()
	if err != nil && errors.Is(context.Cause(wctx), errJobEndedElsewhere) {
		err = errJobEndedElsewhere
	}
	return s.finishJob(ctx, &j, err)
}

// finishJob records the job's outcome: completed, or failed with err's
// message (keeping the counts). It reports whether the record had already
// been ended by another process, in which case it writes nothing.
//
// The write is conditional (SaveJobProgress: only while the record is
// pending or running), like every other write of the record, so a failed
// status another process wrote stands (docs/RATIONALE.md, "Why are a job's
// record writes conditional?"). What this process did after that verdict is
// discarded: its batch was rolled back, and an export's file is removed by
// the caller.
//
// A failed write is retried a few times (finishAttempts), except when the
// record was ended elsewhere (ErrJobEnded) or ctx is done.
func (s *Service) finishJob(ctx context.Context, j *Job, err error) (endedElsewhere bool) {
	j.Status = JobCompleted
	if err != nil {
		j.Status = JobFailed
		var e *Error
		if errors.As(err, &e) {
			j.Message = e.Message
		} else {
			j.Message = err.Error()
		}
		if j.Done > 0 && j.Type == JobImport {
			j.Message += fmt.Sprintf("; the %d rows processed before stay (inserted %d, updated %d, failed %d)", j.Done, j.Inserted, j.Updated, j.Failed)
		}
	}
	for attempt, wait := 1, finishRetryFirst; ; attempt, wait = attempt+1, 2*wait {
		j.UpdatedAt = s.now()
		actx, cancel := context.WithTimeout(ctx, s.JobStaleAfter())
		uerr := s.store.SaveJobProgress(actx, *j)
		cancel()
		if uerr == nil {
			break
		}
		if errors.Is(uerr, ErrJobEnded) {
			endedElsewhere = true
			s.log.WarnContext(ctx, "job ended by another process before it finished: its record is kept", "job", j.ID,
				"outcome", string(j.Status), "message", j.Message)
			break
		}
		if attempt == finishAttempts || ctx.Err() != nil {
			s.log.ErrorContext(ctx, "record job outcome: giving up", "job", j.ID, "attempts", attempt, "err", uerr)
			break
		}
		s.log.WarnContext(ctx, "record job outcome: retrying", "job", j.ID, "attempt", attempt, "retry_in", wait, "err", uerr)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	s.log.InfoContext(ctx, "job finished", "job", j.ID, "type", string(j.Type), "status", string(j.Status),
		"ended_elsewhere", endedElsewhere, "done", j.Done, "inserted", j.Inserted, "updated", j.Updated, "failed", j.Failed)
	return endedElsewhere
}

// The final write of a job's record is tried up to finishAttempts times,
// finishRetryFirst apart and then twice as long each time (3.75 s in all),
// so that a transient store error does not leave a finished job running
// (to be marked interrupted once stale). Each attempt has the stale-after
// as its timeout.
const (
	finishAttempts   = 5
	finishRetryFirst = 250 * time.Millisecond
)

// WaitJob polls the job every interval until it is completed or failed,
// calling progress (when non-nil) with each reading, and returns the last.
// The caller is authorized as by Job.
func (s *Service) WaitJob(ctx context.Context, caller policy.Caller, id string, interval time.Duration, progress func(Job)) (Job, error) {
	if err := policy.Authorize(caller, policy.OpReadJobs); err != nil {
		return Job{}, err
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		j, err := s.job(ctx, id)
		if err != nil {
			return Job{}, err
		}
		if progress != nil {
			progress(j)
		}
		if j.Status == JobCompleted || j.Status == JobFailed {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-t.C:
		}
	}
}
