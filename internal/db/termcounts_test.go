package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

// realCounts counts what is stored, by row of the term counts: the index
// rows of each metadata term and the users of each counted field's value,
// by the shard of their user id.
func realCounts(t *testing.T, d *DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	var terms []struct {
		Source string `db:"source"`
		Path   []byte `db:"path"`
		Value  []byte `db:"value"`
		UserID string `db:"user_id"`
	}
	must(t, d.w.SelectContext(ctx, &terms, "SELECT source, path, value, user_id FROM metadata_terms"))
	for _, r := range terms {
		out[fmt.Sprintf("%s %q %q %d", r.Source, r.Path, r.Value, termShard(r.UserID))]++
	}
	var users []struct {
		ID            string `db:"id"`
		EmailVerified bool   `db:"email_verified"`
		PhoneVerified bool   `db:"phone_verified"`
		Blocked       bool   `db:"blocked"`
		Connection    string `db:"connection"`
	}
	must(t, d.w.SelectContext(ctx, &users, "SELECT id, email_verified, phone_verified, blocked, connection FROM users"))
	for _, u := range users {
		pu := policy.User{ID: u.ID, EmailVerified: u.EmailVerified, PhoneVerified: u.PhoneVerified, Blocked: u.Blocked, Connection: u.Connection}
		for _, name := range search.CountedFields {
			out[fmt.Sprintf("%s %q %q %d", search.SourceField, name, fieldValue(pu, name), termShard(u.ID))]++
		}
	}
	return out
}

// storedCounts reads the term counts' rows.
func storedCounts(t *testing.T, d *DB) map[string]int64 {
	t.Helper()
	var rows []struct {
		Source string `db:"source"`
		Path   []byte `db:"path"`
		Value  []byte `db:"value"`
		Shard  int    `db:"shard"`
		N      int64  `db:"n"`
	}
	must(t, d.w.SelectContext(ctx, &rows, "SELECT source, path, value, shard, n FROM "+termCountsTable))
	out := map[string]int64{}
	for _, r := range rows {
		out[fmt.Sprintf("%s %q %q %d", r.Source, r.Path, r.Value, r.Shard)] = r.N
	}
	return out
}

// checkCounts fails unless every row of the term counts is the real count
// of its term and shard, with no row for what counts zero.
func checkCounts(t *testing.T, d *DB, when string) {
	t.Helper()
	got, want := storedCounts(t, d), realCounts(t, d)
	if maps.Equal(got, want) {
		return
	}
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			diff = append(diff, fmt.Sprintf("%s: counted %d, real %d", k, got[k], want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s: counted %d, real 0", k, got[k]))
		}
	}
	if len(diff) > 10 {
		diff = append(diff[:10], fmt.Sprintf("… %d more", len(diff)-10))
	}
	t.Fatalf("%s: the term counts differ from what is stored:\n%s", when, strings.Join(diff, "\n"))
}

// countUser is a user of the random sequences: metadata drawn from a few
// values (so that terms are shared by many users), some awkward text, and
// random counted fields.
func countUser(r *rand.Rand, id string) policy.User {
	u := sampleUser(id, []string{"main", "other", "third"}[r.IntN(3)], id+"@example.com")
	u.Username = ""
	u.EmailVerified, u.PhoneVerified, u.Blocked = r.IntN(2) == 0, r.IntN(3) == 0, r.IntN(5) == 0
	plans := []string{"free", "pro", "team", "tab\tand\\", "trailing "}
	u.AppMetadata = policy.Metadata{"plan": plans[r.IntN(len(plans))]}
	if r.IntN(4) == 0 {
		u.AppMetadata = nil
	}
	u.UserMetadata = policy.Metadata{"n": json.Number(fmt.Sprint(r.IntN(5))), "tags": []any{"a", plans[r.IntN(len(plans))]},
		"prefs": map[string]any{"theme": []string{"dark", "light"}[r.IntN(2)]}}
	if r.IntN(5) == 0 {
		u.UserMetadata = policy.Metadata{"unique": id}
	}
	return u
}

