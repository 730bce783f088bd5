package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// loadCase is one thing the harness drives. Add a case here: the flag
// help, the dispatch and the report follow from this table.
type loadCase struct {
	name string
	// seeded: the case needs a store of -users users seeded by
	// ensureSeeded (connection seedConnName(-cost), 25 % plan "pro").
	seeded bool
	// external: the case talks to -raw-get only, no Profiled server.
	external bool
	// run drives the case and returns its row; nil when the case printed
	// its own report (mixed).
	run func(ctx context.Context, e *caseEnv, out io.Writer) (*caseResult, error)
}

var cases = []loadCase{
	{name: "mixed", run: runMixed},
	{name: "search", seeded: true, run: runSearch},
	{name: "list", seeded: true, run: runList},
	{name: "login", seeded: true, run: runLogin},
	{name: "import", run: runImport},
	{name: "get", external: true, run: runGet},
}

// caseEnv is what a case runs with.
type caseEnv struct {
	cfg  config
	cl   *client
	mem  *memWatch
	seed *seedInfo // set when a case of the run is seeded
}

// caseResult is one line of the report.
type caseResult struct {
	Case       string         `json:"case"`
	Store      string         `json:"store"`
	Users      int            `json:"users"`
	Clients    int            `json:"clients"`
	Seconds    float64        `json:"seconds"`
	Requests   int            `json:"requests"`
	PerSecond  float64        `json:"per_second"`
	Unit       string         `json:"unit"` // "req/s", or "users/s" for import
	Errors     int            `json:"errors"`
	Codes      map[string]int `json:"error_codes,omitempty"`
	P50ms      float64        `json:"p50_ms"`
	P95ms      float64        `json:"p95_ms"`
	P99ms      float64        `json:"p99_ms"`
	PeakRSSMiB float64        `json:"peak_rss_mib"`
	Note       string         `json:"note,omitempty"`
}

// requestTimeout bounds one request of a timed case.
const requestTimeout = 30 * time.Second

// hammer calls fn from -c clients in a closed loop for -d and sums up the
// latencies and errors. Requests cut off by the end of the run do not
// count. The server's memory is sampled every 200 ms.
func hammer(ctx context.Context, e *caseEnv, fn func(ctx context.Context, rng *mrand.Rand) error) *caseResult {
	c := e.cfg
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	per := make([][]sample, c.clients)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for ctx.Err() == nil {
				rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
				t0 := time.Now()
				err := fn(rctx, rng)
				d := time.Since(t0)
				rcancel()
				if ctx.Err() != nil && err != nil {
					break // cut off by the end of the run, not a server error
				}
				s := sample{d: d}
				if err != nil {
					s.err = err.Error()
				}
				per[w] = append(per[w], s)
			}
		}()
	}
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m := e.mem.sample()
				if c.sample > 0 && time.Since(last) >= c.sample {
					last = time.Now()
					fmt.Fprintf(os.Stderr, "t=%-6s rss=%s hwm=%s\n", time.Since(start).Round(time.Second), mib(m.rss), mib(m.hwm))
				}
			}
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	r := &caseResult{Unit: "req/s", Codes: map[string]int{}, Seconds: math.Round(elapsed.Seconds()*10) / 10}
	var ds []time.Duration
	for _, p := range per {
		for _, s := range p {
			ds = append(ds, s.d)
			if s.err != "" {
				r.Errors++
				r.Codes[s.err]++
			}
		}
	}
	slices.Sort(ds)
	r.Requests = len(ds)
	r.PerSecond = math.Round(float64(len(ds))/elapsed.Seconds()*10) / 10
	r.P50ms, r.P95ms, r.P99ms = percentile(ds, 50), percentile(ds, 95), percentile(ds, 99)
	if len(r.Codes) == 0 {
		r.Codes = nil
	}
	return r
}

// SearchQuery is the search case's operation: a first page of a query
// that matches a quarter of the seeded users, with its count.
const SearchQuery = `query($q: String!) { users(query: $q, first: 20) { totalCount pageInfo { hasNextPage endCursor } edges { node { id email } } } }`

// SearchTerm matches the seeded users whose app_metadata.plan is "pro".
const SearchTerm = "app_metadata.plan:pro"

// ListQuery is the list case's operation: a page of 100 users with the
// fields a list page shows (the dashboard's columns, the metadata a
// detail link previews), without totalCount: Kratos's
// GET /admin/identities?per_page=100, which scripts/kratos-compare.sh sets
// it against, pages by key set (its Link header) and counts nothing.
const ListQuery = `query { users(first: 100) { pageInfo { hasNextPage endCursor } edges { cursor node { id email emailVerified name nickname picture connection blocked createdAt updatedAt lastLogin loginsCount userMetadata appMetadata } } } }`

// LoginMutation is the login case's operation.
const LoginMutation = `mutation($c: String!, $e: String!, $p: String!) { login(connection: $c, email: $e, password: $p) { accessToken expiresIn } }`

