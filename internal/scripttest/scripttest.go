// Package scripttest runs a custom-database script's actions against a
// fresh local database with the host functions the server uses (the same
// sandbox), from a test file written next to the script: `profiled script
// test DIR` is a thin wrapper around Run.
//
// The test file (script_test.json) names the schema to create, the rows to
// seed, the configuration the connection will have, and a list of steps run
// in order: an action call with its arguments and the expected outcome, or
// an SQL query with its expected first value (to check what an action wrote
// or rolled back). It describes behaviour, not code, so the same file tests
// a script written in any language that follows the ABI.
package scripttest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/sandbox"
)

// FileName is the test file's name in a script folder.
const FileName = "script_test.json"

// File is a parsed test file.
type File struct {
	// Schema is the SQL file creating the script's tables, relative to the
	// test file (several statements; run once in the fresh database).
	Schema string `json:"schema"`
	// Setup are statements run after the schema (seed rows).
	Setup []string `json:"setup"`
	// Configuration is the connection's configuration (string values).
	Configuration map[string]any `json:"configuration"`
	// Steps run in order; a failed step does not stop the others.
	Steps []Step `json:"steps"`
}

// Step is one action call or one query.
type Step struct {
	Name string `json:"name"`

	// An action call: Action is login, get_user, create, verify,
	// change_password, delete or change_email.
	Action      string         `json:"action,omitempty"`
	Email       string         `json:"email,omitempty"`
	Username    string         `json:"username,omitempty"`
	Password    string         `json:"password,omitempty"`
	NewEmail    string         `json:"new_email,omitempty"`
	NewPassword string         `json:"new_password,omitempty"`
	ID          string         `json:"id,omitempty"`
	Verified    bool           `json:"verified,omitempty"`
	User        map[string]any `json:"user,omitempty"`
	// Want is the expected outcome: ok (default), wrong_credentials,
	// user_not_found, user_exists, blocked, validation, error, timeout,
	// unavailable.
	Want string `json:"want,omitempty"`
	// Message, when set, must be contained in a validation or error message.
	Message string `json:"message,omitempty"`
	// Profile lists attributes the returned profile must have (compared
	// after JSON normalization: numbers as float64).
	Profile map[string]any `json:"profile,omitempty"`

	// A query: SQL's first column of its first row, as a string, must
	// equal Equals ("" when there is no row; NULL is "NULL").
	SQL    string `json:"sql,omitempty"`
	Equals string `json:"equals,omitempty"`
}

// Options tune Run.
type Options struct {
	// DatabaseURL is the server to test against: "mysql://user[:pass]@host:port/"
	// (a fresh database is created on it and dropped afterwards; the path
	// is ignored) or "sqlite:" (a fresh file in a temporary directory).
	DatabaseURL string
	// Keep keeps the database after the run (its name is reported).
	Keep bool
	// Timeout is the per-call deadline (0 = the sandbox default).
	Timeout time.Duration
	// Out receives one line per step (nil = discarded).
	Out io.Writer
	// CacheDir is wazero's compilation cache directory ("" = profiled/wazero
	// in the user's cache directory, as `profiled serve` uses by default).
	CacheDir string
}

// Result counts the steps.
type Result struct {
	Passed, Failed int
	Failures       []string
}

// Load reads a test file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, s := range f.Steps {
		if (s.Action == "") == (s.SQL == "") {
			return nil, fmt.Errorf("%s: step %d (%s): set exactly one of action and sql", path, i+1, s.Name)
		}
		if s.Action != "" && !slices.Contains(abi.Actions[:], s.Action) {
			return nil, fmt.Errorf("%s: step %d (%s): unknown action %q", path, i+1, s.Name, s.Action)
		}
	}
	return &f, nil
}

// Run runs the steps of the test file at path against the module wasm.
func Run(ctx context.Context, wasm []byte, path string, opt Options) (Result, error) {
	var res Result
	f, err := Load(path)
	if err != nil {
		return res, err
	}
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	var schema []byte
	if f.Schema != "" {
		if schema, err = os.ReadFile(filepath.Join(filepath.Dir(path), f.Schema)); err != nil {
			return res, fmt.Errorf("schema: %w", err)
		}
	}
	db, scriptURL, cleanup, err := freshDatabase(opt.DatabaseURL, opt.Keep, out)
	if err != nil {
		return res, err
	}
	defer cleanup()
	if len(schema) > 0 {
		if _, err := db.ExecContext(ctx, string(schema)); err != nil {
			return res, fmt.Errorf("schema %s: %w", f.Schema, err)
		}
	}
	for i, s := range f.Setup {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return res, fmt.Errorf("setup statement %d: %w", i+1, err)
		}
	}

	cache := opt.CacheDir
	if cache == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(d, "profiled", "wazero")
			if os.MkdirAll(cache, 0o700) != nil {
				cache = ""
			}
		}
	}
	rt, err := sandbox.New(ctx, sandbox.Config{CacheDir: cache})
	if err != nil {
		return res, err
	}
	defer rt.Close(context.Background())
	m, err := rt.Module(ctx, sandbox.Spec{Connection: "scripttest", Wasm: wasm, DatabaseURL: scriptURL,
		Configuration: f.Configuration, Timeout: opt.Timeout})
	if err != nil {
		return res, fmt.Errorf("load the module: %w", err)
	}
	for i, s := range f.Steps {
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("step %d", i+1)
		}
		var problem string
		var logs []string
		if s.SQL != "" {
			problem = checkQuery(ctx, db, s)
		} else {
			problem, logs = checkCall(ctx, m, s)
		}
		if problem == "" {
			res.Passed++
			fmt.Fprintf(out, "ok    %s\n", name)
			continue
		}
		res.Failed++
		res.Failures = append(res.Failures, name+": "+problem)
		fmt.Fprintf(out, "FAIL  %s: %s\n", name, problem)
		for _, l := range logs {
			fmt.Fprintf(out, "      log: %s\n", l)
		}
	}
	return res, nil
}

