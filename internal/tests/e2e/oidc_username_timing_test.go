//go:build timingcheck

// An on-demand timing check: it asserts a bound on durations, which a busy
// machine can break, so it stays out of CI and runs by hand:
//
//	go test -tags timingcheck -count=1 -v -run TestHostedPageUsernameTiming ./internal/tests/e2e/

package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// TestHostedPageUsernameTiming: through the hosted sign-in page, with
// bcrypt cost 10, an unknown username takes about as long as a wrong
// password for a known one (p50 within a factor of 2): the page does not
// tell them apart by time any more than by text. A malformed username is
// refused before any hash (its format is public, it names nobody), so it
// is reported, not bounded.
func TestHostedPageUsernameTiming(t *testing.T) {
	clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	s := testenv.Start(t, testenv.OpenStore(t, storeURL(t, sqliteStore)), testenv.Options{BcryptCost: 10,
		Service: service.Config{Now: clk.Now, BruteForceThreshold: 1000}})
	e := &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: clk, admin: s.Admin, gql: s.GraphQL(nil), svc: s.Service, issuer: s.Issuer}
	usernameConnection(t, e, "staff", "ann@example.com", "ann")
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	p := openHostedPage(t, e, app)
	var wrong, unknown, malformed []time.Duration
	for range 15 {
		for _, k := range []struct {
			username string
			into     *[]time.Duration
		}{{"ann", &wrong}, {"nobody", &unknown}, {"ann lee", &malformed}} {
			start := time.Now()
			if st, msg := p.post("staff", url.Values{"username": {k.username}, "password": {"wrong horse battery"}}); st != http.StatusUnauthorized || msg != "Wrong username, email or password." {
				t.Fatalf("%s: %d %q", k.username, st, msg)
			}
			*k.into = append(*k.into, time.Since(start))
		}
	}
	p50 := func(d []time.Duration) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	w, u, m := p50(wrong), p50(unknown), p50(malformed)
	t.Logf("p50: wrong password %.1f ms, unknown username %.1f ms, malformed username %.1f ms", w, u, m)
	if u < w/2 || w < u/2 {
		t.Errorf("told apart by timing: p50 wrong password %.1f ms, unknown username %.1f ms", w, u)
	}
}
