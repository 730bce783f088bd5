package db

// BenchmarkSearchLowSelectivity: p50/p95 latency of a first page (21 rows:
// first 20 and one to know there is a next page) of app_metadata.plan:pro,
// which a quarter of the PROFILED_SEARCH_BENCH_N users match (default
// 10,000; the kept database of BenchmarkSearchLatency), with and without
// the count (from the term counts), against baselines in the same run: the
// count as before the term counts (the term's index range), the same
// search compiled as every search was before the term-index plan (one condition on users:
// an IN subquery on the index, every match read and sorted, the count
// reading users), and a selective metadata search (one match) with its
// count. It also measures a page from a random position (a cursor deep in
// the matches), and the first page of email_verified:false (a third of
// the users) with its count from the term counts against the count
// reading users (PROFILED_SEARCH_BENCH_GENERIC_RUNS runs). With -v it logs the plans (EXPLAIN / EXPLAIN QUERY PLAN).
// PROFILED_SEARCH_BENCH_GENERIC_RUNS sets the generic plan's runs (default
// 50, 10 from 500k users; 0 leaves its cases out).
//
//	PROFILED_SEARCH_BENCH_N=1000000 go test ./internal/db/ -run '^$' -bench SearchLowSelectivity -benchtime 200x -v

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/search"
	"github.com/profiled/profiled/internal/service"
)

const lowSelQuery = "app_metadata.plan:pro"

func BenchmarkSearchLowSelectivity(b *testing.B) {
	n := searchBenchN(b)
	for _, dialect := range []string{DialectSQLite, DialectMySQL} {
		b.Run(dialect, func(b *testing.B) {
			d := openSearchBenchStore(b, dialect, n)
			matches := 0
			for i := range n {
				if benchPlans[(i/2)%4] == "pro" {
					matches++
				}
			}
			// pro is plans[1]: users 2..3 of every 8.
			cursorAt := func(r *rand.Rand) string {
				i := 8*r.IntN(max(1, n/8-1)) + 2
				return searchBenchUser(i).ID
			}
			logPlans(b, d, dialect)
			type kase struct {
				name  string
				base  string // the case whose p95 this one's is compared to
				p     func(r *rand.Rand) service.SearchParams
				plan  searchPlan
				total int // the count wanted; 0: no count
				runs  int // at most this many runs (0: b.N)
			}
			first := func(count bool) func(*rand.Rand) service.SearchParams {
				return func(*rand.Rand) service.SearchParams {
					return service.SearchParams{Query: lowSelQuery, Limit: 21, Count: count}
				}
			}
			slow := 50 // the generic plan reads every match: fewer runs
			if n >= 500_000 {
				slow = 10
			}
			if v := os.Getenv("PROFILED_SEARCH_BENCH_GENERIC_RUNS"); v != "" {
				if slow, _ = strconv.Atoi(v); slow < 0 {
					b.Fatalf("bad PROFILED_SEARCH_BENCH_GENERIC_RUNS %q", v)
				}
			}
			unverified := 0 // email_verified is false for every third user
			for i := range n {
				if i%3 == 0 {
					unverified++
				}
			}
			byName := map[string][]time.Duration{}
			unverifiedFirst := func(r *rand.Rand) service.SearchParams {
				return service.SearchParams{Query: "email_verified:false", Limit: 21, Count: true}
			}
			for _, k := range []kase{
				{name: "selective-count", p: func(r *rand.Rand) service.SearchParams {
					return service.SearchParams{Query: fmt.Sprintf("user_metadata.n:%d", r.IntN(n)), Limit: 21, Count: true}
				}, plan: searchPlan{from: "users"}, total: 1},
				// The count as before the term counts: the term's index range.
				{name: "first-page-count-index", p: first(true), plan: searchPlan{from: "users", countIndex: true}, total: matches},
				{name: "first-page-count", base: "first-page-count-index", p: first(true), plan: searchPlan{from: "users"}, total: matches},
				{name: "first-page", base: "first-page-count-index", p: first(false), plan: searchPlan{from: "users"}},
				{name: "random-page-count", base: "first-page-count-index", p: func(r *rand.Rand) service.SearchParams {
					s := cursorSort()
					return service.SearchParams{Query: lowSelQuery, Limit: 21, Count: true, After: s.Cursor(nil, cursorAt(r))}
				}, plan: searchPlan{from: "users"}, total: matches},
				// "All unverified" (a third of the users): counted before by
				// reading every users row.
				{name: "unverified-count-scan", p: unverifiedFirst, plan: searchPlan{from: "users", countIndex: true}, total: unverified, runs: 20},
				{name: "unverified-count", base: "unverified-count-scan", p: unverifiedFirst, plan: searchPlan{from: "users"}, total: unverified},
				{name: "generic-first-page-count", base: "first-page-count-index", p: first(true), plan: searchPlan{from: "users", generic: true}, total: matches, runs: slow},
				{name: "generic-first-page", base: "first-page-count-index", p: first(false), plan: searchPlan{from: "users", generic: true}, runs: slow},
			} {
				if k.plan.generic && slow == 0 {
					continue
				}
				b.Run(k.name, func(b *testing.B) {
					r := rand.New(rand.NewPCG(3, 4))
					var ds []time.Duration
					for b.Loop() {
						if k.runs > 0 && len(ds) >= k.runs {
							continue
						}
						p := k.p(r)
						s, err := buildSearch(dialect, p, k.plan)
						if err != nil {
							b.Fatal(err)
						}
						start := time.Now()
						hits, total, err := d.runSearch(ctx, s)
						ds = append(ds, time.Since(start))
						if err != nil || len(hits) == 0 || total != k.total {
							b.Fatalf("%s: %d hits, total %d (want %d), %v", s.page, len(hits), total, k.total, err)
						}
					}
					b.StopTimer()
					p50, p95 := percentiles(ds)
					byName[k.name] = ds
					b.ReportMetric(ms(p50), "p50-ms")
					b.ReportMetric(ms(p95), "p95-ms")
					ratio := ""
					if base := byName[k.base]; base != nil {
						_, b95 := percentiles(base)
						b.ReportMetric(float64(p95)/float64(b95), "p95/"+k.base)
						ratio = fmt.Sprintf("; p95 %.3fx %s's", float64(p95)/float64(b95), k.base)
					}
					b.Logf("N=%d (%d match) %s %s: p50 %v p95 %v (%d runs)%s", n, matches, dialect, k.name,
						p50.Round(10*time.Microsecond), p95.Round(10*time.Microsecond), len(ds), ratio)
				})
			}
		})
	}
}

