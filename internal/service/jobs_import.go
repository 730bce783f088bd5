package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/importer"
	"github.com/profiled/profiled/internal/policy"
)

// importConnection decides whether caller may import into connection name
// (policy.OpImportUsers, or OpImportUpsertUsers, before anything is read,
// then policy.CanManageUsersOf on the connection) and loads it: a DATABASE
// connection or a CUSTOM_DATABASE in import mode.
func (s *Service) importConnection(ctx context.Context, caller policy.Caller, name string, upsert bool) (Connection, error) {
	op := policy.OpImportUsers
	if upsert {
		op = policy.OpImportUpsertUsers
	}
	if err := policy.Authorize(caller, op); err != nil {
		return Connection{}, err
	}
	conn, err := s.store.ConnectionByName(ctx, name)
	if err != nil {
		return Connection{}, connectionErr(err)
	}
	// Importing users into a connection that grants admin scopes makes
	// administrators: the caller must hold every scope it grants. The
	// check is made again in every batch (withImportTx).
	if err := policy.CanManageUsersOf(caller, conn.Connection); err != nil {
		return Connection{}, err
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
// The import runs on behalf of caller, who is checked when it starts and
// again in every batch (see importConnection and withImportTx).
//
// Errors: FORBIDDEN (see importConnection),
// NOT_FOUND (no such connection), BAD_USER_INPUT (a connection that takes
// no imports, a file over the size limit).
func (s *Service) StartImport(ctx context.Context, caller policy.Caller, connection string, r io.Reader, upsert bool, opts ...JobOption) (Job, error) {
	o := s.jobOptions(opts)
	conn, err := s.importConnection(ctx, caller, connection, upsert)
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
	return s.launchImport(ctx, caller, id, conn, path, true, int64(c.Count()), upsert, o)
}

// StartImportFile is StartImport reading the file at path in place (it is
// read twice: once to count the rows, once to import them; it is not
// removed).
func (s *Service) StartImportFile(ctx context.Context, caller policy.Caller, connection, path string, upsert bool, opts ...JobOption) (Job, error) {
	o := s.jobOptions(opts)
	conn, err := s.importConnection(ctx, caller, connection, upsert)
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
	return s.launchImport(ctx, caller, "job_"+randomHex(12), conn, path, false, int64(c.Count()), upsert, o)
}

func (s *Service) launchImport(ctx context.Context, starter policy.Caller, id string, conn Connection, path string, owned bool, total int64, upsert bool, o jobOptions) (Job, error) {
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
		s.runJob(bg, j, func(ctx context.Context, j *Job) error { return s.runImport(ctx, starter, j, conn, path) })
	}()
	return j, nil
}

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
	// The valid items' users, in order, and the store's encoding of them
	// (JobStore.EncodeNewUsers), made ahead of the batch's transaction
	// when the job inserts only (no upsert); nil otherwise.
	users []policy.User
	enc   EncodedUsers
	// A user of this batch has the id, email or username of one of the
	// batch before (see orderedWriter): it is written after that batch
	// commits, not beside it.
	clashesBefore bool
}

// runImport decodes the file in one goroutine, encodes each batch's new
// users for the store in another (unless upserting: which rows are new is
// known only in the batch's transaction) and writes batches in a third,
// so that parsing and encoding overlap the store's work on the batch
// before.
func (s *Service) runImport(ctx context.Context, starter policy.Caller, j *Job, conn Connection, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open the import file: %w", err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	decoded := make(chan importBatch, 1)
	go func() {
		defer close(decoded)
		dec := importer.NewDecoder(f, importer.Options{Limits: s.cfg.Limits})
		b := make([]importItem, 0, ImportBatchSize)
		send := func(ib importBatch) bool {
			select {
			case decoded <- ib:
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
	batches := decoded
	concurrent := !j.Upsert && s.store.ConcurrentImportTx()
	if !j.Upsert {
		encoded := make(chan importBatch, 1)
		go func() {
			defer close(encoded)
			var before userKeys
			for b := range decoded {
				if b.err == nil {
					b.users = make([]policy.User, 0, len(b.items))
					for _, it := range b.items {
						if it.errors == nil {
							b.users = append(b.users, it.user)
						}
					}
					b.enc = s.store.EncodeNewUsers(b.users)
					if concurrent {
						keys := keysOf(b.users)
						b.clashesBefore = before.clash(keys)
						before = keys
					}
				}
				select {
				case encoded <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
		batches = encoded
	}
	w := orderedWriter{s: s, ctx: ctx, starter: starter, conn: conn, j: j}
	if concurrent {
		w.writers = ImportWriters
	}
	for {
		var b importBatch
		var more bool
		select {
		case b, more = <-batches:
		case <-ctx.Done():
			return w.fail(context.Cause(ctx))
		}
		if !more {
			break
		}
		if b.err != nil {
			// The batches before are written first (the rows before a
			// syntax error stay, as they always did).
			if err := w.drain(); err != nil {
				return err
			}
			var se *importer.SyntaxError
			if errors.As(b.err, &se) {
				return &Error{Code: CodeBadUserInput, Message: se.Error()}
			}
			return fmt.Errorf("read the import file: %w", b.err)
		}
		if err := w.write(b); err != nil {
			return err
		}
	}
	if err := w.drain(); err != nil {
		return err
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
//
// before gives the job as the batch before left it, once that batch has
// committed (see orderedWriter); conflicts tells it whether a row of this
// batch clashed with a stored user (its transaction then holds locks on
// keys it did not insert).
func (s *Service) writeBatchTx(ctx context.Context, starter policy.Caller, conn Connection, upsert bool, b importBatch, before func(ctx context.Context, conflicts bool) (Job, error)) (Job, error) {
	items := b.items
	var next Job
	err := s.withImportTx(ctx, starter, func(tx ImportQueries) error {
		failed := make([]*JobError, len(items))
		updated := make([]bool, len(items))
		existing := map[string]policy.User{}
		if upsert {
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
			var enc EncodedUsers
			if b.users != nil && len(b.users) == len(inserts) {
				// Every valid row is new (no upsert): the batch's users
				// as encoded ahead, in the same order.
				inserts, enc = b.users, b.enc
			}
			perUser, err := tx.InsertUsers(ctx, inserts, enc)
			if err != nil {
				return err
			}
			for k, e := range perUser {
				if e != nil {
					failed[insertIdx[k]] = conflictJobError(items[insertIdx[k]].row, e)
				}
			}
		}
		conflicts := false
		for _, f := range failed {
			conflicts = conflicts || f != nil
		}
		j, err := before(ctx, conflicts)
		if err != nil {
			return err
		}
		// Start from j again: fn may run more than once.
		next = j
		next.Errors = append([]JobError(nil), j.Errors...)
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

// upserted is old with the upsertable fields the row gave overwritten
// (policy.ProfileFields' Upsert: email_verified, given_name, family_name,
// name, nickname, picture, user_metadata and app_metadata, replaced whole,
// not merged) and the password hash.
func upserted(old policy.User, it importItem, now time.Time) policy.User {
	u, n := old, it.user
	for _, f := range policy.ProfileFields {
		if f.Upsert && it.given.Has(f.Name) {
			f.Set(&u, f.Value(n))
		}
	}
	if n.PasswordHash != "" {
		u.PasswordHash = n.PasswordHash
	}
	u.UpdatedAt = now
	return u
}
