package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
)

// latencyBench runs baseline and candidate b.N times each (alternating
// rounds, `workers` goroutines) and reports both p50/p99 latencies and the
// candidate's throughput as a fraction of the baseline's.
func latencyBench(b *testing.B, workers int, baseline, candidate func(i int) error) {
	b.Helper()
	run := func(f func(int) error, n int) (time.Duration, []time.Duration) {
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		next := make(chan int, n)
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
		start := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					s := time.Now()
					if err := f(i); err != nil {
						b.Error(err)
						return
					}
					lat[i] = time.Since(s)
				}
			}()
		}
		wg.Wait()
		return time.Since(start), lat
	}
	run(baseline, workers*2)
	run(candidate, workers*2)
	b.ResetTimer()
	var tb, tc time.Duration
	var lb, lc []time.Duration
	const rounds = 2
	per := b.N/rounds + 1
	for r := 0; r < rounds; r++ {
		d, l := run(baseline, per)
		tb, lb = tb+d, append(lb, l...)
		d, l = run(candidate, per)
		tc, lc = tc+d, append(lc, l...)
	}
	b.StopTimer()
	pct := func(l []time.Duration, p float64) float64 {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		return float64(l[int(float64(len(l)-1)*p)].Microseconds()) / 1000
	}
	n := float64(per * rounds)
	b.ReportMetric(n/tb.Seconds(), "baseline_ops/s")
	b.ReportMetric(n/tc.Seconds(), "candidate_ops/s")
	b.ReportMetric(pct(lb, 0.5), "baseline_p50_ms")
	b.ReportMetric(pct(lb, 0.99), "baseline_p99_ms")
	b.ReportMetric(pct(lc, 0.5), "candidate_p50_ms")
	b.ReportMetric(pct(lc, 0.99), "candidate_p99_ms")
	b.ReportMetric(float64(tc)/float64(tb), "x_floor_time")
}

// BenchmarkLegacyLogin: login through GraphQL + sandbox (MySQL template) +
// MariaDB legacy database + cache refresh, against the floor of the same
// work done directly in Go (one SELECT, one bcrypt compare, one upsert of
// the cached user), at bcrypt cost 10 and 4, on the MariaDB store.
func BenchmarkLegacyLogin(b *testing.B) {
	for _, cost := range []int{10, 4} {
		b.Run(fmt.Sprintf("cost%d", cost), func(b *testing.B) {
			e := newScriptEnv(b, mysqlStore)
			ctx := context.Background()
			legacy := newLegacyDB(b)
			customConnection(b, e, "legacy", legacy, false, true)
			const users = 32
			hash, _ := bcrypt.GenerateFromPassword([]byte("bench password"), cost)
			for i := 0; i < users; i++ {
				legacy.exec(b, "INSERT INTO users (email, password, nickname, name, email_verified) VALUES (?, ?, 'n', 'Bench User', 1)", fmt.Sprintf("u%d@example.com", i), hash)
			}
			anon := e.client("")
			for i := 0; i < users; i++ { // first logins create the cached users
				if _, err := client.Login(ctx, anon, "legacy", fmt.Sprintf("u%d@example.com", i), "bench password"); err != nil {
					b.Fatal(err)
				}
			}
			floor := func(i int) error {
				email := fmt.Sprintf("u%d@example.com", i%users)
				var id int64
				var h, name string
				if err := legacy.db.QueryRowContext(ctx, "SELECT id, password, name FROM users WHERE email = ?", email).Scan(&id, &h, &name); err != nil {
					return err
				}
				if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("bench password")); err != nil {
					return err
				}
				return e.store.WithTx(ctx, func(tx serviceQueries) error {
					u, err := tx.UserByIDForUpdate(ctx, policy.UserIDFor("legacy", fmt.Sprint(id)))
					if err != nil {
						return err
					}
					now := time.Now().UTC()
					u.Name, u.LastLogin, u.LoginsCount = name, &now, u.LoginsCount+1
					return tx.UpdateUser(ctx, u)
				})
			}
			viaAPI := func(i int) error {
				_, err := client.Login(ctx, anon, "legacy", fmt.Sprintf("u%d@example.com", i%users), "bench password")
				return err
			}
			latencyBench(b, 4, floor, viaAPI)
		})
	}
}

// BenchmarkLegacyVsDatabaseLogin: a legacy login (CUSTOM_DATABASE without
// import mode: GraphQL + connection read + sandbox (MySQL template) +
// MariaDB legacy database + cache refresh) against a DATABASE login
// (GraphQL + connection read + bcrypt + user update) in the same run, both
// at bcrypt cost 4, on each store. x_baseline is the legacy login's
// throughput over the DATABASE login's (issue 17: 0.22 on SQLite while the
// connection row carried the module).
func BenchmarkLegacyVsDatabaseLogin(b *testing.B) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		b.Run(string(k), func(b *testing.B) {
			e := newScriptEnv(b, k)
			ctx := context.Background()
			createDBConnectionB(b, e)
			anon := e.client("")
			if _, err := client.Signup(ctx, anon, "main", "bench@example.com", "bench password", nil, nil); err != nil {
				b.Fatal(err)
			}
			legacy := newLegacyDB(b)
			customConnection(b, e, "legacy", legacy, false, true)
			const users = 32
			for i := 0; i < users; i++ {
				legacy.add(b, fmt.Sprintf("u%d@example.com", i), "bench password", "n", "Bench User")
			}
			for i := 0; i < users; i++ { // first logins create the cached users
				if _, err := client.Login(ctx, anon, "legacy", fmt.Sprintf("u%d@example.com", i), "bench password"); err != nil {
					b.Fatal(err)
				}
			}
			n := 0
			var mu sync.Mutex
			ratioBench(b, 4, func() error {
				_, err := client.Login(ctx, anon, "main", "bench@example.com", "bench password")
				return err
			}, func() error {
				mu.Lock()
				n++
				i := n
				mu.Unlock()
				_, err := client.Login(ctx, anon, "legacy", fmt.Sprintf("u%d@example.com", i%users), "bench password")
				return err
			})
		})
	}
}
