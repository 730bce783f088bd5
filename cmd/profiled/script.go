package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

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
