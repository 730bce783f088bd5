package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/testmysql"
)

// offlineGo runs the go command in dir the way a customer's machine without
// network would: no module proxy, no workspace.
func offlineGo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestScriptInitOutsideTheRepository writes a script folder from the MySQL
// template into a directory outside this module, then does there what its
// README says: go vet and go mod tidy offline, the test file against a
// fresh MariaDB database, and the build.
func TestScriptInitOutsideTheRepository(t *testing.T) {
	testmysql.New(t) // MariaDB reachable (fails in CI when not)
	server := testmysql.URLOf(testmysql.ServerDSN())
	dir := filepath.Join(t.TempDir(), "legacy-users")
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"script", "init", dir, "--template", "mysql"}, &out, &errOut); err != nil {
		t.Fatalf("script init: %v\n%s", err, errOut.String())
	}
	for _, f := range []string{"go.mod", "main.go", "schema.sql", "script_test.json", "README.md", "_profiled/go.mod", "_profiled/sdk/actions.go", "_profiled/abi/abi.go"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	// A second init into the same folder refuses to overwrite.
	if err := run(ctx, []string{"script", "init", dir}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("init over an existing folder: %v", err)
	}

	offlineGo(t, dir, "vet", "./")
	offlineGo(t, dir, "mod", "tidy")

	out.Reset()
	if err := run(ctx, []string{"script", "test", dir, "--db", server}, &out, &errOut); err != nil {
		t.Fatalf("script test: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), " passed, 0 failed") {
		t.Fatalf("script test output:\n%s", out.String())
	}

	wasm := filepath.Join(t.TempDir(), "s.wasm")
	errOut.Reset()
	if err := run(ctx, []string{"script", "build", dir, "-o", wasm, "-v"}, &out, &errOut); err != nil {
		t.Fatalf("script build: %v", err)
	}
	if !strings.Contains(errOut.String(), "go build (wasip1/wasm): ") || !strings.Contains(errOut.String(), "merge data segments") {
		t.Fatalf("build -v does not say where the time went:\n%s", errOut.String())
	}

	// The test file catches a script that does something else: a login
	// answering "wrong password" for everyone fails the first step.
	main := filepath.Join(dir, "main.go")
	src, _ := os.ReadFile(main)
	broken := strings.Replace(string(src), "if !ok {", "if ok || !ok {", 1)
	if broken == string(src) {
		t.Fatal("main.go changed: update the mutation")
	}
	os.WriteFile(main, []byte(broken), 0o644)
	out.Reset()
	err := run(ctx, []string{"script", "test", dir, "--db", server}, &out, &errOut)
	if err == nil || !strings.Contains(out.String(), "FAIL  login with the right password returns the profile: got wrong_credentials, want ok") {
		t.Fatalf("a broken login passed the template's tests: %v\n%s", err, out.String())
	}
}

// TestScriptBuildExplainsAMissingModule: an import of a module that is not
// in the module cache fails with the go command's message and a hint.
func TestScriptBuildExplainsAMissingModule(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"script", "init", dir}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "main.go")
	src, _ := os.ReadFile(main)
	os.WriteFile(main, bytes.Replace(src, []byte(`import (`), []byte("import (\n\t_ \"example.invalid/nowhere/pkg\""), 1), 0o644)
	err := run(context.Background(), []string{"script", "build", dir, "-o", filepath.Join(dir, "s.wasm")}, &out, &errOut)
	if err == nil {
		t.Fatal("a script importing a missing module built")
	}
	for _, want := range []string{"example.invalid/nowhere/pkg", "GOPROXY=off", "go get example.invalid/nowhere/pkg@VERSION"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error does not say %q:\n%v", want, err)
		}
	}
}
