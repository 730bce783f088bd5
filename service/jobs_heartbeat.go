package service

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Job heartbeats and the stale-after setting.
//
// While a job runs, the process running it refreshes the job's record
// (updated_at) every JobHeartbeat(stale-after), whatever the job is doing:
// waiting for a slow file, writing a slow batch, writing an export. A
// pending or running job whose record has not been refreshed for the
// stale-after therefore belongs to a process that is gone, and RecoverJobs
// (and Job, lazily) marks it failed. Every process sharing a store should
// use the same stale-after; a process with a shorter one than another's
// heartbeat would fail that process's live jobs (the heartbeat is at most
// MaxJobHeartbeat apart, so any stale-after of 15 s or more is safe with
// any other).

// Stale-after bounds and the heartbeat's.
const (
	// DefaultJobStaleAfter is the stale-after of a Service on which
	// SetJobStaleAfter was not called (`profiled serve --job-stale-after`).
	DefaultJobStaleAfter = 30 * time.Second
	// MinJobStaleAfter is the shortest stale-after SetJobStaleAfter takes.
	MinJobStaleAfter = time.Second
	// MaxJobHeartbeat is the longest time between two refreshes of a
	// running job's record.
	MaxJobHeartbeat = 5 * time.Second
)

// JobHeartbeat is how often a running job's record is refreshed when the
// stale-after is staleAfter: a sixth of it, at most MaxJobHeartbeat.
func JobHeartbeat(staleAfter time.Duration) time.Duration {
	return min(staleAfter/6, MaxJobHeartbeat)
}

// ValidateJobStaleAfter reports whether d can be a stale-after: at least
// MinJobStaleAfter, so that it is well above the heartbeat.
func ValidateJobStaleAfter(d time.Duration) error {
	if d < MinJobStaleAfter {
		return fmt.Errorf("job stale-after %v is too short: it must be at least %v (a running job refreshes its record "+
			"every stale-after/6, at most every %v, and a job whose record was not refreshed for the stale-after is marked failed)",
			d, MinJobStaleAfter, MaxJobHeartbeat)
	}
	return nil
}

// jobStaleAfters holds the stale-after of each Service on which
// SetJobStaleAfter was called.
//
// TODO: make it a Config field (Config.JobStaleAfter, defaulted in New)
// and drop this table; it lives here only because service.go was not
// part of the change that introduced the setting.
var jobStaleAfters sync.Map // *Service → time.Duration

// SetJobStaleAfter sets how long a pending or running job's record may go
// without a refresh before the job is taken for interrupted (default
// DefaultJobStaleAfter). Call it before the service runs or recovers
// jobs. It refuses what ValidateJobStaleAfter refuses.
func (s *Service) SetJobStaleAfter(d time.Duration) error {
	if err := ValidateJobStaleAfter(d); err != nil {
		return err
	}
	jobStaleAfters.Store(s, d)
	return nil
}

// JobStaleAfter returns the stale-after in force (see SetJobStaleAfter).
func (s *Service) JobStaleAfter() time.Duration {
	if d, ok := jobStaleAfters.Load(s); ok {
		return d.(time.Duration)
	}
	return DefaultJobStaleAfter
}

// errJobEndedElsewhere stops a job whose record another process marked
// failed (it took the job for dead: its clock or stale-after disagrees
// with this process's, or the heartbeats could not be written).
var errJobEndedElsewhere = &Error{Code: CodeInternal, Message: "the job stopped: another process marked it failed " +
	"(its record looked stale to it: no refresh seen within that process's job stale-after)"}

// jobRecord writes one running job's record for this process: the
// progress saves and the heartbeats, one at a time, so that a heartbeat
// never writes counts older than those committed, and none is written
// after stop (so none can overwrite the final status finishJob writes).
type jobRecord struct {
	s      *Service
	mu     sync.Mutex
	last   Job // the record as this process last wrote it
	cancel context.CancelCauseFunc
	stopc  chan struct{}
	done   chan struct{}
}

// startJobRecord starts the heartbeat of the running job j; cancel stops
// the job's work when another process has ended its record. stop ends the
// heartbeat.
func (s *Service) startJobRecord(ctx context.Context, j Job, cancel context.CancelCauseFunc) *jobRecord {
	r := &jobRecord{s: s, last: j, cancel: cancel, stopc: make(chan struct{}), done: make(chan struct{})}
	go r.run(ctx, JobHeartbeat(s.JobStaleAfter()))
	return r
}

// write runs fn, which writes the job's record and returns it as written,
// with no heartbeat meanwhile. A failed fn leaves the last record as it
// was.
func (r *jobRecord) write(fn func() (Job, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, err := fn()
	if err != nil {
		return err
	}
	r.last = j
	return nil
}

func (r *jobRecord) run(ctx context.Context, every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stopc:
			return
		case <-t.C:
			if !r.beat(ctx) {
				return
			}
		}
	}
}

// beat refreshes the record's updated_at; false when the record was ended
// by another process (the job is then cancelled and beats no more).
func (r *jobRecord) beat(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.last.ID
	cur, err := r.s.store.JobByID(ctx, id)
	if err != nil {
		r.s.log.WarnContext(ctx, "job heartbeat", "job", id, "err", err)
		return true
	}
	if cur.Status != JobPending && cur.Status != JobRunning {
		r.s.log.WarnContext(ctx, "job ended by another process; stopping it", "job", id, "status", string(cur.Status), "message", cur.Message)
		r.cancel(errJobEndedElsewhere)
		return false
	}
	j := r.last
	j.UpdatedAt = r.s.now()
	if err := r.s.store.UpdateJob(ctx, j); err != nil {
		r.s.log.WarnContext(ctx, "job heartbeat", "job", id, "err", err)
		return true
	}
	r.last = j
	return true
}

// stop ends the heartbeat and returns once no heartbeat can be written.
func (r *jobRecord) stop() {
	close(r.stopc)
	<-r.done
}
