// Package scriptbuild compiles a custom-database action script written in Go
// against the Profiled guest SDK into a WebAssembly reactor module ready to
// upload: `profiled script build SRC -o OUT.wasm` is a thin wrapper around
// Build.
//
// It works from any directory and offline: the SDK and ABI sources are
// embedded in the binary (package profiled) and written into a temporary
// module next to a copy of the script, with a replace directive, and the Go
// toolchain runs with GOPROXY=off. Scripts may import the standard library
// and the SDK; a script directory with its own go.mod may also use modules
// that are already in the local module cache (with their go.sum lines).
// After compiling, the module's data segments are merged (see
// sandbox/wasmbin) so that each instance starts in about 1 ms instead of 6.
//
// It needs the `go` command (Go 1.24 or newer, for //go:wasmexport); it does
// not need TinyGo.
package scriptbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	profiled "github.com/profiled/profiled"
	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/sandbox/wasmbin"
)

// SDKModule is the module path scripts import the SDK from.
const SDKModule = "github.com/profiled/profiled"

// Options tune Build; the zero value is the default.
type Options struct {
	// Go is the go command to run ("" = "go" from PATH).
	Go string
	// NoMerge skips merging the data segments (for comparisons).
	NoMerge bool
	// Output receives the toolchain's output of a successful build (nil =
	// discarded; a failed build's output is in its *CompileError).
	Output io.Writer
	// Report, when set, receives where the build's time went: how many
	// packages were compiled (a first build compiles the standard library
	// for wasip1/wasm into the Go build cache) and how long each step took.
	Report io.Writer
}

// CompileError is a failed compilation; Output is the compiler's output
// with the temporary directory's paths shortened to the script's file names.
type CompileError struct {
	Output string
	// Hint says what to do, when the output shows a known cause (a module
	// missing from the offline build).
	Hint string
}

func (e *CompileError) Error() string {
	msg := "script does not compile:\n" + strings.TrimRight(e.Output, "\n")
	if e.Hint != "" {
		msg += "\n\n" + e.Hint
	}
	return msg
}

// missingModule finds the import path of a module the offline build could
// not find, in the go command's output.
var missingModule = regexp.MustCompile(`(?m)(?:no required module provides package|cannot find module providing package|module lookup disabled by GOPROXY=off[^\n]*?for) ([^\s;:]+)|^\s*([^\s:]+): module lookup disabled by GOPROXY=off`)

// hint explains a failed build's known causes.
func hint(output string, ownMod bool) string {
	m := missingModule.FindStringSubmatch(output)
	if m == nil && !strings.Contains(output, "GOPROXY=off") {
		return ""
	}
	pkg := "MODULE"
	if m != nil {
		pkg = m[1] + m[2]
	}
	h := "hint: scripts are built offline (GOPROXY=off): only the standard library, the SDK and modules already in\n" +
		"this machine's module cache (" + goEnv("GOMODCACHE") + ") can be imported. "
	if ownMod {
		return h + "In the script's folder, run once, online:\n\n" +
			"    go get " + pkg + "@VERSION\n\n" +
			"It records the module in go.mod and go.sum and downloads it into the cache; then build again."
	}
	return h + "A single .go file cannot name extra modules: make the script a folder with its own go.mod\n" +
		"(`profiled script init DIR` writes one), run `go get " + pkg + "@VERSION` there (online), then build the folder."
}

func goEnv(key string) string {
	o, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return "$" + key
	}
	return strings.TrimSpace(string(o))
}

// Build compiles the script at src (a .go file, or a directory of .go files
// of package main) and writes the merged WebAssembly module to out.
func Build(ctx context.Context, src, out string) error {
	return BuildWith(ctx, src, out, Options{})
}

