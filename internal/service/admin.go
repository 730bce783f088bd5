package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/profiled/profiled/internal/policy"
)

// errImportRefused ends a batch transaction whose connection now grants
// admin scopes the job's starter lacks.
var errImportRefused = errors.New("import refused")

// withImportTx is the store's WithImportTx checking, in every batch's
// transaction of an import, that its starter may still write the
// connection's users (policy.CanManageUsersOf on the connection read with
// ConnectionByNameForShare just before the job's progress is saved): a
// grant of admin scopes that commits after the check made when the import
// started (before the job was recorded, so that it did not find the
// connection in use) makes the next batch fail the job, unless the starter
// holds the new scopes too. When refused, the batch is rolled back, the
// job is marked failed with the reason, and withImportTx returns an error
// wrapping ErrJobEnded, so that the job stops keeping that record. Jobs
// run in the process that started them only (an interrupted job is
// failed, never resumed), so the starter is the caller StartImport was
// given, passed down with the job.
func (s *Service) withImportTx(ctx context.Context, starter policy.Caller, fn func(tx ImportQueries) error) error {
	var refusedJob Job
	var refusal error
	err := s.store.WithImportTx(ctx, func(tx ImportQueries) error {
		refusal = nil // fn may run more than once
		return fn(guardedImportTx{ImportQueries: tx, starter: starter, refuse: func(j Job, why error) {
			refusedJob, refusal = j, why
		}})
	})
	if refusal == nil || !errors.Is(err, errImportRefused) {
		return err
	}
	msg := "import stopped, its last batch rolled back: " + refusal.Error()
	// The record as committed (counts of the batches written before).
	j, jerr := s.store.JobByID(ctx, refusedJob.ID)
	if jerr != nil {
		return fmt.Errorf("%s; recording it: %w", msg, jerr)
	}
	j.Status, j.Message, j.UpdatedAt = JobFailed, msg, s.now()
	if j.Done > 0 {
		j.Message += fmt.Sprintf("; the %d rows processed before stay (inserted %d, updated %d, failed %d)", j.Done, j.Inserted, j.Updated, j.Failed)
	}
	if serr := s.store.SaveJobProgress(ctx, j); serr != nil && !errors.Is(serr, ErrJobEnded) {
		return fmt.Errorf("%s; recording it: %w", msg, serr)
	}
	return fmt.Errorf("%w: %s", ErrJobEnded, msg)
}

// guardedImportTx checks the connection before a batch's progress is
// saved, i.e. after its rows are written and before it commits.
type guardedImportTx struct {
	ImportQueries
	starter policy.Caller
	refuse  func(j Job, why error)
}

func (t guardedImportTx) SaveJobProgress(ctx context.Context, j Job) error {
	c, err := t.ConnectionByNameForShare(ctx, j.Connection)
	if err != nil {
		return storeErr("connection", err)
	}
	if err := policy.CanManageUsersOf(t.starter, c.Connection); err != nil {
		why := err
		var r *policy.Refusal
		if errors.As(err, &r) {
			why = errors.New(r.Message)
		}
		t.refuse(j, why)
		return errImportRefused
	}
	return t.ImportQueries.SaveJobProgress(ctx, j)
}

// RecheckManagementCaller decides whether a valid management token is
// still good. Tokens issued to an admin connection's user (subject
// ManagementSubject(id)) carry that user's rights at login; they stop
// working as soon as the user is deleted or blocked, or their connection no
// longer grants every scope the token carries — not an hour later at
// expiry. Other management tokens (operators' `profiled token create`) are
// not tied to a user and pass. A store error refuses the token too (fail
// closed).
//
// User tokens (c.Self, from login) are rechecked the same way: one
// primary-key read per request refuses them as soon as their user is
// blocked or deleted. (The alternative, short-lived tokens plus refresh,
// would still leave a window and add a refresh flow; the read costs tens
// of microseconds, as BenchmarkUserByID shows.)
func (s *Service) RecheckManagementCaller(ctx context.Context, c policy.Caller) error {
	if clientID, ok := strings.CutPrefix(c.Subject, clientSubjectPrefix); ok {
		return s.recheckClientCaller(ctx, clientID, c)
	}
	if c.Self {
		u, err := s.store.UserByID(ctx, c.Subject)
		switch {
		case errors.Is(err, ErrNotFound):
			return revoked("its user no longer exists")
		case err != nil:
			return fmt.Errorf("recheck a user token: %w", err)
		case u.Blocked:
			return revoked("its user is blocked")
		}
		return nil
	}
	id, ok := strings.CutPrefix(c.Subject, managementSubjectPrefix)
	if !ok {
		return nil
	}
	u, err := s.store.UserByID(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return revoked("its user no longer exists")
	case err != nil:
		return fmt.Errorf("recheck a management token: %w", err) // ErrUnavailable stays visible
	case u.Blocked:
		return revoked("its user is blocked")
	}
	conn, err := s.store.ConnectionByName(ctx, u.Connection)
	switch {
	case errors.Is(err, ErrNotFound):
		return revoked("its user's connection no longer exists")
	case err != nil:
		return fmt.Errorf("recheck a management token: %w", err)
	}
	granted := map[policy.Scope]bool{}
	for _, sc := range conn.AdminScopes {
		granted[sc] = true
	}
	for sc, on := range c.Scopes {
		if on && !granted[sc] {
			return revoked(fmt.Sprintf("connection %q no longer grants %s", conn.Name, sc))
		}
	}
	return nil
}

// revocation is why a management token was revoked, safe to tell its
// holder (auth shows RevocationReason()).
type revocation struct{ why string }

func revoked(why string) error                 { return &revocation{why} }
func (r *revocation) Error() string            { return "management token revoked: " + r.why }
func (r *revocation) RevocationReason() string { return r.why }
