package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/sandbox"
	"github.com/profiled/profiled/internal/scriptbuild"
	"github.com/profiled/profiled/internal/scripting"
	"github.com/profiled/profiled/internal/scripttest"
	"github.com/profiled/profiled/internal/service"
)

// scriptBuild compiles a Go custom-database script into a module.
func scriptBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("script build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output .wasm file (required)")
	verbose := fs.Bool("v", false, "say where the build's time went")
	// Accept the source before or after the flags.
	src, err := parseWithOperand(fs, args)
	if err != nil {
		return err
	}
	if src == "" || *out == "" {
		return fmt.Errorf("usage: profiled script build SRC -o OUT.wasm")
	}
	opt := scriptbuild.Options{}
	if *verbose {
		opt.Report = stderr
	}
	began := time.Now()
	if err := scriptbuild.BuildWith(ctx, src, *out, opt); err != nil {
		return err
	}
	if d := time.Since(began); d > 20*time.Second && !*verbose {
		fmt.Fprintf(stderr, "the build took %s: a first build compiles Go's standard library for wasip1/wasm into the Go build cache;\nlater builds reuse it (run with -v to see where the time went)\n", d.Round(time.Second))
	}
	fmt.Fprintf(stderr, "built %s\n", *out)
	return nil
}

// scriptTry runs one action of a module against a database, offline (no
// server, no store), with the sandbox and limits the server uses, and
// prints the outcome, the normalized profile and the script's log as JSON.
func scriptTry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("script try", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "the custom database: mysql://USER[:PASS]@HOST:PORT/DB or sqlite:PATH (required)")
	action := fs.String("action", "login", "login, get_user, create, verify, change_password, delete or change_email")
	email := fs.String("email", "", "email argument")
	password := fs.String("password", "", "password argument (login; create)")
	newEmail := fs.String("new-email", "", "new email (change_email)")
	newPassword := fs.String("new-password", "", "new password (change_password)")
	id := fs.String("id", "", "user id (delete)")
	verified := fs.Bool("verified", false, "the new email is verified (change_email)")
	configFile := fs.String("config", "", "a JSON object: the connection's configuration (config_get)")
	timeout := fs.Duration("timeout", 20*time.Second, "the call's deadline")
	module, err := parseWithOperand(fs, args)
	if err != nil {
		return err
	}
	if module == "" || *db == "" {
		return fmt.Errorf("usage: profiled script try MODULE.wasm --db URL [--action login] [--email E] [--password P] ...")
	}
	wasm, err := os.ReadFile(module)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if *configFile != "" {
		b, err := os.ReadFile(*configFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s: %w", *configFile, err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil)) // the lines are printed below
	rt, err := sandbox.New(ctx, sandbox.Config{Logger: log})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	m, err := rt.Module(ctx, sandbox.Spec{Connection: "try", Wasm: wasm, DatabaseURL: *db, Configuration: cfg, Timeout: *timeout})
	if err != nil {
		return err
	}
	call := sandbox.Call{Action: sandbox.Action(*action), Email: *email, Password: *password, NewEmail: *newEmail,
		NewPassword: *newPassword, ID: *id, Verified: *verified}
	if call.Action == sandbox.ActionCreate {
		call.User = map[string]any{"email": *email, "password": *password}
	}
	res, runErr := m.Run(ctx, call)
	out := map[string]any{"outcome": "ok", "duration_ms": res.Duration.Milliseconds(), "logs": res.Logs}
	if res.Attributes != nil && runErr == nil {
		// The profile as the service would take it (package scripting
		// normalizes it the same way).
		p, err := policy.NormalizeProfile(res.Attributes)
		if err != nil {
			runErr = fmt.Errorf("the script returned an invalid profile: %w", err)
		} else {
			out["profile"] = p
		}
	}
	if runErr != nil {
		out["outcome"] = "error"
		out["error"] = runErr.Error()
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("the %s action failed", *action)
	}
	return nil
}

// newScripts starts the sandbox (cfg's limits, the script cache of
// PROFILED_SCRIPT_CACHE, log) and the runner the service uses.
func newScripts(ctx context.Context, log *slog.Logger, loader scripting.ScriptLoader, cfg sandbox.Config) (service.Scripts, *sandbox.Runtime, error) {
	cache := env("PROFILED_SCRIPT_CACHE", "")
	if cache == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(d, "profiled", "wazero")
		}
	}
	if cache != "" {
		if err := os.MkdirAll(cache, 0o700); err != nil {
			log.Warn("script cache unavailable; compiling in memory", "dir", cache, "err", err)
			cache = ""
		}
	}
	cfg.CacheDir, cfg.Logger = cache, log
	rt, err := sandbox.New(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("start the script sandbox: %w", err)
	}
	return scripting.New(rt, loader), rt, nil
}