// BuildWith is Build with options.
func BuildWith(ctx context.Context, src, out string, opt Options) error {
	wasm, err := Compile(ctx, src, opt)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, wasm, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

// Compile is Build returning the module's bytes.
func Compile(ctx context.Context, src string, opt Options) ([]byte, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("script source: %w", err)
	}
	work, err := os.MkdirTemp("", "profiled-script-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	sdkDir := filepath.Join(work, "_profiled")
	scriptDir := filepath.Join(work, "script")
	if err := materializeSDK(sdkDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(scriptDir, 0o755); err != nil {
		return nil, err
	}
	goBin := opt.Go
	if goBin == "" {
		goBin = "go"
	}
	goVersion, err := toolchainVersion(ctx, goBin)
	if err != nil {
		return nil, err
	}

	ownMod := false
	if st.IsDir() {
		n, err := copyScriptDir(src, scriptDir)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("script source %s: no .go files", src)
		}
		_, err = os.Stat(filepath.Join(src, "go.mod"))
		ownMod = err == nil
	} else {
		if !strings.HasSuffix(src, ".go") {
			return nil, fmt.Errorf("script source %s: want a .go file or a directory", src)
		}
		if err := copyFile(src, filepath.Join(scriptDir, filepath.Base(src))); err != nil {
			return nil, err
		}
	}
	if !ownMod {
		gomod := "module profiledscript\n\ngo " + goVersion + "\n\nrequire " + SDKModule + " v0.0.0\n"
		if err := os.WriteFile(filepath.Join(scriptDir, "go.mod"), []byte(gomod), 0o644); err != nil {
			return nil, err
		}
	}
	env := buildEnv()
	// The replace directive points the SDK's import path at the embedded
	// copy; added with `go mod edit` so a script's own go.mod keeps the rest.
	// The path is relative (sdkDir is scriptDir's sibling): the build info
	// records it, and an absolute one would put the temporary directory's
	// random name into the module, so that no two builds of the same source
	// would be the same module (its hash keys wazero's compilation cache and
	// is the connection's digest).
	edit := exec.CommandContext(ctx, goBin, "mod", "edit",
		"-require="+SDKModule+"@v0.0.0", "-replace="+SDKModule+"=../"+filepath.Base(sdkDir))
	edit.Dir, edit.Env = scriptDir, env
	if o, err := edit.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("prepare the build module: %v: %s", err, o)
	}

	outFile := filepath.Join(work, "script.wasm")
	buildArgs := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", outFile}
	if opt.Report != nil {
		buildArgs = append(buildArgs, "-v") // names the packages compiled (not those from the cache)
	}
	cmd := exec.CommandContext(ctx, goBin, append(buildArgs, ".")...)
	cmd.Dir, cmd.Env = scriptDir, env
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	began := time.Now()
	runErr := cmd.Run()
	took := time.Since(began)
	out, compiled := splitVerbose(output.String(), opt.Report != nil)
	if runErr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.ReplaceAll(out, scriptDir+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, work, "$WORK")
		if msg == "" {
			msg = runErr.Error()
		}
		return nil, &CompileError{Output: msg, Hint: hint(out, ownMod)}
	}
	if opt.Output != nil {
		io.WriteString(opt.Output, out)
	}
	if opt.Report != nil {
		report(opt.Report, took, compiled)
	}
	wasm, err := os.ReadFile(outFile)
	if err != nil {
		return nil, err
	}
	if err := Check(wasm); err != nil {
		return nil, err
	}
	if opt.NoMerge {
		return wasm, nil
	}
	began = time.Now()
	merged, _, err := wasmbin.MergeDataSegments(wasm)
	if err != nil {
		return nil, fmt.Errorf("merge data segments: %w", err)
	}
	if opt.Report != nil {
		fmt.Fprintf(opt.Report, "merge data segments: %s (%d → %d bytes)\n", time.Since(began).Round(time.Millisecond), len(wasm), len(merged))
	}
	return merged, nil
}

// Check verifies that a compiled module is a Profiled script: a reactor
// (exports _initialize), built against the SDK (exports profiled_abi_v1),
// exporting at least one action.
func Check(wasm []byte) error {
	info, err := wasmbin.Inspect(wasm)
	if err != nil {
		return err
	}
	if _, ok := info.Export(abi.InitializeExport); !ok {
		return errors.New("the module is not a reactor (no _initialize export): build with -buildmode=c-shared")
	}
	if _, ok := info.Export(abi.VersionExport); !ok {
		return errors.New("the module does not use the Profiled SDK (no profiled_abi_v1 export)")
	}
	for _, a := range abi.Actions {
		if _, ok := info.Export(a); ok {
			return nil
		}
	}
	return errors.New("the script exports no action: add e.g. `//go:wasmexport login` above a func login() int32 { return sdk.Login(...) }")
}

