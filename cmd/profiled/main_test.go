package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTokenCreatePrintsOnlyAToken(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--scope", "read:users update:users", "--db", db}, &out, &errOut); err != nil {
		t.Fatalf("token create: %v (%s)", err, errOut.String())
	}
	tok := strings.TrimSpace(out.String())
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \n") {
		t.Fatalf("stdout is not just a JWT: %q", out.String())
	}
	// The same store gives the same signing key: a second token verifies
	// with the first one's key set (same kid header).
	var out2 bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--scope", "read:users", "--db", db}, &out2, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Split(tok, ".")[0] != strings.Split(strings.TrimSpace(out2.String()), ".")[0] {
		t.Fatal("two tokens from one store carry different headers (kid)")
	}
	for _, bad := range [][]string{
		{"token", "create", "--db", db},
		{"token", "create", "--scope", "read:everything", "--db", db},
		{"token", "create", "--scope", "read:users", "--ttl", "-1h", "--db", db},
		{"token", "create", "--scope", "read:users", "--subject", "user:main|x", "--db", db},
	} {
		out.Reset()
		if err := run(context.Background(), bad, &out, &errOut); err == nil || out.Len() != 0 {
			t.Fatalf("%v: err %v, stdout %q", bad, err, out.String())
		}
	}
}

func TestServeBadStoreFailsClearly(t *testing.T) {
	t.Setenv("PROFILED_SECRET_KEY", testSecretKey)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", "mysql://root:topsecret@127.0.0.1:1/x"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "open store") || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("serve with an unreachable store: %v", err)
	}
	err = run(context.Background(), []string{"serve", "--db", "postgres://x"}, &out, &errOut)
	if err == nil {
		t.Fatal("serve with an unknown store URL scheme succeeded")
	}
}

func TestServeStartsAndStops(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Setenv("PROFILED_SCRIPT_CACHE", filepath.Join(dir, "cache"))
	pr, pw, _ := os.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(dir, "p.db")}, pw, &bytes.Buffer{})
		pw.Close()
	}()
	line := make([]byte, 200)
	n, _ := pr.Read(line)
	first := string(line[:n])
	i := strings.Index(first, "http://")
	if i < 0 {
		t.Fatalf("serve printed %q, want its URL", first)
	}
	url := strings.Fields(first[i:])[0]
	res, err := http.Get(url + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
}

func TestScriptBuildFromAnyDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles Go to wasm")
	}
	src, _ := filepath.Abs("../../templates/mysql")
	out := filepath.Join(t.TempDir(), "mysql.wasm")
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"script", "build", src, "-o", out}, &so, &se); err != nil {
		t.Fatalf("script build: %v\n%s", err, se.String())
	}
	b, err := os.ReadFile(out)
	if err != nil || len(b) < 8 || string(b[:4]) != "\x00asm" {
		t.Fatalf("output is not a wasm module: %v", err)
	}
	if err := run(context.Background(), []string{"script", "build", src}, &so, &se); err == nil {
		t.Fatal("script build without -o succeeded")
	}
}

// TestTokenCreateSigningAlg: the first key of a store takes --signing-alg
// (or PROFILED_SIGNING_ALG); later commands keep the stored key's.
func TestTokenCreateSigningAlg(t *testing.T) {
	header := func(tok string) string {
		b, err := base64.RawURLEncoding.DecodeString(strings.Split(strings.TrimSpace(tok), ".")[0])
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	db := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--scope", "read:users", "--signing-alg", "EdDSA", "--db", db}, &out, &errOut); err != nil {
		t.Fatalf("token create: %v (%s)", err, errOut.String())
	}
	if h := header(out.String()); !strings.Contains(h, `"alg":"EdDSA"`) {
		t.Fatalf("header %s", h)
	}
	out.Reset()
	t.Setenv("PROFILED_SIGNING_ALG", "ES256")
	if err := run(context.Background(), []string{"token", "create", "--scope", "read:users", "--db", db}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if h := header(out.String()); !strings.Contains(h, `"alg":"EdDSA"`) {
		t.Fatalf("the stored EdDSA key did not keep signing: %s", h)
	}
	out.Reset()
	if err := run(context.Background(), []string{"token", "create", "--scope", "read:users", "--signing-alg", "none", "--db", db}, &out, &errOut); err == nil || out.Len() != 0 {
		t.Fatalf("--signing-alg none: %v, %q", err, out.String())
	}
}
