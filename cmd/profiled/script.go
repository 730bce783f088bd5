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
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/sandbox"
	"github.com/profiled/profiled/internal/scriptbuild"
	"github.com/profiled/profiled/internal/scripting"
	"github.com/profiled/profiled/internal/service"
)

// scriptBuild compiles a Go custom-database script into a module.
func scriptBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("script build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output .wasm file (required)")
	// Accept the source before or after the flags.
	var src string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		src, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if src == "" && fs.NArg() > 0 {
		src = fs.Arg(0)
	}
	if src == "" || *out == "" {
		return fmt.Errorf("usage: profiled script build SRC -o OUT.wasm")
	}
	if err := scriptbuild.Build(ctx, src, *out); err != nil {
		return err
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
	var module string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		module, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if module == "" && fs.NArg() > 0 {
		module = fs.Arg(0)
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

// newScripts starts the sandbox and the runner the service uses.
func newScripts(ctx context.Context, log *slog.Logger, loader scripting.ScriptLoader) (service.Scripts, func(context.Context) error, error) {
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
	rt, err := sandbox.New(ctx, sandbox.Config{CacheDir: cache, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("start the script sandbox: %w", err)
	}
	return scripting.New(rt, loader), rt.Close, nil
}
