// Package archtest holds the repository's import rules, written once as a
// test that fails when they are broken. The rules are the architecture: a
// newcomer reads them here, and a change that breaks one has to change
// this file too, in review.
package archtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/profiled/profiled"

// A rule says what one package (or, ending in "/...", a tree of them) may
// import. Paths are relative to the module ("" is the module's root
// package). Anything not allowed is refused: a package may import the
// standard library except deny, the module's packages in may, and the
// third-party modules (path prefixes) in ext. never lists packages the
// package must not depend on even indirectly.
type rule struct {
	may   []string
	ext   []string
	deny  []string // standard-library packages it must not import
	never []string // module-relative or standard paths, checked on every dependency
	any   bool     // programs and tests: no restriction
}

// Third-party modules, named once.
const (
	wazero   = "github.com/tetratelabs/wazero"
	mysql    = "github.com/go-sql-driver/mysql"
	sqlx     = "github.com/jmoiron/sqlx"
	sqlite   = "modernc.org/sqlite"
	xcrypto  = "golang.org/x/crypto"
	gqlgen   = "github.com/99designs/gqlgen"
	gqlparse = "github.com/vektah/gqlparser/v2"
)

// What no package that ends up in the server may import (the programs and
// the test helpers are exempt).
var productionDeny = []string{"testing"}

