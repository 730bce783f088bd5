// Command profiled is the Profiled user-profile service: one binary that
// serves the API, issues management tokens and builds custom-database
// scripts. main only turns flags and environment into configuration, wires
// the parts and returns errors.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `profiled — an open-source user-profile service

Usage:
  profiled serve [--addr ADDR] [--db URL]       run the server
  profiled token create --scope "SCOPES" [--db URL] [--ttl 24h] [--subject NAME]
                                                print a management token
  profiled script init DIR [--template mysql]   write a script folder (go.mod, SDK, main.go, tests)
  profiled script build SRC -o OUT.wasm [-v]    compile a Go custom-database script
  profiled script test DIR --db URL [--wasm F]  run DIR/script_test.json against a fresh database
  profiled script try MODULE.wasm --db URL [--action login] [--email E] [--password P]
        [--new-email E] [--new-password P] [--id ID] [--config FILE.json] [--timeout 5s]
                                                run one action of a module offline
  profiled users import FILE --connection NAME [--upsert] [--db URL]
                                                import users (JSON array or NDJSON)
  profiled users export [--connection NAME] --format ndjson|csv [--fields a,b] -o OUT [--db URL]
                                                export users to a file
  profiled keys rotate [--grace 24h] [--alg RS256|ES256|EdDSA] [--db URL]
                                                add a signing key; the previous ones retire after --grace
  profiled schema print                         print the GraphQL schema (SDL)
  profiled help                                 show this help

Environment: PROFILED_ADDR, PROFILED_DB, PROFILED_LOG_LEVEL (debug, info, warn, error),
PROFILED_SCRIPT_CACHE (compiled-module cache directory), PROFILED_CUSTOM_DB_SQLITE_DIR,
PROFILED_BCRYPT_COST, PROFILED_SECRET_KEY or PROFILED_SECRET_KEY_FILE (the key-encryption key sealing the store's
secrets; default for SQLite: STORE.secret-key, generated on first start),
PROFILED_PREVIOUS_SECRET_KEY[_FILE] (a key-encryption key being rotated out),
PROFILED_CORS_ORIGINS, PROFILED_CORS_CREDENTIALS, PROFILED_INTROSPECTION (serve --help describes them),
PROFILED_SIGNING_ALG (RS256, ES256 or EdDSA: the algorithm of a store's first signing key).
Store URLs: sqlite:PATH (default sqlite:profiled.db) or mysql://USER[:PASS]@HOST:PORT/DBNAME.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "profiled:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "token":
		if len(args) < 2 || args[1] != "create" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return tokenCreate(ctx, args[2:], stdout, stderr)
	case "script":
		if len(args) >= 2 {
			switch args[1] {
			case "build":
				return scriptBuild(ctx, args[2:], stdout, stderr)
			case "init":
				return scriptInit(args[2:], stdout, stderr)
			case "test":
				return scriptTest(ctx, args[2:], stdout, stderr)
			case "try":
				return scriptTry(ctx, args[2:], stdout, stderr)
			}
		}
		fmt.Fprint(stderr, usage)
		return errUsage
	case "users":
		return usersCmd(ctx, args[1:], stdout, stderr)
	case "keys":
		return keysCmd(ctx, args[1:], stdout, stderr)
	case "schema":
		if len(args) != 2 || args[1] != "print" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return schemaPrint(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
