package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/testmysql"
)

// The Django user of the benchmark: a hash written by Django 3.2's
// PBKDF2PasswordHasher at Django's default 600,000 iterations.
const (
	djangoPassword = "correct horse"
	djangoSalt     = "legacysalt12"
	djangoIter     = 600000
	djangoKeyB64   = "bSkwYtVZSi2JLlj9aE3eIuAxK/nxCWNManNzs+ysFqM="
)

// BenchmarkDjangoLoginGraphQLvsOpenSSL: a Django user's login end to end
// (HTTP → GraphQL → service → sandbox → templates/django → MariaDB
// auth_user → host PBKDF2-SHA256 at 600,000 iterations → cached user
// upsert in the SQLite store → tokens) against checking the same hash with
// the OpenSSL command line (`openssl kdf ... PBKDF2`, process start
// included, its output compared with the stored key) and with Python's
// hashlib.pbkdf2_hmac (in-process time, reported by Python), alternating
// in the same run. Reports each one's ms per check and the ratios
// x_openssl and x_python (login time ÷ theirs).
func BenchmarkDjangoLoginGraphQLvsOpenSSL(b *testing.B) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("openssl is not installed")
		}
		b.Skip("openssl is not installed")
	}
	python, _ := exec.LookPath("python3")
	want, err := base64.StdEncoding.DecodeString(djangoKeyB64)
	if err != nil {
		b.Fatal(err)
	}
	e := newScriptEnv(b, sqliteStore)
	dsn, db := djangoTable(b)
	hash := "pbkdf2_sha256$" + strconv.Itoa(djangoIter) + "$" + djangoSalt + "$" + djangoKeyB64
	if _, err := db.Exec(`INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
		VALUES (1, ?, 0, 'ann', 'Ann', 'Lee', 'ann@example.com', 0, 1, NOW())`, hash); err != nil {
		b.Fatal(err)
	}
	e.gql.CustomConnection(b, e.admin, client.ConnectionInput{Name: "django", DatabaseURL: ptr(testmysql.URLOf(dsn))}, script(b, "templates/django"))

	login := func() {
		r := e.raw("", `mutation { login(connection: "django", email: "ann@example.com", password: "correct horse") { user { id } } }`, nil)
		if len(r.Errors) > 0 {
			b.Fatalf("login: %s", r.Raw)
		}
	}
	opensslCheck := func() {
		out, err := exec.Command(openssl, "kdf", "-keylen", "32", "-kdfopt", "digest:SHA256", "-kdfopt", "pass:"+djangoPassword,
			"-kdfopt", "salt:"+djangoSalt, "-kdfopt", "iter:"+strconv.Itoa(djangoIter), "PBKDF2").Output()
		if err != nil {
			b.Fatalf("openssl kdf: %v", err)
		}
		got, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(string(out)), ":", ""))
		if err != nil || !bytes.Equal(got, want) {
			b.Fatalf("openssl derived %q, not the stored key", out)
		}
	}
	// pythonCheck derives the key in Python and returns the time Python
	// measured around hashlib.pbkdf2_hmac alone.
	pythonCheck := func() time.Duration {
		out, err := exec.Command(python, "-c", `import hashlib, time, base64, sys
t = time.perf_counter()
k = hashlib.pbkdf2_hmac("sha256", b"`+djangoPassword+`", b"`+djangoSalt+`", `+strconv.Itoa(djangoIter)+`)
d = time.perf_counter() - t
sys.exit(1) if base64.b64encode(k).decode() != "`+djangoKeyB64+`" else print(d)`).Output()
		if err != nil {
			b.Fatalf("python3 pbkdf2_hmac: %v", err)
		}
		s, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			b.Fatal(err)
		}
		return time.Duration(s * float64(time.Second))
	}
	login() // compiles and instantiates the module
	opensslCheck()

	var tLogin, tOpenSSL, tPython time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := time.Now()
		login()
		tLogin += time.Since(s)
		s = time.Now()
		opensslCheck()
		tOpenSSL += time.Since(s)
		if python != "" {
			tPython += pythonCheck()
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(tLogin), "graphql_login_ms")
	b.ReportMetric(ms(tOpenSSL), "openssl_ms")
	b.ReportMetric(float64(tLogin)/float64(tOpenSSL), "x_openssl")
	if python != "" {
		b.ReportMetric(ms(tPython), "python_hashlib_ms")
		b.ReportMetric(float64(tLogin)/float64(tPython), "x_python")
	}
}
