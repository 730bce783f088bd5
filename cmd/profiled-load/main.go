// Command profiled-load drives traffic against a Profiled server on
// loopback for a fixed duration at a fixed concurrency and reports
// throughput, latency percentiles, errors and the server's peak resident
// memory.
//
// It either starts the server itself (a `profiled` binary it builds, or
// -bin, on the store -db) or drives one already running (-url, with -token
// and optionally -pid for memory).
//
// What it drives is a case (-case, several comma-separated run one after
// the other on the same server; the table is in cases.go):
//
//   - mixed (default): read / update / login traffic on -users users it
//     creates one by one (-mix weights); RELIABILITY.md has its figures.
//   - search: users(query: "app_metadata.plan:pro", first: 20) with
//     totalCount and pageInfo, where a quarter of the users match.
//   - list: users(first: 100) with the fields a list page shows.
//   - login: the login mutation on a DATABASE connection, bcrypt cost -cost.
//   - import: -users users imported through the importUsers API (NDJSON,
//     uploads of at most 30 MiB), users/s.
//   - get: plain GETs of -raw-get URL with -header headers (any HTTP
//     server, e.g. Ory Kratos's admin API; see scripts/kratos-compare.sh).
//
// search, list and login need a store seeded with -users users (25 % with
// app_metadata.plan "pro"), seeded through the import API in the
// connection "load-c<cost>". Without -db the store is a SQLite file cached
// under -cache (default $TMPDIR/profiled-load-cache) keyed by size and
// cost, so a second run starts at once; on MariaDB name a database, it is
// seeded on first use and kept.
//
// Every case prints one Markdown table row: p50/p95/p99, req/s (users/s
// for import), errors and peak RSS.
//
//	go run ./cmd/profiled-load -db sqlite:/tmp/load.db -c 8 -d 60s
//	go run ./cmd/profiled-load -case search,list -users 100000 -c 16 -d 20s
//	go run ./cmd/profiled-load -case login -cost 4 -users 100000 -c 16 -d 20s
//	go run ./cmd/profiled-load -case import -users 1000000 -db mysql://root@127.0.0.1:3306/load_import
//	go run ./cmd/profiled-load -url http://127.0.0.1:8080 -token "$TOKEN" -pid 1234 -c 8 -d 10m -sample 30s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

