package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildProfiled builds the server the harness starts.
func buildProfiled(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "profiled")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/profiled/profiled/cmd/profiled").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runJSON(t *testing.T, c config) []caseResult {
	t.Helper()
	c.jsonOut = true
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, c, &out); err != nil {
		t.Fatalf("run %s: %v", c.cases, err)
	}
	var rows []caseResult
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("report of %s is not JSON rows: %v\n%s", c.cases, err, out.String())
	}
	return rows
}

// The harness drives each case against a real server it starts, on a few
// hundred users: every case answers without errors, the seeded store is
// cached and reused, and the import case imports every row. No timing is
// checked.
func TestCasesAgainstABuiltServer(t *testing.T) {
	bin := buildProfiled(t)
	cache := t.TempDir()
	base := config{bin: bin, cacheDir: cache, clients: 2, duration: 300 * time.Millisecond, users: 300, cost: 4}

	c := base
	c.cases = "search,list,login"
	rows := runJSON(t, c)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(rows), rows)
	}
	for i, want := range []string{"search", "list", "login"} {
		r := rows[i]
		if r.Case != want || r.Store != "sqlite" || r.Users != 300 || r.Requests == 0 || r.Errors != 0 || r.Unit != "req/s" || r.P50ms <= 0 || r.P99ms < r.P50ms {
			t.Errorf("row %d = %+v", i, r)
		}
		if r.PeakRSSMiB <= 0 {
			t.Errorf("%s: no peak RSS read from /proc: %+v", want, r)
		}
	}
	if !strings.Contains(rows[0].Note, "75 matches") {
		t.Errorf("search note %q: a quarter of 300 users should match", rows[0].Note)
	}
	seeded := filepath.Join(cache, "seed-300-c4.db")
	st, err := os.Stat(seeded)
	if err != nil {
		t.Fatalf("the seeded store is not cached: %v", err)
	}

	// A second run reuses the cached store as it is (no second import).
	c.cases = "search"
	if rows := runJSON(t, c); len(rows) != 1 || rows[0].Errors != 0 || !strings.Contains(rows[0].Note, "75 matches") {
		t.Fatalf("second run: %+v", rows)
	}
	if st2, err := os.Stat(seeded); err != nil || st2.ModTime().Before(st.ModTime()) {
		t.Fatalf("cached store: %v", err)
	}

	// -seed-only prints the store's URL.
	c.seedOnly, c.cases = true, "search"
	var out bytes.Buffer
	if err := run(context.Background(), c, &out); err != nil || strings.TrimSpace(out.String()) != "sqlite:"+seeded {
		t.Fatalf("-seed-only: %v, %q", err, out.String())
	}

	// Import into a fresh store: every row in.
	c = base
	c.cases, c.users = "import", 700
	rows = runJSON(t, c)
	if len(rows) != 1 || rows[0].Case != "import" || rows[0].Requests != 700 || rows[0].Unit != "users/s" || rows[0].PerSecond <= 0 {
		t.Fatalf("import: %+v", rows)
	}

	// The mixed case still prints its own report.
	c = base
	c.cases, c.users, c.mix, c.cost = "mixed", 10, "read=70,update=20,login=10", 0 // the server's default cost
	out.Reset()
	if err := run(context.Background(), c, &out); err != nil || !strings.Contains(out.String(), "| read |") || !strings.Contains(out.String(), "| login |") {
		t.Fatalf("mixed: %v\n%s", err, out.String())
	}
}

// The get case requests -raw-get with the -header headers and counts
// anything but a 200 as an error.
func TestGetCase(t *testing.T) {
	var bad bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer x" || r.URL.Query().Get("per_page") != "100" {
			bad = true
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	c := config{cases: "get", rawGet: srv.URL + "/admin/identities?per_page=100", headers: headerFlags{"Authorization: Bearer x"}, clients: 2, duration: 200 * time.Millisecond, users: 1, cost: 4}
	rows := runJSON(t, c)
	if len(rows) != 1 || rows[0].Requests == 0 || rows[0].Errors != 0 || bad {
		t.Fatalf("get: %+v (bad request seen: %v)", rows, bad)
	}
	// A server that refuses is reported before the timed run.
	c.headers = nil
	if err := run(context.Background(), c, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("refused GET: %v", err)
	}
	for _, bad := range []string{"nope", "search,nope"} {
		if _, err := parseCases(bad); err == nil {
			t.Errorf("parseCases(%q) accepted", bad)
		}
	}
}
