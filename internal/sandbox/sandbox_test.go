package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/scriptbuild"
)

func trivialModule(t *testing.T, cfg Config) (*Runtime, *Module) {
	t.Helper()
	r := newRuntime(t, cfg)
	m := mustModule(t, r, Spec{
		Connection:    "trivial",
		Wasm:          script(t, "trivial"),
		DatabaseURL:   sqliteURL(t),
		Configuration: map[string]any{"greeting": "bonjour", "n": 42},
	})
	return r, m
}

func TestTrivialModuleActions(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	_, m := trivialModule(t, Config{})
	want := []Action{ActionLogin, ActionGetUser, ActionCreate, ActionDelete}
	if got := m.Actions(); !slices.Equal(got, want) {
		t.Fatalf("Actions() = %v, want %v", got, want)
	}
	if m.Has(ActionVerify) || !m.Has(ActionLogin) {
		t.Fatal("Has() disagrees with Actions()")
	}
	_, err := m.Run(context.Background(), Call{Action: ActionVerify, Email: "a@b.c"})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("verify: want ErrUnsupported, got %v", err)
	}
}

func TestTrivialModuleRoundTrip(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	_, m := trivialModule(t, Config{})
	ctx := context.Background()
	run := func(c Call) (Result, error) {
		t.Helper()
		return m.Run(ctx, c)
	}

	res, err := run(Call{Action: ActionLogin, Email: "noop@example.com", Password: "x"})
	if err != nil || prof(res) == nil || prof(res).UserID != "1" || prof(res).Email != "noop@example.com" {
		t.Fatalf("noop login: %+v %v", prof(res), err)
	}

	// get_user before and after create; create twice; login right and wrong.
	if _, err := run(Call{Action: ActionGetUser, Email: "ann@example.com"}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("get_user of nobody: %v", err)
	}
	user := map[string]any{"email": "ann@example.com", "password": "s3cret-pw", "nickname": "ann",
		"user_metadata": map[string]any{"lang": "fr"}}
	res, err = run(Call{Action: ActionCreate, User: user})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if prof(res) == nil || prof(res).Nickname != "ann" || prof(res).UserMetadata["lang"] != "fr" {
		t.Fatalf("create returned %+v", prof(res))
	}
	if _, err := run(Call{Action: ActionCreate, User: user}); !errors.Is(err, ErrUserExists) {
		t.Fatalf("second create: want ErrUserExists, got %v", err)
	}
	var ve *ValidationError
	if _, err := run(Call{Action: ActionCreate, User: map[string]any{"email": "nope"}}); !errors.As(err, &ve) || ve.Message != "bad email" {
		t.Fatalf("create with a bad email: want ValidationError, got %v", err)
	}
	if res, err := run(Call{Action: ActionGetUser, Email: "ann@example.com"}); err != nil || prof(res).UserID != "ann@example.com" {
		t.Fatalf("get_user: %v %v", prof(res), err)
	}
	if _, err := run(Call{Action: ActionLogin, Email: "ann@example.com", Password: "s3cret-pw"}); err != nil {
		t.Fatalf("login: %v", err)
	}
	if _, err := run(Call{Action: ActionLogin, Email: "ann@example.com", Password: "wrong"}); !errors.Is(err, ErrWrongCredentials) {
		t.Fatalf("login with a wrong password: %v", err)
	}
	if _, err := run(Call{Action: ActionDelete, ID: "ann@example.com"}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := run(Call{Action: ActionGetUser, Email: "ann@example.com"}); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("get_user after delete: %v", err)
	}
}

