package reliability

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

// enumFixture has, on one service, a DATABASE connection, a legacy
// CUSTOM_DATABASE connection and an import-mode one (with one user already
// migrated and one not), each with a known user.
type enumFixture struct {
	e *env
}

// enumCase is a pair of logins that must not be told apart.
type enumCase struct {
	name                   string
	connection             string
	knownEmail, knownWrong string // an existing user and a wrong password
	unknownEmail           string
}

func newEnumFixture(t testing.TB, cost int) (*enumFixture, []enumCase) {
	t.Helper()
	e := newEnv(t, envConfig{scripts: true, bcryptCost: cost, service: service.Config{BruteForceThreshold: 1 << 30}})
	ctx := context.Background()
	createDBConnection(t, e, "main")
	_, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "main", Email: "db@example.com", Password: ptr("password-db")})
	mustNoErr(t, err)
	dsn, _ := testmysql.New(t)
	legacySchema(t, dsn)
	legacy, err := openSQL(dsn)
	mustNoErr(t, err)
	t.Cleanup(func() { legacy.Close() })
	cfg := map[string]any{"BCRYPT_COST": fmt.Sprint(cost)}
	customConnection(t, e, "legacy", testmysql.URLOf(dsn), false, cfg)
	customConnection(t, e, "import", testmysql.URLOf(dsn), true, cfg)
	addLegacyUser(t, legacy, "legacy@example.com", "password-legacy", "L", cost)
	addLegacyUser(t, legacy, "migrated@example.com", "password-migrated", "M", cost)
	_, err = client.Login(ctx, e.client(""), "import", "migrated@example.com", "password-migrated")
	mustNoErr(t, err)
	return &enumFixture{e: e}, []enumCase{
		{"database", "main", "db@example.com", "wrong-password", "nobody@example.com"},
		{"custom legacy", "legacy", "legacy@example.com", "wrong-password", "nobody@example.com"},
		{"custom import, not migrated", "import", "legacy@example.com", "wrong-password", "nobody@example.com"},
		{"custom import, migrated", "import", "migrated@example.com", "wrong-password", "nobody@example.com"},
		{"unknown connection", "no-such-connection", "db@example.com", "wrong-password", "nobody@example.com"},
	}
}

// TestLoginEnumeration: an unknown email and a wrong password give the
// same status, code and message, on every kind of connection (and on a
// connection that does not exist). Timing is measured by
// BenchmarkLoginEnumeration, not asserted.
func TestLoginEnumeration(t *testing.T) {
	f, cases := newEnumFixture(t, 4)
	const q = `mutation($c: String!, $e: String!, $p: String!) { login(connection: $c, email: $e, password: $p) { accessToken } }`
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wrong := f.e.raw("", q, map[string]any{"c": c.connection, "e": c.knownEmail, "p": c.knownWrong})
			unknown := f.e.raw("", q, map[string]any{"c": c.connection, "e": c.unknownEmail, "p": c.knownWrong})
			if wrong.code() != "INVALID_CREDENTIALS" || unknown.code() != "INVALID_CREDENTIALS" {
				t.Fatalf("codes: wrong password %s, unknown email %s", wrong.Raw, unknown.Raw)
			}
			if wrong.Status != unknown.Status || wrong.Errors[0].Message != unknown.Errors[0].Message || string(wrong.Data) != string(unknown.Data) {
				t.Fatalf("told apart:\n wrong password %d %s\n unknown email  %d %s", wrong.Status, wrong.Raw, unknown.Status, unknown.Raw)
			}
		})
	}
}

// BenchmarkLoginEnumeration measures the latency of failed logins for an
// unknown email and for a wrong password, interleaved, with the service's
// default bcrypt cost (10) for both the service and the legacy hashes, and
// reports p50/p90/p99 of each in ms.
//
//	go test -run '^$' -bench LoginEnumeration -benchtime 200x ./reliability/
func BenchmarkLoginEnumeration(b *testing.B) {
	f, cases := newEnumFixture(b, 10)
	ctx := context.Background()
	anon := f.e.client("")
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var wrong, unknown []time.Duration
			for b.Loop() {
				for _, k := range []struct {
					email string
					into  *[]time.Duration
				}{{c.knownEmail, &wrong}, {c.unknownEmail, &unknown}} {
					start := time.Now()
					_, err := client.Login(ctx, anon, c.connection, k.email, c.knownWrong)
					*k.into = append(*k.into, time.Since(start))
					if code(err) != "INVALID_CREDENTIALS" {
						b.Fatalf("%s: %v", k.email, err)
					}
				}
			}
			for _, s := range []struct {
				name string
				d    []time.Duration
			}{{"wrong", wrong}, {"unknown", unknown}} {
				for _, p := range []int{50, 90, 99} {
					b.ReportMetric(percentile(s.d, p), fmt.Sprintf("%s-p%d-ms", s.name, p))
				}
			}
		})
	}
}

// percentile returns the p-th percentile of d in milliseconds.
func percentile(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return float64(s[i].Microseconds()) / 1000
}
