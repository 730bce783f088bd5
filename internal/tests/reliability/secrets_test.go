package reliability

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// secretRecorder wraps the service's handler: it records the secrets each
// request carries (the values of password, newPassword and configuration,
// and the password of a databaseURL, wherever they appear in the
// variables) and every response body.
type secretRecorder struct {
	mu        sync.Mutex
	secrets   map[string]bool
	responses []string
}

func (s *secretRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.recordRequest(r.Header.Get("Content-Type"), body)
		rw := &recordingWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		s.mu.Lock()
		s.responses = append(s.responses, rw.buf.String())
		s.mu.Unlock()
	})
}

type recordingWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}

func (s *secretRecorder) recordRequest(contentType string, body []byte) {
	ops := body
	if mt, params, err := mime.ParseMediaType(contentType); err == nil && strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		ops = nil
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "operations" {
				ops, _ = io.ReadAll(p)
			}
		}
	}
	var req struct {
		Variables map[string]any `json:"variables"`
	}
	if json.Unmarshal(ops, &req) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.walk("", req.Variables)
}

// walk records the secret values under v (key is v's name).
func (s *secretRecorder) walk(key string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "configuration" {
				s.all(e)
				continue
			}
			s.walk(k, e)
		}
	case []any:
		for _, e := range x {
			s.walk(key, e)
		}
	case string:
		switch key {
		case "password", "newPassword", "p":
			s.add(x)
		case "databaseURL":
			if u, err := url.Parse(x); err == nil {
				if pw, ok := u.User.Password(); ok {
					s.add(pw)
				}
			}
		}
	}
}

// all records every string under v.
func (s *secretRecorder) all(v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			s.all(e)
		}
	case []any:
		for _, e := range x {
			s.all(e)
		}
	case string:
		s.add(x)
	}
}

func (s *secretRecorder) add(v string) {
	if len(v) >= 6 { // shorter values (e.g. a cost "4") are not secrets worth grepping
		s.secrets[v] = true
	}
}

