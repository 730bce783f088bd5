package auth

import (
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// BenchmarkAlgorithms signs and verifies a user access token with each
// algorithm, interleaved in every iteration so that the ratios to RS256
// (the baseline, the default) come from the same moments of a noisy
// machine. Per algorithm it reports µs per sign, per verify (cache off),
// per verify served by the verified-token cache, and the speed-ups
// "x-sign" and "x-verify" = RS256 time / this algorithm's time (>1:
// faster than RS256), and "x-cached" = uncached / cached verify time of
// the same algorithm.
func BenchmarkAlgorithms(b *testing.B) {
	type ring struct {
		alg            Algorithm
		plain, cached  *Keyring
		tok            string
		sign, ver, hit time.Duration
	}
	var rings []*ring
	u := policy.User{ID: "profiled|bench"}
	for _, alg := range Algorithms {
		st := &memStore{}
		r := &ring{alg: alg,
			plain:  newKeyring(b, st, Config{Algorithm: alg, VerifiedCache: -1}),
			cached: newKeyring(b, st, Config{Algorithm: alg})}
		var err error
		if r.tok, _, err = r.plain.IssueUser(u); err != nil {
			b.Fatal(err)
		}
		if _, err := r.cached.Verify(r.tok); err != nil {
			b.Fatal(err)
		}
		rings = append(rings, r)
	}
	for b.Loop() {
		for _, r := range rings {
			t0 := time.Now()
			if _, _, err := r.plain.IssueUser(u); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if _, err := r.plain.Verify(r.tok); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			if _, err := r.cached.Verify(r.tok); err != nil {
				b.Fatal(err)
			}
			t3 := time.Now()
			r.sign += t1.Sub(t0)
			r.ver += t2.Sub(t1)
			r.hit += t3.Sub(t2)
		}
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) / 1000 }
	base := rings[0]
	for _, r := range rings {
		a := string(r.alg)
		b.ReportMetric(us(r.sign), a+"-sign-µs")
		b.ReportMetric(us(r.ver), a+"-verify-µs")
		b.ReportMetric(us(r.hit), a+"-cached-µs")
		b.ReportMetric(float64(r.ver)/float64(r.hit), a+"-x-cached")
		if r != base {
			b.ReportMetric(float64(base.sign)/float64(r.sign), a+"-x-sign")
			b.ReportMetric(float64(base.ver)/float64(r.ver), a+"-x-verify")
		}
	}
}
