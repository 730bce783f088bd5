package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/service"
)

// A bad job stale-after stops `users import|export` before they open the
// store, with an error naming the setting, as it does serve.
func TestUsersBadJobStaleAfterFailsClearly(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "p.db")
	in := filepath.Join(dir, "users.ndjson")
	if err := os.WriteFile(in, []byte(`{"email":"a@x.io"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{"users", "import", in, "--connection", "main", "--db", url},
		{"users", "export", "-o", filepath.Join(dir, "out.ndjson"), "--db", url},
	} {
		for _, tc := range []struct {
			env  string
			args []string
			want string
		}{
			{args: []string{"--job-stale-after", "500ms"}, want: "at least 1s"},
			{env: "100ms", want: "at least 1s"},
			{env: "thirty seconds", want: "not a duration"},
		} {
			t.Setenv("PROFILED_JOB_STALE_AFTER", tc.env)
			var out, errOut bytes.Buffer
			err := run(context.Background(), append(append([]string(nil), cmd...), tc.args...), &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "PROFILED_JOB_STALE_AFTER") {
				t.Errorf("%s: env %q, args %v: err %v, want one saying %q", cmd[1], tc.env, tc.args, err, tc.want)
			}
		}
		if _, err := os.Stat(strings.TrimPrefix(url, "sqlite:")); err == nil {
			t.Errorf("%s opened the store despite a bad stale-after", cmd[1])
		}
	}
}

// `users import|export` use the job stale-after of --job-stale-after or
// PROFILED_JOB_STALE_AFTER: a job left running 10 s ago is not stale with
// the default (30 s), and is with 5 s.
func TestUsersJobStaleAfterSetting(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "p.db")
	seedConnections(t, url, "main")
	in := filepath.Join(dir, "users.ndjson")
	if err := os.WriteFile(in, []byte(`{"email":"a@x.io"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	leaveRunning := func(id string, typ service.JobType) {
		t.Helper()
		at := time.Now().UTC().Add(-10 * time.Second)
		j := service.Job{ID: id, Type: typ, Connection: "main", Status: service.JobRunning, CreatedAt: at, UpdatedAt: at}
		if err := store.InsertJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	status := func(id string) service.JobStatus {
		t.Helper()
		j, err := store.JobByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return j.Status
	}
	for i, tc := range []struct {
		env   string
		args  []string
		stale bool
	}{
		{stale: false},
		{args: []string{"--job-stale-after", "5s"}, stale: true},
		{env: "5s", stale: true},
		{env: "5s", args: []string{"--job-stale-after", "1m"}, stale: false}, // the flag wins
	} {
		for _, cmd := range [][]string{
			{"users", "import", in, "--connection", "main", "--upsert", "--db", url},
			{"users", "export", "-o", filepath.Join(dir, "out.ndjson"), "--db", url},
		} {
			typ := service.JobImport
			if cmd[1] == "export" {
				typ = service.JobExport
			}
			id := "job_left" + cmd[1] + string(rune('0'+i))
			leaveRunning(id, typ)
			t.Setenv("PROFILED_JOB_STALE_AFTER", tc.env)
			var out, errOut bytes.Buffer
			if err := run(ctx, append(append([]string(nil), cmd...), tc.args...), &out, &errOut); err != nil {
				t.Fatalf("%s env %q args %v: %v\n%s", cmd[1], tc.env, tc.args, err, errOut.String())
			}
			got := status(id)
			if tc.stale && (got != service.JobFailed || !strings.Contains(errOut.String(), "marked 1 interrupted job(s) failed")) {
				t.Errorf("%s env %q args %v: the job left running 10 s ago is %s (stderr %q), want failed", cmd[1], tc.env, tc.args, got, errOut.String())
			}
			if !tc.stale && got != service.JobRunning {
				t.Errorf("%s env %q args %v: the job left running 10 s ago is %s, want running", cmd[1], tc.env, tc.args, got)
			}
			if !tc.stale {
				// Done with it: fail it so it holds no slot.
				if _, err := store.FailStaleJobs(ctx, time.Now().Add(time.Hour), time.Now().UTC(), "test"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
