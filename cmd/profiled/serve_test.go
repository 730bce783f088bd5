package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// A bad job stale-after stops serve before it opens the store, with an
// error naming the setting.
func TestServeBadJobStaleAfterFailsClearly(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
	for _, tc := range []struct {
		env  string
		args []string
		want string
	}{
		{args: []string{"--job-stale-after", "500ms"}, want: "at least 1s"},
		{args: []string{"--job-stale-after", "0s"}, want: "at least 1s"},
		{args: []string{"--job-stale-after", "-30s"}, want: "at least 1s"},
		{env: "100ms", want: "at least 1s"},
		{env: "thirty seconds", want: "not a duration"},
	} {
		t.Setenv("PROFILED_JOB_STALE_AFTER", tc.env)
		var out, errOut bytes.Buffer
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tc.args...)
		err := run(context.Background(), args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "PROFILED_JOB_STALE_AFTER") {
			t.Errorf("env %q, args %v: err %v, want one saying %q", tc.env, tc.args, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("env %q, args %v: serve started: %q", tc.env, tc.args, out.String())
		}
	}
	// A flag that is not a duration is a usage error.
	t.Setenv("PROFILED_JOB_STALE_AFTER", "")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"serve", "--db", db, "--job-stale-after", "soon"}, &out, &errOut); err == nil ||
		!strings.Contains(errOut.String(), "job-stale-after") {
		t.Errorf("--job-stale-after soon: err %v, stderr %q", err, errOut.String())
	}
}

// "*" with credentials, and entries that are not origins, stop serve
// before it opens the store, naming the setting.
func TestServeRefusesBadCORSOrigins(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cors-origins", "*", "--cors-credentials"}, "cannot be combined with credentials"},
		{[]string{"--cors-origins", "https://a.example.com,*", "--cors-credentials"}, "cannot be combined with credentials"},
		{[]string{"--cors-origins", "https://app.example.com/path"}, "is not an origin"},
		{[]string{"--cors-origins", "app.example.com"}, "is not an origin"},
		{[]string{"--cors-origins", "https://*.example.com"}, "is not an origin"},
	} {
		var out, errOut bytes.Buffer
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tc.args...)
		err := run(context.Background(), args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "PROFILED_CORS_ORIGINS") {
			t.Errorf("%v: err %v, want one saying %q", tc.args, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: serve started: %q", tc.args, out.String())
		}
	}
}

// A bcrypt cost outside 4..14 stops serve before it listens, naming the
// setting (the harness's login case starts serve with a valid one).
func TestServeRefusesBadBcryptCost(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
	for _, tc := range []struct{ env, flag string }{{flag: "3"}, {flag: "15"}, {env: "2"}} {
		t.Setenv("PROFILED_BCRYPT_COST", tc.env)
		args := []string{"serve", "--addr", "127.0.0.1:0", "--db", db}
		if tc.flag != "" {
			args = append(args, "--bcrypt-cost", tc.flag)
		}
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "PROFILED_BCRYPT_COST") || out.Len() != 0 {
			t.Errorf("env %q flag %q: err %v, stdout %q", tc.env, tc.flag, err, out.String())
		}
	}
}
