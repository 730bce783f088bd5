package db

// BenchmarkTermCountsWrites: what keeping the term counts costs writes,
// against the same writes with the upkeep off (countTermsOff) in the same
// run, the two interleaved batch by batch and update by update:
//
//   - import: batches of 1,000 users (InsertUsers in a transaction: LOAD
//     DATA on MariaDB, multi-row INSERTs on SQLite), the users of the
//     search benchmarks (searchBenchUser: 6 index rows each, one of them a
//     value only that user has, so one new count row per user);
//   - update-plan: UpdateUser changing app_metadata.plan (one index row
//     out, one in; two count rows);
//   - update-blocked: UpdateUser flipping blocked (no index row; two count
//     rows);
//   - update-name: UpdateUser changing the name only (no count row).
//
// PROFILED_COUNTS_BENCH_N users are imported before the measures (default
// 100,000), so the tables are not empty.
//
//	go test ./internal/db/ -run '^$' -bench TermCountsWrites -benchtime 1x -v

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

func BenchmarkTermCountsWrites(b *testing.B) {
	pre := 100_000
	if v := os.Getenv("PROFILED_COUNTS_BENCH_N"); v != "" {
		var err error
		if pre, err = strconv.Atoi(v); err != nil {
			b.Fatalf("bad PROFILED_COUNTS_BENCH_N %q", v)
		}
	}
	for _, dialect := range []string{DialectSQLite, DialectMySQL} {
		b.Run(dialect, func(b *testing.B) {
			var d *DB
			if dialect == DialectSQLite {
				d = openSQLiteStore(b)
			} else {
				d = openMySQLStore(b)
			}
			defer func() { countTermsOff = false }()
			const batch = 1000
			next := 0
			importBatch := func() time.Duration {
				users := make([]policy.User, batch)
				for i := range users {
					users[i] = searchBenchUser(next)
					next++
				}
				start := time.Now()
				if err := d.WithTx(ctx, func(tx service.Queries) error {
					_, err := tx.(service.ImportQueries).InsertUsers(ctx, users)
					return err
				}); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			start := time.Now()
			for next < pre {
				importBatch()
			}
			b.Logf("%s: %d users imported in %v", dialect, pre, time.Since(start).Round(time.Millisecond))
			// Import, interleaved: 30 batches each.
			var on, off time.Duration
			for i := range 60 {
				countTermsOff = i%2 == 1
				if countTermsOff {
					off += importBatch()
				} else {
					on += importBatch()
				}
			}
			countTermsOff = false
			rate := func(d time.Duration) float64 { return 30 * batch / d.Seconds() }
			b.ReportMetric(rate(on), "import-users/s")
			b.ReportMetric(rate(off)/rate(on), "import-off/on")
			b.Logf("%s import (N=%d): %.0f users/s with the counts, %.0f without: %.3fx",
				dialect, pre, rate(on), rate(off), rate(on)/rate(off))
			// Updates of random users, interleaved.
			for c, k := range []struct {
				name   string
				change func(u *policy.User, i int)
			}{
				{"update-plan", func(u *policy.User, i int) { u.AppMetadata["plan"] = benchPlans[i%4] + "-x" }},
				{"update-blocked", func(u *policy.User, i int) { u.Blocked = true }},
				{"update-name", func(u *policy.User, i int) { u.Name = fmt.Sprint("Renamed ", i) }},
			} {
				var ons, offs []time.Duration
				for i := range 1000 {
					countTermsOff = i%2 == 1
					u := searchBenchUser((i*7919 + c*131) % pre) // users no other case changed
					k.change(&u, i)
					start := time.Now()
					if err := d.UpdateUser(ctx, u); err != nil {
						b.Fatal(err)
					}
					if countTermsOff {
						offs = append(offs, time.Since(start))
					} else {
						ons = append(ons, time.Since(start))
					}
				}
				countTermsOff = false
				p50on, p95on := percentiles(ons)
				p50off, p95off := percentiles(offs)
				b.ReportMetric(ms(p50on), k.name+"-p50-ms")
				b.ReportMetric(float64(p50on)/float64(p50off), k.name+"-p50-on/off")
				b.Logf("%s %s: p50 %v / p95 %v with the counts, %v / %v without: p50 %.3fx",
					dialect, k.name, p50on.Round(time.Microsecond), p95on.Round(time.Microsecond),
					p50off.Round(time.Microsecond), p95off.Round(time.Microsecond), float64(p50on)/float64(p50off))
			}
		})
	}
}
