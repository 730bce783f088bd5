//go:build timingcheck

// On-demand timing checks: they assert a bound on a duration, which a busy
// machine can break, so they stay out of CI and run by hand:
//
//	go test -tags timingcheck -count=1 -v ./internal/tests/reliability/

package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
)

// TestLoginTimingEnumeration checks, on demand, that an unknown email and
// a wrong password take about as long on every kind of connection (p50
// within a factor of 2, bcrypt cost 10). It reproduced a bug fixed in
// 3a06fc0 (custom-database unknown emails answered ~20x faster: the
// template's login returned WrongCredentials without hashing). It asserts
// a timing bound, so it stays out of CI.
func TestLoginTimingEnumeration(t *testing.T) {
	f, cases := newEnumFixture(t, 10)
	ctx := context.Background()
	anon := f.e.client("")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var wrong, unknown []time.Duration
			for range 15 {
				for _, k := range []struct {
					email string
					into  *[]time.Duration
				}{{c.knownEmail, &wrong}, {c.unknownEmail, &unknown}} {
					start := time.Now()
					_, _ = client.Login(ctx, anon, c.connection, k.email, c.knownWrong)
					*k.into = append(*k.into, time.Since(start))
				}
			}
			w, u := percentile(wrong, 50), percentile(unknown, 50)
			t.Logf("p50 wrong password %.1f ms, unknown email %.1f ms", w, u)
			if u < w/2 || w < u/2 {
				t.Errorf("told apart by timing: p50 wrong password %.1f ms, unknown email %.1f ms", w, u)
			}
		})
	}
}
