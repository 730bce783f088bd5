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
	"github.com/profiled/profiled/internal/importer"
	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

// seedConnections creates DATABASE connections in the store at url.
func seedConnections(t *testing.T, url string, names ...string) {
	t.Helper()
	store, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, n := range names {
		now := time.Now().UTC()
		c := service.Connection{Connection: policy.Connection{Name: n, Strategy: policy.StrategyDatabase}, CreatedAt: now, UpdatedAt: now}
		if err := store.InsertConnection(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUsersImportExportCLI(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"sqlite", ""},
		{"mysql", "mysql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			url := "sqlite:" + filepath.Join(dir, "p.db")
			if tc.url == "mysql" {
				url = testmysql.URL(t)
				t.Setenv("PROFILED_SECRET_KEY", testSecretKey)
			}
			seedConnections(t, url, "main", "copy")
			in := filepath.Join(dir, "users.ndjson")
			rows := `{"email":"a@x.io","user_id":"a1","name":"=cmd|' /C calc'!A0","user_metadata":{"lang":"en"}}` + "\n" +
				`{"email":"b@x.io","user_id":"b1"}` + "\n" +
				`{"email":"bad"}` + "\n"
			if err := os.WriteFile(in, []byte(rows), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var out, errOut bytes.Buffer
			// Flags after the file, as documented; one bad row → an error
			// after the summary, and the row's error on stderr.
			err := run(ctx, []string{"users", "import", in, "--connection", "main", "--db", url}, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "1 of 3 rows failed") {
				t.Fatalf("import: %v\n%s\n%s", err, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), "completed — 3 rows: 2 inserted, 0 updated, 1 failed") {
				t.Fatalf("summary: %s", out.String())
			}
			if !strings.Contains(errOut.String(), "row 3: email:") {
				t.Fatalf("stderr: %s", errOut.String())
			}

			// Export as CSV and NDJSON, re-import the NDJSON elsewhere.
			csvOut, ndOut := filepath.Join(dir, "u.csv"), filepath.Join(dir, "u.ndjson")
			out.Reset()
			if err := run(ctx, []string{"users", "export", "--connection", "main", "--format", "csv", "--fields", "email, name,user_metadata.lang", "-o", csvOut, "--db", url}, &out, &errOut); err != nil {
				t.Fatalf("export csv: %v %s", err, errOut.String())
			}
			b, _ := os.ReadFile(csvOut)
			want := "\"email\",\"name\",\"user_metadata.lang\"\n\"a@x.io\",\"'=cmd|' /C calc'!A0\",\"en\"\n\"b@x.io\",,\n"
			if string(b) != want {
				t.Fatalf("csv = %q", b)
			}
			if !strings.Contains(out.String(), "completed — 2 users") {
				t.Fatalf("export summary: %s", out.String())
			}
			if err := run(ctx, []string{"users", "export", "--connection", "main", "--format", "ndjson", "-o", ndOut, "--db", url}, &out, &errOut); err != nil {
				t.Fatalf("export ndjson: %v", err)
			}
			out.Reset()
			if err := run(ctx, []string{"users", "import", "--connection", "copy", "--db", url, ndOut}, &out, &errOut); err != nil {
				t.Fatalf("re-import: %v %s", err, out.String())
			}
			if !strings.Contains(out.String(), "2 inserted") {
				t.Fatalf("re-import summary: %s", out.String())
			}
			// Upsert the same file: both updated.
			out.Reset()
			if err := run(ctx, []string{"users", "import", ndOut, "--connection", "copy", "--upsert", "--db", url}, &out, &errOut); err != nil || !strings.Contains(out.String(), "0 inserted, 2 updated") {
				t.Fatalf("upsert: %v %s", err, out.String())
			}

			for _, bad := range [][]string{
				{"users", "import", in, "--db", url},
				{"users", "import", "--connection", "main", "--db", url},
				{"users", "export", "--format", "csv", "--db", url},
				{"users", "frobnicate"},
			} {
				if err := run(ctx, bad, &out, &errOut); err == nil {
					t.Fatalf("%v succeeded", bad)
				}
			}
			if err := run(ctx, []string{"users", "import", in, "--connection", "nope", "--db", url}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "connection not found") {
				t.Fatalf("unknown connection: %v", err)
			}
			if err := run(ctx, []string{"users", "export", "--format", "csv", "--fields", "user_metadata", "-o", csvOut, "--db", url}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "subfields") {
				t.Fatalf("csv with whole metadata: %v", err)
			}
		})
	}
}

func TestProgressPlainLines(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "import f")
	p.update(service.Job{Status: service.JobRunning, Done: 50, Total: 100})
	p.finish(service.Job{Type: service.JobImport, Status: service.JobCompleted, Done: 100, Inserted: 99, Failed: 1})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "import f: 50/100 rows (50%)") || strings.Contains(b.String(), "\r") {
		t.Fatalf("output = %q", b.String())
	}
}

// --help says what a file holds, with a sample row that imports, and what
// an export writes.
func TestUsersImportExportHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	_ = run(context.Background(), []string{"users", "import", "--help"}, &out, &errOut)
	help := errOut.String()
	for _, want := range []string{"custom_password_hash", "scrypt", "Example row", "-connection", "-upsert"} {
		if !strings.Contains(help, want) {
			t.Fatalf("import --help lacks %q:\n%s", want, help)
		}
	}
	rec := importer.ParseRow([]byte(importExampleRow), 1, policy.Limits{})
	if len(rec.Errors) > 0 {
		t.Fatalf("the example row does not import: %v", rec.Errors)
	}
	if ok, err := passwords.Verify(rec.PasswordHash, "correct horse battery staple"); !ok || err != nil {
		t.Fatalf("the example row's password: %v, %v", ok, err)
	}
	errOut.Reset()
	_ = run(context.Background(), []string{"users", "export", "-h"}, &out, &errOut)
	for _, want := range []string{"created_at", "user_id whole", "password_hash", "-format"} {
		if !strings.Contains(errOut.String(), want) {
			t.Fatalf("export -h lacks %q:\n%s", want, errOut.String())
		}
	}
}
