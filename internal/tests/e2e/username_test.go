package e2e

import (
	"strings"
	"testing"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/testmysql"
)

// loginQ logs in by email or by username (null when not given) and reads
// back the user's email and username.
const loginQ = `mutation($c: String!, $e: String, $u: String, $p: String!) {
  login(connection: $c, email: $e, username: $u, password: $p) { user { email username } } }`

// login runs loginQ; an empty email or username is left out (null).
func (e *env) loginBy(connection, email, username, password string) gqlResponse {
	e.t.Helper()
	vars := map[string]any{"c": connection, "p": password}
	if email != "" {
		vars["e"] = email
	}
	if username != "" {
		vars["u"] = username
	}
	return e.raw("", loginQ, vars)
}

// wantBadInput fails unless r is BAD_USER_INPUT on field.
func wantBadInput(t *testing.T, what string, r gqlResponse, field string) {
	t.Helper()
	if r.code() != "BAD_USER_INPUT" {
		t.Fatalf("%s: want BAD_USER_INPUT, got %s", what, r.Raw)
	}
	if f, _ := r.Errors[0].Extensions["field"].(string); f != field {
		t.Fatalf("%s: want field %q: %s", what, field, r.Raw)
	}
}

// TestLoginByUsernameDatabase: a DATABASE connection with requiresUsername
// (Auth0's "Requires Username"): sign-up needs a username following
// Auth0's rules, stored lower-cased; login takes the email or the username
// (any case), exactly one of them; a connection without the setting
// refuses usernames until it is turned on.
func TestLoginByUsernameDatabase(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		r := e.raw(e.admin, `mutation { createConnection(input: {name: "shop", strategy: DATABASE, requiresUsername: true}) { requiresUsername } }`, nil)
		wantOK(t, "create connection", r)
		if !strings.Contains(string(r.Data), `"requiresUsername":true`) {
			t.Fatalf("requiresUsername not returned: %s", r.Raw)
		}
		signup := `mutation($e: String!, $u: String) { signup(connection: "shop", email: $e, password: "ann's secret", username: $u) { username } }`
		wantBadInput(t, "signup without a username", e.raw("", signup, map[string]any{"e": "ann@example.com"}), "username")
		for _, bad := range []string{"ann lee", "änn", "sixteen-chars-xx", "ann@example.com", "a\tb"} {
			wantBadInput(t, "signup with username "+bad, e.raw("", signup, map[string]any{"e": "ann@example.com", "u": bad}), "username")
		}
		r = e.raw("", signup, map[string]any{"e": "ann@example.com", "u": "Ann_1.x+y"})
		wantOK(t, "signup", r)
		if !strings.Contains(string(r.Data), `"username":"ann_1.x+y"`) {
			t.Fatalf("the username is stored lower-cased: %s", r.Raw)
		}
		if r := e.raw("", signup, map[string]any{"e": "other@example.com", "u": "ANN_1.x+y"}); r.code() != "USER_EXISTS" {
			t.Fatalf("a taken username in another case: %s", r.Raw)
		}

		r = e.loginBy("shop", "", "ANN_1.X+Y", "ann's secret")
		wantOK(t, "login by username", r)
		if !strings.Contains(string(r.Data), `"email":"ann@example.com"`) {
			t.Fatalf("login by username: %s", r.Raw)
		}
		wantOK(t, "login by email", e.loginBy("shop", "ann@example.com", "", "ann's secret"))
		if r := e.loginBy("shop", "", "ann_1.x+y", "wrong secret"); r.code() != "INVALID_CREDENTIALS" {
			t.Fatalf("wrong password by username: %s", r.Raw)
		}
		if r := e.loginBy("shop", "", "nobody", "ann's secret"); r.code() != "INVALID_CREDENTIALS" {
			t.Fatalf("unknown username: %s", r.Raw)
		}
		wantBadInput(t, "both email and username", e.loginBy("shop", "ann@example.com", "ann_1.x+y", "ann's secret"), "username")
		wantBadInput(t, "neither email nor username", e.loginBy("shop", "", "", "ann's secret"), "username")
		wantBadInput(t, "a username over 15 characters", e.loginBy("shop", "", "ann_1.x+yyyyyyyy", "ann's secret"), "username")
		wantBadInput(t, "a username of 200 bytes", e.loginBy("shop", "", strings.Repeat("a", 200), "ann's secret"), "username")
		wantBadInput(t, "a space in a username", e.loginBy("shop", "", "ann 1", "ann's secret"), "username")
		wantBadInput(t, "a control character in a username", e.loginBy("shop", "", "ann\x00", "ann's secret"), "username")
		// Only real attempts count: the refusals above did not lock Ann out.
		wantOK(t, "login after the refusals", e.loginBy("shop", "", "ann_1.x+y", "ann's secret"))

		// A connection without the setting: a username may be stored but
		// does not log in, until requiresUsername is turned on.
		wantOK(t, "plain connection", e.raw(e.admin, `mutation { createConnection(input: {name: "plain", strategy: DATABASE}) { name } }`, nil))
		r = e.raw(e.admin, `mutation { createUser(input: {connection: "plain", email: "bob@example.com", password: "bob's secret", username: "bob"}) { id } }`, nil)
		wantOK(t, "create bob", r)
		var bob struct{ CreateUser struct{ ID string } }
		if err := jsonUnmarshal(r.Data, &bob); err != nil {
			t.Fatal(err)
		}
		wantBadInput(t, "username on a connection without requiresUsername", e.loginBy("plain", "", "bob", "bob's secret"), "username")
		r = e.raw(e.admin, `mutation { updateConnection(name: "plain", input: {requiresUsername: true}) { requiresUsername } }`, nil)
		wantOK(t, "turn requiresUsername on", r)
		wantOK(t, "login by username once allowed", e.loginBy("plain", "", "bob", "bob's secret"))
		wantBadInput(t, "an email as new username", e.raw(e.admin, `mutation($id: ID!) { updateUser(id: $id, input: {username: "b@x.io"}) { id } }`,
			map[string]any{"id": bob.CreateUser.ID}), "username")

		// Not for connections without passwords.
		wantBadInput(t, "requiresUsername on a PASSWORDLESS connection",
			e.raw(e.admin, `mutation { createConnection(input: {name: "sso", strategy: PASSWORDLESS, requiresUsername: true}) { name } }`, nil), "requiresUsername")
	})
}