type page struct {
	Users struct {
		TotalCount *int
		PageInfo   struct {
			HasNextPage bool
			EndCursor   *string
		}
		Edges []struct{ Node struct{ ID, Email string } }
	}
}

func runSearch(ctx context.Context, e *caseEnv, _ io.Writer) (*caseResult, error) {
	vars := map[string]any{"q": SearchTerm}
	// One checked request first: the seed is there and a quarter matches.
	var p page
	if err := e.cl.do(ctx, e.cl.token, SearchQuery, vars, &p); err != nil {
		return nil, detail(err)
	}
	if p.Users.TotalCount == nil || *p.Users.TotalCount < e.seed.n/4 || len(p.Users.Edges) != min(20, e.seed.n/4) {
		return nil, fmt.Errorf("%s: totalCount %v and %d edges, want at least %d and %d", SearchTerm, p.Users.TotalCount, len(p.Users.Edges), e.seed.n/4, min(20, e.seed.n/4))
	}
	r := hammer(ctx, e, func(ctx context.Context, _ *mrand.Rand) error {
		return e.cl.do(ctx, e.cl.token, SearchQuery, vars, nil)
	})
	r.Note = fmt.Sprintf("%s: %d matches", SearchTerm, *p.Users.TotalCount)
	return r, nil
}

func runList(ctx context.Context, e *caseEnv, _ io.Writer) (*caseResult, error) {
	var p page
	if err := e.cl.do(ctx, e.cl.token, ListQuery, nil, &p); err != nil {
		return nil, detail(err)
	}
	if len(p.Users.Edges) != min(100, e.seed.n) {
		return nil, fmt.Errorf("users(first: 100): %d edges", len(p.Users.Edges))
	}
	return hammer(ctx, e, func(ctx context.Context, _ *mrand.Rand) error {
		return e.cl.do(ctx, e.cl.token, ListQuery, nil, nil)
	}), nil
}

func runLogin(ctx context.Context, e *caseEnv, _ io.Writer) (*caseResult, error) {
	login := func(ctx context.Context, i int) error {
		return e.cl.do(ctx, "", LoginMutation, map[string]any{"c": e.seed.conn, "e": seedEmail(i, seedDomain), "p": seedPassword}, nil)
	}
	if err := login(ctx, 0); err != nil {
		return nil, fmt.Errorf("login of a seeded user: %w", detail(err))
	}
	r := hammer(ctx, e, func(ctx context.Context, rng *mrand.Rand) error {
		return login(ctx, rng.IntN(e.seed.n))
	})
	r.Note = fmt.Sprintf("DATABASE connection, bcrypt cost %d", e.cfg.cost)
	return r, nil
}

// runGet requests -raw-get with the -header headers: the same closed loop
// against any HTTP server (a 200 with a body read to the end is a success).
func runGet(ctx context.Context, e *caseEnv, _ io.Writer) (*caseResult, error) {
	hdr := http.Header{}
	for _, h := range e.cfg.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("-header %q: want \"Name: value\"", h)
		}
		hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	get := func(ctx context.Context) (int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.cfg.rawGet, nil)
		if err != nil {
			return 0, err
		}
		req.Header = hdr.Clone()
		res, err := e.cl.http.Do(req)
		if err != nil {
			return 0, errors.New("transport")
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if err != nil {
			return n, errors.New("transport")
		}
		if res.StatusCode != http.StatusOK {
			return n, fmt.Errorf("HTTP %d", res.StatusCode)
		}
		return n, nil
	}
	n, err := get(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", e.cfg.rawGet, err)
	}
	r := hammer(ctx, e, func(ctx context.Context, _ *mrand.Rand) error {
		_, err := get(ctx)
		return err
	})
	r.Note = fmt.Sprintf("GET %s (%d bytes)", e.cfg.rawGet, n)
	return r, nil
}

// printRows prints the cases' rows as one Markdown table (or JSON).
func printRows(w io.Writer, rows []caseResult, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rows)
		return
	}
	fmt.Fprintln(w, "| case | store | users | clients | s | requests | rate | errors | p50 ms | p95 ms | p99 ms | peak RSS MiB | note |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		errs := fmt.Sprint(r.Errors)
		if len(r.Codes) > 0 {
			b, _ := json.Marshal(r.Codes)
			errs += " " + string(b)
		}
		lat := func(v float64) string {
			if r.Unit != "req/s" {
				return "–"
			}
			return fmt.Sprintf("%.2f", v)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %.1f | %d | %.1f %s | %s | %s | %s | %s | %.1f | %s |\n",
			r.Case, r.Store, r.Users, r.Clients, r.Seconds, r.Requests, r.PerSecond, r.Unit, errs,
			lat(r.P50ms), lat(r.P95ms), lat(r.P99ms), r.PeakRSSMiB, r.Note)
	}
}
