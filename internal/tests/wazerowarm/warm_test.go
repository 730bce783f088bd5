// Package wazerowarm fills a wazero compilation cache with the scripts the
// tests run, so that the race-detector test binaries load compiled modules
// instead of compiling them: `make test` runs it first, without -race.
//
//	go test -count=1 ./internal/tests/wazerowarm -args -warm DIR [-report]
//
// Why: wazero's compiler is Go code, and under -race it is about ten times
// slower; every test package that ran a Go-compiled script (3-4 MB of
// WebAssembly) compiled it cold, tens of CPU seconds per module per package.
//
// Why a test binary and not a program: wazero names its cache entries (and
// checks them) with its own version, read from the binary's build info. A
// test binary's build info lists no dependencies, so test binaries use
// "dev" where a program would use "v1.12.0": only a test binary writes
// entries the tests find. The rest of the key is the module's bytes (a
// scriptbuild build is reproducible), the runtime's termination setting
// and the CPU's features, not the race detector: a race build finds what
// this non-race build wrote.
//
// Without -warm the binary runs no test (`go test ./...` builds it and
// passes).
package wazerowarm

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/sandbox"
	"github.com/profiled/profiled/internal/scriptbuild"
)

var (
	warmDir = flag.String("warm", "", "fill this wazero compilation cache directory and exit")
	report  = flag.Bool("report", false, "with -warm: print each module's build and compile time, and the time a second runtime takes to load it from the cache")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if *warmDir == "" {
		os.Exit(m.Run())
	}
	if err := warm("../../..", *warmDir, *report); err != nil {
		fmt.Fprintln(os.Stderr, "wazerowarm:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// scripts are the Go scripts the tests compile into modules: the templates
// and the sandbox's test scripts (paths under root).
func scripts(root string) ([]string, error) {
	var out []string
	for _, pattern := range []string{"templates/*", "internal/sandbox/testdata/scripts/*"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		for _, p := range m {
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	if len(out) < 3 {
		return nil, fmt.Errorf("only %d scripts under %s", len(out), root)
	}
	return out, nil
}

// warm builds the scripts (the go command, NumCPU at once) and compiles
// each into the cache at dir through the sandbox, with the configuration
// the tests' runtimes use (the termination setting is part of the key).
func warm(root, dir string, report bool) error {
	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	srcs, err := scripts(root)
	if err != nil {
		return err
	}
	ctx := context.Background()
	wasm := make([][]byte, len(srcs))
	took := make([]time.Duration, len(srcs))
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t := time.Now()
			wasm[i], errs[i] = scriptbuild.Compile(ctx, src, scriptbuild.Options{})
			took[i] = time.Since(t)
		}()
	}
	wg.Wait()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	newRuntime := func() (*sandbox.Runtime, error) {
		return sandbox.New(ctx, sandbox.Config{CacheDir: dir, Logger: quiet, CompileTimeout: 10 * time.Minute})
	}
	rt, err := newRuntime()
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	for i, src := range srcs {
		rel, _ := filepath.Rel(root, src)
		if errs[i] != nil {
			return fmt.Errorf("build %s: %w", rel, errs[i])
		}
		t := time.Now()
		if _, err := rt.Inspect(ctx, wasm[i]); err != nil { // compiles through the cache
			return fmt.Errorf("compile %s: %w", rel, err)
		}
		compile := time.Since(t)
		if !report {
			continue
		}
		r2, err := newRuntime()
		if err != nil {
			return err
		}
		t = time.Now()
		_, err = r2.Inspect(ctx, wasm[i])
		load := time.Since(t)
		r2.Close(ctx)
		if err != nil {
			return fmt.Errorf("load %s: %w", rel, err)
		}
		fmt.Printf("%-40s %8d bytes  build %6.2fs  compile %6.2fs  load from the cache %6.3fs\n",
			rel, len(wasm[i]), took[i].Seconds(), compile.Seconds(), load.Seconds())
	}
	fmt.Printf("wazerowarm: %d modules in %s (%.1fs)\n", len(srcs), dir, time.Since(start).Seconds())
	return nil
}