// secret returns a distinctive secret of the form prefix-<hex>.
func secret(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// TestNoSecretInResponsesOrLogs runs a broad scenario — sign-up, logins
// that work and fail, admin creation and updates with passwords, password
// changes and resets, connections with configuration secrets and database
// passwords, custom-database logins, sign-ups, password changes and trial
// runs, and errors of each kind — through a handler that records every
// secret sent, then checks that none of them appears in any response body
// or in any log line of the service (debug level).
func TestNoSecretInResponsesOrLogs(t *testing.T) {
	m := startMariaDB(t)
	legacyName := m.CreateDatabase("legacy")
	legacySchema(t, m.DSN(legacyName))
	root := m.Open(legacyName, "")
	dbPass := secret("dbpass")
	for _, stmt := range []string{
		"CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '" + dbPass + "'",
		"GRANT ALL ON `" + legacyName + "`.* TO 'app'@'127.0.0.1'",
	} {
		if _, err := root.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	rec := &secretRecorder{secrets: map[string]bool{}}
	e := newEnv(t, envConfig{scripts: true, wrap: rec.wrap})
	type step struct {
		name, token, query string
		vars               map[string]any
		want               string // the code, "" = success
	}
	const (
		signupQ = `mutation($c: String!, $e: String!, $password: String!) { signup(connection: $c, email: $e, password: $password) { id } }`
		loginQ  = `mutation($c: String!, $e: String!, $password: String!) { login(connection: $c, email: $e, password: $password) { accessToken idToken user { id email } } }`
	)
	admin := e.admin
	run := func(steps []step) {
		t.Helper()
		for _, s := range steps {
			r := e.raw(s.token, s.query, s.vars)
			if r.code() != s.want {
				t.Fatalf("%s: code %q, want %q: %s", s.name, r.code(), s.want, r.Raw)
			}
		}
	}
	userPW := secret("userpw")
	run([]step{
		{"createConnection", admin, `mutation { createConnection(input: {name: "main", strategy: DATABASE}) { name } }`, nil, ""},
		{"signup", "", signupQ, map[string]any{"c": "main", "e": "ann@example.com", "password": userPW}, ""},
		{"signup again", "", signupQ, map[string]any{"c": "main", "e": "ann@example.com", "password": secret("dup")}, "USER_EXISTS"},
		{"signup short password", "", signupQ, map[string]any{"c": "main", "e": "short@example.com", "password": "s3cr7!"}, "BAD_USER_INPUT"},
		{"signup long password", "", signupQ, map[string]any{"c": "main", "e": "long@example.com", "password": secret(strings.Repeat("L", 80))}, "BAD_USER_INPUT"},
		{"login", "", loginQ, map[string]any{"c": "main", "e": "ann@example.com", "password": userPW}, ""},
		{"login wrong password", "", loginQ, map[string]any{"c": "main", "e": "ann@example.com", "password": secret("wrong")}, "INVALID_CREDENTIALS"},
		{"login unknown user", "", loginQ, map[string]any{"c": "main", "e": "nobody@example.com", "password": secret("unknown")}, "INVALID_CREDENTIALS"},
		{"login unknown connection", "", loginQ, map[string]any{"c": "nope", "e": "ann@example.com", "password": secret("noconn")}, "INVALID_CREDENTIALS"},
		{"login password of the wrong type", "", loginQ, map[string]any{"c": "main", "e": "ann@example.com", "password": map[string]any{"password": secret("typed")}}, "GRAPHQL_VALIDATION_FAILED"},
		{"createUser", admin, `mutation($password: String!) { createUser(input: {connection: "main", email: "bob@example.com", password: $password}) { id } }`, map[string]any{"password": secret("create")}, ""},
		{"createUser without a token", "", `mutation($password: String!) { createUser(input: {connection: "main", email: "eve@example.com", password: $password}) { id } }`, map[string]any{"password": secret("anon")}, "UNAUTHENTICATED"},
	})
	for range 10 {
		e.raw("", loginQ, map[string]any{"c": "main", "e": "ann@example.com", "password": secret("brute")})
	}
	run([]step{{"too many attempts", "", loginQ, map[string]any{"c": "main", "e": "ann@example.com", "password": secret("locked")}, "TOO_MANY_ATTEMPTS"}})
	var users struct {
		UsersByEmail []struct{ ID string } `json:"usersByEmail"`
	}
	mustNoErr(t, json.Unmarshal(e.raw(admin, `{ usersByEmail(email: "bob@example.com") { id } }`, nil).Data, &users))
	bob := users.UsersByEmail[0].ID
	run([]step{
		{"updateUser password", admin, `mutation($id: ID!, $password: String!) { updateUser(id: $id, input: {password: $password, name: "Bob"}) { id } }`, map[string]any{"id": bob, "password": secret("update")}, ""},
		{"updateUser password, missing user", admin, `mutation($id: ID!, $password: String!) { updateUser(id: $id, input: {password: $password}) { id } }`, map[string]any{"id": "main|nope", "password": secret("missing")}, "NOT_FOUND"},
		{"updateUser short password", admin, `mutation($id: ID!, $password: String!) { updateUser(id: $id, input: {password: $password}) { id } }`, map[string]any{"id": bob, "password": "sh0rt7"}, "BAD_USER_INPUT"},
		{"changePassword", admin, `mutation($id: ID!, $password: String!) { changePassword(id: $id, password: $password) }`, map[string]any{"id": bob, "password": secret("change")}, ""},
		{"changePassword with a user token", "", `mutation($id: ID!, $password: String!) { changePassword(id: $id, password: $password) }`, map[string]any{"id": bob, "password": secret("forbidden")}, "UNAUTHENTICATED"},
		{"resetPassword", admin, `mutation($password: String!) { resetPassword(connection: "main", email: "bob@example.com", password: $password) }`, map[string]any{"password": secret("reset")}, ""},
	})

	// Custom database: the URL carries a password, the configuration secrets.
	cfgSecret := secret("apikey")
	dbURL := fmt.Sprintf("mysql://app:%s@127.0.0.1:%d/%s", dbPass, m.port, legacyName)
	run([]step{{"createConnection custom, nested configuration", admin, `mutation($u: String!, $configuration: JSON!) { createConnection(input: {name: "legacy", strategy: CUSTOM_DATABASE, databaseURL: $u, configuration: $configuration}) { name } }`,
		map[string]any{"u": dbURL, "configuration": map[string]any{"API_KEY": secret("apikey0"), "NESTED": map[string]any{"TOKEN": secret("nested")}}}, "BAD_USER_INPUT"}})
	run([]step{{"createConnection custom", admin, `mutation($u: String!, $configuration: JSON!) { createConnection(input: {name: "legacy", strategy: CUSTOM_DATABASE, databaseURL: $u, configuration: $configuration}) { name configurationKeys hasDatabaseURL } }`,
		map[string]any{"u": dbURL, "configuration": map[string]any{"BCRYPT_COST": "4", "API_KEY": cfgSecret, "PORT": 4242.5}}, ""}})
	rec.mu.Lock()
	rec.add(dbPass) // the URL went in a variable not named databaseURL
	rec.mu.Unlock()
	if r := e.uploadScript(t, "legacy", templateScript(t)); len(r.Errors) > 0 {
		t.Fatalf("upload: %s", r.Raw)
	}
	legacyPW := secret("legacypw")
	addLegacyUser(t, root, "lee@example.com", legacyPW, "Lee", 4)
	rec.mu.Lock()
	rec.add(legacyPW)
	rec.mu.Unlock()
	var login struct {
		Login struct{ User struct{ ID string } }
	}
	r := e.raw("", loginQ, map[string]any{"c": "legacy", "e": "lee@example.com", "password": legacyPW})
	mustNoErr(t, json.Unmarshal(r.Data, &login))
	lee := login.Login.User.ID
	run([]step{
		{"custom login wrong password", "", loginQ, map[string]any{"c": "legacy", "e": "lee@example.com", "password": secret("lwrong")}, "INVALID_CREDENTIALS"},
		{"custom login unknown user", "", loginQ, map[string]any{"c": "legacy", "e": "nobody@example.com", "password": secret("lunknown")}, "INVALID_CREDENTIALS"},
		{"custom signup", "", signupQ, map[string]any{"c": "legacy", "e": "new@example.com", "password": secret("lsignup")}, ""},
		{"custom signup existing", "", signupQ, map[string]any{"c": "legacy", "e": "lee@example.com", "password": secret("lsignup2")}, "USER_EXISTS"},
		{"custom changePassword", admin, `mutation($id: ID!, $password: String!) { changePassword(id: $id, password: $password) }`, map[string]any{"id": lee, "password": secret("lchange")}, ""},
		{"custom updateUser password", admin, `mutation($id: ID!, $password: String!) { updateUser(id: $id, input: {password: $password}) { id } }`, map[string]any{"id": lee, "password": secret("lupdate")}, ""},
		{"custom updateUser refused field", admin, `mutation($id: ID!, $password: String!) { updateUser(id: $id, input: {password: $password, name: "Refused"}) { id } }`, map[string]any{"id": lee, "password": secret("lrefused")}, "FIELD_NOT_UPDATABLE"},
		{"tryConnectionScript login", admin, `mutation($password: String!) { tryConnectionScript(connection: "legacy", action: LOGIN, email: "lee@example.com", password: $password) { ok profile logs errorCode errorMessage } }`, map[string]any{"password": secret("try")}, ""},
		{"tryConnectionScript unknown", admin, `mutation($password: String!) { tryConnectionScript(connection: "legacy", action: LOGIN, email: "zed@example.com", password: $password) { ok logs errorCode errorMessage } }`, map[string]any{"password": secret("try2")}, ""},
		{"updateConnection configuration", admin, `mutation($configuration: JSON!) { updateConnection(name: "legacy", input: {configuration: $configuration}) { configurationKeys } }`, map[string]any{"configuration": map[string]any{"BCRYPT_COST": "4", "API_KEY": secret("apikey2")}}, ""},
		{"read connections", admin, `{ connections { name configurationKeys hasDatabaseURL } }`, nil, ""},
	})
	// The custom database refuses the account (a wrong password in the URL).
	badPass := secret("baddbpass")
	run([]step{
		{"updateConnection bad database password", admin, `mutation($databaseURL: String!) { updateConnection(name: "legacy", input: {databaseURL: $databaseURL}) { name } }`,
			map[string]any{"databaseURL": fmt.Sprintf("mysql://app:%s@127.0.0.1:%d/%s", badPass, m.port, legacyName)}, ""},
		{"custom login, database refuses", "", loginQ, map[string]any{"c": "legacy", "e": "lee@example.com", "password": secret("lrefusedb")}, "CONNECTION_UNAVAILABLE"},
		{"tryConnectionScript, database refuses", admin, `mutation($password: String!) { tryConnectionScript(connection: "legacy", action: LOGIN, email: "lee@example.com", password: $password) { ok logs errorCode errorMessage } }`, map[string]any{"password": secret("try3")}, ""},
	})
	// The custom database is down.
	m.Kill()
	run([]step{
		{"custom login, database down", "", loginQ, map[string]any{"c": "legacy", "e": "lee@example.com", "password": secret("ldown")}, "CONNECTION_UNAVAILABLE"},
		{"custom signup, database down", "", signupQ, map[string]any{"c": "legacy", "e": "down@example.com", "password": secret("ldownsignup")}, "CONNECTION_UNAVAILABLE"},
	})

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.secrets) < 30 {
		t.Fatalf("the recorder saw only %d secrets: the harness is broken", len(rec.secrets))
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "script log") && !strings.Contains(logs, "request") {
		t.Fatalf("no log line recorded: the harness is broken")
	}
	for s := range rec.secrets {
		for i, resp := range rec.responses {
			if strings.Contains(resp, s) {
				t.Errorf("response %d contains the secret %q: %.500s", i, s, resp)
			}
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, s) {
				t.Errorf("a log line contains the secret %q: %.500s", s, line)
			}
		}
	}
	t.Logf("%d secrets checked against %d responses and %d log lines", len(rec.secrets), len(rec.responses), strings.Count(logs, "\n"))
}
