package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/profiled/profiled/internal/auth"
)

// signingAlgFlag defines the flag name on fs: the algorithm of a signing
// key the command generates (RS256, ES256 or EdDSA), defaulting to
// PROFILED_SIGNING_ALG, else RS256. Once fs is parsed, get checks it.
func signingAlgFlag(fs *flag.FlagSet, name, usage string) (get func() (auth.Algorithm, error)) {
	p := fs.String(name, env("PROFILED_SIGNING_ALG", string(auth.DefaultAlgorithm)), usage)
	return func() (auth.Algorithm, error) {
		a, err := auth.ParseAlgorithm(*p)
		if err != nil {
			return "", fmt.Errorf("--%s / PROFILED_SIGNING_ALG: %w", name, err)
		}
		return a, nil
	}
}

// algSet reports whether the signing algorithm was chosen (the flag
// --signing-alg given or PROFILED_SIGNING_ALG set), not defaulted.
func algSet(fs *flag.FlagSet) bool {
	set := os.Getenv("PROFILED_SIGNING_ALG") != ""
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "signing-alg" })
	return set
}

// firstKeyUsage is the usage of --signing-alg on the commands that create
// the store's first key when it has none.
const firstKeyUsage = "algorithm of the signing key created when the store has none: RS256, ES256 or EdDSA (existing keys keep theirs; `profiled keys rotate --alg` changes it)"

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
	algFlag := signingAlgFlag(fs, "alg", "algorithm of the new key: RS256 (any relying party verifies it), ES256 or EdDSA (much cheaper to sign)")
	keys := addSecretKeyFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if *grace < 0 {
		return fmt.Errorf("--grace must not be negative")
	}
	alg, err := algFlag()
	if err != nil {
		return err
	}
	store, _, err := openStore(ctx, *dbURL, keys, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer store.Close()
	// The store must hold a key to rotate from (a new store gets one).
	if _, err := auth.New(ctx, store, auth.Config{Algorithm: alg}); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	now := time.Now().UTC()
	kid, err := auth.Rotate(ctx, store, now, *grace, alg)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "new signing key %s (%s); previous keys retire at %s\n", kid, alg, now.Add(*grace).Format(time.RFC3339))
	return err
}
