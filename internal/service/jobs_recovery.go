package service

import (
	"context"

	"github.com/profiled/profiled/internal/policy"
)

// interruptedMessage is what an interrupted job's record says.
const interruptedMessage = "interrupted: the process running the job stopped (restart or crash); " +
	"the rows counted in done were processed and stay (inserted/updated), the rest were not"

// Job returns a job to caller: FORBIDDEN without read:users
// (policy.OpReadJobs); NOT_FOUND when there is none. A pending or running
// job whose record has not moved for the stale-after (JobStaleAfter) is
// reported (and recorded) as failed: its process is gone.
func (s *Service) Job(ctx context.Context, caller policy.Caller, id string) (Job, error) {
	if err := policy.Authorize(caller, policy.OpReadJobs); err != nil {
		return Job{}, err
	}
	return s.job(ctx, id)
}

// job is Job once the caller is authorized.
func (s *Service) job(ctx context.Context, id string) (Job, error) {
	j, err := s.store.JobByID(ctx, id)
	if err != nil {
		return Job{}, storeErr("job", err)
	}
	if (j.Status == JobPending || j.Status == JobRunning) && s.now().Sub(j.UpdatedAt) > s.JobStaleAfter() {
		if _, err := s.RecoverJobs(ctx); err != nil {
			return Job{}, err
		}
		if j, err = s.store.JobByID(ctx, id); err != nil {
			return Job{}, storeErr("job", err)
		}
	}
	return j, nil
}

// RecoverJobs marks failed the jobs a dead process left pending or running
// (not updated for the stale-after), keeping their counts, and returns how
// many. Call it at startup (it is the process's own housekeeping, on
// behalf of no caller); Job also does it lazily.
func (s *Service) RecoverJobs(ctx context.Context) (int, error) {
	now := s.now()
	n, err := s.store.FailStaleJobs(ctx, now.Add(-s.JobStaleAfter()), now, interruptedMessage)
	return n, storeErr("jobs", err)
}