func cursorSort() search.Sort {
	s, _ := search.ParseSort("")
	return s
}

// logPlans logs the plans of the low-selectivity first page and count,
// with the term-index plan and the generic one.
func logPlans(b *testing.B, d *DB, dialect string) {
	b.Helper()
	explain := "EXPLAIN QUERY PLAN "
	if dialect == DialectMySQL {
		explain = "EXPLAIN "
	}
	for _, plan := range []searchPlan{{from: "users"}, {from: "users", generic: true}} {
		s, err := buildSearch(dialect, service.SearchParams{Query: lowSelQuery, Limit: 21, Count: true}, plan)
		if err != nil {
			b.Fatal(err)
		}
		for _, st := range []struct {
			q    string
			args []any
		}{{s.page, s.pageArgs}, {s.count, s.countArgs}} {
			rows, err := d.r.QueryxContext(ctx, explain+st.q, st.args...)
			if err != nil {
				b.Fatal(err)
			}
			var out []string
			cols, _ := rows.Columns()
			for rows.Next() {
				vals, err := rows.SliceScan()
				if err != nil {
					b.Fatal(err)
				}
				var cells []string
				for i, v := range vals {
					if bs, ok := v.([]byte); ok {
						v = string(bs)
					}
					if v != nil && fmt.Sprint(v) != "" {
						cells = append(cells, cols[i]+"="+fmt.Sprint(v))
					}
				}
				out = append(out, strings.Join(cells, " "))
			}
			rows.Close()
			q := strings.Replace(st.q, userColumns, "…", 1)
			b.Logf("%s generic=%v: %s\n\t%s", dialect, plan.generic, q, strings.Join(out, "\n\t"))
		}
	}
}
