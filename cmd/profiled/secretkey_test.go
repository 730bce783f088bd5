package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

// testSecretKey is a key-encryption key for tests that need one given.
const testSecretKey = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="

func newKeyText(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func noFlags() secretKeyFlags {
	e1, e2 := "", ""
	return secretKeyFlags{file: &e1, previousFile: &e2}
}

const (
	dbPassword = "hunter2-db-password"
	apiSecret  = "s3cret-api-key-value"
)

// seedPlain writes, as a store before sealing did, a custom connection
// with a password in its URL and a secret in its configuration, and a
// signing key.
func seedPlain(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now().UTC()
	c := service.Connection{Connection: policy.Connection{Name: "legacy", Strategy: policy.StrategyCustomDatabase},
		DatabaseURL: "mysql://app:" + dbPassword + "@db.example:3306/legacy", Configuration: map[string]any{"API_KEY": apiSecret},
		CreatedAt: now, UpdatedAt: now}
	if err := store.InsertConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.New(ctx, store, auth.Config{}); err != nil {
		t.Fatal(err)
	}
}

// rawSecrets reads the secret columns as stored, bypassing the sealer.
func rawSecrets(t *testing.T, url string) []string {
	t.Helper()
	store, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	raw, err := store.SecretsAtRest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func wantSealed(t *testing.T, what string, raw []string) {
	t.Helper()
	if len(raw) != 3 {
		t.Fatalf("%s: %d secret values, want 3", what, len(raw))
	}
	for _, v := range raw {
		if !strings.HasPrefix(v, db.SealedPrefix) || strings.Contains(v, dbPassword) || strings.Contains(v, apiSecret) || strings.Contains(v, "PRIVATE KEY") {
			t.Fatalf("%s: a secret is stored in the clear: %.60q", what, v)
		}
	}
}

// TestSecretsSealedAtRest: plain-text secrets are sealed at start under a
// key generated beside an SQLite store (0600, said in the log), read back
// whole with the key, unreadable without it or with another; a previous
// key is rotated out.
func TestSecretsSealedAtRest(t *testing.T) {
	for _, kind := range []string{"sqlite", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			url := "sqlite:" + filepath.Join(dir, "p.db")
			flags := noFlags()
			if kind == "mysql" {
				url = testmysql.URL(t)
				t.Setenv("PROFILED_SECRET_KEY", testSecretKey)
			}
			seedPlain(t, url)
			ctx := context.Background()
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			store, keyFile, err := openStore(ctx, url, flags, log)
			if err != nil {
				t.Fatal(err)
			}
			if store.SealedAtOpen() != 3 {
				t.Fatalf("sealed %d values at open, want 3", store.SealedAtOpen())
			}
			c, err := store.ConnectionByName(ctx, "legacy")
			if err != nil || !strings.Contains(c.DatabaseURL, dbPassword) || c.Configuration["API_KEY"] != apiSecret {
				t.Fatalf("read back: %v %v", err, c.Configuration)
			}
			if _, err := auth.New(ctx, store, auth.Config{}); err != nil {
				t.Fatalf("signing key read back: %v", err)
			}
			store.Close()
			if kind == "sqlite" {
				want := filepath.Join(dir, "p.db.secret-key")
				st, err := os.Stat(want)
				if keyFile != want || err != nil || st.Mode().Perm() != 0o600 {
					t.Fatalf("key file %q (want %q): %v %v", keyFile, want, err, st)
				}
				if !strings.Contains(logs.String(), "generated a key-encryption key") || !strings.Contains(logs.String(), want) {
					t.Fatalf("the log does not say a key was generated: %s", logs.String())
				}
				b, _ := os.ReadFile(want)
				if strings.Contains(logs.String(), strings.TrimSpace(string(b))) {
					t.Fatal("the log holds the key")
				}
			}
			wantSealed(t, "after open", rawSecrets(t, url))

			// Without the key, or with another, nothing opens.
			plain, err := db.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plain.ConnectionByName(ctx, "legacy"); !errors.Is(err, db.ErrSealed) {
				t.Fatalf("read without the key: %v", err)
			}
			plain.Close()
			other, _ := db.NewSealer(bytes.Repeat([]byte{7}, 32))
			if _, err := db.Open(ctx, url, db.WithSealer(other)); err == nil {
				t.Fatal("opened with the wrong key")
			}

			// Rotation: the old key given as previous, everything is sealed
			// again under the new one, which alone opens the store after.
			var oldKey string
			if kind == "sqlite" {
				b, _ := os.ReadFile(keyFile)
				oldKey = strings.TrimSpace(string(b))
			} else {
				oldKey = testSecretKey
			}
			newKey := newKeyText(t)
			t.Setenv("PROFILED_SECRET_KEY", newKey)
			t.Setenv("PROFILED_PREVIOUS_SECRET_KEY", oldKey)
			store, _, err = openStore(ctx, url, flags, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if store.SealedAtOpen() != 3 {
				t.Fatalf("rotation sealed %d values, want 3", store.SealedAtOpen())
			}
			store.Close()
			t.Setenv("PROFILED_PREVIOUS_SECRET_KEY", "")
			store, _, err = openStore(ctx, url, flags, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatalf("open with the new key alone: %v", err)
			}
			c, err = store.ConnectionByName(ctx, "legacy")
			if err != nil || c.Configuration["API_KEY"] != apiSecret || store.SealedAtOpen() != 0 {
				t.Fatalf("after rotation: %v %d", err, store.SealedAtOpen())
			}
			store.Close()
			wantSealed(t, "after rotation", rawSecrets(t, url))
		})
	}
}

// TestKeysRotate: `profiled keys rotate` adds a key that signs; the old
// key's tokens verify and the JWKS serves both until the grace ends, then
// the old key is gone from both.
func TestKeysRotate(t *testing.T) {
	for _, kind := range []string{"sqlite", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			url := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
			if kind == "mysql" {
				url = testmysql.URL(t)
			}
			t.Setenv("PROFILED_SECRET_KEY", testSecretKey)
			ctx := context.Background()
			var out, errOut bytes.Buffer
			if err := run(ctx, []string{"token", "create", "--scope", "read:users", "--ttl", "240h", "--db", url}, &out, &errOut); err != nil {
				t.Fatal(err, errOut.String())
			}
			oldTok := strings.TrimSpace(out.String())
			out.Reset()
			if err := run(ctx, []string{"keys", "rotate", "--grace", "48h", "--alg", "HS256", "--db", url}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "HS256") {
				t.Fatalf("rotate --alg HS256: %v", err)
			}
			// From the first key (RS256) to an ES256 one.
			if err := run(ctx, []string{"keys", "rotate", "--grace", "48h", "--alg", "ES256", "--db", url}, &out, &errOut); err != nil {
				t.Fatal(err, errOut.String())
			}
			if !strings.HasPrefix(out.String(), "new signing key profiled-") || !strings.Contains(out.String(), "(ES256)") {
				t.Fatalf("rotate said %q", out.String())
			}
			store, _, err := openStore(ctx, url, noFlags(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			at := func(d time.Duration) *auth.Keyring {
				k, err := auth.New(ctx, store, auth.Config{Now: func() time.Time { return time.Now().Add(d) }})
				if err != nil {
					t.Fatal(err)
				}
				return k
			}
			now := at(0)
			if now.KID() == auth.BootstrapKID || now.Algorithm() != auth.ES256 {
				t.Fatalf("after rotate %s (%s) signs", now.KID(), now.Algorithm())
			}
			if _, err := now.Verify(oldTok); err != nil {
				t.Fatalf("the old key's token refused during the grace: %v", err)
			}
			if n := jwksKeys(t, now); n != 2 {
				t.Fatalf("JWKS serves %d keys during the grace, want 2", n)
			}
			newTok, _ := now.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "x", 240*time.Hour)
			later := at(49 * time.Hour)
			if _, err := later.Verify(oldTok); err == nil {
				t.Fatal("the old key's token still works after the grace")
			}
			if _, err := later.Verify(newTok); err != nil {
				t.Fatalf("the new key's token refused: %v", err)
			}
			if n := jwksKeys(t, later); n != 1 {
				t.Fatalf("JWKS serves %d keys after the grace, want 1", n)
			}
			// A keyring loaded during the grace refuses the old key's
			// tokens once the grace is over, without a reload.
			clock := time.Now()
			k, err := auth.New(ctx, store, auth.Config{Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			clock = clock.Add(49 * time.Hour)
			if _, err := k.Verify(oldTok); err == nil {
				t.Fatal("a keyring loaded before the end of the grace still accepts the old key after it")
			}
		})
	}
}

func jwksKeys(t *testing.T, k *auth.Keyring) int {
	t.Helper()
	rec := httptest.NewRecorder()
	k.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	var set struct{ Keys []json.RawMessage }
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	return len(set.Keys)
}
