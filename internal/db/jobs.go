package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// Bulk jobs (service.JobStore) and the batch writes of imports
// (service.ImportQueries).

var (
	_ service.JobStore      = (*DB)(nil)
	_ service.ImportQueries = (*queries)(nil)
)

// maxInsertRows bounds the rows of one multi-row INSERT (23 parameters a
// row: 500 rows stay under SQLite's 32766 and MySQL's 65535 parameters).
const maxInsertRows = 500

const jobColumns = `id, type, connection, status, upsert, format, fields, total, done, inserted, updated,
	failed, errors, message, location, created_at, updated_at`

const (
	qInsertJob = `INSERT INTO jobs (` + jobColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// qSaveJobProgress and qTouchJob write a job only while it is live, so
	// they never undo another process's verdict (status failed).
	qSaveJobProgress = `UPDATE jobs SET status = ?, total = ?, done = ?, inserted = ?, updated = ?, failed = ?,
	errors = ?, message = ?, location = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'running')`
	qTouchJob          = `UPDATE jobs SET updated_at = ? WHERE id = ? AND status IN ('pending', 'running')`
	qJobByID           = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`
	qJobStatusType     = `SELECT status, type FROM jobs WHERE id = ?`
	qCountRunningJobs  = `SELECT id FROM jobs WHERE status = 'running' AND type = ?`
	qMarkJobRunning    = `UPDATE jobs SET status = 'running', updated_at = ? WHERE id = ? AND status = 'pending'`
	qFailStaleJobs     = `UPDATE jobs SET status = 'failed', message = ?, updated_at = ? WHERE status IN ('pending', 'running') AND updated_at < ?`
	qUsersAfter        = `SELECT ` + userColumns + ` FROM users WHERE id > ? ORDER BY id LIMIT ?`
	qUsersOfConnection = `SELECT ` + userColumns + ` FROM users WHERE connection = ? AND id > ? ORDER BY id LIMIT ?`
	qCountUsersOfConn  = `SELECT COUNT(*) FROM users WHERE connection = ?`
	qUpdateImported    = `UPDATE users SET email_verified = ?, given_name = ?, family_name = ?, name = ?, nickname = ?,
	picture = ?, user_metadata = ?, app_metadata = ?, password_hash = ?, updated_at = ? WHERE id = ?`
)

type jobRow struct {
	ID         string `db:"id"`
	Type       string `db:"type"`
	Connection string `db:"connection"`
	Status     string `db:"status"`
	Upsert     bool   `db:"upsert"`
	Format     string `db:"format"`
	Fields     string `db:"fields"`
	Total      int64  `db:"total"`
	Done       int64  `db:"done"`
	Inserted   int64  `db:"inserted"`
	Updated    int64  `db:"updated"`
	Failed     int64  `db:"failed"`
	Errors     string `db:"errors"`
	Message    string `db:"message"`
	Location   string `db:"location"`
	CreatedAt  dbTime `db:"created_at"`
	UpdatedAt  dbTime `db:"updated_at"`
}

// storedJobError fixes the stored field names of service.JobError.
type storedJobError struct {
	Row    int    `json:"row"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func encodeJobErrors(errs []service.JobError) string {
	out := make([]storedJobError, len(errs))
	for i, e := range errs {
		out[i] = storedJobError(e)
	}
	b, _ := json.Marshal(out) // strings and ints only
	return string(b)
}

func encodeFields(fields []string) string {
	if fields == nil {
		fields = []string{}
	}
	b, _ := json.Marshal(fields)
	return string(b)
}

func (r *jobRow) job() (service.Job, error) {
	var fields []string
	if err := json.Unmarshal([]byte(r.Fields), &fields); err != nil {
		return service.Job{}, fmt.Errorf("db: job %q: stored fields are not a JSON list", r.ID)
	}
	var errs []storedJobError
	if err := json.Unmarshal([]byte(r.Errors), &errs); err != nil {
		return service.Job{}, fmt.Errorf("db: job %q: stored errors are not a JSON list", r.ID)
	}
	je := make([]service.JobError, len(errs))
	for i, e := range errs {
		je[i] = service.JobError(e)
	}
	return service.Job{
		ID: r.ID, Type: service.JobType(r.Type), Connection: r.Connection, Status: service.JobStatus(r.Status),
		Upsert: r.Upsert, Format: r.Format, Fields: fields,
		Total: r.Total, Done: r.Done, Inserted: r.Inserted, Updated: r.Updated, Failed: r.Failed,
		Errors: je, Message: r.Message, Location: r.Location,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
	}, nil
}

// InsertJob returns service.ErrConflict when the id exists.
func (d *DB) InsertJob(ctx context.Context, j service.Job) error {
	_, err := d.w.ExecContext(ctx, qInsertJob, j.ID, string(j.Type), j.Connection, string(j.Status), j.Upsert, j.Format,
		encodeFields(j.Fields), j.Total, j.Done, j.Inserted, j.Updated, j.Failed, encodeJobErrors(j.Errors),
		j.Message, j.Location, dbTime{j.CreatedAt}, dbTime{j.UpdatedAt})
	return translate(err, fmt.Sprintf("insert job %q", j.ID), "jobs")
}

// SaveJobProgress: see service.JobStore and service.ImportQueries (the
// same statement, on the store or in the transaction). In a MySQL
// transaction the UPDATE reads the latest committed row (and locks it to
// the commit), so a failed status another process committed after the
// transaction began is seen, and one it tries to write after waits for
// the commit and then finds the record fresh.
func (q *queries) SaveJobProgress(ctx context.Context, j service.Job) error {
	op := fmt.Sprintf("save job %q", j.ID)
	res, err := q.w.exec(ctx, qSaveJobProgress, string(j.Status), j.Total, j.Done, j.Inserted, j.Updated, j.Failed,
		encodeJobErrors(j.Errors), j.Message, j.Location, dbTime{j.UpdatedAt}, j.ID)
	alive, err := matched(res, err, op)
	if err == nil && !alive {
		err = fmt.Errorf("db: %s: %w", op, service.ErrJobEnded)
	}
	return err
}

// TouchJob: see service.JobStore.
func (d *DB) TouchJob(ctx context.Context, id string, now time.Time) (bool, error) {
	res, err := d.w.ExecContext(ctx, qTouchJob, dbTime{now}, id)
	return matched(res, err, fmt.Sprintf("touch job %q", id))
}

// matched reports whether an UPDATE of one job matched its row (MySQL
// connections report matched rows, not changed ones: see ClientFoundRows).
func matched(res sql.Result, err error, op string) (bool, error) {
	if err != nil {
		return false, translate(err, op, "jobs")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, translate(err, op, "jobs")
	}
	return n > 0, nil
}

// JobByID returns service.ErrNotFound when absent.
func (d *DB) JobByID(ctx context.Context, id string) (service.Job, error) {
	var row jobRow
	if err := d.r.GetContext(ctx, &row, qJobByID, id); err != nil {
		return service.Job{}, translate(err, fmt.Sprintf("job %q", id), "jobs")
	}
	return row.job()
}

// StartJobIfSlot: see service.JobStore. On MySQL the running jobs of the
// type are read with FOR UPDATE, so two claims cannot both see a free slot
// (the loser deadlocks and WithTx runs it again); SQLite transactions take
// the write lock at BEGIN.
func (d *DB) StartJobIfSlot(ctx context.Context, id string, max int, now time.Time) (bool, error) {
	started := false
	err := d.WithTx(ctx, func(tx service.Queries) error {
		started = false
		q := tx.(*queries)
		lock := ""
		if q.dialect == DialectMySQL {
			lock = " FOR UPDATE"
		}
		var row struct {
			Status string `db:"status"`
			Type   string `db:"type"`
		}
		if err := q.w.get(ctx, &row, qJobStatusType+lock, id); err != nil {
			return translate(err, fmt.Sprintf("job %q", id), "jobs")
		}
		if row.Status != string(service.JobPending) {
			return nil
		}
		var running []string
		if err := q.w.sel(ctx, &running, qCountRunningJobs+lock, row.Type); err != nil {
			return translate(err, "running jobs", "jobs")
		}
		if len(running) >= max {
			return nil
		}
		if _, err := q.w.exec(ctx, qMarkJobRunning, dbTime{now}, id); err != nil {
			return translate(err, fmt.Sprintf("start job %q", id), "jobs")
		}
		started = true
		return nil
	})
	return started, err
}

// FailStaleJobs: see service.JobStore.
func (d *DB) FailStaleJobs(ctx context.Context, before, now time.Time, message string) (int, error) {
	res, err := d.w.ExecContext(ctx, qFailStaleJobs, message, dbTime{now}, dbTime{before})
	if err != nil {
		return 0, translate(err, "fail stale jobs", "jobs")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, translate(err, "fail stale jobs", "jobs")
	}
	return int(n), nil
}

// UsersOfConnection: see service.JobStore.
func (d *DB) UsersOfConnection(ctx context.Context, connection, after string, limit int) ([]policy.User, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	if connection == "" {
		return d.selectUsers(ctx, "users after", qUsersAfter, after, limit)
	}
	return d.selectUsers(ctx, fmt.Sprintf("users of connection %q", connection), qUsersOfConnection, connection, after, limit)
}

// CountUsersOfConnection: see service.JobStore.
func (d *DB) CountUsersOfConnection(ctx context.Context, connection string) (int64, error) {
	var n int64
	var err error
	if connection == "" {
		err = d.r.GetContext(ctx, &n, qCountUsers)
	} else {
		err = d.r.GetContext(ctx, &n, qCountUsersOfConn, connection)
	}
	if err != nil {
		return 0, translate(err, "count users", "users")
	}
	return n, nil
}

// WithImportTx runs fn in one transaction (see WithTx).
func (d *DB) WithImportTx(ctx context.Context, fn func(tx service.ImportQueries) error) error {
	return d.WithTx(ctx, func(tx service.Queries) error { return fn(tx.(*queries)) })
}

// UsersByConnectionEmails: see service.ImportQueries.
func (q *queries) UsersByConnectionEmails(ctx context.Context, connection string, emails []string) ([]policy.User, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + userColumns + ` FROM users WHERE connection = ? AND email IN (`)
	args := make([]any, 0, len(emails)+1)
	args = append(args, connection)
	for i, e := range emails {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('?')
		args = append(args, e)
	}
	b.WriteByte(')')
	if q.dialect == DialectMySQL {
		b.WriteString(" FOR UPDATE")
	}
	var rows []userRow
	if err := q.w.sel(ctx, &rows, b.String(), args...); err != nil {
		return nil, translate(err, fmt.Sprintf("users of connection %q by email", connection), "users")
	}
	out := make([]policy.User, 0, len(rows))
	for i := range rows {
		u, err := rows[i].user()
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// InsertUsers: see service.ImportQueries.
func (q *queries) InsertUsers(ctx context.Context, users []policy.User) ([]error, error) {
	perUser := make([]error, len(users))
	done, err := q.loadUsers(ctx, users, perUser)
	if err != nil {
		return nil, err
	}
	if done {
		return perUser, nil
	}
	for start := 0; start < len(users); start += maxInsertRows {
		end := min(start+maxInsertRows, len(users))
		if err := q.insertMany(ctx, users[start:end], perUser[start:end]); err != nil {
			return nil, err
		}
	}
	return perUser, nil
}

// insertMany inserts users in one statement, or one by one when that
// statement clashes on a unique key (a failed statement is undone on its
// own on both dialects; the transaction goes on).
func (q *queries) insertMany(ctx context.Context, users []policy.User, perUser []error) error {
	const cols = 23
	var b strings.Builder
	b.Grow(len(qInsertUser) + len(users)*(cols*3+4))
	b.WriteString(`INSERT INTO users (` + userColumns + `) VALUES `)
	args := make([]any, 0, len(users)*cols)
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	n := 0
	var terms []termRow
	written := make([]policy.User, 0, len(users))
	for i, u := range users {
		vals, um, am, err := userValues(u)
		if err != nil {
			perUser[i] = fmt.Errorf("db: insert user %q: %w", u.ID, err)
			continue
		}
		written = append(written, u)
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		args = append(args, u.ID)
		args = append(args, vals...)
		terms = newUserTerms(terms, u, um, am)
		n++
	}
	if n == 0 {
		return nil
	}
	_, err := q.w.exec(ctx, b.String(), args...)
	if err == nil {
		inserted, err := q.insertTerms(ctx, terms)
		if err != nil {
			return err
		}
		return q.countNewUsers(ctx, written, terms, inserted)
	}
	if !errors.Is(translate(err, "insert users", "users"), service.ErrConflict) {
		return translate(err, "insert users", "users")
	}
	for i, u := range users {
		if perUser[i] != nil {
			continue
		}
		if err := q.InsertUser(ctx, u); err != nil {
			if !errors.Is(err, service.ErrConflict) {
				return err
			}
			perUser[i] = err
		}
	}
	return nil
}

// UpdateImportedUser: see service.ImportQueries.
func (q *queries) UpdateImportedUser(ctx context.Context, u policy.User) error {
	op := fmt.Sprintf("update imported user %q", u.ID)
	um, err := encodeObject(u.UserMetadata)
	if err != nil {
		return fmt.Errorf("db: %s: user_metadata is not JSON-encodable", op)
	}
	am, err := encodeObject(u.AppMetadata)
	if err != nil {
		return fmt.Errorf("db: %s: app_metadata is not JSON-encodable", op)
	}
	// Of the counted fields, the update writes email_verified only.
	verified := func(stored policy.User) policy.User { stored.EmailVerified = u.EmailVerified; return stored }
	if err := q.syncTerms(ctx, u, um, am, verified); err != nil {
		return err
	}
	res, err := q.w.exec(ctx, qUpdateImported, u.EmailVerified, u.GivenName, u.FamilyName, u.Name, u.Nickname,
		u.Picture, um, am, u.PasswordHash, dbTime{u.UpdatedAt}, u.ID)
	return affectedOne(res, err, op, "users")
}
