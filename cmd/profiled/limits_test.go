package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Out-of-range memory settings stop serve before it opens the store,
// naming the setting.
func TestServeRefusesBadMemoryLimits(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--token-cache-size", "-1"}, "PROFILED_TOKEN_CACHE_SIZE"},
		{[]string{"--script-compiled-mib", "0"}, "PROFILED_SCRIPT_COMPILED_MIB"},
		{[]string{"--script-compiled-mib", "-5"}, "PROFILED_SCRIPT_COMPILED_MIB"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tc.args...), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out.Len() != 0 {
			t.Errorf("%v: err %v, stdout %q; want a refusal naming %s", tc.args, err, out.String(), tc.want)
		}
	}
}

// startServe runs serve with args on a free port until the test ends and
// returns its URL.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
		pr.Close()
	})
	line := make([]byte, 200)
	n, _ := pr.Read(line)
	first := string(line[:n])
	i := strings.Index(first, "http://")
	if i < 0 {
		t.Fatalf("serve printed %q, want its URL", first)
	}
	return strings.Fields(first[i:])[0]
}

// metric reads one unlabelled metric from /metrics.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s on /metrics", name)
	return 0
}

// --token-cache-size sizes the verified-token cache and 0 turns it off: the
// same token sent three times is verified once with it (two hits on
// /metrics), three times without it. --script-compiled-mib is the
// sandbox's budget on /metrics.
func TestServeTokenCacheSizeAndCompiledBudget(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "p.db")
	t.Setenv("PROFILED_SCRIPT_CACHE", filepath.Join(dir, "cache"))
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--scope", "read:users", "--db", db}, &out, &errOut); err != nil {
		t.Fatalf("token create: %v %s", err, errOut.String())
	}
	token := strings.TrimSpace(out.String())
	for _, tc := range []struct {
		size             string
		hits, entries    float64
		compiledMiB      string
		compiledBudgetMB float64
	}{
		{size: "100", hits: 2, entries: 1, compiledMiB: "64", compiledBudgetMB: 64},
		{size: "0", hits: 0, entries: 0, compiledMiB: "1", compiledBudgetMB: 1},
	} {
		url := startServe(t, "--db", db, "--token-cache-size", tc.size, "--script-compiled-mib", tc.compiledMiB)
		for range 3 {
			req, _ := http.NewRequest("POST", url+"/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("--token-cache-size %s: %d %s", tc.size, res.StatusCode, body)
			}
		}
		if got := metric(t, url, "profiled_token_cache_hits_total"); got != tc.hits {
			t.Errorf("--token-cache-size %s: %v cache hits, want %v", tc.size, got, tc.hits)
		}
		if got := metric(t, url, "profiled_token_cache_entries"); got != tc.entries {
			t.Errorf("--token-cache-size %s: %v cache entries, want %v", tc.size, got, tc.entries)
		}
		if got := metric(t, url, "profiled_sandbox_compiled_budget_bytes"); got != tc.compiledBudgetMB*(1<<20) {
			t.Errorf("--script-compiled-mib %s: budget %v bytes on /metrics", tc.compiledMiB, got)
		}
		if got := metric(t, url, "profiled_sandbox_compiled_modules"); got != 0 {
			t.Errorf("compiled modules before any script: %v", got)
		}
	}
}
