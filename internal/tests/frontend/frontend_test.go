// Package frontend tests Profiled as frontend tools use it: the standard
// introspection query of graphql-js, GraphQL Code Generator and a typed
// TypeScript client, CORS from another origin, the offline GraphiQL
// playground and the dashboard in headless Chromium. The npm tools are
// pinned in package.json / package-lock.json and installed with `npm ci`
// into node_modules here (git-ignored, reused between runs).
package frontend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/testenv"
)

// need fails the test in CI and skips it elsewhere when a tool is missing.
func need(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI (.ci/run installs it) and was not found", what)
	}
	t.Skipf("%s not found; set CI=true to make this a failure", what)
}

var (
	npmOnce sync.Once
	npmErr  error
	npmOut  []byte
)

// npmCI installs the pinned packages (npm ci) unless node_modules matches
// package-lock.json already.
func npmCI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		need(t, "node")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		need(t, "npm")
	}
	npmOnce.Do(func() {
		lock, err := os.ReadFile("package-lock.json")
		if err != nil {
			npmErr = err
			return
		}
		sum := sha256.Sum256(lock)
		stamp := filepath.Join("node_modules", ".profiled-lock-sha256")
		if have, err := os.ReadFile(stamp); err == nil && string(have) == hex.EncodeToString(sum[:]) {
			return // node_modules is what the lock says
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		if npmOut, npmErr = cmd.CombinedOutput(); npmErr == nil {
			npmErr = os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644)
		}
	})
	if npmErr != nil {
		t.Fatalf("npm ci: %v\n%s", npmErr, npmOut)
	}
}

// node runs a node program (ES module) from this directory and returns its
// standard output.
func node(t *testing.T, env []string, args ...string) string {
	t.Helper()
	npmCI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Env = append(os.Environ(), env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), stderr.String())
	}
	return out.String()
}

func startServer(t *testing.T, opts testenv.Options) *testenv.Server {
	t.Helper()
	return testenv.Start(t, testenv.OpenStore(t, testenv.SQLiteURL(t)), opts)
}

type contextT = context.Context

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