var rules = map[string]rule{
	// The public packages: what other people's code imports. abi is the
	// contract between the sandbox and a script, so both sides can import
	// it: the standard library only. sdk is what a script imports; it runs
	// inside WebAssembly, so no network or files either.
	"":    {},
	"abi": {deny: []string{"os", "net", "net/http", "unsafe"}},
	"sdk": {may: []string{"abi"}, deny: []string{"os", "net", "net/http"}},
	// templates are scripts: the SDK and nothing else of ours.
	"templates/...": {may: []string{"sdk", "abi"}},
	"client":        {ext: []string{"github.com/Khan/genqlient"}},

	// The domain: the profile, the update policy's decisions, the caller.
	// Standard library only, no I/O.
	"internal/policy": {deny: []string{"os", "net", "net/http", "database/sql", "log/slog"}},
	// The search query language (parse, check); the store compiles it. Its
	// root fields come from the profile's table of fields (policy).
	"internal/search": {may: []string{"internal/policy"}, deny: []string{"os", "net", "net/http", "database/sql"}},
	// The store's shared vocabulary (errors, signing keys), so auth needs no
	// service.
	"internal/store":     {deny: []string{"os", "net", "net/http", "database/sql"}},
	"internal/passwords": {ext: []string{xcrypto}},
	// The one parser of database URLs (the store's, a custom database's).
	"internal/dburl":    {deny: []string{"os", "net/http", "database/sql"}},
	"internal/importer": {may: []string{"internal/policy", "internal/passwords"}},

	// The use cases. They speak to the store, the scripts and the clock
	// through interfaces they declare (service/ports*.go), never to a
	// database, the sandbox or HTTP.
	"internal/service": {
		may:   []string{"internal/policy", "internal/search", "internal/importer", "internal/store", "internal/dburl"},
		ext:   []string{"golang.org/x/text"}, // unicode/norm: the lockout's key (attemptFold)
		deny:  []string{"net/http", "database/sql"},
		never: []string{"internal/db", "internal/sandbox", "internal/graph", "net/http", "database/sql"},
	},
	// Tokens and the HTTP middleware that checks them. Not the use cases:
	// graph and server hand it what it needs.
	"internal/auth": {
		may:   []string{"internal/policy", "internal/store"},
		ext:   []string{"github.com/golang-jwt/jwt/v5"},
		never: []string{"internal/service", "internal/db"},
	},

	// The adapters: each implements one of the service's ports.
	"internal/db": {
		may:   []string{"internal/policy", "internal/search", "internal/service", "internal/store", "internal/dburl"},
		ext:   []string{mysql, sqlx, sqlite, "github.com/pressly/goose/v3"},
		never: []string{"internal/graph", "internal/auth", "internal/sandbox"},
	},
	// The WebAssembly sandbox knows the ABI, not the domain: it returns what
	// a script said; scripting turns it into the domain's terms.
	"internal/sandbox": {
		may:   []string{"abi", "internal/sandbox/wasmbin", "internal/dburl", "internal/passwords"},
		ext:   []string{wazero, mysql, sqlx, sqlite, xcrypto},
		never: []string{"internal/policy", "internal/service", "internal/db", "internal/graph"},
	},
	"internal/sandbox/wasmbin": {deny: []string{"os", "net"}},
	"internal/scripting": {
		may: []string{"internal/policy", "internal/sandbox", "internal/service"},
	},
	"internal/scriptbuild": {may: []string{"", "abi", "internal/sandbox/wasmbin"}},
	// `profiled script test`: a script's test file run in the sandbox
	// against a fresh database it creates; no service, store or API.
	"internal/scripttest": {
		may:   []string{"abi", "internal/sandbox"},
		ext:   []string{mysql, sqlite},
		never: []string{"internal/service", "internal/db", "internal/graph", "internal/policy"},
	},

	// The GraphQL API: resolvers call the use cases; they never reach a
	// store or the sandbox.
	"internal/graph": {
		may: []string{"internal/auth", "internal/policy", "internal/service",
			"internal/graph/generated", "internal/graph/model"},
		ext:   []string{gqlgen, gqlparse, "github.com/graph-gophers/dataloader/v7"},
		never: []string{"internal/db", "internal/sandbox", "internal/scripting", "database/sql"},
	},
	"internal/graph/generated": {
		may: []string{"internal/graph/model", "internal/policy", "internal/service"},
		ext: []string{gqlgen, gqlparse},
	},
	"internal/graph/model": {
		may: []string{"internal/policy", "internal/service"},
		ext: []string{gqlgen},
	},
	"internal/dashboard":  {},
	"internal/playground": {},
	// The OpenID Provider: zitadel/oidc's op package over the use cases;
	// like the resolvers, it never reaches a store or the sandbox.
	"internal/oidc": {
		may:   []string{"internal/auth", "internal/policy", "internal/service"},
		ext:   []string{"github.com/zitadel/oidc/v3", "github.com/go-jose/go-jose/v4", "golang.org/x/text"},
		never: []string{"internal/db", "internal/sandbox", "internal/scripting", "database/sql"},
	},
	// The HTTP server: routes, the dashboard, metrics; wires graph and auth.
	"internal/server": {
		may: []string{"internal/auth", "internal/dashboard", "internal/graph",
			"internal/playground", "internal/policy", "internal/service"},
		ext:   []string{gqlgen, "github.com/prometheus/client_golang", "github.com/rs/cors"},
		never: []string{"internal/db", "internal/sandbox", "internal/scripting"},
	},

	// Programs wire everything; test helpers and cross-package tests use
	// everything.
	"cmd/...":            {any: true},
	"internal/testenv":   {any: true},
	"internal/testmysql": {any: true},
	"internal/tests/...": {any: true},
	"internal/archtest":  {any: true},
}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
	Error      *struct{ Err string }
}

