package db

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

func TestJobsSQLite(t *testing.T) {
	t.Parallel()
	runJobsContract(t, func(t *testing.T) *DB { return openSQLiteStore(t) })
}
func TestJobsMySQL(t *testing.T) {
	t.Parallel()
	runJobsContract(t, func(t *testing.T) *DB { return openMySQLStore(t) })
}

func runJobsContract(t *testing.T, open func(t *testing.T) *DB) {
	parallel(t, "job round trip", func(t *testing.T) {
		d := open(t)
		j := service.Job{
			ID: "job_1", Type: service.JobExport, Connection: "main", Status: service.JobPending,
			Format: "csv", Fields: []string{"email", "user_metadata.lang"}, Total: 10,
			CreatedAt: µs(t0), UpdatedAt: µs(t0),
		}
		if err := d.InsertJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		if err := d.InsertJob(ctx, j); !errors.Is(err, service.ErrConflict) {
			t.Fatalf("second insert: %v", err)
		}
		j.Status, j.Done, j.Inserted, j.Updated, j.Failed = service.JobRunning, 5, 3, 1, 1
		j.Errors = []service.JobError{{Row: 4, Field: "email", Reason: "bad"}, {Row: 5, Reason: "not an object"}}
		j.Message, j.Location, j.UpdatedAt = "note", "/tmp/x.csv", µs(t0.Add(time.Second))
		if err := d.SaveJobProgress(ctx, j); err != nil {
			t.Fatal(err)
		}
		got, err := d.JobByID(ctx, "job_1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, j) {
			t.Fatalf("got  %+v\nwant %+v", got, j)
		}
		if _, err := d.JobByID(ctx, "nope"); !errors.Is(err, service.ErrNotFound) {
			t.Fatalf("missing job: %v", err)
		}
		if err := d.SaveJobProgress(ctx, service.Job{ID: "nope"}); !errors.Is(err, service.ErrJobEnded) {
			t.Fatalf("save a missing job: %v", err)
		}
	})

	// Every write of a job's record by its own process is conditional on
	// the record being pending or running: another process's verdict
	// (failed) is never turned back, and a batch whose progress save is
	// refused is rolled back whole.
	parallel(t, "conditional job writes", func(t *testing.T) {
		d := open(t)
		j := service.Job{ID: "imp", Type: service.JobImport, Connection: "main", Status: service.JobPending, Total: 4,
			CreatedAt: µs(t0), UpdatedAt: µs(t0)}
		if err := d.InsertJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		touch := func(at time.Time, want bool) {
			t.Helper()
			alive, err := d.TouchJob(ctx, "imp", at)
			if err != nil || alive != want {
				t.Fatalf("TouchJob(%v) = %v, %v; want %v", at, alive, err, want)
			}
		}
		record := func() service.Job {
			t.Helper()
			got, err := d.JobByID(ctx, "imp")
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		// Pending, then running: alive, and only updated_at moves.
		touch(µs(t0.Add(time.Second)), true)
		if got := record(); got.Status != service.JobPending || !got.UpdatedAt.Equal(µs(t0.Add(time.Second))) {
			t.Fatalf("touched pending job = %+v", got)
		}
		if ok, err := d.StartJobIfSlot(ctx, "imp", 2, µs(t0.Add(2*time.Second))); err != nil || !ok {
			t.Fatalf("StartJobIfSlot = %v, %v", ok, err)
		}
		touch(µs(t0.Add(2*time.Second)), true) // the same time again: still a match
		touch(µs(t0.Add(3*time.Second)), true)
		if got := record(); got.Status != service.JobRunning || !got.UpdatedAt.Equal(µs(t0.Add(3*time.Second))) || got.Done != 0 {
			t.Fatalf("touched running job = %+v", got)
		}
		if alive, err := d.TouchJob(ctx, "nope", t0); err != nil || alive {
			t.Fatalf("TouchJob of a missing job = %v, %v", alive, err)
		}

		user := func(i int) policy.User {
			u := sampleUser(fmt.Sprint("main|", i), "main", fmt.Sprintf("u%d@x.io", i))
			u.LastLogin = nil
			return u
		}
		// batch inserts users and saves the job's progress in one
		// transaction, as an import does; mid runs between the two.
		batch := func(users []policy.User, mid func()) error {
			return d.WithImportTx(ctx, func(tx service.ImportQueries) error {
				perUser, err := tx.InsertUsers(ctx, users, nil)
				if err != nil {
					return err
				}
				for _, e := range perUser {
					if e != nil {
						return e
					}
				}
				if mid != nil {
					mid()
				}
				next := j
				next.Status, next.Done, next.Inserted, next.UpdatedAt = service.JobRunning, 2, 2, µs(t0.Add(4*time.Second))
				return tx.SaveJobProgress(ctx, next)
			})
		}
		if err := batch([]policy.User{user(1), user(2)}, nil); err != nil {
			t.Fatalf("batch of a running job: %v", err)
		}
		if got := record(); got.Status != service.JobRunning || got.Done != 2 || got.Inserted != 2 {
			t.Fatalf("after a batch: %+v", got)
		}

		// Another process takes the job for dead.
		verdict := func() {
			n, err := d.FailStaleJobs(ctx, t0.Add(time.Hour), t0.Add(time.Hour), "interrupted (another process)")
			if err != nil || n != 1 {
				t.Fatalf("FailStaleJobs = %d, %v", n, err)
			}
		}
		failedAt := µs(t0.Add(time.Hour))
		if d.Dialect() == DialectMySQL {
			// On MySQL the verdict can land while the batch's transaction is
			// open (on SQLite the transaction holds the write lock: the
			// verdict comes before or after it, both covered below).
			err := batch([]policy.User{user(3), user(4)}, verdict)
			if !errors.Is(err, service.ErrJobEnded) {
				t.Fatalf("batch after the verdict, in its transaction: %v, want ErrJobEnded", err)
			}
		} else {
			verdict()
		}
		if err := batch([]policy.User{user(3), user(4)}, nil); !errors.Is(err, service.ErrJobEnded) {
			t.Fatalf("batch after the verdict: %v, want ErrJobEnded", err)
		}
		// The refused batches were rolled back: only the first one's users.
		if n, err := d.CountUsersOfConnection(ctx, "main"); err != nil || n != 2 {
			t.Fatalf("users = %d, %v; want the 2 of the committed batch", n, err)
		}
		if _, err := d.UserByConnectionEmail(ctx, "main", "u3@x.io"); !errors.Is(err, service.ErrNotFound) {
			t.Fatalf("a user of a refused batch: %v", err)
		}
		// Neither a heartbeat nor a save outside a transaction (an
		// export's progress, the final status) touches the verdict.
		touch(µs(t0.Add(2*time.Hour)), false)
		done := j
		done.Status, done.Done, done.Inserted, done.Message, done.UpdatedAt = service.JobCompleted, 4, 4, "", µs(t0.Add(2*time.Hour))
		if err := d.SaveJobProgress(ctx, done); !errors.Is(err, service.ErrJobEnded) {
			t.Fatalf("final save after the verdict: %v, want ErrJobEnded", err)
		}
		want := j
		want.Status, want.Done, want.Inserted, want.Message, want.UpdatedAt = service.JobFailed, 2, 2, "interrupted (another process)", failedAt
		want.Errors, want.Fields = []service.JobError{}, []string{}
		if got := record(); !reflect.DeepEqual(got, want) {
			t.Fatalf("the verdict was not kept:\ngot  %+v\nwant %+v", got, want)
		}

		// A job its own process completed is ended too.
		j2 := service.Job{ID: "exp", Type: service.JobExport, Status: service.JobRunning, CreatedAt: µs(t0), UpdatedAt: µs(t0)}
		if err := d.InsertJob(ctx, j2); err != nil {
			t.Fatal(err)
		}
		j2.Status, j2.UpdatedAt = service.JobCompleted, µs(t0.Add(time.Second))
		if err := d.SaveJobProgress(ctx, j2); err != nil {
			t.Fatalf("final save of a running job: %v", err)
		}
		if alive, err := d.TouchJob(ctx, "exp", t0.Add(time.Minute)); err != nil || alive {
			t.Fatalf("TouchJob of a completed job = %v, %v", alive, err)
		}
		j2.Status = service.JobRunning
		if err := d.SaveJobProgress(ctx, j2); !errors.Is(err, service.ErrJobEnded) {
			t.Fatalf("save of a completed job: %v, want ErrJobEnded", err)
		}
		if got, _ := d.JobByID(ctx, "exp"); got.Status != service.JobCompleted || !got.UpdatedAt.Equal(µs(t0.Add(time.Second))) {
			t.Fatalf("completed job = %+v", got)
		}
	})

	parallel(t, "slots and stale jobs", func(t *testing.T) {
		d := open(t)
		for i := 1; i <= 3; i++ {
			j := service.Job{ID: fmt.Sprint("imp", i), Type: service.JobImport, Status: service.JobPending, CreatedAt: t0, UpdatedAt: t0}
			if err := d.InsertJob(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.InsertJob(ctx, service.Job{ID: "exp", Type: service.JobExport, Status: service.JobPending, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			id   string
			want bool
		}{{"imp1", true}, {"imp1", false}, {"imp2", true}, {"imp3", false}, {"exp", true}} {
			ok, err := d.StartJobIfSlot(ctx, tc.id, 2, t0.Add(time.Minute))
			if err != nil || ok != tc.want {
				t.Fatalf("StartJobIfSlot(%s) = %v, %v; want %v", tc.id, ok, err, tc.want)
			}
		}
		if _, err := d.StartJobIfSlot(ctx, "nope", 2, t0); !errors.Is(err, service.ErrNotFound) {
			t.Fatalf("missing job: %v", err)
		}
		// imp1, imp2, exp were updated at t0+1m, imp3 (pending) at t0.
		n, err := d.FailStaleJobs(ctx, t0.Add(30*time.Second), t0.Add(time.Hour), "gone")
		if err != nil || n != 1 {
			t.Fatalf("FailStaleJobs = %d, %v", n, err)
		}
		j, _ := d.JobByID(ctx, "imp3")
		if j.Status != service.JobFailed || j.Message != "gone" {
			t.Fatalf("imp3 = %+v", j)
		}
		n, _ = d.FailStaleJobs(ctx, t0.Add(2*time.Minute), t0.Add(time.Hour), "gone")
		if n != 3 {
			t.Fatalf("second sweep failed %d jobs", n)
		}
	})

	parallel(t, "batch insert with clashes and upsert reads", func(t *testing.T) {
		d := open(t)
		mk := func(id, email, username string) policy.User {
			u := sampleUser(id, "main", email)
			u.Username, u.LastLogin = username, nil
			return u
		}
		if err := d.InsertUser(ctx, mk("main|0", "taken@x.io", "takenname")); err != nil {
			t.Fatal(err)
		}
		var users []policy.User
		for i := 1; i <= 1200; i++ {
			users = append(users, mk(fmt.Sprint("main|", i), fmt.Sprintf("u%d@x.io", i), fmt.Sprint("name", i)))
		}
		users[10].Email = "taken@x.io"        // clashes with the stored user
		users[700].Username = "takenname"     // clashes on username
		users[701].ID = "main|1"              // clashes with users[0] on id
		users[1100].Email = users[1099].Email // clashes inside its statement
		var perUser []error
		err := d.WithImportTx(ctx, func(tx service.ImportQueries) error {
			var err error
			perUser, err = tx.InsertUsers(ctx, users, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		wantKeys := map[int]string{10: "email", 700: "username", 701: "id", 1100: "email"}
		for i, e := range perUser {
			key, bad := wantKeys[i]
			var ce *ConflictError
			switch {
			case bad && (!errors.As(e, &ce) || ce.Key != key):
				t.Fatalf("user %d: err %v, want a conflict on %s", i, e, key)
			case !bad && e != nil:
				t.Fatalf("user %d: %v", i, e)
			}
		}
		n, _ := d.CountUsersOfConnection(ctx, "main")
		if n != 1+1200-4 {
			t.Fatalf("count = %d", n)
		}
		if n, _ := d.CountUsersOfConnection(ctx, ""); n != 1197 {
			t.Fatalf("count all = %d", n)
		}

		err = d.WithImportTx(ctx, func(tx service.ImportQueries) error {
			got, err := tx.UsersByConnectionEmails(ctx, "main", []string{"taken@x.io", "u5@x.io", "absent@x.io"})
			if err != nil {
				return err
			}
			if len(got) != 2 {
				return fmt.Errorf("got %d users", len(got))
			}
			u := got[0]
			u.Name, u.UserMetadata, u.PasswordHash, u.UpdatedAt = "New Name", policy.Metadata{"k": "v"}, "$2a$04$x", µs(t0.Add(time.Hour))
			u.Username = "ignored" // not an upsertable column
			if err := tx.UpdateImportedUser(ctx, u); err != nil {
				return err
			}
			return tx.UpdateImportedUser(ctx, policy.User{ID: "absent"})
		})
		if !errors.Is(err, service.ErrNotFound) {
			t.Fatalf("update of an absent user: %v", err)
		}
		// The failed transaction rolled the update back.
		u, _ := d.UserByConnectionEmail(ctx, "main", "taken@x.io")
		if u.Name == "New Name" {
			t.Fatal("rolled-back update is visible")
		}

		page, err := d.UsersOfConnection(ctx, "main", "main|1", 3)
		if err != nil || len(page) != 3 || page[0].ID != "main|10" {
			t.Fatalf("page = %v, %v", len(page), err)
		}
	})
}
