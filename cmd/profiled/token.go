package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/policy"
)

var managementScopes = []policy.Scope{
	policy.ScopeReadUsers, policy.ScopeCreateUsers, policy.ScopeUpdateUsers, policy.ScopeUpdateUsersAppMetadata,
	policy.ScopeDeleteUsers, policy.ScopeReadConnections, policy.ScopeCreateConnections, policy.ScopeUpdateConnections,
}

// tokenCreate prints a management token on stdout and nothing else there.
func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scope := fs.String("scope", "", `space-separated scopes, e.g. "read:users update:users" (required)`)
	dbURL := fs.String("db", env("PROFILED_DB", defaultDB), "the service's store")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	subject := fs.String("subject", "admin", "the token's subject")
	algFlag := signingAlgFlag(fs, "signing-alg", firstKeyUsage)
	keys := addSecretKeyFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	alg, err := algFlag()
	if err != nil {
		return err
	}
	scopes, err := parseScopes(*scope)
	if err != nil {
		return err
	}
	if *ttl <= 0 {
		return fmt.Errorf("--ttl must be positive")
	}
	if strings.HasPrefix(*subject, "user:") {
		// Reserved for the tokens login gives admin connections' users,
		// which every request checks against that user's rights.
		return fmt.Errorf(`--subject: "user:" is reserved for admin users' tokens; choose another subject`)
	}
	store, _, err := openStore(ctx, *dbURL, keys, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer store.Close()
	k, err := auth.New(ctx, store, auth.Config{Algorithm: alg})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	tok, err := k.IssueManagement(scopes, *subject, *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

func parseScopes(s string) ([]policy.Scope, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, fmt.Errorf(`--scope is required, e.g. --scope "read:users update:users"`)
	}
	known := map[policy.Scope]bool{}
	for _, k := range managementScopes {
		known[k] = true
	}
	out := make([]policy.Scope, 0, len(fields))
	for _, f := range fields {
		if !known[policy.Scope(f)] {
			return nil, fmt.Errorf("unknown management scope %q (known: %s)", f, joinScopes(managementScopes))
		}
		out = append(out, policy.Scope(f))
	}
	return out, nil
}

func joinScopes(s []policy.Scope) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, " ")
}