// buildEnv is the environment of the go commands: offline, the workspace
// and vendoring off, wasip1/wasm.
func buildEnv() []string {
	env := os.Environ()
	drop := map[string]bool{"GOOS": true, "GOARCH": true, "GOPROXY": true, "GOFLAGS": true,
		"GOWORK": true, "CGO_ENABLED": true, "GOTOOLCHAIN": true, "GOWASM": true}
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, "GOOS=wasip1", "GOARCH=wasm", "GOPROXY=off", "GOFLAGS=-mod=mod",
		"GOWORK=off", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
}

func toolchainVersion(ctx context.Context, goBin string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, "env", "GOVERSION")
	cmd.Env = buildEnv()
	o, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build scripts (%s): %w", goBin, err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(o)), "go")
	// "1.26.8" -> "1.26": the go line only names the language version.
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return "", fmt.Errorf("unexpected go version %q", v)
	}
	minor := parts[1]
	if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = minor[:i] // "1.27rc1"
	}
	if m, err := strconv.Atoi(minor); err != nil || parts[0] == "1" && m < 24 {
		return "", fmt.Errorf("go %s cannot build scripts: Go 1.24 or newer is needed (//go:wasmexport)", v)
	}
	return parts[0] + "." + minor, nil
}

// materializeSDK writes the embedded abi and sdk packages as a module.
func materializeSDK(dir string) error {
	files, err := fs.Glob(profiled.GuestSources, "*/*.go")
	if err != nil {
		return err
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := profiled.GuestSources.ReadFile(f)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	gomod := "module " + SDKModule + "\n\ngo 1.24\n"
	return os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644)
}

// copyScriptDir copies the .go files (not tests), go.mod and go.sum of src,
// and of its subdirectories (other packages of a script module), into dst.
// It returns the number of .go files at the top level.
func copyScriptDir(src, dst string) (int, error) {
	top := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := d.Name()
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		keep := name == "go.mod" && rel == "go.mod" || name == "go.sum" && rel == "go.sum" ||
			strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
		if !keep {
			return nil
		}
		if strings.HasSuffix(name, ".go") && path.Dir(filepath.ToSlash(rel)) == "." {
			top++
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
	return top, err
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// splitVerbose separates `go build -v`'s package lines (bare import paths)
// from the rest of the output.
func splitVerbose(output string, verbose bool) (string, []string) {
	if !verbose {
		return output, nil
	}
	var rest []string
	var pkgs []string
	for _, l := range strings.Split(output, "\n") {
		if l != "" && !strings.ContainsAny(l, " \t:#") {
			pkgs = append(pkgs, l)
			continue
		}
		rest = append(rest, l)
	}
	return strings.Join(rest, "\n"), pkgs
}

// report says where a build's time went.
func report(w io.Writer, took time.Duration, compiled []string) {
	std, sdk, other := 0, 0, 0
	for _, p := range compiled {
		first, _, _ := strings.Cut(p, "/")
		switch {
		case strings.HasPrefix(p, SDKModule+"/"):
			sdk++
		case !strings.Contains(first, ".") && p != "profiledscript" && !strings.HasPrefix(p, "profiledscript/"):
			std++
		default:
			other++
		}
	}
	fmt.Fprintf(w, "go build (wasip1/wasm): %s; compiled %d packages: %d of the standard library, %d of the SDK, %d of the script and its modules\n",
		took.Round(time.Millisecond), len(compiled), std, sdk, other)
	if std > 0 {
		fmt.Fprintf(w, "  the standard library was not in the Go build cache for wasip1/wasm (%s): this first build compiled it\n"+
			"  and cached it; the next builds reuse it and take a few seconds. Keep GOCACHE between CI runs to keep it.\n", goEnv("GOCACHE"))
	}
}
