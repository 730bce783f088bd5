package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/dburl"
	"github.com/profiled/profiled/internal/scriptbuild"
)

// Benchmarks of docs/sandbox-benchmarks.md. Run them all in one go:
//
//	go test -run '^$' -bench . -benchtime 2s ./sandbox
//
// (the cost-10 ones take about 0.2 s per iteration).

var flagModes = []struct {
	name string
	off  bool
}{{"closeOnDone=on", false}, {"closeOnDone=off", true}}

// BenchmarkWarmCall is (a): a trivial action (login returning a constant
// profile) on a warm pooled instance, through Module.Run: arguments
// encoded, instance checked out, export called, result decoded and
// normalized, instance returned.
func BenchmarkWarmCall(b *testing.B) {
	for _, fm := range flagModes {
		b.Run(fm.name, func(b *testing.B) {
			r := newRuntime(b, Config{noCloseOnContextDone: fm.off, Logger: quiet})
			m := mustModule(b, r, Spec{Connection: "bench", Wasm: script(b, "trivial"), DatabaseURL: sqliteURL(b)})
			ctx := context.Background()
			c := Call{Action: ActionLogin, Email: "noop@example.com", Password: "pw"}
			if _, err := m.Run(ctx, c); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Run(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkColdStart is (b): a new instance (instantiate, _initialize: the
// Go runtime and package init) and its close, with the data segments as the
// Go linker wrote them and merged.
func BenchmarkColdStart(b *testing.B) {
	src, _ := filepath.Abs("../../templates/mysql")
	orig, err := scriptbuild.Compile(context.Background(), src, scriptbuild.Options{NoMerge: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		wasm []byte
	}{{"merged", script(b, "template:mysql")}, {"unmerged", orig}} {
		b.Run(v.name, func(b *testing.B) {
			r := newRuntime(b, Config{Logger: quiet})
			m := mustModule(b, r, Spec{Connection: "bench", Wasm: v.wasm, DatabaseURL: "sqlite:/nonexistent"})
			ctx := context.Background()
			cs := &callState{m: m}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.slots <- struct{}{}
				in, err := m.newInstance(ctx, cs, m.comp)
				if err != nil {
					b.Fatal(err)
				}
				m.discard(in)
			}
		})
	}
}

// seedUsers fills the legacy table with n users sharing one bcrypt hash of
// "password" at cost.
func seedUsers(b *testing.B, n, cost int) string {
	url, db := legacyDB(b)
	h, err := bcrypt.GenerateFromPassword([]byte("password"), cost)
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < n; start += 1000 {
		var sb strings.Builder
		args := []any{}
		sb.WriteString("INSERT INTO users (email, password, nickname, given_name, family_name, email_verified) VALUES ")
		for i := start; i < min(start+1000, n); i++ {
			if i > start {
				sb.WriteString(",")
			}
			sb.WriteString("(?, ?, ?, 'Given', 'Family', 1)")
			args = append(args, fmt.Sprintf("user%05d@example.com", i), h, fmt.Sprintf("user%d", i))
		}
		if _, err := db.Exec(sb.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
	return url
}

type legacyRow struct {
	ID            int64   `db:"id"`
	Email         string  `db:"email"`
	Username      *string `db:"username"`
	Nickname      *string `db:"nickname"`
	Name          *string `db:"name"`
	GivenName     *string `db:"given_name"`
	FamilyName    *string `db:"family_name"`
	Picture       *string `db:"picture"`
	EmailVerified bool    `db:"email_verified"`
	Password      string  `db:"password"`
}

// BenchmarkLoginLike is (c): the template's login (one query by email, one
// bcrypt compare on the host, a profile back) against the same query and
// compare done directly in Go with sqlx, paired call by call so that both
// see the same machine. Reported: direct-µs, script-µs, ratio.
func BenchmarkLoginLike(b *testing.B) {
	const users = 10000
	for _, v := range []struct {
		cost int
		off  bool
	}{{10, false}, {4, false}, {4, true}} {
		name := fmt.Sprintf("cost=%d/closeOnDone=on", v.cost)
		if v.off {
			name = fmt.Sprintf("cost=%d/closeOnDone=off", v.cost)
		}
		b.Run(name, func(b *testing.B) {
			url := seedUsers(b, users, v.cost)
			r := newRuntime(b, Config{noCloseOnContextDone: v.off, Logger: quiet})
			m := mustModule(b, r, Spec{Connection: "bench", Wasm: script(b, "template:mysql"), DatabaseURL: url})
			u, err := dburl.Parse(url)
			if err != nil {
				b.Fatal(err)
			}
			conn, err := mysql.NewConnector(mysqlConfig(u))
			if err != nil {
				b.Fatal(err)
			}
			direct := sqlx.NewDb(sql.OpenDB(conn), "mysql")
			defer direct.Close()
			ctx := context.Background()
			directLogin := func(email string) error {
				var row legacyRow
				if err := direct.GetContext(ctx, &row, "SELECT id, email, username, nickname, name, given_name, family_name, picture, email_verified, password FROM users WHERE email = ?", email); err != nil {
					return err
				}
				return bcrypt.CompareHashAndPassword([]byte(row.Password), []byte("password"))
			}
			scriptLogin := func(email string) error {
				_, err := m.Run(ctx, Call{Action: ActionLogin, Email: email, Password: "password"})
				return err
			}
			for i := 0; i < 3; i++ { // warm both pools
				if err := directLogin("user00001@example.com"); err != nil {
					b.Fatal(err)
				}
				if err := scriptLogin("user00001@example.com"); err != nil {
					b.Fatal(err)
				}
			}
			var dDirect, dScript time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				email := fmt.Sprintf("user%05d@example.com", (i*7919)%users)
				first, second, d1, d2 := directLogin, scriptLogin, &dDirect, &dScript
				if i%2 == 1 { // alternate the order
					first, second, d1, d2 = scriptLogin, directLogin, &dScript, &dDirect
				}
				t0 := time.Now()
				if err := first(email); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := second(email); err != nil {
					b.Fatal(err)
				}
				*d1 += t1.Sub(t0)
				*d2 += time.Since(t1)
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(dDirect.Microseconds())/n, "direct-µs/op")
			b.ReportMetric(float64(dScript.Microseconds())/n, "script-µs/op")
			b.ReportMetric(float64(dScript)/float64(dDirect), "ratio")
		})
	}
}

// BenchmarkBcrypt compares bcrypt compiled into the guest (x/crypto in
// WebAssembly, termination checks on) with the host helper, per compare,
// through Module.Run.
func BenchmarkBcrypt(b *testing.B) {
	for _, cost := range []int{10, 4} {
		h, _ := bcrypt.GenerateFromPassword([]byte("password"), cost)
		b.Run(fmt.Sprintf("cost=%d/native", cost), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := bcrypt.CompareHashAndPassword(h, []byte("password")); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, v := range []struct {
			name string
			call Call
		}{
			{"guest", Call{Action: ActionLogin, Email: string(h), Password: "password"}},
			{"host-helper", Call{Action: ActionVerify, Email: string(h)}},
		} {
			b.Run(fmt.Sprintf("cost=%d/%s", cost, v.name), func(b *testing.B) {
				r := newRuntime(b, Config{Logger: quiet})
				m := mustModule(b, r, Spec{Connection: "bench", Wasm: script(b, "guestbcrypt"), DatabaseURL: "sqlite:/nonexistent"})
				ctx := context.Background()
				if _, err := m.Run(ctx, v.call); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := m.Run(ctx, v.call); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkQueryOnly isolates the database path: the template's get_user
// (one query, a profile back, no bcrypt) against the same query in Go,
// paired as in BenchmarkLoginLike.
func BenchmarkQueryOnly(b *testing.B) {
	const users = 10000
	for _, fm := range flagModes {
		b.Run(fm.name, func(b *testing.B) {
			url := seedUsers(b, users, bcrypt.MinCost)
			r := newRuntime(b, Config{noCloseOnContextDone: fm.off, Logger: quiet})
			m := mustModule(b, r, Spec{Connection: "bench", Wasm: script(b, "template:mysql"), DatabaseURL: url})
			u, _ := dburl.Parse(url)
			conn, _ := mysql.NewConnector(mysqlConfig(u))
			direct := sqlx.NewDb(sql.OpenDB(conn), "mysql")
			defer direct.Close()
			ctx := context.Background()
			directGet := func(email string) error {
				var row legacyRow
				return direct.GetContext(ctx, &row, "SELECT id, email, username, nickname, name, given_name, family_name, picture, email_verified, password FROM users WHERE email = ?", email)
			}
			scriptGet := func(email string) error {
				_, err := m.Run(ctx, Call{Action: ActionGetUser, Email: email})
				return err
			}
			for i := 0; i < 3; i++ {
				directGet("user00001@example.com")
				scriptGet("user00001@example.com")
			}
			var dDirect, dScript time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				email := fmt.Sprintf("user%05d@example.com", (i*7919)%users)
				t0 := time.Now()
				if err := directGet(email); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := scriptGet(email); err != nil {
					b.Fatal(err)
				}
				dDirect += t1.Sub(t0)
				dScript += time.Since(t1)
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(dDirect.Microseconds())/n, "direct-µs/op")
			b.ReportMetric(float64(dScript.Microseconds())/n, "script-µs/op")
			b.ReportMetric(float64(dScript)/float64(dDirect), "ratio")
		})
	}
}

// BenchmarkSessionPerCall measures what a clean session per call costs
// (issue 11): a login-like call (one indexed SELECT on MariaDB through the
// host) with the call's own connection, opened and closed, never pooled
// (fresh, what ships), against the same call on a pooled connection
// whose session carries over (pooled, the baseline; unsafe). Both run in
// the same process, alternating, and the ratio is reported.
func BenchmarkSessionPerCall(b *testing.B) {
	url, db := legacyDB(b)
	if _, err := db.Exec(`INSERT INTO users (email, password) VALUES ('ann@example.com', 'x')`); err != nil {
		b.Fatal(err)
	}
	q := stmt("SELECT id, email, password FROM users WHERE email = 'ann@example.com'")
	wasm := echoHost(abi.FnDBQuery, q, 0, int32(len(q)))
	mods := map[bool]*Module{}
	for _, reuse := range []bool{false, true} {
		r := newRuntime(b, Config{reuseSessions: reuse, Logger: quiet})
		mods[reuse] = mustModule(b, r, Spec{Connection: "s", Wasm: wasm, DatabaseURL: url, Timeout: 10 * time.Second})
	}
	ctx := context.Background()
	var fresh, pooled time.Duration
	run := func(reuse bool) time.Duration {
		start := time.Now()
		_, err := mods[reuse].Run(ctx, Call{Action: ActionLogin, Email: "ann@example.com", Password: "pw"})
		var se *ScriptError
		if !errors.As(err, &se) || !strings.Contains(se.Message, "ann@example.com") {
			b.Fatalf("unexpected outcome %v", err)
		}
		return time.Since(start)
	}
	run(false)
	run(true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fresh += run(false)
		pooled += run(true)
	}
	b.ReportMetric(float64(fresh.Nanoseconds())/float64(b.N), "ns/fresh")
	b.ReportMetric(float64(pooled.Nanoseconds())/float64(b.N), "ns/pooled")
	b.ReportMetric(float64(fresh)/float64(pooled), "fresh/pooled")
}

// BenchmarkStackLimitCost measures what the call-stack rewrite (issue 11)
// costs a Go guest: the trivial script's login on a warm instance, with the
// rewrite (what ships) and without (the baseline), alternating in one run.
func BenchmarkStackLimitCost(b *testing.B) {
	ctx := context.Background()
	c := Call{Action: ActionLogin, Email: "noop@example.com", Password: "pw"}
	mods := map[bool]*Module{}
	for _, off := range []bool{false, true} {
		r := newRuntime(b, Config{noStackLimit: off, Logger: quiet})
		mods[off] = mustModule(b, r, Spec{Connection: "bench", Wasm: script(b, "trivial"), DatabaseURL: sqliteURL(b)})
		if _, err := mods[off].Run(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	var with, without time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, off := range []bool{false, true} {
			start := time.Now()
			if _, err := mods[off].Run(ctx, c); err != nil {
				b.Fatal(err)
			}
			if off {
				without += time.Since(start)
			} else {
				with += time.Since(start)
			}
		}
	}
	b.ReportMetric(float64(with.Nanoseconds())/float64(b.N), "ns/limited")
	b.ReportMetric(float64(without.Nanoseconds())/float64(b.N), "ns/unlimited")
	b.ReportMetric(float64(with)/float64(without), "limited/unlimited")
}
