package db

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// awkwardUsers are users whose every text column holds what LOAD DATA's
// text format must escape (the escape character, the field and line
// terminators, NUL, a lone \N, a \r), and metadata whose terms do too.
func awkwardUsers(n int) []policy.User {
	texts := []string{
		`back\slash`, "tab\there", "new\nline", "nul\x00byte", `\N`, "\\", "cr\r\nlf", "ctrl-z\x1a", "\\\t\\n",
		"quote ' and \"", "Zoë Ünïcode 😀", "trailing space ", "", "NULL", "\\0",
	}
	var out []policy.User
	for i := range n {
		s := texts[i%len(texts)]
		u := sampleUser(fmt.Sprintf("main|%024x", i), "main", fmt.Sprintf("u%d@x.io", i))
		u.Username = ""
		if i%3 == 0 {
			u.Username = fmt.Sprintf("name%d%s", i, s)
		}
		u.Name, u.GivenName, u.FamilyName, u.Nickname, u.Picture, u.LastIP = s, s+"g", s+"f", s, s, s
		u.UserMetadata = policy.Metadata{"k" + s: s, "n": json.Number(fmt.Sprint(i)), "list": []any{s, json.Number("1.5e300"), false, nil},
			"obj": map[string]any{s: map[string]any{"deep": s}}}
		u.AppMetadata = policy.Metadata{"plan": s}
		if i%4 == 0 {
			u.LastLogin = nil
			u.AppMetadata = nil
		}
		out = append(out, u)
	}
	return out
}

func termsOf(t *testing.T, d *DB) []string {
	t.Helper()
	var rows []struct {
		Source string          `db:"source"`
		Path   []byte          `db:"path"`
		Value  []byte          `db:"value"`
		UserID string          `db:"user_id"`
		Num    sql.NullFloat64 `db:"num"`
	}
	must(t, d.w.SelectContext(ctx, &rows, "SELECT source, path, value, user_id, num FROM metadata_terms ORDER BY source, path, value, user_id"))
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%s %q %q %s %v", r.Source, r.Path, r.Value, r.UserID, r.Num)
	}
	return out
}

// An import batch on MySQL goes through LOAD DATA LOCAL (bulkload.go);
// what it stores, users and term rows, is byte for byte what one INSERT
// per user stores. Against a server with local_infile off, the refused
// LOAD turns the bulk load off and the INSERTs store the same.
func TestBulkLoadMatchesInsertMySQL(t *testing.T) {
	t.Parallel()
	users := awkwardUsers(60)
	loaded, inserted := openMySQLStore(t), openMySQLStore(t)
	var localInfile bool
	must(t, loaded.w.GetContext(ctx, &localInfile, "SELECT @@local_infile"))
	var perUser []error
	enc := loaded.EncodeNewUsers(users) // ahead of the transaction, as an import does
	if localInfile != (enc != nil) {
		t.Fatalf("local_infile %v, EncodeNewUsers gave %v", localInfile, enc)
	}
	must(t, loaded.WithImportTx(ctx, func(tx service.ImportQueries) error {
		var err error
		perUser, err = tx.InsertUsers(ctx, users, enc)
		return err
	}))
	for i, e := range perUser {
		if e != nil {
			t.Fatalf("user %d: %v", i, e)
		}
	}
	switch n, off := loaded.load.loads.Load(), loaded.load.off.Load(); {
	case localInfile && n != 1:
		t.Fatalf("the batch was not loaded with LOAD DATA (loads = %d, off = %v)", n, off)
	case !localInfile && (n != 0 || !off):
		t.Fatalf("local_infile is off: loads = %d, off = %v; want 0, true", n, off)
	case !localInfile:
		t.Log("the server has local_infile off: checked the fallback to INSERT")
	}
	for _, u := range users {
		must(t, inserted.InsertUser(ctx, u))
	}
	for _, u := range users {
		got, err := loaded.UserByID(ctx, u.ID)
		must(t, err)
		want, err := inserted.UserByID(ctx, u.ID)
		must(t, err)
		mustEqual(t, got, want)
		mustEqual(t, got, normUser(u))
	}
	gotTerms, wantTerms := termsOf(t, loaded), termsOf(t, inserted)
	if len(wantTerms) < 5*len(users) {
		t.Fatalf("only %d term rows", len(wantTerms))
	}
	mustEqual(t, gotTerms, wantTerms)
}