func TestSQLiteTermCounts(t *testing.T) {
	t.Parallel()
	runTermCounts(t, openSQLiteStore(t))
}

func TestMySQLTermCounts(t *testing.T) {
	t.Parallel()
	runTermCounts(t, openMySQLStore(t))
}

// runTermCounts runs random sequences of every write of users and the
// index (insert, update, import update, delete, imports by LOAD DATA and
// by INSERTs, batches that clash, rolled-back transactions) and checks the
// counts against what is stored after each step; then totalCount of the
// counted queries against the real number of matches.
func runTermCounts(t *testing.T, d *DB) {
	r := rand.New(rand.NewPCG(17, 56))
	var live []string
	next := 0
	newID := func() string { next++; return fmt.Sprintf("main|%06d", next) }
	pick := func() (int, string) { i := r.IntN(len(live)); return i, live[i] }
	imports := 0
	for step := range 100 {
		op := r.IntN(8)
		if len(live) < 5 {
			op = 0
		}
		var name string
		switch op {
		case 0, 1:
			name = "insert"
			id := newID()
			must(t, d.InsertUser(ctx, countUser(r, id)))
			live = append(live, id)
		case 2:
			name = "update"
			_, id := pick()
			u := countUser(r, id)
			if r.IntN(3) == 0 { // counted fields only
				old, err := d.UserByID(ctx, id)
				must(t, err)
				old.Blocked, old.EmailVerified = !old.Blocked, !old.EmailVerified
				u = old
			}
			must(t, d.UpdateUser(ctx, u))
		case 3:
			name = "delete"
			i, id := pick()
			must(t, d.DeleteUser(ctx, id))
			live = slices.Delete(live, i, i+1)
		case 4:
			name = "import"
			var batch []policy.User
			for range 1 + r.IntN(40) {
				id := newID()
				batch = append(batch, countUser(r, id))
				live = append(live, id)
			}
			if r.IntN(3) == 0 { // a clash: the batch goes one by one
				_, id := pick()
				clash := countUser(r, id)
				batch = append(batch, clash)
			}
			if d.load != nil && r.IntN(2) == 0 {
				d.load.off.Store(true) // the INSERTs (MySQL)
			}
			must(t, d.WithTx(ctx, func(tx service.Queries) error {
				_, err := tx.(service.ImportQueries).InsertUsers(ctx, batch)
				return err
			}))
			if d.load != nil {
				d.load.off.Store(false)
			}
			imports++
		case 5:
			name = "import-update"
			_, id := pick()
			u := countUser(r, id)
			must(t, d.WithTx(ctx, func(tx service.Queries) error {
				return tx.(service.ImportQueries).UpdateImportedUser(ctx, u)
			}))
		case 6:
			name = "rolled-back"
			boom := errors.New("boom")
			_, id := pick()
			err := d.WithTx(ctx, func(tx service.Queries) error {
				if err := tx.InsertUser(ctx, countUser(r, newID())); err != nil {
					return err
				}
				if err := tx.UpdateUser(ctx, countUser(r, id)); err != nil {
					return err
				}
				if _, err := tx.(service.ImportQueries).InsertUsers(ctx, []policy.User{countUser(r, newID()), countUser(r, newID())}); err != nil {
					return err
				}
				if err := tx.DeleteUser(ctx, id); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("rolled-back transaction: %v", err)
			}
		case 7:
			name = "same-tx"
			i, id := pick()
			must(t, d.WithTx(ctx, func(tx service.Queries) error {
				u := countUser(r, id)
				if err := tx.UpdateUser(ctx, u); err != nil {
					return err
				}
				u.AppMetadata = policy.Metadata{"plan": "pro", "more": "x"}
				if err := tx.UpdateUser(ctx, u); err != nil {
					return err
				}
				return tx.DeleteUser(ctx, id)
			}))
			live = slices.Delete(live, i, i+1)
		}
		checkCounts(t, d, fmt.Sprintf("step %d (%s)", step, name))
	}
	if imports == 0 {
		t.Fatal("no import ran")
	}
	if d.Dialect() == DialectMySQL && d.load.loads.Load() == 0 {
		t.Fatal("no import went through LOAD DATA")
	}
	checkTotals(t, d)
}

// checkTotals compares the totalCount of the counted queries with the
// number of users the full scan finds.
func checkTotals(t *testing.T, d *DB) {
	t.Helper()
	queries := []string{"app_metadata.plan:pro", "app_metadata.plan:free", `app_metadata.plan:"tab\tand\\"`, "user_metadata.tags:a",
		"user_metadata.prefs.theme:dark", "user_metadata.n:3", "email_verified:false", "email_verified:true", "blocked:true",
		"phone_verified:false", "connection:main", "connection:other", "app_metadata.plan:nobody", "connection:nobody"}
	for _, q := range queries {
		s, err := buildSearch(d.Dialect(), service.SearchParams{Query: q, Count: true, Limit: 1}, searchPlan{from: "users"})
		must(t, err)
		if !strings.Contains(s.count, termCountsTable) {
			t.Fatalf("%s: not counted from the term counts: %s", q, s.count)
		}
		_, got, err := d.SearchUsers(ctx, service.SearchParams{Query: q, Count: true, Limit: 1})
		must(t, err)
		scan, err := buildSearch(d.Dialect(), service.SearchParams{Query: q, Count: true, Limit: 1}, searchPlan{from: "users", scan: true})
		must(t, err)
		var want int
		must(t, d.w.GetContext(ctx, &want, scan.count, scan.countArgs...))
		if got != want {
			t.Errorf("%s: totalCount %d, %d users match", q, got, want)
		}
	}
}

// Parallel writers of the same terms (single updates, inserts, deletes and
// import batches in their own transactions) leave the counts exact.
func TestSQLiteTermCountsConcurrent(t *testing.T) {
	t.Parallel()
	runTermCountsConcurrent(t, openSQLiteStore(t))
}

func TestMySQLTermCountsConcurrent(t *testing.T) {
	t.Parallel()
	runTermCountsConcurrent(t, openMySQLStore(t))
}

func runTermCountsConcurrent(t *testing.T, d *DB) {
	const writers, perWriter = 6, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 99))
			var mine []string
			for i := range perWriter {
				id := fmt.Sprintf("w%d|%04d", w, i)
				var err error
				switch {
				case i%5 == 4:
					var batch []policy.User
					for j := range 20 {
						batch = append(batch, countUser(r, fmt.Sprintf("%s-%02d", id, j)))
					}
					err = d.WithTx(ctx, func(tx service.Queries) error {
						_, err := tx.(service.ImportQueries).InsertUsers(ctx, batch)
						return err
					})
				case len(mine) > 2 && i%3 == 0:
					err = d.UpdateUser(ctx, countUser(r, mine[r.IntN(len(mine))]))
				case len(mine) > 2 && i%7 == 0:
					k := r.IntN(len(mine))
					err = d.DeleteUser(ctx, mine[k])
					mine = slices.Delete(mine, k, k+1)
				default:
					err = d.InsertUser(ctx, countUser(r, id))
					mine = append(mine, id)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d op %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkCounts(t, d, "after the parallel writers")
	checkTotals(t, d)
}

// An index row left over (or missing) from an older profiled makes a
// write change fewer rows than it computed: the counts of its terms are
// counted again from the index, and stay exact.
func TestSQLiteTermCountsRecount(t *testing.T) {
	t.Parallel()
	runTermCountsRecount(t, openSQLiteStore(t))
}

func TestMySQLTermCountsRecount(t *testing.T) {
	t.Parallel()
	runTermCountsRecount(t, openMySQLStore(t))
}

func runTermCountsRecount(t *testing.T, d *DB) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10 {
		must(t, d.InsertUser(ctx, countUser(r, fmt.Sprintf("main|%d", i))))
	}
	// A row left over for a user about to be inserted, one missing for a
	// user about to be deleted.
	u := countUser(r, "main|new")
	u.AppMetadata = policy.Metadata{"plan": "pro"}
	_, err := d.w.ExecContext(ctx, "INSERT INTO metadata_terms (source, path, value, user_id) VALUES ('a', 'plan', 'pro', 'main|new')")
	must(t, err)
	must(t, d.InsertUser(ctx, u))
	checkCounts(t, d, "insert over a left-over row")
	_, err = d.w.ExecContext(ctx, "DELETE FROM metadata_terms WHERE user_id = 'main|3'")
	must(t, err)
	must(t, d.DeleteUser(ctx, "main|3"))
	checkCounts(t, d, "delete of missing rows")
	_, err = d.w.ExecContext(ctx, "INSERT INTO metadata_terms (source, path, value, user_id) VALUES ('u', 'n', '1', 'main|b0')")
	must(t, err)
	must(t, d.WithTx(ctx, func(tx service.Queries) error {
		b0 := countUser(r, "main|b0")
		b0.UserMetadata = policy.Metadata{"n": json.Number("1")}
		_, err := tx.(service.ImportQueries).InsertUsers(ctx, []policy.User{b0, countUser(r, "main|b1")})
		return err
	}))
	checkCounts(t, d, "import over a left-over row")
}

