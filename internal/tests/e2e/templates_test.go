package e2e

import (
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/testmysql"
)

// TestDjangoTemplateThroughGraphQL: a Django auth_user table behind a
// legacy custom-database connection running templates/django, driven
// through the API as a customer's users would: a login at Django's
// default 600,000 PBKDF2 iterations within the default deadline, an
// inactive account reported blocked only with its right password, a
// password-policy refusal whose message reaches an anonymous caller, and
// signup's profile fields reaching the script's create.
func TestDjangoTemplateThroughGraphQL(t *testing.T) {
	e := newScriptEnv(t, sqliteStore)
	dsn, db := djangoTable(t)
	// Hashes written by Django 3.2's PBKDF2PasswordHasher.
	if _, err := db.Exec(`INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES
		(1, 'pbkdf2_sha256$600000$legacysalt12$bSkwYtVZSi2JLlj9aE3eIuAxK/nxCWNManNzs+ysFqM=', 0, 'ann', 'Ann', 'Lee', 'ann@example.com', 0, 1, NOW()),
		(2, 'pbkdf2_sha256$1000$s4ltsalt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk=', 0, 'dis', 'Dis', 'Abled', 'dis@example.com', 0, 0, NOW())`); err != nil {
		t.Fatal(err)
	}
	in := client.ConnectionInput{Name: "django", SyncUserProfile: ptr(true), DatabaseURL: ptr(testmysql.URLOf(dsn))}
	e.gql.CustomConnection(t, e.admin, in, script(t, "templates/django"))

	login := func(email, pw string) gqlResponse {
		return e.raw("", `mutation($e: String!, $p: String!) { login(connection: "django", email: $e, password: $p) { user { givenName familyName } } }`,
			map[string]any{"e": email, "p": pw})
	}
	r := login("ann@example.com", "correct horse")
	wantOK(t, "login at 600,000 iterations", r)
	if !strings.Contains(string(r.Data), `"givenName":"Ann"`) {
		t.Fatalf("login profile: %s", r.Raw)
	}
	if r := login("dis@example.com", "hunter22"); r.code() != "USER_BLOCKED" {
		t.Fatalf("inactive account, right password: %s", r.Raw)
	}
	if r := login("dis@example.com", "hunter23"); r.code() != "INVALID_CREDENTIALS" {
		t.Fatalf("inactive account, wrong password: %s", r.Raw)
	}

	signup := `mutation($e: String!, $p: String!) { signup(connection: "django", email: $e, password: $p, username: "bob", givenName: "Bob", familyName: "Ray", name: "Bob Ray") { id } }`
	r = e.raw("", signup, map[string]any{"e": "bob@example.com", "p": "12345678"})
	if r.code() != "BAD_USER_INPUT" || len(r.Errors) != 1 || r.Errors[0].Message != "This password is entirely numeric." || r.Errors[0].Extensions["errorId"] != nil {
		t.Fatalf("a script's validation message to an anonymous caller: %s", r.Raw)
	}
	wantOK(t, "signup", e.raw("", signup, map[string]any{"e": "bob@example.com", "p": "bobs secret"}))
	var first, last, username string
	if err := db.QueryRow("SELECT first_name, last_name, username FROM auth_user WHERE email = 'bob@example.com'").Scan(&first, &last, &username); err != nil {
		t.Fatal(err)
	}
	if first != "Bob" || last != "Ray" || username != "bob" {
		t.Fatalf("signup's fields in auth_user: %q %q %q", first, last, username)
	}
}

// djangoTable makes a MariaDB database holding the django template's
// schema.sql (auth_user as Django creates it), dropped when tb ends; it
// returns the database's DSN and a handle, closed then, to fill it.
func djangoTable(tb testing.TB) (string, *sql.DB) {
	tb.Helper()
	dsn, _ := testmysql.New(tb)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MultiStatements = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	schema, err := os.ReadFile("../../../templates/django/schema.sql")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(string(schema)); err != nil {
		tb.Fatal(err)
	}
	return dsn, db
}
