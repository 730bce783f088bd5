package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/internal/dburl"
	"github.com/profiled/profiled/internal/testmysql"
)

// legacyDB creates the template's legacy users table (templates/mysql/
// schema.sql) in a fresh MariaDB database, seeds it, and returns the
// connection's URL and a handle for checks.
func legacyDB(t testing.TB, seed ...legacyUser) (string, *sql.DB) {
	t.Helper()
	url := testmysql.URL(t)
	u, err := dburl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mysqlConfig(u)
	cfg.MultiStatements = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	schema, err := os.ReadFile("../../templates/mysql/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatalf("schema.sql: %v", err)
	}
	for _, u := range seed {
		cost := u.cost
		if cost == 0 {
			cost = bcrypt.MinCost
		}
		h, err := bcrypt.GenerateFromPassword([]byte(u.password), cost)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO users (email, password, nickname, given_name, family_name, name, email_verified)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, u.email, h, u.nickname, u.given, u.family, u.given+" "+u.family, u.verified); err != nil {
			t.Fatal(err)
		}
	}
	return url, db
}

type legacyUser struct {
	email, password, nickname, given, family string
	verified                                 bool
	cost                                     int
}

var ann = legacyUser{email: "ann@example.com", password: "correct horse", nickname: "annie", given: "Ann", family: "Lee", verified: true}

// templateModule loads the MySQL template for a fresh legacy database.
func templateModule(t *testing.T, seed ...legacyUser) (*Module, *sql.DB) {
	t.Helper()
	url, db := legacyDB(t, seed...)
	r := newRuntime(t, Config{})
	m := mustModule(t, r, Spec{Connection: "legacy", Wasm: script(t, "template:mysql"), DatabaseURL: url,
		Configuration: map[string]any{"BCRYPT_COST": "4"}})
	return m, db
}

func TestTemplateExportsAllActions(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	m, _ := templateModule(t)
	if len(m.Actions()) != 7 {
		t.Fatalf("actions: %v", m.Actions())
	}
}

func TestTemplateLogin(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	m, _ := templateModule(t, ann)
	ctx := context.Background()
	res, err := m.Run(ctx, Call{Action: ActionLogin, Email: ann.email, Password: ann.password})
	if err != nil {
		t.Fatal(err)
	}
	p := prof(res)
	if p.UserID != "1" || p.Email != ann.email || p.Nickname != "annie" || p.GivenName != "Ann" ||
		p.FamilyName != "Lee" || p.Name != "Ann Lee" || !p.EmailVerified {
		t.Errorf("profile: %+v", p)
	}
	t.Run("case-insensitive email", func(t *testing.T) {
		if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: "ANN@example.com", Password: ann.password}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := m.Run(ctx, Call{Action: ActionLogin, Email: ann.email, Password: "wrong"})
		if !errors.Is(err, ErrWrongCredentials) {
			t.Fatalf("want ErrWrongCredentials, got %v", err)
		}
	})
	t.Run("unknown email", func(t *testing.T) {
		_, err := m.Run(ctx, Call{Action: ActionLogin, Email: "nobody@example.com", Password: ann.password})
		if !errors.Is(err, ErrWrongCredentials) {
			t.Fatalf("want ErrWrongCredentials, got %v", err)
		}
	})
	// The template answers an unknown email without comparing a password;
	// the host then does the comparison it skipped (at the cost of the
	// hashes it did compare), so both "no" answers cost one bcrypt compare
	// and timing does not tell which accounts exist. A wrong password was
	// compared by the script itself: no extra work.
	t.Run("an unknown email costs a compare", func(t *testing.T) {
		before := m.rt.dummyCompares.Load()
		_, _ = m.Run(ctx, Call{Action: ActionLogin, Email: ann.email, Password: "wrong"})
		if got := m.rt.dummyCompares.Load() - before; got != 0 {
			t.Fatalf("a wrong password added %d dummy compares, want 0", got)
		}
		_, _ = m.Run(ctx, Call{Action: ActionLogin, Email: "nobody@example.com", Password: "x"})
		if got := m.rt.dummyCompares.Load() - before; got != 1 {
			t.Fatalf("an unknown email added %d dummy compares, want 1", got)
		}
		if c := int(m.bcryptCost.Load()); c != bcrypt.MinCost {
			t.Fatalf("the module remembered bcrypt cost %d, want the legacy hashes' %d", c, bcrypt.MinCost)
		}
	})
}

func TestTemplateGetUser(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	m, _ := templateModule(t, ann)
	ctx := context.Background()
	res, err := m.Run(ctx, Call{Action: ActionGetUser, Email: ann.email})
	if err != nil {
		t.Fatal(err)
	}
	login, err := m.Run(ctx, Call{Action: ActionLogin, Email: ann.email, Password: ann.password})
	if err != nil {
		t.Fatal(err)
	}
	if prof(res).UserID != prof(login).UserID || prof(res).Email != prof(login).Email {
		t.Errorf("get_user and login disagree: %+v vs %+v", prof(res), prof(login))
	}
	if _, ok := res.Attributes["password"]; ok {
		t.Error("get_user leaked the password hash")
	}
	if _, err := m.Run(ctx, Call{Action: ActionGetUser, Email: "nobody@example.com"}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("not found: want ErrUserNotFound, got %v", err)
	}
}

