package service

import (
	"context"
	"fmt"
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
// use the same stale-after (Config.JobStaleAfter); a process with a
// shorter one than another's heartbeat would fail that process's live jobs
// (the heartbeat is at most MaxJobHeartbeat apart, so any stale-after of
// 15 s or more is safe with any other).
//
// A job's process writes its record only while the record says the job is
// pending or running (JobStore.TouchJob for heartbeats, SaveJobProgress
// for progress and the final status, in one conditional statement each):
// the next heartbeat or save after another process marked the job failed
// finds it ended and stops it, and a batch whose save is refused is rolled
// back. Why: docs/RATIONALE.md, "Why are a job's record writes
// conditional?".

// Stale-after bounds and the heartbeat's.
const (
	// DefaultJobStaleAfter is the stale-after of a Service whose
	// Config.JobStaleAfter is zero (`profiled serve --job-stale-after`).
	DefaultJobStaleAfter = 30 * time.Second
	// MinJobStaleAfter is the shortest stale-after New takes.
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

// ValidateJobStaleAfter reports whether d can be a stale-after
// (Config.JobStaleAfter): at least MinJobStaleAfter, so that it is well
// above the heartbeat.
func ValidateJobStaleAfter(d time.Duration) error {
	if d < MinJobStaleAfter {
		return fmt.Errorf("job stale-after %v is too short: it must be at least %v (a running job refreshes its record "+
			"every stale-after/6, at most every %v, and a job whose record was not refreshed for the stale-after is marked failed)",
			d, MinJobStaleAfter, MaxJobHeartbeat)
	}
	return nil
}

// JobStaleAfter returns the stale-after in force (Config.JobStaleAfter,
// or DefaultJobStaleAfter).
func (s *Service) JobStaleAfter() time.Duration { return s.cfg.JobStaleAfter }

// errJobEndedElsewhere stops a job whose record another process ended
// (it took the job for dead: its clock or stale-after disagrees with this
// process's, or the heartbeats could not be written). It is logged, not
// recorded: the record keeps the other process's verdict.
var errJobEndedElsewhere = &Error{Code: CodeInternal, Message: "the job stopped: another process marked it failed " +
	"(its record looked stale to it: no refresh seen within that process's job stale-after)", Err: ErrJobEnded}

// heartbeat refreshes one running job's record until stopped.
type heartbeat struct {
	s      *Service
	id     string
	cancel context.CancelCauseFunc
	stopc  chan struct{}
	done   chan struct{}
}

// startHeartbeat starts the heartbeat of the running job id; cancel stops
// the job's work when the heartbeat finds its record ended by another
// process. stop ends the heartbeat.
func (s *Service) startHeartbeat(ctx context.Context, id string, cancel context.CancelCauseFunc) *heartbeat {
	h := &heartbeat{s: s, id: id, cancel: cancel, stopc: make(chan struct{}), done: make(chan struct{})}
	go h.run(ctx, JobHeartbeat(s.JobStaleAfter()))
	return h
}

func (h *heartbeat) run(ctx context.Context, every time.Duration) {
	defer close(h.done)
	ticks := h.s.jobTicks
	if ticks == nil {
		t := time.NewTicker(every)
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-h.stopc:
			return
		case <-ticks:
			if !h.beat(ctx) {
				return
			}
		}
	}
}

// beat refreshes the record's updated_at (only while the job is pending
// or running: TouchJob); false when the record was ended by another
// process (the job is then cancelled and beats no more). A heartbeat
// writes nothing else, so it can run alongside a batch's transaction
// without ever writing older counts. Each beat has half the stale-after
// as its timeout, so a store that does not answer cannot block stop (nor
// the job's final write) for longer.
func (h *heartbeat) beat(ctx context.Context) bool {
	bctx, cancel := context.WithTimeout(ctx, h.s.JobStaleAfter()/2)
	defer cancel()
	alive, err := h.s.store.TouchJob(bctx, h.id, h.s.now())
	if err != nil {
		h.s.log.WarnContext(ctx, "job heartbeat", "job", h.id, "err", err)
		return true
	}
	if !alive {
		h.s.log.WarnContext(ctx, "job ended by another process; stopping it", "job", h.id)
		h.cancel(errJobEndedElsewhere)
		return false
	}
	return true
}

// stop ends the heartbeat and returns once no heartbeat can be written.
func (h *heartbeat) stop() {
	close(h.stopc)
	<-h.done
}
