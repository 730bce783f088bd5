package service_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// wrongScripts is a custom database whose login script knows nobody.
type wrongScripts struct{ seen []string }

func (w *wrongScripts) Inspect(context.Context, []byte) ([]policy.Action, error) {
	return []policy.Action{policy.ActionLogin, policy.ActionGetUser}, nil
}

func (w *wrongScripts) Run(_ context.Context, _ service.Connection, call service.ScriptCall) (service.ScriptResult, error) {
	w.seen = append(w.seen, call.Username)
	return service.ScriptResult{}, service.ErrScriptWrongCredentials
}

// A custom database's usernames reach the legacy system as typed, and
// MySQL/MariaDB's usual collations (utf8mb4_general_ci, _unicode_ci) match
// "ann" to "ann ", "ANN", "ánn" or "Ａnn": every such spelling is one
// account there, so failed attempts count under one key here. Otherwise a
// guesser gets ten attempts per spelling of the same account.
func TestLoginByUsernameLockoutFoldsLegacySpellings(t *testing.T) {
	ctx := service.WithClient(context.Background(), service.Client{IP: "192.0.2.1"})
	dir := t.TempDir()
	store, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "p.db"))
	testenv.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	hasher, err := passwords.New(passwords.Config{BcryptCost: 4})
	testenv.NoError(t, err)
	scripts := &wrongScripts{}
	cfg := service.Config{}
	cfg.CustomDB.SQLiteDir = dir
	svc := service.New(store, hasher, nil, scripts, cfg)
	yes, url := true, "sqlite:"+filepath.Join(dir, "legacy.db")
	if _, err := svc.CreateConnection(ctx, service.Operator(), service.ConnectionSpec{Name: "wp", Strategy: policy.StrategyCustomDatabase, DatabaseURL: &url, RequiresUsername: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetConnectionScript(ctx, service.Operator(), "wp", strings.NewReader("\x00asm\x01\x00\x00\x00")); err != nil {
		t.Fatal(err)
	}
	spellings := []string{"ann", "ann ", " ann", "ANN", "ánn", "Ánn", "ãnn", "a\u0301nn", "\uff41nn", "ann  "}
	for i, u := range spellings {
		_, err := svc.LoginWith(ctx, service.LoginRequest{Connection: "wp", Username: u, Password: "guess"})
		if !errors.Is(err, service.ErrInvalidCredentials) {
			t.Fatalf("attempt %d (%q): %v, want wrong credentials", i+1, u, err)
		}
	}
	_, err = svc.LoginWith(ctx, service.LoginRequest{Connection: "wp", Username: "ann", Password: "guess"})
	if !errors.Is(err, service.ErrTooManyAttempts) {
		t.Fatalf("after ten failures in ten spellings of one legacy username: %v, want TOO_MANY_ATTEMPTS", err)
	}
	if got := scripts.seen[1]; got != "ann " {
		t.Fatalf("the script got %q, want the username as typed", got)
	}
}