// A batch the server would load partly (LOCAL turns a clash into a
// skipped row and a warning) is rolled back to its savepoint and written
// with the INSERTs, which name each clash; so is one that does not fit a
// column (there the INSERTs fail the statement, as before).
func TestBulkLoadFallsBackMySQL(t *testing.T) {
	t.Parallel()
	d := openMySQLStore(t)
	users := awkwardUsers(30)
	must(t, d.InsertUser(ctx, users[7]))
	var perUser []error
	enc := d.EncodeNewUsers(users)
	must(t, d.WithImportTx(ctx, func(tx service.ImportQueries) error {
		var err error
		perUser, err = tx.InsertUsers(ctx, users, enc)
		return err
	}))
	for i, e := range perUser {
		var ce *ConflictError
		switch {
		case i == 7 && (!errors.As(e, &ce) || ce.Key != "id"):
			t.Fatalf("user 7: %v, want a conflict on id", e)
		case i != 7 && e != nil:
			t.Fatalf("user %d: %v", i, e)
		}
	}
	if n := d.load.loads.Load(); n != 0 {
		t.Fatalf("loads = %d, want the batch written by the INSERTs", n)
	}
	if n, _ := d.CountUsersOfConnection(ctx, "main"); n != 30 {
		t.Fatalf("count = %d", n)
	}
	// Every term row once: none left by the rolled-back load.
	inserted := openMySQLStore(t)
	for _, u := range users {
		must(t, inserted.InsertUser(ctx, u))
	}
	mustEqual(t, termsOf(t, d), termsOf(t, inserted))

	// A name over its column's 1024 characters: LOCAL would truncate it
	// with a warning; the batch fails as the INSERT fails it.
	long := awkwardUsers(40)[30:]
	long[3].Name = string(bytes.Repeat([]byte("x"), 1025))
	err := d.WithImportTx(ctx, func(tx service.ImportQueries) error {
		_, err := tx.InsertUsers(ctx, long, nil)
		return err
	})
	if err == nil {
		t.Fatal("a name too long for its column was stored")
	}
	if n, _ := d.CountUsersOfConnection(ctx, "main"); n != 30 {
		t.Fatalf("count after the failed batch = %d", n)
	}
	if d.load.off.Load() {
		t.Fatal("a clash turned LOAD DATA off")
	}
}

// InsertUsers writes the users it is given, not those of an encoding made
// for another slice (even one of the same length and content).
func TestInsertUsersEncodedForOtherUsersMySQL(t *testing.T) {
	t.Parallel()
	d := openMySQLStore(t)
	users := awkwardUsers(20)
	other := awkwardUsers(40)[20:]
	enc := d.EncodeNewUsers(other)
	copied := append([]policy.User(nil), users...)
	must(t, d.WithImportTx(ctx, func(tx service.ImportQueries) error {
		if _, err := tx.InsertUsers(ctx, users, enc); err != nil {
			return err
		}
		// The same users in another slice: encoded again, not taken.
		_, err := tx.InsertUsers(ctx, copied[:0], d.EncodeNewUsers(users))
		return err
	}))
	for _, u := range users {
		got, err := d.UserByID(ctx, u.ID)
		must(t, err)
		mustEqual(t, got, normUser(u))
	}
	for _, u := range other {
		if _, err := d.UserByID(ctx, u.ID); !errors.Is(err, service.ErrNotFound) {
			t.Fatalf("user %s of the other encoding: %v, want not found", u.ID, err)
		}
	}
}

// A server without local_infile refuses LOAD DATA LOCAL with one of these
// errors, which turn the bulk load off; others do not.
func TestRefusedLocal(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&mysql.MySQLError{Number: 1148, Message: "The used command is not allowed with this MariaDB version"}, true},
		{fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 3948, Message: "Loading local data is disabled"}), true},
		{&mysql.MySQLError{Number: 4166, Message: "The used command is not allowed because the MariaDB server or client has disabled the local infile capability"}, true},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}, false},
		{errors.New("connection reset"), false},
	} {
		if got := refusedLocal(c.err); got != c.want {
			t.Errorf("refusedLocal(%v) = %v", c.err, got)
		}
	}
}
