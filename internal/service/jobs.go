package service

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/importer"
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

// interruptedMessage is what an interrupted job's record says.
const interruptedMessage = "interrupted: the process running the job stopped (restart or crash); " +
	"the rows counted in done were processed and stay (inserted/updated), the rest were not"

// ExportFormat is an export file's format.
type ExportFormat string

// The export formats.
const (
	ExportNDJSON ExportFormat = "ndjson"
	ExportCSV    ExportFormat = "csv"
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

// importConnection loads the target of an import: a DATABASE connection
// or a CUSTOM_DATABASE in import mode.
func (s *Service) importConnection(ctx context.Context, name string) (Connection, error) {
	conn, err := s.store.ConnectionByName(ctx, name)
	if err != nil {
		return Connection{}, connectionErr(err)
	}
	switch {
	case conn.Strategy == policy.StrategyDatabase:
	case conn.Strategy == policy.StrategyCustomDatabase && conn.ImportMode:
	case conn.Strategy == policy.StrategyCustomDatabase:
		return Connection{}, jobErr(CodeBadUserInput, "connection", "users cannot be imported into custom database connection %q in legacy mode: "+
			"its users live in the custom database (turn import mode on to migrate users)", name)
	default:
		return Connection{}, jobErr(CodeBadUserInput, "connection", "users cannot be imported into %s connection %q: only DATABASE connections "+
			"and CUSTOM_DATABASE connections in import mode take imports", conn.Strategy, name)
	}
	return conn, nil
}

// StartImport copies the file r (a JSON array or NDJSON of users, see
// package importer) to the job directory, counting its rows, records a
// pending job and imports it in the background; it returns the job as
// recorded. upsert updates users whose email the connection already has
// (their upsertable fields only). The caller's ctx bounds the copy only.
//
// Errors: NOT_FOUND (no such connection), BAD_USER_INPUT (a connection
// that takes no imports, a file over the size limit).
func (s *Service) StartImport(ctx context.Context, connection string, r io.Reader, upsert bool, opts ...JobOption) (Job, error) {
	o := s.jobOptions(opts)
	conn, err := s.importConnection(ctx, connection)
	if err != nil {
		return Job{}, err
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return Job{}, storeErr("job directory", fmt.Errorf("create job directory: %w", err))
	}
	id := "job_" + randomHex(12)
	path := filepath.Join(o.dir, id+".import")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Job{}, storeErr("job file", fmt.Errorf("create import file: %w", err))
	}
	var c importer.Counter
	n, err := io.Copy(io.MultiWriter(f, &c), io.LimitReader(r, o.maxBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > o.maxBytes {
		err = jobErr(CodeBadUserInput, "file", "the file is larger than %d bytes", o.maxBytes)
	}
	if err != nil {
		os.Remove(path)
		var e *Error
		if errors.As(err, &e) {
			return Job{}, err
		}
		return Job{}, &Error{Code: CodeBadUserInput, Field: "file", Message: "could not read the file", Err: err}
	}
	return s.launchImport(ctx, id, conn, path, true, int64(c.Count()), upsert, o)
}

// StartImportFile is StartImport reading the file at path in place (it is
// read twice: once to count the rows, once to import them; it is not
// removed).
func (s *Service) StartImportFile(ctx context.Context, connection, path string, upsert bool, opts ...JobOption) (Job, error) {
	o := s.jobOptions(opts)
	conn, err := s.importConnection(ctx, connection)
	if err != nil {
		return Job{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Job{}, &Error{Code: CodeBadUserInput, Field: "file", Message: "cannot open the file", Err: err}
	}
	var c importer.Counter
	_, err = io.Copy(&c, f)
	f.Close()
	if err != nil {
		return Job{}, &Error{Code: CodeBadUserInput, Field: "file", Message: "cannot read the file", Err: err}
	}
	return s.launchImport(ctx, "job_"+randomHex(12), conn, path, false, int64(c.Count()), upsert, o)
}

func (s *Service) launchImport(ctx context.Context, id string, conn Connection, path string, owned bool, total int64, upsert bool, o jobOptions) (Job, error) {
	now := s.now()
	j := Job{ID: id, Type: JobImport, Connection: conn.Name, Status: JobPending, Upsert: upsert, Total: total, CreatedAt: now, UpdatedAt: now}
	if err := s.store.InsertJob(ctx, j); err != nil {
		if owned {
			os.Remove(path)
		}
		return Job{}, storeErr("job", err)
	}
	go func() {
		bg := context.WithoutCancel(ctx)
		if owned {
			defer os.Remove(path)
		}
		s.runJob(bg, j, func(ctx context.Context, j *Job) error { return s.runImport(ctx, j, conn, path) })
	}()
	return j, nil
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

// importItem is one decoded row ready to write.
type importItem struct {
	row    int
	user   policy.User
	given  importer.FieldSet
	errors []importer.Error
}

type importBatch struct {
	items []importItem
	err   error // a decoding error that ends the file
}

// runImport decodes the file in one goroutine and writes batches in
// another, so parsing overlaps the store's round trips.
func (s *Service) runImport(ctx context.Context, j *Job, conn Connection, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open the import file: %w", err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan importBatch, 2)
	go func() {
		defer close(batches)
		dec := importer.NewDecoder(f, importer.Options{Limits: s.cfg.Limits})
		b := make([]importItem, 0, ImportBatchSize)
		send := func(ib importBatch) bool {
			select {
			case batches <- ib:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			rec, err := dec.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if len(b) > 0 && !send(importBatch{items: b}) {
					return
				}
				send(importBatch{err: err})
				return
			}
			b = append(b, s.importItem(conn, rec))
			if len(b) == ImportBatchSize {
				if !send(importBatch{items: b}) {
					return
				}
				b = make([]importItem, 0, ImportBatchSize)
			}
		}
		if len(b) > 0 {
			send(importBatch{items: b})
		}
	}()
	for {
		var b importBatch
		var more bool
		select {
		case b, more = <-batches:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if !more {
			break
		}
		if b.err != nil {
			var se *importer.SyntaxError
			if errors.As(b.err, &se) {
				return &Error{Code: CodeBadUserInput, Message: se.Error()}
			}
			return fmt.Errorf("read the import file: %w", b.err)
		}
		if err := s.writeBatch(ctx, j, conn, b.items); err != nil {
			if errors.Is(err, ErrJobEnded) {
				s.log.WarnContext(ctx, "job ended by another process; stopping it (its batch was rolled back)", "job", j.ID)
				return errJobEndedElsewhere
			}
			s.log.ErrorContext(ctx, "import batch", "job", j.ID, "err", err)
			return &Error{Code: CodeInternal, Message: "the store failed while writing a batch", Err: err}
		}
	}
	if j.Done > j.Total {
		j.Total = j.Done // the count was an estimate
	}
	return nil
}

func (s *Service) importItem(conn Connection, rec importer.Record) importItem {
	it := importItem{row: rec.Row, given: rec.Given, errors: rec.Errors}
	if len(rec.Errors) > 0 {
		return it
	}
	src := rec.UserID
	if src == "" {
		src = newUserIDSource()
	}
	id := policy.UserIDFor(conn.Name, src)
	if strings.HasPrefix(src, conn.Name+"|") {
		// A whole id, as an export writes it: kept, not prefixed twice.
		id = src
	}
	u := policy.NewLocalUser(id, conn.Connection, rec.User, s.now())
	u.PhoneVerified = rec.PhoneVerified
	u.PasswordHash = rec.PasswordHash
	// What an export gave back: dates, counters, last IP.
	if !rec.CreatedAt.IsZero() {
		u.CreatedAt = rec.CreatedAt
	}
	if !rec.UpdatedAt.IsZero() {
		u.UpdatedAt = rec.UpdatedAt
	}
	u.LastLogin = rec.LastLogin
	u.LastIP = rec.LastIP
	u.LoginsCount = rec.LoginsCount
	it.user = u
	return it
}

// writeBatch writes one batch and the job's new counts in one transaction
// (so the record never counts rows that were rolled back), then updates j.
// The counts are saved only while the job is pending or running: when
// another process has ended it, the save fails with ErrJobEnded and the
// whole batch is rolled back.
func (s *Service) writeBatch(ctx context.Context, j *Job, conn Connection, items []importItem) error {
	next, err := s.writeBatchTx(ctx, j, conn, items)
	if err != nil {
		return err
	}
	*j = next
	return nil
}

func (s *Service) writeBatchTx(ctx context.Context, j *Job, conn Connection, items []importItem) (Job, error) {
	var next Job
	err := s.store.WithImportTx(ctx, func(tx ImportQueries) error {
		// Start from j again: fn may run more than once.
		next = *j
		next.Errors = append([]JobError(nil), j.Errors...)
		failed := make([]*JobError, len(items))
		updated := make([]bool, len(items))
		existing := map[string]policy.User{}
		if j.Upsert {
			emails := make([]string, 0, len(items))
			for _, it := range items {
				if it.errors == nil {
					emails = append(emails, it.user.Email)
				}
			}
			us, err := tx.UsersByConnectionEmails(ctx, conn.Name, emails)
			if err != nil {
				return err
			}
			for _, u := range us {
				existing[u.Email] = u
			}
		}
		var inserts []policy.User
		var insertIdx []int
		for i, it := range items {
			if it.errors != nil {
				continue
			}
			if old, ok := existing[it.user.Email]; ok {
				if err := tx.UpdateImportedUser(ctx, upserted(old, it, s.now())); err != nil {
					if errors.Is(err, ErrNotFound) {
						failed[i] = &JobError{Row: it.row, Field: importer.FieldEmail, Reason: "the user was deleted during the import"}
						continue
					}
					return err
				}
				updated[i] = true
				continue
			}
			inserts = append(inserts, it.user)
			insertIdx = append(insertIdx, i)
		}
		if len(inserts) > 0 {
			perUser, err := tx.InsertUsers(ctx, inserts)
			if err != nil {
				return err
			}
			for k, e := range perUser {
				if e != nil {
					failed[insertIdx[k]] = conflictJobError(items[insertIdx[k]].row, e)
				}
			}
		}
		for i, it := range items {
			next.Done++
			switch {
			case it.errors != nil:
				next.Failed++
				for _, e := range it.errors {
					addJobError(&next, JobError{Row: e.Row, Field: e.Field, Reason: e.Reason})
				}
			case failed[i] != nil:
				next.Failed++
				addJobError(&next, *failed[i])
			case updated[i]:
				next.Updated++
			default:
				next.Inserted++
			}
		}
		next.UpdatedAt = s.now()
		return tx.SaveJobProgress(ctx, next)
	})
	return next, err
}

func addJobError(j *Job, e JobError) {
	if len(j.Errors) < MaxJobErrors {
		j.Errors = append(j.Errors, e)
	}
}

// conflictJobError names the clashing field of a row that could not be
// inserted.
func conflictJobError(row int, err error) *JobError {
	if !errors.Is(err, ErrConflict) {
		return &JobError{Row: row, Reason: "the user could not be stored"}
	}
	// The store names the clashing key at the end of its message
	// ("... conflict on users.username"); email is the usual one.
	field, what := importer.FieldEmail, "email"
	switch msg := err.Error(); {
	case strings.HasSuffix(msg, "users.username"):
		field, what = importer.FieldUsername, "username"
	case strings.HasSuffix(msg, "users.id"):
		field, what = importer.FieldUserID, "user_id"
	}
	return &JobError{Row: row, Field: field, Reason: fmt.Sprintf("a user with this %s already exists in the connection", what)}
}

// upserted is old with the upsertable fields the row gave overwritten:
// email_verified, given_name, family_name, name, nickname, picture,
// user_metadata and app_metadata (replaced whole, not merged) and the
// password hash.
func upserted(old policy.User, it importItem, now time.Time) policy.User {
	u, n := old, it.user
	g := it.given
	if g.Has(importer.FieldEmailVerified) {
		u.EmailVerified = n.EmailVerified
	}
	if g.Has(importer.FieldGivenName) {
		u.GivenName = n.GivenName
	}
	if g.Has(importer.FieldFamilyName) {
		u.FamilyName = n.FamilyName
	}
	if g.Has(importer.FieldName) {
		u.Name = n.Name
	}
	if g.Has(importer.FieldNickname) {
		u.Nickname = n.Nickname
	}
	if g.Has(importer.FieldPicture) {
		u.Picture = n.Picture
	}
	if g.Has(importer.FieldUserMetadata) {
		u.UserMetadata = n.UserMetadata
	}
	if g.Has(importer.FieldAppMetadata) {
		u.AppMetadata = n.AppMetadata
	}
	if n.PasswordHash != "" {
		u.PasswordHash = n.PasswordHash
	}
	u.UpdatedAt = now
	return u
}

// Job returns a job; NOT_FOUND when there is none. A pending or running
// job whose record has not moved for the stale-after (JobStaleAfter) is
// reported (and recorded) as failed: its process is gone.
func (s *Service) Job(ctx context.Context, id string) (Job, error) {
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
// many. Call it at startup; Job also does it lazily.
func (s *Service) RecoverJobs(ctx context.Context) (int, error) {
	now := s.now()
	n, err := s.store.FailStaleJobs(ctx, now.Add(-s.JobStaleAfter()), now, interruptedMessage)
	return n, storeErr("jobs", err)
}

// WaitJob polls the job every interval until it is completed or failed,
// calling progress (when non-nil) with each reading, and returns the last.
func (s *Service) WaitJob(ctx context.Context, id string, interval time.Duration, progress func(Job)) (Job, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		j, err := s.Job(ctx, id)
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

// ---- export ----

// Export fields besides the defaults: connection, and password_hash, the
// stored hash in its own format, written only when listed explicitly (an
// export that must carry users' passwords to another store of this
// service; import takes it back as password_hash).
var exportOnlyFields = []string{"connection", importer.FieldPasswordHash}

// DefaultExportFields are the fields an export writes when none are asked,
// named as Auth0's export job names them: the normalized profile with the
// whole user_id ("db|abc"), identities and the dates (ISO 8601, UTC), so an
// export re-imports as it is (import takes the whole id and the dates
// back).
var DefaultExportFields = []string{
	importer.FieldUserID, importer.FieldEmail, importer.FieldEmailVerified, importer.FieldUsername,
	importer.FieldPhoneNumber, importer.FieldPhoneVerified, importer.FieldName, importer.FieldGivenName,
	importer.FieldFamilyName, importer.FieldNickname, importer.FieldPicture, importer.FieldBlocked,
	importer.FieldCreatedAt, importer.FieldUpdatedAt, importer.FieldLastLogin, importer.FieldLastIP,
	importer.FieldLoginsCount, importer.FieldIdentities,
	importer.FieldUserMetadata, importer.FieldAppMetadata,
}

func knownExportField(f string) bool {
	for _, k := range DefaultExportFields {
		if k == f {
			return true
		}
	}
	for _, k := range exportOnlyFields {
		if k == f {
			return true
		}
	}
	return false
}

// checkExportFields validates the requested fields for format.
func checkExportFields(format ExportFormat, fields []string) ([]string, error) {
	bad := func(format string, args ...any) error { return jobErr(CodeBadUserInput, "fields", format, args...) }
	if len(fields) == 0 {
		if format == ExportCSV {
			return nil, bad("a CSV export needs its fields listed (metadata as subfields, e.g. user_metadata.lang)")
		}
		return DefaultExportFields, nil
	}
	if format == ExportCSV && len(fields) > MaxExportFields {
		return nil, bad("a CSV export has at most %d fields", MaxExportFields)
	}
	if len(fields) > 100 {
		return nil, bad("an export has at most 100 fields")
	}
	seen := map[string]bool{}
	for _, f := range fields {
		root, sub, isSub := strings.Cut(f, ".")
		switch {
		case isSub && (root == importer.FieldUserMetadata || root == importer.FieldAppMetadata):
			for _, k := range strings.Split(sub, ".") {
				if k == "" || strings.Contains(k, "$") {
					return nil, bad("field %q is not a valid metadata path", f)
				}
			}
			if seen[root] {
				return nil, bad("field %q is already included by %q", f, root)
			}
		case format == ExportCSV && (f == importer.FieldUserMetadata || f == importer.FieldAppMetadata):
			return nil, bad("a CSV export cannot hold the whole %s object: list its subfields (e.g. %s.lang)", f, f)
		case !knownExportField(f):
			return nil, bad("unknown field %q", f)
		}
		if seen[f] {
			return nil, bad("field %q is listed twice", f)
		}
		seen[f] = true
	}
	for f := range seen {
		if root, _, ok := strings.Cut(f, "."); ok && seen[root] {
			return nil, bad("field %q is already included by %q", f, root)
		}
	}
	return fields, nil
}

// StartExport records an export job of connection's users ("" = every
// connection) and writes them in the background, streamed, to a file in
// the job directory (or the ExportTo path): NDJSON (one user a line, the
// import field names) or CSV (a header line, OWASP CSV-injection escaping,
// at most MaxExportFields fields, metadata only as subfields). fields nil
// means DefaultExportFields (NDJSON only).
//
// Errors: NOT_FOUND (no such connection), BAD_USER_INPUT (format, fields).
func (s *Service) StartExport(ctx context.Context, connection string, format ExportFormat, fields []string, opts ...JobOption) (Job, error) {
	o := s.jobOptions(opts)
	if connection != "" {
		if _, err := s.store.ConnectionByName(ctx, connection); err != nil {
			return Job{}, connectionErr(err)
		}
	}
	format = ExportFormat(strings.ToLower(string(format)))
	if format != ExportNDJSON && format != ExportCSV {
		return Job{}, jobErr(CodeBadUserInput, "format", "format must be %q or %q", ExportNDJSON, ExportCSV)
	}
	fields, err := checkExportFields(format, fields)
	if err != nil {
		return Job{}, err
	}
	total, err := s.store.CountUsersOfConnection(ctx, connection)
	if err != nil {
		return Job{}, storeErr("users", err)
	}
	path := o.out
	id := "job_" + randomHex(12)
	if path == "" {
		if err := os.MkdirAll(o.dir, 0o700); err != nil {
			return Job{}, storeErr("job directory", fmt.Errorf("create job directory: %w", err))
		}
		path = filepath.Join(o.dir, id+"."+string(format))
	}
	now := s.now()
	j := Job{ID: id, Type: JobExport, Connection: connection, Status: JobPending, Format: string(format), Fields: fields,
		Total: total, CreatedAt: now, UpdatedAt: now}
	if err := s.store.InsertJob(ctx, j); err != nil {
		return Job{}, storeErr("job", err)
	}
	go func() {
		bg := context.WithoutCancel(ctx)
		if s.runJob(bg, j, func(ctx context.Context, j *Job) error { return s.runExport(ctx, j, path) }) && o.out == "" {
			// Another process failed the job: its file (if written) is
			// unreachable (ExportFile serves completed exports only).
			os.Remove(path)
		}
	}()
	return j, nil
}

const exportPageSize = 1000

func (s *Service) runExport(ctx context.Context, j *Job, path string) (err error) {
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create the export file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 64<<10)
	format := ExportFormat(j.Format)
	if format == ExportCSV {
		cells := make([]string, len(j.Fields))
		for i, f := range j.Fields {
			cells[i] = csvString(f)
		}
		w.WriteString(strings.Join(cells, ",") + "\n")
	}
	after := ""
	for {
		us, err := s.store.UsersOfConnection(ctx, j.Connection, after, exportPageSize)
		if err != nil {
			return &Error{Code: CodeInternal, Message: "the store failed while reading users", Err: err}
		}
		for _, u := range us {
			var line []byte
			if format == ExportCSV {
				line = csvLine(u, j.Fields)
			} else if line, err = ndjsonLine(u, j.Fields); err != nil {
				return fmt.Errorf("encode user %s: %w", u.ID, err)
			}
			if _, err := w.Write(line); err != nil {
				return fmt.Errorf("write the export file: %w", err)
			}
			j.Done++
		}
		if len(us) < exportPageSize {
			break
		}
		after = us[len(us)-1].ID
		j.UpdatedAt = s.now()
		if err := s.store.SaveJobProgress(ctx, *j); errors.Is(err, ErrJobEnded) {
			s.log.WarnContext(ctx, "job ended by another process; stopping it", "job", j.ID)
			return errJobEndedElsewhere
		} else if err != nil {
			s.log.ErrorContext(ctx, "job progress", "job", j.ID, "err", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write the export file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the export file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write the export file: %w", err)
	}
	j.Total = j.Done
	j.Location = path
	return nil
}

// exportValue is field f of u as a JSON-able value; ok false when unset.
func exportValue(u policy.User, f string) (any, bool) {
	str := func(s string) (any, bool) { return s, s != "" }
	switch f {
	case importer.FieldUserID:
		return u.ID, true
	case importer.FieldPasswordHash:
		return str(u.PasswordHash)
	case importer.FieldLastIP:
		return str(u.LastIP)
	case importer.FieldIdentities:
		ids := make([]map[string]any, 0, len(u.Identities))
		for _, id := range u.Identities {
			m := map[string]any{"connection": id.Connection, "provider": id.Provider, "user_id": id.UserID, "isSocial": id.IsSocial}
			if len(id.ProfileData) > 0 {
				m["profileData"] = id.ProfileData
			}
			ids = append(ids, m)
		}
		return ids, true
	case importer.FieldEmail:
		return str(u.Email)
	case importer.FieldEmailVerified:
		return u.EmailVerified, true
	case importer.FieldUsername:
		return str(u.Username)
	case importer.FieldPhoneNumber:
		return str(u.PhoneNumber)
	case importer.FieldPhoneVerified:
		return u.PhoneVerified, true
	case importer.FieldName:
		return str(u.Name)
	case importer.FieldGivenName:
		return str(u.GivenName)
	case importer.FieldFamilyName:
		return str(u.FamilyName)
	case importer.FieldNickname:
		return str(u.Nickname)
	case importer.FieldPicture:
		return str(u.Picture)
	case importer.FieldBlocked:
		return u.Blocked, true
	case importer.FieldUserMetadata:
		return orEmpty(u.UserMetadata), true
	case importer.FieldAppMetadata:
		return orEmpty(u.AppMetadata), true
	case "connection":
		return u.Connection, true
	case "created_at":
		return u.CreatedAt.UTC().Format(time.RFC3339Nano), true
	case "updated_at":
		return u.UpdatedAt.UTC().Format(time.RFC3339Nano), true
	case "last_login":
		if u.LastLogin == nil {
			return nil, false
		}
		return u.LastLogin.UTC().Format(time.RFC3339Nano), true
	case "logins_count":
		return u.LoginsCount, true
	}
	root, path, _ := strings.Cut(f, ".")
	var m map[string]any = u.UserMetadata
	if root == importer.FieldAppMetadata {
		m = u.AppMetadata
	}
	var v any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			if md, isMD := v.(policy.Metadata); isMD {
				obj, ok = md, true
			}
		}
		if !ok {
			return nil, false
		}
		if v, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func orEmpty(m policy.Metadata) policy.Metadata {
	if m == nil {
		return policy.Metadata{}
	}
	return m
}

// ndjsonLine writes the fields in order; metadata subfields are nested
// under their object, so the line re-imports.
func ndjsonLine(u policy.User, fields []string) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	write := func(k string, v any) error {
		enc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(enc)
		return nil
	}
	nested := map[string]map[string]any{}
	var order []string
	for _, f := range fields {
		v, ok := exportValue(u, f)
		if !ok {
			continue
		}
		if root, path, sub := strings.Cut(f, "."); sub {
			if nested[root] == nil {
				nested[root] = map[string]any{}
				order = append(order, root)
			}
			setPath(nested[root], strings.Split(path, "."), v)
			continue
		}
		if err := write(f, v); err != nil {
			return nil, err
		}
	}
	for _, root := range order {
		if err := write(root, nested[root]); err != nil {
			return nil, err
		}
	}
	b.WriteString("}\n")
	return []byte(b.String()), nil
}

func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// csvLine writes one CSV record: strings quoted with OWASP CSV-injection
// escaping, booleans and numbers bare, times (ISO 8601) as they are,
// objects and arrays as quoted JSON, unset fields empty.
func csvLine(u policy.User, fields []string) []byte {
	cells := make([]string, len(fields))
	for i, f := range fields {
		v, ok := exportValue(u, f)
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case string:
			if f == "created_at" || f == "updated_at" || f == "last_login" {
				cells[i] = x
			} else {
				cells[i] = csvString(x)
			}
		case bool:
			cells[i] = strconv.FormatBool(x)
		case int64:
			cells[i] = strconv.FormatInt(x, 10)
		case json.Number:
			cells[i] = x.String()
		case float64:
			cells[i] = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			b, err := json.Marshal(x)
			if err != nil {
				continue
			}
			cells[i] = csvString(string(b))
		}
	}
	return []byte(strings.Join(cells, ",") + "\n")
}

// csvString quotes s for CSV, doubling inner quotes, and prefixes a
// leading formula character (= + - @ tab CR) with ' so spreadsheets show
// it as text (OWASP CSV injection).
func csvString(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		s = "'" + s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// ExportFile opens the file of a completed export job, for download.
// NOT_FOUND when there is no such export; BAD_USER_INPUT while it is not
// completed (or its file is gone).
func (s *Service) ExportFile(ctx context.Context, id string) (*os.File, Job, error) {
	j, err := s.Job(ctx, id)
	if err != nil {
		return nil, Job{}, err
	}
	if j.Type != JobExport {
		return nil, Job{}, &Error{Code: CodeNotFound, Message: "export not found"}
	}
	if j.Status != JobCompleted || j.Location == "" {
		return nil, Job{}, jobErr(CodeBadUserInput, "", "the export is %s, not completed", j.Status)
	}
	f, err := os.Open(j.Location)
	if err != nil {
		return nil, Job{}, &Error{Code: CodeNotFound, Message: "the export file is no longer available", Err: err}
	}
	return f, j, nil
}
