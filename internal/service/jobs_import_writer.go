package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// ImportWriters is how many batches of an import are written at once, each
// in its own transaction, where the store takes concurrent import
// transactions (JobStore.ConcurrentImportTx: MySQL/MariaDB) and the job
// does not upsert. The batches still commit in the file's order, each
// with the job's progress: batch k+1 writes its rows beside batch k, then
// waits for k to commit before it saves the progress and commits, so the
// rows stored are always those of the first batches, as with one writer,
// and a failed batch rolls back every batch after it.
const ImportWriters = 2

// importTurnWait bounds how long a batch that has written its rows waits,
// holding their locks, for the batch before to commit. The batch before
// can need one of those locks (InnoDB locks the gap before a
// delete-marked key it checks): a wait longer than this rolls the batch
// back, releasing its locks, and writes it again once the batch before has
// committed. It is far under innodb_lock_wait_timeout (50 s).
const importTurnWait = 10 * time.Second

// errRedoInOrder rolls a batch's transaction back, to be written again
// after the batch before commits.
var errRedoInOrder = errors.New("import batch: write again after the batch before")

// errBatchBeforeFailed: the batch before failed; this one is rolled back.
var errBatchBeforeFailed = errors.New("import batch: the batch before failed")

// importTurn is one batch's outcome, known once done is closed.
type importTurn struct {
	done chan struct{}
	job  Job   // the job after the batch committed
	err  error // the batch failed (it and every later batch rolled back)
}

// orderedWriter writes an import's batches, up to writers at once (1: one
// after the other), committing them in order.
type orderedWriter struct {
	s       *Service
	ctx     context.Context
	starter policy.Caller
	conn    Connection
	j       *Job // the job as the last batch committed left it
	writers int
	pending []*importTurn // batches under way, in order
}

// write starts writing b, after waiting for the oldest batch under way
// when writers are busy; it returns the first failure, in order.
func (w *orderedWriter) write(b importBatch) error {
	if w.writers <= 1 {
		next, err := w.s.writeBatchTx(w.ctx, w.starter, w.conn, w.j.Upsert, b, func(context.Context, bool) (Job, error) { return *w.j, nil })
		if err != nil {
			return w.batchErr(err)
		}
		*w.j = next
		return nil
	}
	for len(w.pending) >= w.writers {
		if err := w.settleOldest(); err != nil {
			return err
		}
	}
	prev := &importTurn{done: make(chan struct{}), job: *w.j}
	close(prev.done)
	if n := len(w.pending); n > 0 {
		prev = w.pending[n-1]
	}
	t := &importTurn{done: make(chan struct{})}
	w.pending = append(w.pending, t)
	go func() {
		defer close(t.done)
		t.job, t.err = w.writeAfter(b, prev)
	}()
	return nil
}

// writeAfter writes b in its transaction, committing after prev.
func (w *orderedWriter) writeAfter(b importBatch, prev *importTurn) (Job, error) {
	waitPrev := func(ctx context.Context) (Job, error) {
		select {
		case <-prev.done:
		case <-ctx.Done():
			return Job{}, context.Cause(ctx)
		}
		if prev.err != nil {
			return Job{}, errBatchBeforeFailed
		}
		return prev.job, nil
	}
	if b.clashesBefore {
		// A key of the batch before: its insert would wait for that
		// batch's lock, or make it wait for ours.
		if _, err := waitPrev(w.ctx); err != nil {
			return Job{}, err
		}
	}
	for {
		next, err := w.s.writeBatchTx(w.ctx, w.starter, w.conn, false, b, func(ctx context.Context, conflicts bool) (Job, error) {
			select {
			case <-prev.done:
				return waitPrev(ctx)
			default:
			}
			if conflicts {
				// Locks on stored users' keys: never wait holding them.
				return Job{}, errRedoInOrder
			}
			t := time.NewTimer(importTurnWait)
			defer t.Stop()
			select {
			case <-prev.done:
				return waitPrev(ctx)
			case <-t.C:
				return Job{}, errRedoInOrder
			case <-ctx.Done():
				return Job{}, context.Cause(ctx)
			}
		})
		if !errors.Is(err, errRedoInOrder) {
			return next, err
		}
		if _, err := waitPrev(w.ctx); err != nil {
			return Job{}, err
		}
	}
}

// settleOldest waits for the oldest batch under way and takes its job.
func (w *orderedWriter) settleOldest() error {
	t := w.pending[0]
	select {
	case <-t.done:
	case <-w.ctx.Done():
		return w.fail(context.Cause(w.ctx))
	}
	w.pending = w.pending[1:]
	if t.err != nil {
		return w.fail(w.batchErr(t.err))
	}
	*w.j = t.job
	return nil
}

// drain waits for every batch under way.
func (w *orderedWriter) drain() error {
	for len(w.pending) > 0 {
		if err := w.settleOldest(); err != nil {
			return err
		}
	}
	return nil
}

// fail waits for the batches still under way (they roll back: each waits
// for the one before, which failed or is failing) and returns err.
func (w *orderedWriter) fail(err error) error {
	for _, t := range w.pending {
		<-t.done
	}
	w.pending = nil
	return err
}

// batchErr is the job's error for a batch that failed.
func (w *orderedWriter) batchErr(err error) error {
	if errors.Is(err, ErrJobEnded) {
		w.s.log.WarnContext(w.ctx, "job ended by another process; stopping it (its batch was rolled back)", "job", w.j.ID)
		return errJobEndedElsewhere
	}
	w.s.log.ErrorContext(w.ctx, "import batch", "job", w.j.ID, "err", err)
	return &Error{Code: CodeInternal, Message: "the store failed while writing a batch", Err: err}
}

// userKeys are the unique keys of a batch's users: ids, emails (as the
// store keeps them, lower-case) and usernames.
type userKeys struct{ ids, emails, usernames map[string]struct{} }

func keysOf(users []policy.User) userKeys {
	k := userKeys{
		ids:       make(map[string]struct{}, len(users)),
		emails:    make(map[string]struct{}, len(users)),
		usernames: map[string]struct{}{},
	}
	for _, u := range users {
		k.ids[u.ID] = struct{}{}
		if u.Email != "" {
			k.emails[strings.ToLower(u.Email)] = struct{}{}
		}
		if u.Username != "" {
			k.usernames[u.Username] = struct{}{}
		}
	}
	return k
}

// clash reports whether o has a key of k.
func (k userKeys) clash(o userKeys) bool {
	in := func(a, b map[string]struct{}) bool {
		for x := range b {
			if _, ok := a[x]; ok {
				return true
			}
		}
		return false
	}
	return k.ids != nil && (in(k.ids, o.ids) || in(k.emails, o.emails) || in(k.usernames, o.usernames))
}
