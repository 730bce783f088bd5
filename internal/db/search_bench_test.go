package db

// BenchmarkSearchLatency: p50/p95 latency of SearchUsers (page + count) on
// PROFILED_SEARCH_BENCH_N users (default 10,000) for an indexed root-field
// query, a metadata query and a range query, each against a full-scan
// baseline of the same statements in the same run (MySQL: IGNORE INDEX of
// every secondary index; SQLite: NOT INDEXED). The seeded database is kept
// between runs, keyed by N and the seed's version (MySQL database
// profiled_searchbench_v2_<N>, SQLite file profiled-searchbench-v2-<N>.db in
// the temp directory).
//
//	PROFILED_SEARCH_BENCH_N=100000 go test ./internal/db/ -run '^$' -bench SearchLatency/mysql -benchtime 200x

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

func searchBenchN(b *testing.B) int {
	b.Helper()
	n := 10_000
	if s := os.Getenv("PROFILED_SEARCH_BENCH_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("bad PROFILED_SEARCH_BENCH_N %q", s)
		}
		n = v
	}
	return n
}

// openSearchBenchStore opens the kept database for n users, seeding it when
// it does not hold exactly n.
func openSearchBenchStore(b *testing.B, dialect string, n int) *DB {
	b.Helper()
	var url string
	switch dialect {
	case DialectSQLite:
		url = "sqlite:" + filepath.Join(os.TempDir(), fmt.Sprintf("profiled-searchbench-%s-%d.db", searchBenchVersion, n))
	default:
		cfg, err := mysql.ParseDSN(testmysql.ServerDSN())
		if err != nil {
			b.Fatal(err)
		}
		cfg.DBName = fmt.Sprintf("profiled_searchbench_%s_%d", searchBenchVersion, n)
		url = testmysql.URLOf(cfg.FormatDSN())
	}
	d, err := Open(ctx, url)
	if err != nil {
		if dialect == DialectMySQL {
			b.Skipf("MySQL: %v", err)
		}
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	have, err := d.CountUsers(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if have != n {
		start := time.Now()
		for _, table := range []string{"users", "metadata_terms", termCountsTable} {
			if _, err := d.w.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				b.Fatal(err)
			}
		}
		seedSearchBench(b, d, n)
		b.Logf("seeded %d users in %v", n, time.Since(start).Round(time.Millisecond))
		// The seed writes the tables straight: the counts are those of
		// migration 57.
		start = time.Now()
		tx, err := d.w.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := fillTermCounts(ctx, dialect, tx); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.Logf("counted the terms of %d users in %v", n, time.Since(start).Round(time.Millisecond))
	}
	if dialect == DialectMySQL {
		if _, err := d.w.ExecContext(ctx, "ANALYZE TABLE users, metadata_terms, "+termCountsTable); err != nil {
			b.Fatal(err)
		}
	} else if _, err := d.w.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return d
}

var benchPlans = []string{"free", "pro", "team", "enterprise"}

// searchBenchVersion names the seed in the kept databases' names: change
// it with searchBenchUser or the schema. v2: app_metadata.plan (a quarter
// "pro"); v3: the same users with the term counts (migrations 56, 57), which
// a binary older than them cannot open.
const searchBenchVersion = "v3"

func searchBenchUser(i int) policy.User {
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	return policy.User{
		ID: fmt.Sprintf("auth0|%08d", i), Connection: "db",
		Email:         fmt.Sprintf("user%d@example%d.com", i, i%100),
		EmailVerified: i%3 != 0, Username: fmt.Sprintf("user%d", i),
		Name: fmt.Sprintf("User %d", i), GivenName: "User", FamilyName: strconv.Itoa(i), Nickname: "u",
		LoginsCount: int64(i % 1000), CreatedAt: created, UpdatedAt: created,
		UserMetadata: policy.Metadata{"plan": benchPlans[i%4], "n": strconv.Itoa(i), "prefs": map[string]any{"theme": "dark"}},
		AppMetadata:  policy.Metadata{"tier": i % 10, "plan": benchPlans[(i/2)%4]},
		Identities:   []policy.Identity{{Connection: "db", Provider: "auth0", UserID: strconv.Itoa(i)}},
	}
}

// seedSearchBench inserts n users straight into the tables, as the store
// writes them (userValues, userTerms): multi-row INSERTs of 500 users and
// their term rows, 20,000 users a transaction.
func seedSearchBench(b *testing.B, d *DB, n int) {
	b.Helper()
	const rows, perTx = 500, 20_000
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", 23), ", ") + ")"
	for txStart := 0; txStart < n; txStart += perTx {
		tx, err := d.w.BeginTxx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for start := txStart; start < min(txStart+perTx, n); start += rows {
			end := min(start+rows, n)
			args := make([]any, 0, (end-start)*23)
			var terms []termRow
			for i := start; i < end; i++ {
				u := searchBenchUser(i)
				vals, um, am, err := userValues(u)
				if err != nil {
					b.Fatal(err)
				}
				args = append(append(args, u.ID), vals...)
				terms = userTerms(terms, u.ID, um, am)
			}
			q := "INSERT INTO users (" + userColumns + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", end-start), ", ")
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				b.Fatal(err)
			}
			if _, err := insertTerms(ctx, d.dialect, tx.ExecContext, terms); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSearchLatency(b *testing.B) {
	n := searchBenchN(b)
	for _, dialect := range []string{DialectSQLite, DialectMySQL} {
		b.Run(dialect, func(b *testing.B) {
			d := openSearchBenchStore(b, dialect, n)
			scan := "users NOT INDEXED"
			if dialect == DialectMySQL {
				scan = "users IGNORE INDEX (uq_users_connection_email, uq_users_connection_username, idx_users_email, " +
					"idx_users_created_at, idx_users_updated_at, idx_users_last_login, idx_users_logins_count, idx_users_username)"
			}
			for _, k := range []struct {
				name  string
				query func(r *rand.Rand) service.SearchParams
			}{
				{"root-email", func(r *rand.Rand) service.SearchParams {
					i := r.IntN(n)
					return service.SearchParams{Query: fmt.Sprintf("email:user%d@example%d.com", i, i%100)}
				}},
				{"metadata", func(r *rand.Rand) service.SearchParams {
					return service.SearchParams{Query: fmt.Sprintf("user_metadata.n:%d", r.IntN(n))}
				}},
				{"metadata-range", func(r *rand.Rand) service.SearchParams {
					lo := r.IntN(n - 5)
					return service.SearchParams{Query: fmt.Sprintf("user_metadata.n:[%d TO %d]", lo, lo+4)}
				}},
				{"metadata-wildcard", func(r *rand.Rand) service.SearchParams {
					return service.SearchParams{Query: fmt.Sprintf("user_metadata.n:%d*", 1000+r.IntN(9000))}
				}},
				{"range-logins", func(r *rand.Rand) service.SearchParams {
					lo := r.IntN(990)
					return service.SearchParams{Query: fmt.Sprintf("logins_count:[%d TO %d]", lo, lo+4)}
				}},
				{"range-created", func(r *rand.Rand) service.SearchParams {
					lo := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(n)) * time.Minute)
					return service.SearchParams{Query: fmt.Sprintf("created_at:[%s TO %s}",
						lo.Format(time.RFC3339), lo.Add(time.Hour).Format(time.RFC3339))}
				}},
			} {
				b.Run(k.name, func(b *testing.B) {
					run := func(r *rand.Rand, from string) time.Duration {
						p := k.query(r)
						p.Count = true
						s, err := buildSearch(dialect, p, searchPlan{from: from, scan: from != "users"})
						if err != nil {
							b.Fatal(err)
						}
						start := time.Now()
						hits, total, err := d.runSearch(ctx, s)
						el := time.Since(start)
						if err != nil || total == 0 || len(hits) == 0 {
							b.Fatalf("%s: %d hits of %d, %v", s.page, len(hits), total, err)
						}
						return el
					}
					var fast []time.Duration
					r := rand.New(rand.NewPCG(1, 2))
					for b.Loop() {
						fast = append(fast, run(r, "users"))
					}
					b.StopTimer()
					var slow []time.Duration
					r = rand.New(rand.NewPCG(1, 2))
					// A full scan of 1M users takes seconds: fewer runs there.
					scans := 50
					if n >= 500_000 {
						scans = 10
					}
					for range min(len(fast), scans) {
						slow = append(slow, run(r, scan))
					}
					p50, p95 := percentiles(fast)
					s50, s95 := percentiles(slow)
					b.ReportMetric(ms(p50), "p50-ms")
					b.ReportMetric(ms(p95), "p95-ms")
					b.ReportMetric(ms(s50), "scan-p50-ms")
					b.ReportMetric(ms(s95), "scan-p95-ms")
					b.ReportMetric(float64(s95)/float64(p95), "scan/indexed-p95")
					b.Logf("N=%d %s %s: p50 %v p95 %v (%d runs); full scan p50 %v p95 %v (%d runs); scan/indexed p95 %.1fx",
						n, dialect, k.name, p50, p95, len(fast), s50, s95, len(slow), float64(s95)/float64(p95))
				})
			}
		})
	}
}

func percentiles(ds []time.Duration) (p50, p95 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return at(0.50), at(0.95)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