type config struct {
	url, token, bin, db string
	pid                 int
	clients             int
	duration, sample    time.Duration
	users               int
	mix                 string
	jsonOut             bool

	cases    string // comma-separated case names
	cost     int    // bcrypt cost of the seeded users' hashes (and of the started server)
	cacheDir string // where seeded SQLite stores are kept
	rawGet   string // the get case's URL
	headers  headerFlags
	seedOnly bool   // seed the store, print it and stop
	kratos   string // seed this Kratos admin API instead, and stop
}

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	var c config
	flag.StringVar(&c.url, "url", "", "base URL of a running server (default: start one)")
	flag.StringVar(&c.token, "token", "", "management token for -url (all user scopes)")
	flag.IntVar(&c.pid, "pid", 0, "PID of the -url server (or of the -raw-get server), to read its memory from /proc")
	flag.StringVar(&c.bin, "bin", "", "profiled binary to start (default: go build ./cmd/profiled)")
	flag.StringVar(&c.db, "db", "", "store of the started server (default: mixed and import a fresh SQLite file; search, list and login a seeded SQLite file under -cache)")
	flag.IntVar(&c.clients, "c", 8, "concurrent clients")
	flag.DurationVar(&c.duration, "d", 60*time.Second, "how long to drive traffic (per case)")
	flag.DurationVar(&c.sample, "sample", 0, "print the server's RSS at this interval (soak runs)")
	flag.IntVar(&c.users, "users", 200, "users: created one by one (mixed), seeded (search, list, login) or imported (import)")
	flag.StringVar(&c.mix, "mix", "read=70,update=20,login=10", "operation weights of the mixed case")
	flag.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	flag.StringVar(&c.cases, "case", "mixed", "what to drive, comma-separated: "+strings.Join(caseNames(), ", "))
	flag.IntVar(&c.cost, "cost", 0, "bcrypt cost of the seeded users' password hashes and of the started server, 4..14 (default 4; a run of the mixed case alone leaves the server at its default, 10)")
	flag.StringVar(&c.cacheDir, "cache", filepath.Join(os.TempDir(), "profiled-load-cache"), "directory of the seeded SQLite stores (keyed by -users and -cost)")
	flag.StringVar(&c.rawGet, "raw-get", "", "URL the get case requests")
	flag.Var(&c.headers, "header", `"Name: value" header of the get case's requests (repeatable)`)
	flag.BoolVar(&c.seedOnly, "seed-only", false, "seed the store with -users users, print its URL and stop")
	flag.StringVar(&c.kratos, "seed-kratos", "", "admin URL of an Ory Kratos to seed with -users identities like the seeded users (scripts/kratos-compare.sh), then stop")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "profiled-load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.kratos != "" {
		return seedKratos(ctx, c.kratos, c.users, max(c.cost, 4))
	}
	todo, err := parseCases(c.cases)
	if err != nil {
		return err
	}
	if c.cost == 0 && !(len(todo) == 1 && todo[0].name == "mixed") {
		c.cost = 4
	}
	if c.cost != 0 && (c.cost < 4 || c.cost > 14) {
		return fmt.Errorf("-cost %d: bcrypt costs run from 4 to 14", c.cost)
	}
	needSeed := c.seedOnly
	needServer := c.seedOnly
	imports := false
	for _, lc := range todo {
		needSeed = needSeed || lc.seeded
		needServer = needServer || !lc.external
		imports = imports || lc.name == "import"
		if lc.name == "mixed" {
			if _, err := parseMix(c.mix); err != nil {
				return err
			}
		}
	}
	if imports && needSeed && c.db == "" && c.url == "" {
		return errors.New("-case import writes -users users into the store: run it on its own, not with the seeded cases on the cached store")
	}
	if c.url == "" && needServer {
		if c.db == "" && needSeed {
			if err := os.MkdirAll(c.cacheDir, 0o755); err != nil {
				return err
			}
			c.db = "sqlite:" + filepath.Join(c.cacheDir, fmt.Sprintf("seed-%d-c%d.db", c.users, c.cost))
		}
		srv, err := startServer(ctx, &c)
		if err != nil {
			return err
		}
		defer srv.stop()
	} else if c.url != "" && c.token == "" && needServer {
		return errors.New("-url needs -token")
	}
	e := &caseEnv{cfg: c, mem: &memWatch{pid: c.pid}}
	e.cl = &client{base: strings.TrimRight(c.url, "/"), token: c.token, http: &http.Client{
		Timeout:   10 * time.Minute, // an import upload; each case bounds its requests itself
		Transport: &http.Transport{MaxIdleConnsPerHost: c.clients + 8},
	}}
	if needSeed {
		if e.seed, err = ensureSeeded(ctx, e.cl, c.users, c.cost); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	if c.seedOnly {
		fmt.Fprintf(out, "%s\n", c.db)
		return nil
	}
	var rows []caseResult
	for _, lc := range todo {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if lc.external && c.rawGet == "" {
			return fmt.Errorf("-case %s needs -raw-get URL", lc.name)
		}
		e.mem.resetPeak()
		r, err := lc.run(ctx, e, out)
		if err != nil {
			return fmt.Errorf("case %s: %w", lc.name, err)
		}
		if r == nil { // the mixed case printed its own report
			continue
		}
		r.Case, r.Store, r.Users, r.Clients = lc.name, storeKind(c), c.users, c.clients
		r.PeakRSSMiB = e.mem.peakMiB()
		rows = append(rows, *r)
	}
	if len(rows) > 0 {
		printRows(out, rows, c.jsonOut)
	}
	return nil
}

func parseCases(s string) ([]loadCase, error) {
	var todo []loadCase
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(cases, func(lc loadCase) bool { return lc.name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown -case %q (known: %s)", name, strings.Join(caseNames(), ", "))
		}
		todo = append(todo, cases[i])
	}
	return todo, nil
}

func caseNames() []string {
	var n []string
	for _, lc := range cases {
		n = append(n, lc.name)
	}
	return n
}

func storeKind(c config) string {
	switch {
	case c.db != "":
		return strings.SplitN(c.db, ":", 2)[0]
	default:
		return "external"
	}
}
