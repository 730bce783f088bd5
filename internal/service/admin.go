package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// StartImportAs is StartImport on behalf of caller: importing users into a
// connection that grants admin scopes makes administrators, so the caller
// must hold every scope the connection grants (FORBIDDEN otherwise, before
// anything is read or recorded). An unknown connection is left to
// StartImport to report.
//
// The check is made again in every batch's transaction, on the connection
// as it is then (read with a shared lock, see importGuard): a grant of
// admin scopes that commits after this first check (before the job is
// recorded, so that it did not find the connection in use) makes the next
// batch fail the job, rolled back, unless caller holds the new scopes too.
func (s *Service) StartImportAs(ctx context.Context, caller policy.Caller, connection string, r io.Reader, upsert bool, opts ...JobOption) (Job, error) {
	conn, err := s.store.ConnectionByName(ctx, connection)
	switch {
	case err == nil:
		if err := policy.CanManageUsersOf(caller, conn.Connection); err != nil {
			return Job{}, err
		}
	case !errors.Is(err, ErrNotFound):
		return Job{}, storeErr("connection", err)
	}
	// The job's goroutine keeps ctx's values (context.WithoutCancel), so
	// its batches know who started it.
	return s.StartImport(context.WithValue(ctx, importStarterKey{}, caller), connection, r, upsert, opts...)
}

// importStarterKey is the context key of the policy.Caller that started
// an import (StartImportAs). Jobs run by the process that started them
// only (an interrupted job is failed, never resumed), so the context is
// where it belongs; a job started without it (StartImport: the operator's
// tools) is not checked again.
type importStarterKey struct{}

// errImportRefused ends a batch transaction whose connection now grants
// admin scopes the job's starter lacks.
var errImportRefused = errors.New("import refused")

// importGuard is the service's store with WithImportTx checking, in every
// batch's transaction of a job started by StartImportAs, that its starter
// may still write the connection's users (policy.CanManageUsersOf on the
// connection read with ConnectionByNameForShare just before the job's
// progress is saved). When not, the batch is rolled back, the job is
// marked failed with the reason, and WithImportTx returns an error
// wrapping ErrJobEnded, so that the job stops keeping that record.
type importGuard struct {
	Store
	now func() time.Time
}

func (g importGuard) WithImportTx(ctx context.Context, fn func(tx ImportQueries) error) error {
	starter, ok := ctx.Value(importStarterKey{}).(policy.Caller)
	if !ok {
		return g.Store.WithImportTx(ctx, fn)
	}
	var refusedJob Job
	var refusal error
	err := g.Store.WithImportTx(ctx, func(tx ImportQueries) error {
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
	j, jerr := g.Store.JobByID(ctx, refusedJob.ID)
	if jerr != nil {
		return fmt.Errorf("%s; recording it: %w", msg, jerr)
	}
	j.Status, j.Message, j.UpdatedAt = JobFailed, msg, g.now()
	if j.Done > 0 {
		j.Message += fmt.Sprintf("; the %d rows processed before stay (inserted %d, updated %d, failed %d)", j.Done, j.Inserted, j.Updated, j.Failed)
	}
	if serr := g.Store.SaveJobProgress(ctx, j); serr != nil && !errors.Is(serr, ErrJobEnded) {
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