// Migration 57 counts a store seeded before it: users and index rows
// written as the store wrote them at version 55, then Open migrates.
func TestTermCountsMigration(t *testing.T) {
	for _, k := range []string{"sqlite", "mysql"} {
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			var raw *sql.DB
			var url, dialect, dir string
			var err error
			if k == "sqlite" {
				path := filepath.Join(t.TempDir(), "old.db")
				raw, err = sql.Open("sqlite", path)
				url, dialect, dir = "sqlite:"+path, DialectSQLite, "migrations/sqlite"
			} else {
				dsn, _ := testmysql.New(t)
				raw, err = sql.Open("mysql", dsn)
				url, dialect, dir = testmysql.URLOf(dsn), DialectMySQL, "migrations/mysql"
			}
			must(t, err)
			defer raw.Close()
			fsys, err := fs.Sub(migrations, dir)
			must(t, err)
			gd := gooseDialect(dialect)
			p, err := goose.NewProvider(gd, raw, fsys, goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(goMigrations(gd)...))
			must(t, err)
			if _, err := p.UpTo(context.Background(), 55); err != nil {
				t.Fatal(err)
			}
			// More index rows than one page of the migration, and more
			// users, so that it pages.
			r := rand.New(rand.NewPCG(5, 7))
			tx, err := raw.BeginTx(ctx, nil)
			must(t, err)
			one := "(" + strings.TrimSuffix(strings.Repeat("?, ", 23), ", ") + ")"
			const n = termCountsPage + 3000
			for start := 0; start < n; start += 500 {
				var args []any
				var terms []termRow
				end := min(start+500, n)
				for i := start; i < end; i++ {
					u := countUser(r, fmt.Sprintf("main|%06d", i))
					u.Email = ""
					vals, um, am, err := userValues(u)
					must(t, err)
					args = append(append(args, u.ID), vals...)
					terms = userTerms(terms, u.ID, um, am)
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO users ("+userColumns+") VALUES "+strings.TrimSuffix(strings.Repeat(one+", ", end-start), ", "), args...)
				must(t, err)
				_, err = insertTerms(ctx, dialect, tx.ExecContext, terms)
				must(t, err)
			}
			must(t, tx.Commit())
			d := openStore(t, url) // migrates to the latest version
			var terms int
			must(t, d.w.GetContext(ctx, &terms, "SELECT COUNT(*) FROM metadata_terms"))
			if terms <= termCountsPage {
				t.Fatalf("%d index rows: the migration does not page", terms)
			}
			checkCounts(t, d, "after migration 57")
			checkTotals(t, d)
		})
	}
}
