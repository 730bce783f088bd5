package sandbox

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkLegacyLoginEviction prices the compiled-module budget for a
// legacy login (the MySQL template: one query, one bcrypt compare at cost
// 4, a profile back, against MariaDB): the same login on two runtimes,
// paired call by call, one whose budget keeps the module compiled
// ("kept"), one whose budget holds only one of two connections' modules,
// where every Nth call another connection's call evicts the template's
// module, so the next login compiles it again (from wazero's file cache,
// as serve does by default). Reported: kept-µs/op, evicting-µs/op and
// their ratio; the other connection's calls are not timed.
//
//	PROFILED_TEST_MYSQL='root@tcp(127.0.0.1:3306)/' go test -run '^$' -bench LegacyLoginEviction -benchtime 200x ./internal/sandbox/
func BenchmarkLegacyLoginEviction(b *testing.B) {
	const users = 1000
	url := seedUsers(b, users, 4)
	tmpl := script(b, "template:mysql")
	other := bigModule(64<<10, 7)
	ctx := context.Background()
	for _, every := range []int{100, 10} {
		b.Run(fmt.Sprintf("evict-every=%d", every), func(b *testing.B) {
			kept := newRuntime(b, Config{Logger: quiet})
			tight := newRuntime(b, Config{Logger: quiet, MaxCompiledBytes: CompiledSize(len(tmpl)) + CompiledSize(len(other)) - 1})
			mKept := mustModule(b, kept, Spec{Connection: "legacy", Wasm: tmpl, DatabaseURL: url})
			mTight := mustModule(b, tight, Spec{Connection: "legacy", Wasm: tmpl, DatabaseURL: url})
			mOther := mustModule(b, tight, Spec{Connection: "other", Wasm: other, DatabaseURL: url})
			login := func(m *Module, email string) {
				if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: email, Password: "password"}); err != nil {
					b.Fatal(err)
				}
			}
			for range 3 {
				login(mKept, "user00001@example.com")
				login(mTight, "user00001@example.com")
			}
			ev0 := tight.Stats().Evictions
			var dKept, dTight time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%every == every-1 {
					b.StopTimer()
					loginOK(b, mOther) // evicts the template's module
					b.StartTimer()
				}
				email := fmt.Sprintf("user%05d@example.com", (i*7919)%users)
				first, second, d1, d2 := mKept, mTight, &dKept, &dTight
				if i%2 == 1 {
					first, second, d1, d2 = mTight, mKept, &dTight, &dKept
				}
				t0 := time.Now()
				login(first, email)
				t1 := time.Now()
				login(second, email)
				*d1 += t1.Sub(t0)
				*d2 += time.Since(t1)
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(dKept.Microseconds())/n, "kept-µs/op")
			b.ReportMetric(float64(dTight.Microseconds())/n, "evicting-µs/op")
			b.ReportMetric(float64(dTight)/float64(dKept), "ratio")
			b.ReportMetric(float64(tight.Stats().Evictions-ev0), "evictions")
			if s := kept.Stats(); s.Evictions != 0 {
				b.Fatalf("the large budget evicted: %+v", s)
			}
		})
	}
}