func checkQuery(ctx context.Context, db *sql.DB, s Step) string {
	var v sql.NullString
	err := db.QueryRowContext(ctx, s.SQL).Scan(&v)
	got := v.String
	switch {
	case errors.Is(err, sql.ErrNoRows):
		got = ""
	case err != nil:
		return "query: " + err.Error()
	case !v.Valid:
		got = "NULL"
	}
	if got != s.Equals {
		return fmt.Sprintf("query returned %q, want %q", got, s.Equals)
	}
	return ""
}

func checkCall(ctx context.Context, m *sandbox.Module, s Step) (string, []string) {
	r, err := m.Run(ctx, sandbox.Call{
		Action: sandbox.Action(s.Action), Email: s.Email, Username: s.Username, Password: s.Password,
		NewEmail: s.NewEmail, NewPassword: s.NewPassword, ID: s.ID, Verified: s.Verified, User: s.User,
	})
	got, msg := Outcome(err)
	want := s.Want
	if want == "" {
		want = "ok"
	}
	if got != want {
		if msg != "" {
			got += " (" + msg + ")"
		}
		return "got " + got + ", want " + want, r.Logs
	}
	if s.Message != "" && !strings.Contains(msg, s.Message) {
		return fmt.Sprintf("message %q does not contain %q", msg, s.Message), r.Logs
	}
	if len(s.Profile) > 0 {
		if r.Attributes == nil {
			return "no profile returned", r.Logs
		}
		for k, w := range s.Profile {
			g, _ := normalize(r.Attributes[k])
			w, _ = normalize(w)
			if !reflect.DeepEqual(g, w) {
				return fmt.Sprintf("profile %s = %v, want %v", k, g, w), r.Logs
			}
		}
	}
	return "", r.Logs
}

// Outcome names a sandbox call's outcome as a test file's "want" does, with
// the message of a validation or script error.
func Outcome(err error) (string, string) {
	var ve *sandbox.ValidationError
	var se *sandbox.ScriptError
	switch {
	case err == nil:
		return "ok", ""
	case errors.Is(err, sandbox.ErrWrongCredentials):
		return "wrong_credentials", ""
	case errors.Is(err, sandbox.ErrUserNotFound):
		return "user_not_found", ""
	case errors.Is(err, sandbox.ErrUserExists):
		return "user_exists", ""
	case errors.Is(err, sandbox.ErrBlocked):
		return "blocked", ""
	case errors.As(err, &ve):
		return "validation", ve.Message
	case errors.Is(err, sandbox.ErrTimeout):
		return "timeout", err.Error()
	case errors.Is(err, sandbox.ErrDatabaseUnavailable):
		return "unavailable", err.Error()
	case errors.As(err, &se):
		return "error", se.Message
	}
	return "error", err.Error()
}

func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return v, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// freshDatabase creates an empty database and returns an administrative
// handle (multi-statements allowed, for the schema), the URL the script's
// connection uses, and a cleanup.
func freshDatabase(server string, keep bool, out io.Writer) (*sql.DB, string, func(), error) {
	if server == "" {
		return nil, "", nil, errors.New(`no database: pass --db mysql://user[:pass]@host:port/ (a fresh database is created there and dropped) or --db sqlite:`)
	}
	if strings.HasPrefix(server, "sqlite:") {
		dir, err := os.MkdirTemp("", "profiled-scripttest-")
		if err != nil {
			return nil, "", nil, err
		}
		path := filepath.Join(dir, "test.db")
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			return nil, "", nil, err
		}
		cleanup := func() {
			db.Close()
			if keep {
				fmt.Fprintf(out, "kept database sqlite:%s\n", path)
				return
			}
			os.RemoveAll(dir)
		}
		return db, "sqlite:" + path, cleanup, nil
	}
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "mysql" || u.User == nil || u.Host == "" {
		return nil, "", nil, fmt.Errorf(`--db: want mysql://user[:pass]@host:port/ or sqlite:`)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg.Timeout = 5 * time.Second
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "profiled_scripttest_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		return nil, "", nil, fmt.Errorf("create a test database on %s: %w", u.Redacted(), err)
	}
	dcfg := cfg.Clone()
	dcfg.DBName, dcfg.MultiStatements = name, true
	db, err := sql.Open("mysql", dcfg.FormatDSN())
	if err != nil {
		admin.Close()
		return nil, "", nil, err
	}
	su := *u
	su.Path = "/" + name
	su.RawQuery = ""
	cleanup := func() {
		db.Close()
		if keep {
			fmt.Fprintf(out, "kept database %s\n", name)
		} else if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			fmt.Fprintf(out, "drop database %s: %v\n", name, err)
		}
		admin.Close()
	}
	return db, su.String(), cleanup, nil
}