func TestTemplateCreate(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	m, db := templateModule(t, ann)
	ctx := context.Background()
	user := map[string]any{"email": "bob@example.com", "password": "pa55word!", "nickname": "bob",
		"given_name": "Bob", "username": "bobby"}
	if _, err := m.Run(ctx, Call{Action: ActionCreate, User: user}); err != nil {
		t.Fatal(err)
	}
	var hash string
	if err := db.QueryRow("SELECT password FROM users WHERE email = ?", "bob@example.com").Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2a$04$") || bcrypt.CompareHashAndPassword([]byte(hash), []byte("pa55word!")) != nil {
		t.Fatalf("stored hash %q is not a bcrypt hash of the password at BCRYPT_COST 4", hash)
	}
	res, err := m.Run(ctx, Call{Action: ActionLogin, Email: "bob@example.com", Password: "pa55word!"})
	if err != nil || prof(res).Username != "bobby" || prof(res).GivenName != "Bob" {
		t.Fatalf("login after create: %+v %v", prof(res), err)
	}
	t.Run("duplicate", func(t *testing.T) {
		dup := map[string]any{"email": ann.email, "password": "whatever1"}
		if _, err := m.Run(ctx, Call{Action: ActionCreate, User: dup}); !errors.Is(err, ErrUserExists) {
			t.Fatalf("want ErrUserExists, got %v", err)
		}
		dup["email"] = "ANN@EXAMPLE.COM"
		if _, err := m.Run(ctx, Call{Action: ActionCreate, User: dup}); !errors.Is(err, ErrUserExists) {
			t.Fatalf("other case: want ErrUserExists, got %v", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		var ve *ValidationError
		if _, err := m.Run(ctx, Call{Action: ActionCreate, User: map[string]any{"email": "x@y.z"}}); !errors.As(err, &ve) {
			t.Fatalf("no password: want ValidationError, got %v", err)
		}
	})
}

func TestTemplateVerify(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	unverified := ann
	unverified.verified = false
	m, _ := templateModule(t, unverified)
	ctx := context.Background()
	if res, _ := m.Run(ctx, Call{Action: ActionGetUser, Email: ann.email}); prof(res) == nil || prof(res).EmailVerified {
		t.Fatalf("seeded user should be unverified: %+v", prof(res))
	}
	if _, err := m.Run(ctx, Call{Action: ActionVerify, Email: ann.email}); err != nil {
		t.Fatal(err)
	}
	if res, _ := m.Run(ctx, Call{Action: ActionGetUser, Email: ann.email}); !prof(res).EmailVerified {
		t.Fatal("verify did not set email_verified")
	}
	if _, err := m.Run(ctx, Call{Action: ActionVerify, Email: ann.email}); err != nil {
		t.Fatalf("verifying twice: %v", err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionVerify, Email: "nobody@example.com"}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("verify nobody: want ErrUserNotFound, got %v", err)
	}
}

func TestTemplateChangePassword(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	m, _ := templateModule(t, ann)
	ctx := context.Background()
	if _, err := m.Run(ctx, Call{Action: ActionChangePassword, Email: ann.email, NewPassword: "a brand new one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: ann.email, Password: "a brand new one"}); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: ann.email, Password: ann.password}); !errors.Is(err, ErrWrongCredentials) {
		t.Fatalf("login with the old password: want ErrWrongCredentials, got %v", err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionChangePassword, Email: "nobody@example.com", NewPassword: "x-y-z-w"}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("nobody: want ErrUserNotFound, got %v", err)
	}
}

func TestTemplateChangeEmail(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	bob := legacyUser{email: "bob@example.com", password: "bobs password"}
	m, _ := templateModule(t, ann, bob)
	ctx := context.Background()
	if _, err := m.Run(ctx, Call{Action: ActionChangeEmail, Email: ann.email, NewEmail: "ann@new.example", Verified: false}); err != nil {
		t.Fatal(err)
	}
	res, err := m.Run(ctx, Call{Action: ActionLogin, Email: "ann@new.example", Password: ann.password})
	if err != nil || prof(res).UserID != "1" || prof(res).EmailVerified {
		t.Fatalf("login with the new email: %+v %v", prof(res), err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionGetUser, Email: ann.email}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("old email still found: %v", err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionChangeEmail, Email: "ann@new.example", NewEmail: bob.email, Verified: true}); !errors.Is(err, ErrUserExists) {
		t.Fatalf("taken email: want ErrUserExists, got %v", err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionChangeEmail, Email: "nobody@example.com", NewEmail: "x@example.com"}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("nobody: want ErrUserNotFound, got %v", err)
	}
}

func TestTemplateDelete(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	m, _ := templateModule(t, ann)
	ctx := context.Background()
	res, err := m.Run(ctx, Call{Action: ActionGetUser, Email: ann.email})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionDelete, ID: prof(res).UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionGetUser, Email: ann.email}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("after delete: want ErrUserNotFound, got %v", err)
	}
	if _, err := m.Run(ctx, Call{Action: ActionDelete, ID: prof(res).UserID}); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	var ve *ValidationError
	if _, err := m.Run(ctx, Call{Action: ActionDelete, ID: "1 OR 1=1"}); !errors.As(err, &ve) {
		t.Fatalf("non-numeric id: want ValidationError, got %v", err)
	}
}