func TestProfileFieldsAndMetadata(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	_, m := trivialModule(t, Config{})
	res, err := m.Run(context.Background(), Call{Action: ActionLogin, Email: "meta@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	p := prof(res)
	if p.UserID != "4" || !p.EmailVerified || p.GivenName != "Ann" {
		t.Errorf("profile: %+v", p)
	}
	if p.UserMetadata["lang"] != "fr" || p.UserMetadata["n"] != int64(3) {
		t.Errorf("user_metadata: %#v", p.UserMetadata)
	}
	if tags, _ := p.AppMetadata["tags"].([]any); p.AppMetadata["plan"] != "gold" || len(tags) != 2 {
		t.Errorf("app_metadata: %#v", p.AppMetadata)
	}
	if res.Attributes["legacy_code"] != "X1" {
		t.Errorf("extra attribute lost: %#v", res.Attributes)
	}
}

func TestConfigurationIsReadable(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	_, m := trivialModule(t, Config{})
	res, err := m.Run(context.Background(), Call{Action: ActionLogin, Email: "config@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if prof(res).Name != "bonjour" || res.Attributes["n"] != int64(42) || res.Attributes["missing"] != "" {
		t.Fatalf("configuration: %+v %#v", prof(res), res.Attributes)
	}
}

func TestLogsAreTaggedBoundedAndMaskPasswords(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	var buf bytes.Buffer
	_, m := trivialModule(t, Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	res, err := m.Run(context.Background(), Call{Action: ActionLogin, Email: "log@example.com", Password: "hunter2-secret"})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(res.Logs, "\n")
	for _, want := range []string{"hello from the script", "to stdout", "[stderr] to stderr"} {
		if !strings.Contains(joined, want) {
			t.Errorf("logs %q lack %q", joined, want)
		}
	}
	if strings.Contains(joined, "hunter2-secret") || strings.Contains(buf.String(), "hunter2-secret") {
		t.Errorf("a password reached the logs: %q / %q", joined, buf.String())
	}
	if !strings.Contains(buf.String(), "connection=trivial") || !strings.Contains(buf.String(), "action=login") {
		t.Errorf("service log lines not tagged: %q", buf.String())
	}
}

func TestScriptErrorsAreTyped(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	_, m := trivialModule(t, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	var ve *ValidationError
	if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: "validation@example.com"}); !errors.As(err, &ve) || ve.Message != "email domain not allowed" {
		t.Errorf("validation: %v", err)
	}
	var se *ScriptError
	_, err := m.Run(ctx, Call{Action: ActionLogin, Email: "error@example.com", Password: "pw-in-message"})
	if !errors.As(err, &se) || !strings.Contains(se.Message, "something broke") || strings.Contains(se.Message, "pw-in-message") {
		t.Errorf("error: %v", err)
	}
	_, err = m.Run(ctx, Call{Action: ActionLogin, Email: "panic@example.com"})
	if !errors.As(err, &se) || !strings.Contains(se.Message, "panicked: boom") {
		t.Errorf("panic: %v", err)
	}
	// The module keeps serving after the panicking instance was discarded.
	if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: "noop@example.com"}); err != nil {
		t.Errorf("after a panic: %v", err)
	}
}

func TestModuleIsCachedAndReplaced(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	r, m := trivialModule(t, Config{})
	ctx := context.Background()
	url := m.db.url
	spec := Spec{Connection: "trivial", Wasm: script(t, "trivial"), DatabaseURL: url,
		Configuration: map[string]any{"greeting": "bonjour", "n": 42}}
	if again := mustModule(t, r, spec); again != m {
		t.Fatal("same spec: want the cached module")
	}
	spec.Configuration = map[string]any{"greeting": "hello"}
	m2 := mustModule(t, r, spec)
	if m2 == m {
		t.Fatal("changed configuration: want a new module")
	}
	if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: "noop@example.com"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("the replaced module still runs: %v", err)
	}
	res, err := m2.Run(ctx, Call{Action: ActionLogin, Email: "config@example.com"})
	if err != nil || prof(res).Name != "hello" {
		t.Fatalf("new module: %v %v", prof(res), err)
	}
	r.Forget(ctx, "trivial")
	if _, err := m2.Run(ctx, Call{Action: ActionLogin, Email: "noop@example.com"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("a forgotten module still runs: %v", err)
	}
}

func TestInspect(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	ctx := context.Background()
	acts, err := Inspect(ctx, script(t, "template:mysql"))
	if err != nil || len(acts) != 7 {
		t.Fatalf("template: %v %v", acts, err)
	}
	var se *ScriptError
	for name, wasm := range map[string][]byte{
		"not wasm": []byte("hello"),
		"empty":    {0, 'a', 's', 'm', 1, 0, 0, 0},
	} {
		if _, err := Inspect(ctx, wasm); !errors.As(err, &se) {
			t.Errorf("%s: want ScriptError, got %v", name, err)
		}
	}
	r := newRuntime(t, Config{})
	if acts, err := r.Inspect(ctx, script(t, "trivial")); err != nil || len(acts) != 4 {
		t.Fatalf("Runtime.Inspect: %v %v", acts, err)
	}
}

func TestUnavailableDatabase(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	r := newRuntime(t, Config{})
	ctx := context.Background()
	for name, url := range map[string]string{
		"refused":      "mysql://root:pw@127.0.0.1:1/x",
		"unknown host": "mysql://root:pw@no-such-host.invalid:3306/x",
		"sqlite file":  "sqlite:/nonexistent/dir/users.db",
	} {
		t.Run(name, func(t *testing.T) {
			m := mustModule(t, r, Spec{Connection: "c-" + strings.ReplaceAll(name, " ", "-"), Wasm: script(t, "trivial"), DatabaseURL: url, Timeout: 10 * time.Second})
			_, err := m.Run(ctx, Call{Action: ActionGetUser, Email: "a@b.c"})
			if !errors.Is(err, ErrDatabaseUnavailable) {
				t.Fatalf("want ErrDatabaseUnavailable, got %v", err)
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Fatalf("password in error: %v", err)
			}
		})
	}
}

// TestMergedModuleBehavesIdentically runs the same calls on the module as
// the Go linker wrote it and after merging its data segments.
func TestMergedModuleBehavesIdentically(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	src, _ := filepath.Abs("testdata/scripts/trivial")
	orig, err := scriptbuild.Compile(context.Background(), src, scriptbuild.Options{NoMerge: true})
	if err != nil {
		t.Fatal(err)
	}
	merged := script(t, "trivial")
	r := newRuntime(t, Config{})
	ctx := context.Background()
	var outs [2][]string
	for i, wasm := range [][]byte{orig, merged} {
		m := mustModule(t, r, Spec{Connection: fmt.Sprint("m", i), Wasm: wasm, DatabaseURL: sqliteURL(t),
			Configuration: map[string]any{"greeting": "hi", "n": 1}})
		for _, c := range []Call{
			{Action: ActionLogin, Email: "meta@example.com"},
			{Action: ActionLogin, Email: "config@example.com"},
			{Action: ActionCreate, User: map[string]any{"email": "a@b.c", "password": "pw"}},
			{Action: ActionLogin, Email: "a@b.c", Password: "pw"},
			{Action: ActionLogin, Email: "a@b.c", Password: "bad"},
			{Action: ActionLogin, Email: "panic@example.com"},
		} {
			res, err := m.Run(ctx, c)
			outs[i] = append(outs[i], fmt.Sprintf("%+v %v %v", prof(res), res.Attributes, err))
		}
	}
	if !slices.Equal(outs[0], outs[1]) {
		t.Fatalf("outcomes differ:\n%q\n%q", outs[0], outs[1])
	}
}
