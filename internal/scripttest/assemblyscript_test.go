package scripttest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/profiled/profiled/internal/testmysql"
)

// TestSecondLanguageGuest: examples/assemblyscript-django, the Django
// template's login and get_user written in AssemblyScript against the ABI
// alone (no Go SDK), built with the pinned compiler from npm, passes the
// Django template's login and get_user steps (its script_test.json is
// that subset of templates/django/script_test.json).
func TestSecondLanguageGuest(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("npm is required in CI to build the AssemblyScript guest")
		}
		t.Skip("npm not found")
	}
	testmysql.New(t)
	server := testmysql.URLOf(testmysql.ServerDSN())
	dir, _ := filepath.Abs("../../examples/assemblyscript-django")
	for _, args := range [][]string{{"ci", "--no-audit", "--no-fund"}, {"run", "build"}} {
		cmd := exec.Command(npm, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm %v: %v\n%s", args, err, out)
		}
	}
	wasm, err := os.ReadFile(filepath.Join(dir, "build", "django.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := Run(context.Background(), wasm, filepath.Join(dir, FileName), Options{DatabaseURL: server, Out: &out, CacheDir: testCacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed > 0 || res.Passed < 10 {
		t.Fatalf("%d passed, %d failed:\n%s", res.Passed, res.Failed, out.String())
	}
}
