package scriptbuild_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/sandbox/wasmbin"
	"github.com/profiled/profiled/internal/scriptbuild"
)

func TestBuildTemplateFromAnotherDirectory(t *testing.T) {
	src, err := filepath.Abs("../../templates/mysql")
	if err != nil {
		t.Fatal(err)
	}
	// Build from an unrelated working directory: the SDK comes from the
	// embedded sources, not from this checkout.
	t.Chdir(t.TempDir())
	out := filepath.Join(t.TempDir(), "mysql.wasm")
	if err := scriptbuild.Build(context.Background(), src, out); err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	info, err := wasmbin.Inspect(wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"_initialize", "profiled_abi_v1", "login", "get_user", "create", "verify", "change_password", "delete", "change_email"} {
		if _, ok := info.Export(name); !ok {
			t.Errorf("export %s missing", name)
		}
	}
	if info.DataSegments > 16 {
		t.Errorf("data segments not merged: %d", info.DataSegments)
	}
	t.Logf("%d bytes, %d data segments", len(wasm), info.DataSegments)
}

func TestBuildReportsCompileErrors(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "broken.go")
	os.WriteFile(src, []byte("package main\n\nfunc main() { undefinedThing() }\n"), 0o644)
	err := scriptbuild.Build(context.Background(), src, filepath.Join(dir, "x.wasm"))
	var ce *scriptbuild.CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("want a CompileError, got %v", err)
	}
	if !strings.Contains(ce.Output, "broken.go:3") || !strings.Contains(ce.Output, "undefinedThing") {
		t.Errorf("compiler output not shown with the file name: %q", ce.Output)
	}
}

func TestBuildRefusesAScriptWithoutActions(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "none.go")
	os.WriteFile(src, []byte("package main\n\nimport _ \"github.com/profiled/profiled/sdk\"\n\nfunc main() {}\n"), 0o644)
	err := scriptbuild.Build(context.Background(), src, filepath.Join(dir, "x.wasm"))
	if err == nil || !strings.Contains(err.Error(), "exports no action") {
		t.Fatalf("want 'exports no action', got %v", err)
	}
}

// TestBuildScriptModuleWithDependencies: a script directory with its own
// go.mod may use modules that are in the local module cache, offline.
func TestBuildScriptModuleWithDependencies(t *testing.T) {
	src, _ := filepath.Abs("../sandbox/testdata/scripts/guestbcrypt")
	wasm, err := scriptbuild.Compile(context.Background(), src, scriptbuild.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := scriptbuild.Check(wasm); err != nil {
		t.Fatal(err)
	}
}

// TestBuildIsReproducible: building the same source twice gives the same
// bytes. The module's hash is what wazero's compilation cache is keyed by
// (and what a connection's digest shows): a build that embedded its
// temporary directory (the SDK's replace path in the build info) made every
// build a new module, so no process ever found another's compiled code.
func TestBuildIsReproducible(t *testing.T) {
	src, err := filepath.Abs("../sandbox/testdata/scripts/trivial")
	if err != nil {
		t.Fatal(err)
	}
	var first []byte
	for i := range 2 {
		wasm, err := scriptbuild.Compile(context.Background(), src, scriptbuild.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(wasm, []byte(os.TempDir()+"/profiled-script-")) {
			t.Errorf("build %d holds its temporary directory's path", i+1)
		}
		if i == 0 {
			first = wasm
		} else if !bytes.Equal(first, wasm) {
			t.Fatalf("two builds of the same source differ (%d and %d bytes, sha256 %x and %x)", len(first), len(wasm), sha256.Sum256(first), sha256.Sum256(wasm))
		}
	}
}
