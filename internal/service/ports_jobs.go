package service

import (
	"context"
	"errors"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// JobType is what a bulk job does.
type JobType string

// The job types.
const (
	JobImport JobType = "import"
	JobExport JobType = "export"
)

// JobStatus is where a job is in its life.
type JobStatus string

// The job statuses. A job goes pending → running → completed | failed.
const (
	JobPending   JobStatus = "pending"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
)

// JobError is one row an import could not take. Reason never carries a
// password or hash.
type JobError struct {
	Row    int
	Field  string
	Reason string
}

// Job is a bulk import or export and its progress.
type Job struct {
	ID         string
	Type       JobType
	Connection string // "" = every connection (export)
	Status     JobStatus
	Upsert     bool     // import
	Format     string   // export: "ndjson" or "csv"
	Fields     []string // export: the fields written
	// Total is the number of rows in the file (import, counted before the
	// rows are read) or of users to write (export).
	Total, Done, Inserted, Updated, Failed int64
	// Errors are the first MaxJobErrors row errors (Failed counts all).
	Errors []JobError
	// Message says why a job failed, or notes about a completed one.
	Message string
	// Location is the export file's path on the server ("" until written).
	Location  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// JobStore keeps jobs and writes imported users in batches.
type JobStore interface {
	// InsertJob returns ErrConflict when the id exists.
	InsertJob(ctx context.Context, j Job) error
	// SaveJobProgress writes j's status, counts, errors, message, location
	// and updated_at, in one conditional statement, only while the stored
	// job is pending or running: once it has ended (another process marked
	// it failed) or when there is no such job, it writes nothing and
	// returns an error wrapping ErrJobEnded. A job's own process writes
	// every change of its record with it (or TouchJob), so it never turns
	// another process's verdict back.
	SaveJobProgress(ctx context.Context, j Job) error
	// TouchJob sets the updated_at of the job id to now (its heartbeat)
	// while the job is pending or running, in one conditional statement,
	// and reports whether it did: alive is false when the job has ended
	// (another process marked it failed) or there is no such job.
	TouchJob(ctx context.Context, id string, now time.Time) (alive bool, err error)
	// JobByID returns ErrNotFound when absent.
	JobByID(ctx context.Context, id string) (Job, error)
	// StartJobIfSlot marks the pending job id running (updated_at = now)
	// when fewer than max jobs of its type are running, in one transaction,
	// and reports whether it did. ErrNotFound when there is no such job.
	StartJobIfSlot(ctx context.Context, id string, max int, now time.Time) (bool, error)
	// FailStaleJobs marks failed, with message, the pending and running
	// jobs last updated before before (their counts are kept), and returns
	// how many.
	FailStaleJobs(ctx context.Context, before, now time.Time, message string) (int, error)
	// UsersOfConnection returns up to limit users of connection ("" = all
	// connections) with ids greater than after, ordered by id.
	UsersOfConnection(ctx context.Context, connection, after string, limit int) ([]policy.User, error)
	// CountUsersOfConnection counts connection's users ("" = all).
	CountUsersOfConnection(ctx context.Context, connection string) (int64, error)
	// WithImportTx runs fn in one transaction, as Store.WithTx does
	// (including its retries: fn must have no effect outside it).
	WithImportTx(ctx context.Context, fn func(tx ImportQueries) error) error
	// EncodeNewUsers encodes users (new users of an import batch) as
	// ImportQueries.InsertUsers will write them, outside any transaction,
	// so that an import encodes the next batch while the store writes
	// this one. It returns nil where the store has nothing to do ahead.
	EncodeNewUsers(users []policy.User) EncodedUsers
	// ConcurrentImportTx reports whether WithImportTx may run in several
	// goroutines at once, each transaction on its own connection, without
	// one waiting for another except on the rows they both touch (false on
	// SQLite: one writer connection).
	ConcurrentImportTx() bool
}

// EncodedUsers is a batch of users encoded by JobStore.EncodeNewUsers;
// opaque to the service.
type EncodedUsers interface {
	// Len is the number of users given.
	Len() int
}

// ImportQueries are the batch operations of an import, in a transaction.
type ImportQueries interface {
	// UsersByConnectionEmails returns the users of connection with these
	// (lower-case) emails, locked until the transaction ends.
	UsersByConnectionEmails(ctx context.Context, connection string, emails []string) ([]policy.User, error)
	// InsertUsers inserts users in bulk (multi-row INSERTs, or on MySQL
	// a LOAD DATA LOCAL stream that falls back to them). It returns one
	// error per user (nil when inserted): when a statement clashes on a
	// unique key it falls back to one INSERT per user of that statement,
	// so each clash (an error wrapping ErrConflict) is reported on its own
	// user and the others are inserted. err is for failures that are not
	// about one user (the transaction is then unusable).
	// enc is nil, or what JobStore.EncodeNewUsers returned for this very
	// slice users (anything else is encoded again).
	InsertUsers(ctx context.Context, users []policy.User, enc EncodedUsers) (perUser []error, err error)
	// UpdateImportedUser overwrites the upsertable fields of u (email
	// verification, names, nickname, picture, metadata, password hash and
	// updated_at) on the user with u.ID; ErrNotFound when absent.
	UpdateImportedUser(ctx context.Context, u policy.User) error
	// ConnectionByNameForShare is Queries.ConnectionByNameForShare in the
	// batch's transaction.
	ConnectionByNameForShare(ctx context.Context, name string) (Connection, error)
	// SaveJobProgress is JobStore.SaveJobProgress inside the transaction,
	// so a job's counts always match the rows committed. Its ErrJobEnded
	// (the job was ended elsewhere meanwhile) must end the transaction
	// with an error, so that the batch is rolled back: no row is written
	// for a job whose record says it stopped.
	SaveJobProgress(ctx context.Context, j Job) error
}

// ErrJobEnded is what the conditional job writes (SaveJobProgress)
// return, wrapped, when the job is no longer pending or running in the
// store: another process ended it, taking it for dead, or it is gone.
var ErrJobEnded = errors.New("the job is no longer pending or running")