// TestLoginByUsernameThroughScripts: a Django auth_user table behind
// custom-database connections running templates/django, with
// requiresUsername: in legacy mode the login script receives the username
// as typed (a Django username may hold '@', a space is the script's to
// refuse) and answers; in import mode the first login by username migrates
// the user and the next one is answered from the store. A connection
// without the setting refuses usernames; tryConnectionScript runs
// get_user by username; sign-up refuses a username the custom database
// already has.
func TestLoginByUsernameThroughScripts(t *testing.T) {
	t.Parallel()
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) {
			e := newScriptEnv(t, k)
			dsn, db := djangoTable(t)
			// Django hashes at 1,000 iterations (hunter22), written by Django.
			const hash = "pbkdf2_sha256$1000$s4ltsalt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk="
			if _, err := db.Exec(`INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES
				(1, ?, 0, 'ann', 'Ann', 'Lee', 'ann@example.com', 0, 1, NOW()),
				(2, ?, 0, 'cy@home', 'Cy', '', 'cy@example.com', 0, 1, NOW())`, hash, hash); err != nil {
				t.Fatal(err)
			}
			url := testmysql.URLOf(dsn)
			wasm := script(t, "templates/django")
			e.gql.CustomConnection(t, e.admin, client.ConnectionInput{Name: "django", RequiresUsername: ptr(true), DatabaseURL: ptr(url)}, wasm)
			e.gql.CustomConnection(t, e.admin, client.ConnectionInput{Name: "django-mail", DatabaseURL: ptr(url)}, wasm)
			e.gql.CustomConnection(t, e.admin, client.ConnectionInput{Name: "django-import", ImportMode: ptr(true), RequiresUsername: ptr(true), DatabaseURL: ptr(url)}, wasm)

			r := e.loginBy("django", "", "ann", "hunter22")
			wantOK(t, "legacy login by username", r)
			if !strings.Contains(string(r.Data), `"email":"ann@example.com","username":"ann"`) {
				t.Fatalf("legacy login by username: %s", r.Raw)
			}
			wantOK(t, "a Django username holding '@'", e.loginBy("django", "", "cy@home", "hunter22"))
			if r := e.loginBy("django", "", "ann", "hunter23"); r.code() != "INVALID_CREDENTIALS" {
				t.Fatalf("wrong password by username: %s", r.Raw)
			}
			if r := e.loginBy("django", "", "ann lee", "hunter22"); r.code() != "INVALID_CREDENTIALS" {
				t.Fatalf("a space reaches the script, which finds nobody: %s", r.Raw)
			}
			wantBadInput(t, "both", e.loginBy("django", "ann@example.com", "ann", "hunter22"), "username")
			wantBadInput(t, "neither", e.loginBy("django", "", "", "hunter22"), "username")
			wantBadInput(t, "129 bytes", e.loginBy("django", "", strings.Repeat("a", 129), "hunter22"), "username")
			wantBadInput(t, "a control character", e.loginBy("django", "", "ann\n", "hunter22"), "username")
			wantBadInput(t, "no requiresUsername", e.loginBy("django-mail", "", "ann", "hunter22"), "username")
			wantOK(t, "the same user by email there", e.loginBy("django-mail", "ann@example.com", "", "hunter22"))

			r = e.raw(e.admin, `mutation { tryConnectionScript(connection: "django", action: GET_USER, username: "cy@home") { ok profile } }`, nil)
			wantOK(t, "try get_user by username", r)
			if !strings.Contains(string(r.Data), "cy@example.com") {
				t.Fatalf("try get_user by username: %s", r.Raw)
			}
			r = e.raw("", `mutation { signup(connection: "django", email: "new@example.com", password: "new secret", username: "ann") { id } }`, nil)
			if f, _ := firstField(r); r.code() != "USER_EXISTS" || f != "username" {
				t.Fatalf("signup with a username Django has: %s", r.Raw)
			}

			// Failed attempts count per username whatever its case (MariaDB
			// matches "CY@HOME" to cy@home): ten wrong passwords in
			// changing case, then the right one is TOO_MANY_ATTEMPTS.
			for i, u := range []string{"cy@home", "CY@HOME", "Cy@home", "cY@home", "cy@HOME", "CY@home", "cy@Home", "cY@HOME", "Cy@HOME", "CY@hOME"} {
				if r := e.loginBy("django", "", u, "wrong"); r.code() != "INVALID_CREDENTIALS" {
					t.Fatalf("wrong password %d as %s: %s", i, u, r.Raw)
				}
			}
			if r := e.loginBy("django", "", "cy@home", "hunter22"); r.code() != "TOO_MANY_ATTEMPTS" {
				t.Fatalf("after ten failures in changing case: %s", r.Raw)
			}

			// Import mode: migrated at the first login by username, then
			// answered from the store even once the Django row is gone.
			wantOK(t, "import-mode login by username", e.loginBy("django-import", "", "ann", "hunter22"))
			if _, err := db.Exec("DELETE FROM auth_user WHERE id = 1"); err != nil {
				t.Fatal(err)
			}
			r = e.loginBy("django-import", "", "ann", "hunter22")
			wantOK(t, "migrated user by username", r)
			if !strings.Contains(string(r.Data), `"email":"ann@example.com"`) {
				t.Fatalf("migrated user by username: %s", r.Raw)
			}
			if r := e.loginBy("django-import", "", "ann", "hunter23"); r.code() != "INVALID_CREDENTIALS" {
				t.Fatalf("migrated user, wrong password: %s", r.Raw)
			}
		})
	}
}

// firstField is the extensions.field of r's first error.
func firstField(r gqlResponse) (string, bool) {
	if len(r.Errors) == 0 {
		return "", false
	}
	f, ok := r.Errors[0].Extensions["field"].(string)
	return f, ok
}
