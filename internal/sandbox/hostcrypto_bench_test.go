package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"

	"github.com/profiled/profiled/internal/passwords"
)

// Legacy hash figures of BENCHMARKS.md ("Legacy hashes for scripts"):
//
//	go test -run '^$' -bench 'DjangoLogin|LegacyHash' -benchtime 3x ./internal/sandbox/
//
// Each sub-benchmark measures the same work natively (Go, in this process)
// right before its loop and reports x-native: its time per operation over
// the native one, so the ratio comes from one run on one machine state.

// nativeNs times f (run n times) in ns per run.
func nativeNs(n int, f func()) float64 {
	f() // warm
	start := time.Now()
	for i := 0; i < n; i++ {
		f()
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// BenchmarkDjangoLogin: a whole login action through the script (Module.Run:
// the script reads the stored hash, the host verifies pbkdf2_sha256 at
// Django's default 600,000 iterations) against native Go PBKDF2-SHA256 of
// the same password and salt.
func BenchmarkDjangoLogin(b *testing.B) {
	const stored = "pbkdf2_sha256$600000$legacysalt12$bSkwYtVZSi2JLlj9aE3eIuAxK/nxCWNManNzs+ysFqM="
	r := newRuntime(b, Config{Logger: quiet})
	m := mustModule(b, r, Spec{Connection: "django", Wasm: script(b, "hashes"), DatabaseURL: sqliteURL(b),
		Configuration: map[string]any{"HASH": stored}})
	ctx := context.Background()
	call := Call{Action: ActionLogin, Email: "known@example.com", Password: "correct horse"}
	if _, err := m.Run(ctx, call); err != nil {
		b.Fatal(err)
	}
	native := nativeNs(3, func() {
		k, _ := pbkdf2.Key(sha256.New, "correct horse", []byte("legacysalt12"), 600000, 32)
		_ = base64.StdEncoding.EncodeToString(k)
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Run(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/native, "x-native")
	b.ReportMetric(native/1e6, "native-ms")
}

// BenchmarkLegacyHash: each host hash function through a script call
// against the same computation in native Go; for PBKDF2 and MD5 also the
// same computation inside the guest (what a script does without the host).
func BenchmarkLegacyHash(b *testing.B) {
	r := newRuntime(b, Config{Logger: quiet})
	m := mustModule(b, r, Spec{Connection: "hashes", Wasm: script(b, "hashes"), DatabaseURL: sqliteURL(b)})
	ctx := context.Background()
	pw, salt := []byte("correct horse"), []byte("somesaltsomesalt")
	pbk := func(h func() hash.Hash, iter int) func() {
		return func() { _, _ = pbkdf2.Key(h, string(pw), salt, iter, 32) }
	}
	md5iter := func(n int) func() {
		return func() {
			s := md5.Sum(pw)
			for i := 1; i < n; i++ {
				s = md5.Sum(s[:])
			}
		}
	}
	args := func(kv ...string) map[string]any {
		a := map[string]any{"email": "h@example.com"}
		for i := 0; i < len(kv); i += 2 {
			a[kv[i]] = kv[i+1]
		}
		return a
	}
	hp, hs := hx(string(pw)), hx(string(salt))
	for _, c := range []struct {
		name   string
		native func()
		user   map[string]any
	}{
		{"pbkdf2-sha1-100k/host", pbk(sha1.New, 100000), args("fn", "pbkdf2", "digest", "sha1", "pw", hp, "salt", hs, "iter", "100000", "keylen", "32")},
		{"pbkdf2-sha1-100k/guest", pbk(sha1.New, 100000), args("fn", "guest-pbkdf2", "digest", "sha1", "pw", hp, "salt", hs, "iter", "100000", "keylen", "32")},
		{"pbkdf2-sha256-100k/host", pbk(sha256.New, 100000), args("fn", "pbkdf2", "digest", "sha256", "pw", hp, "salt", hs, "iter", "100000", "keylen", "32")},
		{"pbkdf2-sha256-100k/guest", pbk(sha256.New, 100000), args("fn", "guest-pbkdf2", "digest", "sha256", "pw", hp, "salt", hs, "iter", "100000", "keylen", "32")},
		{"pbkdf2-sha512-100k/host", pbk(sha512.New, 100000), args("fn", "pbkdf2", "digest", "sha512", "pw", hp, "salt", hs, "iter", "100000", "keylen", "64")},
		{"md5-iterated-65536/host", md5iter(65536), args("fn", "digest", "digest", "md5", "data", hp, "iter", "65536")},
		{"md5-iterated-65536/guest", md5iter(65536), args("fn", "guest-md5", "data", hp, "iter", "65536")},
		{"hmac-sha256/host", func() { m := hmac.New(sha256.New, salt); m.Write(pw); m.Sum(nil) }, args("fn", "hmac", "digest", "sha256", "key", hs, "msg", hp)},
		{"scrypt-ln14-r8-p1/host", func() { _, _ = scrypt.Key(pw, salt, 1<<14, 8, 1, 32) }, args("fn", "scrypt", "pw", hp, "salt", hs, "ln", "14", "r", "8", "p", "1", "keylen", "32")},
		{"argon2id-t2-m19456-p1/host", func() { argon2.IDKey(pw, salt, 2, 19456, 1, 32) }, args("fn", "argon2", "variant", "id", "pw", hp, "salt", hs, "t", "2", "m", "19456", "p", "1", "keylen", "32")},
		{"argon2i-t2-m19456-p1/host", func() { argon2.Key(pw, salt, 2, 19456, 1, 32) }, args("fn", "argon2", "variant", "i", "pw", hp, "salt", hs, "t", "2", "m", "19456", "p", "1", "keylen", "32")},
		{"argon2d-t2-m19456-p1/host", func() { passwords.Argon2Key("argon2d", pw, salt, 2, 19456, 1, 32) }, args("fn", "argon2", "variant", "d", "pw", hp, "salt", hs, "t", "2", "m", "19456", "p", "1", "keylen", "32")},
		{"verify-phpass-P$B/host", func() { _, _ = passwords.Verify("$P$BabcdefghKfdE7H4Uy7ajxpijsjAJW0", "correct horse") },
			args("fn", "verify", "hash", "$P$BabcdefghKfdE7H4Uy7ajxpijsjAJW0", "pw", "correct horse")},
		{"verify-wp-2y-05/host", func() {
			_, _ = passwords.Verify("$wp$2y$05$mhXBu4eIx6CxxcMVPhXrZef.7oki2xE.s2nFG0b3.C9oLTiwSB3L2", "wp68 pass")
		}, args("fn", "verify", "hash", "$wp$2y$05$mhXBu4eIx6CxxcMVPhXrZef.7oki2xE.s2nFG0b3.C9oLTiwSB3L2", "pw", "wp68 pass")},
	} {
		b.Run(c.name, func(b *testing.B) {
			call := Call{Action: ActionCreate, User: c.user}
			if res, err := m.Run(ctx, call); err != nil || res.Attributes["errno"] != nil {
				b.Fatalf("%v %v", err, res.Attributes)
			}
			native := nativeNs(3, c.native)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Run(ctx, call); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/native, "x-native")
			b.ReportMetric(native/1e6, "native-ms")
		})
	}
}
