package db

// BenchmarkRoleSearch: p50/p95 of SearchUsers (page + count) for
// roles:NAME on the kept search-bench database (PROFILED_SEARCH_BENCH_N
// users, see BenchmarkSearchLatency), against app_metadata.tier:K — the
// same users, found through the metadata term index, which is how roles
// live in metadata without RBAC — in the same run. Role roleK is held by
// the users with i%10 == K (N/10 each), role rare by those with
// i%100 == 7 (N/100).
//
//	PROFILED_SEARCH_BENCH_N=100000 go test ./internal/db/ -run '^$' -bench RoleSearch/mysql -benchtime 200x -v

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/service"
)

// seedRoles gives the bench users their roles unless they have them.
func seedRoles(b *testing.B, d *DB, n int) {
	b.Helper()
	var have int
	if err := d.w.GetContext(ctx, &have, "SELECT COUNT(*) FROM user_roles"); err != nil {
		b.Fatal(err)
	}
	if have == n+n/100 {
		return
	}
	start := time.Now()
	for _, q := range []string{"DELETE FROM user_roles", "DELETE FROM roles"} {
		if _, err := d.w.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	now := dbTime{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	names := []string{"rare"}
	for k := range 10 {
		names = append(names, fmt.Sprintf("role%d", k))
	}
	for _, name := range names {
		if _, err := d.w.ExecContext(ctx, "INSERT INTO roles (id, name, description, created_at, updated_at) VALUES (?, ?, '', ?, ?)",
			"rol_"+name, name, now, now); err != nil {
			b.Fatal(err)
		}
	}
	const rows = 1000
	var args []any
	flush := func() {
		if len(args) == 0 {
			return
		}
		q := "INSERT INTO user_roles (user_id, role_id, created_at) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(args)/3), ", ")
		if _, err := d.w.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
		args = args[:0]
	}
	for i := range n {
		id := searchBenchUser(i).ID
		args = append(args, id, fmt.Sprintf("rol_role%d", i%10), now)
		if i%100 == 7 {
			args = append(args, id, "rol_rare", now)
		}
		if len(args) >= 3*rows {
			flush()
		}
	}
	flush()
	if d.cfg.Dialect == DialectMySQL {
		if _, err := d.w.ExecContext(ctx, "ANALYZE TABLE roles, user_roles"); err != nil {
			b.Fatal(err)
		}
	} else if _, err := d.w.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d role assignments in %v", n+n/100, time.Since(start).Round(time.Millisecond))
}

func BenchmarkRoleSearch(b *testing.B) {
	n := searchBenchN(b)
	for _, dialect := range []string{DialectSQLite, DialectMySQL} {
		b.Run(dialect, func(b *testing.B) {
			d := openSearchBenchStore(b, dialect, n)
			seedRoles(b, d, n)
			run := func(q string, want int) time.Duration {
				s, err := buildSearch(dialect, service.SearchParams{Query: q, Limit: 50, Count: true}, searchPlan{from: "users"})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				hits, total, err := d.runSearch(ctx, s)
				el := time.Since(start)
				if err != nil || total != want || len(hits) == 0 {
					b.Fatalf("%s: %d hits of %d (want %d), %v", q, len(hits), total, want, err)
				}
				return el
			}
			for _, k := range []struct {
				name        string
				query, base func(k int) string
				want        int
			}{
				{"roles-tenth", func(k int) string { return fmt.Sprintf("roles:role%d", k) }, func(k int) string { return fmt.Sprintf("app_metadata.tier:%d", k) }, n / 10},
				{"roles-rare", func(int) string { return "roles:rare" }, nil, n / 100},
			} {
				b.Run(k.name, func(b *testing.B) {
					r := rand.New(rand.NewPCG(1, 2))
					var roles, meta []time.Duration
					for b.Loop() {
						i := r.IntN(10)
						roles = append(roles, run(k.query(i), k.want))
						if k.base != nil {
							meta = append(meta, run(k.base(i), k.want))
						}
					}
					p50, p95 := percentiles(roles)
					b.ReportMetric(ms(p50), "p50-ms")
					b.ReportMetric(ms(p95), "p95-ms")
					if k.base != nil {
						m50, m95 := percentiles(meta)
						b.ReportMetric(ms(m50), "metadata-p50-ms")
						b.ReportMetric(ms(m95), "metadata-p95-ms")
						b.ReportMetric(float64(p95)/float64(m95), "roles/metadata-p95")
						b.Logf("N=%d %s %s: roles p50 %v p95 %v; app_metadata p50 %v p95 %v (%d runs)", n, dialect, k.name, p50, p95, m50, m95, len(roles))
					} else {
						b.Logf("N=%d %s %s: p50 %v p95 %v (%d runs)", n, dialect, k.name, p50, p95, len(roles))
					}
				})
			}
		})
	}
}
