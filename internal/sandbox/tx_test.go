package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func txModule(t *testing.T, timeout time.Duration) (*Module, *sql.DB) {
	t.Helper()
	url := sqliteURL(t)
	db, err := sql.Open("sqlite", strings.TrimPrefix(url, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := newRuntime(t, Config{})
	return mustModule(t, r, Spec{Connection: "tx", Wasm: script(t, "tx"), DatabaseURL: url, Timeout: timeout}), db
}

func rowsFor(t *testing.T, db *sql.DB, email string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE email = ?", email).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTransactions(t *testing.T) {
	m, db := txModule(t, 2*time.Second)
	ctx := context.Background()
	create := func(email string) error {
		_, err := m.Run(ctx, Call{Action: ActionCreate, User: map[string]any{"email": email, "password": "pw"}})
		return err
	}
	if err := create("commit@example.com"); err != nil {
		t.Fatalf("InTx commit: %v", err)
	}
	var hash string
	if err := db.QueryRow("SELECT hash FROM t WHERE email = 'commit@example.com'").Scan(&hash); err != nil || hash != "pw" {
		t.Fatalf("committed row: %q %v", hash, err)
	}

	var se *ScriptError
	err := create("open@example.com")
	if !errors.As(err, &se) || !strings.Contains(se.Message, "transaction open") {
		t.Fatalf("success with an open transaction: %v", err)
	}
	if n := rowsFor(t, db, "open@example.com"); n != 0 {
		t.Fatalf("an uncommitted insert survived the call: %d rows", n)
	}

	if err := create("fail@example.com"); !errors.As(err, &se) {
		t.Fatalf("failed second statement: %v", err)
	}
	if n := rowsFor(t, db, "fail@example.com"); n != 0 {
		t.Fatalf("the first insert survived the failed transaction: %d rows", n)
	}

	var ve *ValidationError
	if err := create("invalid@example.com"); !errors.As(err, &ve) || ve.Message != "that name is taken, pick another" {
		t.Fatalf("validation inside a transaction: %v", err)
	}
	if n := rowsFor(t, db, "invalid@example.com"); n != 0 {
		t.Fatalf("insert survived a validation failure: %d rows", n)
	}

	if err := create("twice@example.com"); !errors.As(err, &se) || !strings.Contains(se.Message, "already open") {
		t.Fatalf("nested begin: %v", err)
	}

	if err := create("loop@example.com"); !errors.Is(err, ErrTimeout) {
		t.Fatalf("looping inside a transaction: %v", err)
	}
	if n := rowsFor(t, db, "loop@example.com"); n != 0 {
		t.Fatalf("insert survived a timeout: %d rows", n)
	}
	// The pool is not left with a connection stuck in a transaction: a
	// write from outside and another call still go through.
	if _, err := db.Exec("INSERT INTO t (email, hash) VALUES ('outside@example.com', 'h')"); err != nil {
		t.Fatal(err)
	}
	if err := create("after@example.com"); err != nil {
		t.Fatalf("create after the timeout: %v", err)
	}
}

func TestBlockedAndUsername(t *testing.T) {
	m, db := txModule(t, 0)
	ctx := context.Background()
	h, _ := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	if _, err := db.Exec("INSERT INTO t (email, hash) VALUES ('blocked@example.com', ?)", h); err != nil {
		t.Fatal(err)
	}
	_, err := m.Run(ctx, Call{Action: ActionLogin, Email: "blocked@example.com", Password: "wrong"})
	if !errors.Is(err, ErrWrongCredentials) {
		t.Fatalf("blocked user, wrong password: %v (must not reveal the block)", err)
	}
	_, err = m.Run(ctx, Call{Action: ActionLogin, Email: "blocked@example.com", Password: "right"})
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("blocked user, right password: %v", err)
	}
	var se *ScriptError
	if _, err := m.Run(ctx, Call{Action: ActionGetUser, Email: "blocked-get@example.com"}); !errors.As(err, &se) {
		t.Fatalf("blocked from get_user: %v", err)
	}

	res, err := m.Run(ctx, Call{Action: ActionLogin, Username: "ann_1", Password: "x"})
	if err != nil || res.Attributes["username"] != "ann_1" {
		t.Fatalf("login by username: %+v %v", res.Attributes, err)
	}
	res, err = m.Run(ctx, Call{Action: ActionGetUser, Email: "a@example.com", Username: "ann_2"})
	if err != nil || res.Attributes["username"] != "ann_2" || res.Attributes["email"] != "a@example.com" {
		t.Fatalf("get_user with a username: %+v %v", res.Attributes, err)
	}
}