// scriptInit writes a script folder from a template.
func scriptInit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("script init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tmpl := fs.String("template", "mysql", "template: "+strings.Join(scriptbuild.Templates(), ", "))
	sdkOnly := fs.Bool("sdk-only", false, "only replace the folder's SDK copy with this binary's")
	dir, err := parseWithOperand(fs, args)
	if err != nil {
		return err
	}
	if dir == "" {
		return fmt.Errorf("usage: profiled script init DIR [--template %s]", strings.Join(scriptbuild.Templates(), "|"))
	}
	if *sdkOnly {
		if err := scriptbuild.RefreshSDK(dir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "replaced %s with the SDK of profiled %s\n", filepath.Join(dir, scriptbuild.SDKDir), scriptbuild.Version())
		return nil
	}
	files, err := scriptbuild.Init(dir, *tmpl)
	if err != nil {
		return err
	}
	n := 0
	for _, f := range files {
		if strings.HasPrefix(f, scriptbuild.SDKDir+"/") {
			n++
			continue
		}
		fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, f))
	}
	fmt.Fprintf(stdout, "wrote %s (%d files: the SDK of profiled %s)\n\nnext:\n  cd %s\n  go vet ./\n  profiled script test . --db mysql://root@127.0.0.1:3306/\n  profiled script build . -o script.wasm\n",
		filepath.Join(dir, scriptbuild.SDKDir), n, scriptbuild.Version(), dir)
	return nil
}

// scriptTest builds a script folder (or takes a built module) and runs its
// script_test.json against a fresh database.
func scriptTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("script test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", os.Getenv("PROFILED_SCRIPT_TEST_DB"), "server for a fresh test database: mysql://user[:pass]@host:port/ or sqlite: (env PROFILED_SCRIPT_TEST_DB)")
	wasmFile := fs.String("wasm", "", "test this built module instead of building DIR")
	file := fs.String("file", "", "test file (default DIR/"+scripttest.FileName+")")
	keep := fs.Bool("keep", false, "keep the test database")
	timeout := fs.Duration("timeout", 0, "per-call deadline (default: the server's, 20s)")
	dir, err := parseWithOperand(fs, args)
	if err != nil {
		return err
	}
	if dir == "" {
		dir = "."
	}
	tf := *file
	if tf == "" {
		tf = filepath.Join(dir, scripttest.FileName)
	}
	var wasm []byte
	if *wasmFile != "" {
		wasm, err = os.ReadFile(*wasmFile)
	} else {
		wasm, err = scriptbuild.Compile(ctx, dir, scriptbuild.Options{})
	}
	if err != nil {
		return err
	}
	res, err := scripttest.Run(ctx, wasm, tf, scripttest.Options{DatabaseURL: *db, Keep: *keep, Timeout: *timeout, Out: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", res.Passed, res.Failed)
	if res.Failed > 0 {
		return fmt.Errorf("%d of %d steps failed", res.Failed, res.Passed+res.Failed)
	}
	return nil
}

// parseWithOperand parses a subcommand's flags with its one operand (a
// source folder or a module) accepted before or after them, and returns
// the operand ("" when none).
func parseWithOperand(fs *flag.FlagSet, args []string) (string, error) {
	var operand string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		operand, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", errUsage
	}
	if operand == "" && fs.NArg() > 0 {
		operand = fs.Arg(0)
	}
	return operand, nil
}