func listPackages(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-json=ImportPath,Imports,Deps,Standard,Error"}, patterns...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel is p relative to the module ("" for the root), ok false outside it.
func rel(p string) (string, bool) {
	if p == module {
		return "", true
	}
	if r, ok := strings.CutPrefix(p, module+"/"); ok {
		return r, true
	}
	return "", false
}

// ruleFor finds the rule of a module-relative package path.
func ruleFor(r string) (rule, string, bool) {
	if ru, ok := rules[r]; ok {
		return ru, r, true
	}
	for d := r; d != "." && d != ""; d = path.Dir(d) {
		if ru, ok := rules[d+"/..."]; ok {
			return ru, d + "/...", true
		}
	}
	return rule{}, "", false
}

func isStd(p string, std map[string]bool) bool {
	if s, ok := std[p]; ok {
		return s
	}
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// violations checks pkgs against rules and returns one line per broken rule.
func violations(pkgs []pkg) []string {
	std := map[string]bool{}
	for _, p := range pkgs {
		std[p.ImportPath] = p.Standard
	}
	var bad []string
	for _, p := range pkgs {
		r, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		if p.Error != nil {
			bad = append(bad, fmt.Sprintf("%s: %s", p.ImportPath, p.Error.Err))
			continue
		}
		ru, name, ok := ruleFor(r)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s has no import rule: add one to internal/archtest/deps_test.go", p.ImportPath))
			continue
		}
		if ru.any {
			continue
		}
		for _, imp := range p.Imports {
			if why := refused(ru, imp, std); why != "" {
				bad = append(bad, fmt.Sprintf("%s imports %s: %s (rule %q)", p.ImportPath, imp, why, name))
			}
		}
		for _, dep := range p.Deps {
			for _, n := range ru.never {
				if dep == n || dep == module+"/"+n {
					bad = append(bad, fmt.Sprintf("%s depends on %s, which rule %q forbids even indirectly", p.ImportPath, dep, name))
				}
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// refused says why ru does not allow importing imp ("" when it does).
func refused(ru rule, imp string, std map[string]bool) string {
	if r, ok := rel(imp); ok {
		for _, m := range ru.may {
			if m == r {
				return ""
			}
		}
		return "not one of the module's packages it may import"
	}
	if imp == "C" {
		return "cgo is not allowed"
	}
	if isStd(imp, std) {
		for _, d := range append(ru.deny, productionDeny...) {
			if imp == d {
				return "a standard package it must not use"
			}
		}
		return ""
	}
	for _, e := range ru.ext {
		if imp == e || strings.HasPrefix(imp, e+"/") {
			return ""
		}
	}
	return "a third-party package it may not use"
}

// TestImportRules is the check: every package of the module has a rule
// and keeps it.
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t, "./...")
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		if r, ok := rel(p.ImportPath); ok {
			if _, name, ok := ruleFor(r); ok {
				seen[name] = true
			}
		}
	}
	for name := range rules {
		if !seen[name] {
			t.Errorf("rule %q matches no package: remove it or fix its path", name)
		}
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestRulesCatchViolations shows the check is not vacuous: the broken
// imports the rules exist to stop are reported.
func TestRulesCatchViolations(t *testing.T) {
	std := map[string]pkg{}
	for _, p := range []string{"net/http", "database/sql", "fmt", "testing"} {
		std[p] = pkg{ImportPath: p, Standard: true}
	}
	for _, tc := range []struct {
		pkg, imp string
		deps     []string
	}{
		{"internal/auth", module + "/internal/service", nil},
		{"internal/sandbox", module + "/internal/policy", nil},
		{"internal/graph", module + "/internal/db", nil},
		{"internal/policy", "net/http", nil},
		{"internal/policy", module + "/internal/search", nil},
		{"internal/service", "database/sql", nil},
		{"internal/service", "github.com/jmoiron/sqlx", nil},
		{"abi", module + "/internal/policy", nil},
		{"sdk", "github.com/tetratelabs/wazero", nil},
		{"internal/db", "testing", nil},
		{"internal/graph", "fmt", []string{module + "/internal/sandbox"}},
		{"internal/newthing", "fmt", nil},
	} {
		pkgs := []pkg{{ImportPath: module + "/" + tc.pkg, Imports: []string{tc.imp}, Deps: tc.deps}}
		for _, s := range std {
			pkgs = append(pkgs, s)
		}
		if v := violations(pkgs); len(v) == 0 {
			t.Errorf("%s importing %s (deps %v) passes the rules", tc.pkg, tc.imp, tc.deps)
		}
	}
	ok := []pkg{{ImportPath: module + "/internal/service", Imports: []string{module + "/internal/policy", "fmt"}}, std["fmt"]}
	if v := violations(ok); len(v) != 0 {
		t.Errorf("an allowed import is refused: %v", v)
	}
}
