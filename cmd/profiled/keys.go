package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/profiled/profiled/internal/auth"
)

// keysCmd runs `profiled keys rotate`: a new signing key signs from the
// next key reload of every server (within a minute), and the others
// retire after --grace, keeping the JWKS serving them until then.
func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("db", env("PROFILED_DB", defaultDB), "the service's store")
	grace := fs.Duration("grace", auth.DefaultManagementTTL, "how long the previous keys keep verifying (at least the longest token lifetime in use)")
	keys := addSecretKeyFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if *grace < 0 {
		return fmt.Errorf("--grace must not be negative")
	}
	store, _, err := openStore(ctx, *dbURL, keys, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer store.Close()
	// The store must hold a key to rotate from (a new store gets one).
	if _, err := auth.New(ctx, store, auth.Config{}); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	now := time.Now().UTC()
	kid, err := auth.Rotate(ctx, store, now, *grace)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "new signing key %s; previous keys retire at %s\n", kid, now.Add(*grace).Format(time.RFC3339))
	return err
}
