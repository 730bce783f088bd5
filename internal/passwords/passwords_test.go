package passwords

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// fastArgon keeps the tests quick; the defaults are exercised in benchmarks
// and in TestDefaults.
var fastArgon = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func mustNew(t testing.TB, cfg Config) *Hasher {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return h
}

func TestDefaults(t *testing.T) {
	h := mustNew(t, Config{})
	if h.Algorithm() != Bcrypt {
		t.Fatalf("default algorithm = %q, want bcrypt", h.Algorithm())
	}
	s, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := bcrypt.Cost([]byte(s)); c != 10 {
		t.Fatalf("default cost = %d, want 10 (%s)", c, s)
	}
	a := mustNew(t, Config{Algorithm: Argon2id})
	s, err = a.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("default argon2id hash %q", s)
	}
	if ok, err := a.Verify(s, "correct horse"); !ok || err != nil {
		t.Fatalf("Verify default argon2id = %v, %v", ok, err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, cfg := range []Config{
		{Algorithm: Bcrypt, BcryptCost: 4},
		{Algorithm: Argon2id, Argon2: fastArgon},
	} {
		t.Run(cfg.Algorithm, func(t *testing.T) {
			h := mustNew(t, cfg)
			for _, pw := range []string{"correct horse battery staple", "pässwörd-ünïcode", "", strings.Repeat("x", 72)} {
				s, err := h.Hash(pw)
				if err != nil {
					t.Fatalf("Hash(%q): %v", pw, err)
				}
				s2, _ := h.Hash(pw)
				if s == s2 {
					t.Fatalf("two hashes of %q are equal: salt not random", pw)
				}
				if ok, err := h.Verify(s, pw); !ok || err != nil {
					t.Fatalf("Verify(right) = %v, %v", ok, err)
				}
				if ok, err := h.Verify(s, "!"+pw); ok || err != nil { // prefix: bcrypt ignores bytes past 72
					t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
				}
				if h.NeedsRehash(s) {
					t.Fatalf("NeedsRehash(fresh hash %q) = true", s)
				}
			}
		})
	}
}

func TestBcryptTooLong(t *testing.T) {
	h := mustNew(t, Config{BcryptCost: 4})
	if _, err := h.Hash(strings.Repeat("x", 73)); !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("Hash(73 bytes) err = %v, want ErrPasswordTooLong", err)
	}
	// argon2 has no such limit.
	a := mustNew(t, Config{Algorithm: Argon2id, Argon2: fastArgon})
	long := strings.Repeat("x", 200)
	s, err := a.Hash(long)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Verify(s, long[:199]); ok {
		t.Fatal("argon2 truncated the password")
	}
}

// Every Hasher verifies every supported format, whatever it is configured
// to produce.
func TestVerifyForeignFormats(t *testing.T) {
	b := mustNew(t, Config{BcryptCost: 4})
	a := mustNew(t, Config{Algorithm: Argon2id, Argon2: fastArgon})

	bh, _ := bcrypt.GenerateFromPassword([]byte("pw-bcrypt"), 4)
	salt := []byte("0123456789abcdef")
	i := argon2.Key([]byte("pw-argon2i"), salt, 2, 64, 1, 32)
	ih := fmt.Sprintf("$argon2i$v=19$m=64,t=2,p=1$%s$%s", b64(salt), b64(i))
	id := argon2.IDKey([]byte("pw-argon2id"), salt, 1, 128, 2, 24)
	idh := fmt.Sprintf("$argon2id$v=19$m=128,t=1,p=2$%s$%s", b64(salt), b64(id))
	padded := fmt.Sprintf("$argon2id$v=19$m=128,t=1,p=2$%s$%s",
		base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(id))

	cases := []struct{ name, hash, pw string }{
		{"2a", string(bh), "pw-bcrypt"},
		{"2b", "$2b" + string(bh)[3:], "pw-bcrypt"},
		{"2y", "$2y" + string(bh)[3:], "pw-bcrypt"},
		{"argon2i", ih, "pw-argon2i"},
		{"argon2id", idh, "pw-argon2id"},
		{"argon2id padded base64", padded, "pw-argon2id"},
	}
	for _, h := range []*Hasher{a, b} {
		for _, c := range cases {
			t.Run(h.Algorithm()+"/"+c.name, func(t *testing.T) {
				if ok, err := h.Verify(c.hash, c.pw); !ok || err != nil {
					t.Fatalf("Verify(right) = %v, %v", ok, err)
				}
				if ok, err := h.Verify(c.hash, c.pw+"x"); ok || err != nil {
					t.Fatalf("Verify(wrong) = %v, %v", ok, err)
				}
			})
		}
	}
}

// Known vectors from crypt_blowfish's test suite, confirmed with the
// system's libxcrypt crypt(3) for each of $2a$, $2b$ and $2y$.
func TestBcryptKnownVectors(t *testing.T) {
	h := mustNew(t, Config{})
	for _, v := range []struct{ hash, pw string }{
		{"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
		{"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
		{"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
		{"$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"},
		{"$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"},
	} {
		if ok, err := h.Verify(v.hash, v.pw); !ok || err != nil {
			t.Errorf("Verify(%s, %q) = %v, %v", v.hash, v.pw, ok, err)
		}
		if ok, err := h.Verify(v.hash, v.pw+"U"); ok || err != nil {
			t.Errorf("Verify(%s, wrong) = %v, %v", v.hash, ok, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	h := mustNew(t, Config{BcryptCost: 4})
	good, _ := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	g := string(good)
	salt := b64([]byte("0123456789abcdef"))
	key := b64(make([]byte, 32))
	phc := func(alg, v, params, s, k string) string {
		return "$" + alg + "$" + v + "$" + params + "$" + s + "$" + k
	}
	cases := []struct {
		name, hash string
		want       error
	}{
		{"empty", "", ErrMalformedHash},
		{"plaintext", "hunter22", ErrMalformedHash},
		{"unknown scheme", "$7$rounds=5000$salt$hash", ErrUnsupportedHash},
		{"bcrypt truncated", g[:59], ErrMalformedHash},
		{"bcrypt extended", g + "A", ErrMalformedHash},
		{"bcrypt $2x$", "$2x" + g[3:], ErrUnsupportedHash},
		{"bcrypt $2$", "$2$" + g[4:], ErrMalformedHash},
		{"bcrypt cost letters", g[:4] + "xx" + g[6:], ErrMalformedHash},
		{"bcrypt cost 03", g[:4] + "03" + g[6:], ErrMalformedHash},
		{"bcrypt bad alphabet", g[:10] + "!" + g[11:], ErrMalformedHash},
		{"argon2 missing fields", "$argon2id$v=19$m=64,t=1,p=1$" + salt, ErrMalformedHash},
		{"argon2 no version (v=16)", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, ErrUnsupportedHash},
		{"argon2 version 16", phc("argon2id", "v=16", "m=64,t=1,p=1", salt, key), ErrUnsupportedHash},
		{"argon2 version junk", phc("argon2id", "v=x", "m=64,t=1,p=1", salt, key), ErrMalformedHash},
		{"argon2x", phc("argon2x", "v=19", "m=64,t=1,p=1", salt, key), ErrUnsupportedHash},
		{"argon2 params order", phc("argon2id", "v=19", "t=1,m=64,p=1", salt, key), ErrMalformedHash},
		{"argon2 params missing", phc("argon2id", "v=19", "m=64,t=1", salt, key), ErrMalformedHash},
		{"argon2 params extra", phc("argon2id", "v=19", "m=64,t=1,p=1,k=2", salt, key), ErrMalformedHash},
		{"argon2 negative", phc("argon2id", "v=19", "m=64,t=-1,p=1", salt, key), ErrMalformedHash},
		{"argon2 t=0", phc("argon2id", "v=19", "m=64,t=0,p=1", salt, key), ErrMalformedHash},
		{"argon2 p=0", phc("argon2id", "v=19", "m=64,t=1,p=0", salt, key), ErrMalformedHash},
		{"argon2 m < 8p", phc("argon2id", "v=19", "m=8,t=1,p=2", salt, key), ErrMalformedHash},
		{"argon2 leading zero", phc("argon2id", "v=19", "m=064,t=1,p=1", salt, key), ErrMalformedHash},
		{"argon2 salt not base64", phc("argon2id", "v=19", "m=64,t=1,p=1", "!!!!!!!!!!!!", key), ErrMalformedHash},
		{"argon2 salt too short", phc("argon2id", "v=19", "m=64,t=1,p=1", b64([]byte("1234")), key), ErrMalformedHash},
		{"argon2 key too short", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, b64([]byte("1234"))), ErrMalformedHash},
		{"argon2 key too long", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, b64(make([]byte, 200))), ErrMalformedHash},
		{"argon2 empty key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, ""), ErrMalformedHash},
		{"huge string", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 4096) + "$" + key, ErrMalformedHash},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := h.Verify(c.hash, "pw")
			if ok || !errors.Is(err, c.want) {
				t.Fatalf("Verify(%q) = %v, %v; want false, %v", c.hash, ok, err, c.want)
			}
			if !h.NeedsRehash(c.hash) {
				t.Fatalf("NeedsRehash(malformed) = false")
			}
		})
	}
}

// Hashes whose parameters would make one verification take seconds or
// gigabytes are refused before any work: each case must answer at once.
func TestExtremeParamsRefused(t *testing.T) {
	h := mustNew(t, Config{BcryptCost: 4})
	good, _ := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	g := string(good)
	salt := b64([]byte("0123456789abcdef"))
	key := b64(make([]byte, 32))
	argon := func(alg, params string) string {
		return "$" + alg + "$v=19$" + params + "$" + salt + "$" + key
	}
	cases := []struct {
		name, hash, param string
		value             uint64
	}{
		{"bcrypt cost 15", g[:4] + "15" + g[6:], "cost", 15},
		{"bcrypt cost 31", g[:4] + "31" + g[6:], "cost", 31},
		{"bcrypt cost 99", g[:4] + "99" + g[6:], "cost", 99},
		{"$2y$ cost 20", "$2y$20" + g[6:], "cost", 20},
		{"argon2id memory 1GiB+1", argon("argon2id", "m=1048577,t=1,p=1"), "m", 1048577},
		{"argon2id memory 4GiB", argon("argon2id", "m=4194304,t=1,p=1"), "m", 4194304},
		{"argon2id memory overflow", argon("argon2id", "m=99999999999999999999,t=1,p=1"), "m", 1<<32 - 1},
		{"argon2id time 11", argon("argon2id", "m=64,t=11,p=1"), "t", 11},
		{"argon2i time 4294967295", argon("argon2i", "m=64,t=4294967295,p=1"), "t", 4294967295},
		{"argon2id parallelism 17", argon("argon2id", "m=1024,t=1,p=17"), "p", 17},
		{"argon2id parallelism 255", argon("argon2id", "m=4096,t=1,p=255"), "p", 255},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := h.Verify(c.hash, "pw")
			var pe *ParamsError
			if ok || !errors.As(err, &pe) || !errors.Is(err, ErrExcessiveParams) {
				t.Fatalf("Verify = %v, %v; want *ParamsError", ok, err)
			}
			if pe.Param != c.param || pe.Value != c.value {
				t.Fatalf("ParamsError = %+v; want param %s value %d", pe, c.param, c.value)
			}
			h.DummyVerify("x") // unrelated, keeps the fixed-hash path warm under -race
		})
	}
	// The bounds themselves are accepted (parse only: m=1GiB would be slow).
	for _, s := range []string{
		g[:4] + "14" + g[6:],
		argon("argon2id", "m=1048576,t=10,p=16"),
	} {
		if _, err := parse(s); err != nil {
			t.Fatalf("parse(%q) at the bound: %v", s, err)
		}
	}
}

func TestConfig(t *testing.T) {
	bad := []Config{
		{Algorithm: "md5"},
		{Algorithm: "Bcrypt"},
		{BcryptCost: 3},
		{BcryptCost: 16},
		{Algorithm: Argon2id, Argon2: Argon2Params{Memory: MaxArgon2Memory + 1}},
		{Algorithm: Argon2id, Argon2: Argon2Params{Time: 11}},
		{Algorithm: Argon2id, Argon2: Argon2Params{Threads: 17}},
		{Algorithm: Argon2id, Argon2: Argon2Params{Memory: 8, Threads: 2}},
		{Algorithm: Argon2id, Argon2: Argon2Params{SaltLen: 4}},
		{Algorithm: Argon2id, Argon2: Argon2Params{KeyLen: 8}},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		} else if !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrExcessiveParams) {
			t.Errorf("New(%+v) error %v is neither ErrInvalidConfig nor ErrExcessiveParams", c, err)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	b4 := mustNew(t, Config{BcryptCost: 4})
	b5 := mustNew(t, Config{BcryptCost: 5})
	a := mustNew(t, Config{Algorithm: Argon2id, Argon2: Argon2Params{Memory: 128, Time: 2, Threads: 2}})

	h4, _ := b4.Hash("pw")
	h5, _ := b5.Hash("pw")
	ha, _ := a.Hash("pw")
	salt := []byte("0123456789abcdef")
	mk := func(alg string, m, tt uint32, p uint8, saltLen, keyLen int) string {
		return encodeArgon(alg, m, tt, p, salt[:saltLen], make([]byte, keyLen))
	}

	cases := []struct {
		name string
		h    *Hasher
		hash string
		want bool
	}{
		{"bcrypt same cost", b4, h4, false},
		{"bcrypt stronger cost", b4, h5, false},
		{"bcrypt weaker cost", b5, h4, true},
		{"bcrypt $2y$ same cost", b4, "$2y" + h4[3:], false},
		{"bcrypt config, argon2id hash", b4, ha, true},
		{"argon2id config, bcrypt hash", a, h5, true},
		{"argon2id same", a, ha, false},
		{"argon2i variant", a, mk("argon2i", 128, 2, 2, 16, 32), true},
		{"argon2id less memory", a, mk(Argon2id, 64, 2, 2, 16, 32), true},
		{"argon2id fewer passes", a, mk(Argon2id, 128, 1, 2, 16, 32), true},
		{"argon2id fewer lanes", a, mk(Argon2id, 128, 2, 1, 16, 32), true},
		{"argon2id shorter salt", a, mk(Argon2id, 128, 2, 2, 8, 32), true},
		{"argon2id shorter key", a, mk(Argon2id, 128, 2, 2, 16, 16), true},
		{"argon2id stronger", a, mk(Argon2id, 256, 3, 4, 16, 64), false},
		{"garbage", a, "nope", true},
	}
	for _, c := range cases {
		if got := c.h.NeedsRehash(c.hash); got != c.want {
			t.Errorf("%s: NeedsRehash(%q) = %v, want %v", c.name, c.hash, got, c.want)
		}
	}
}

func TestDummyVerify(t *testing.T) {
	for _, cfg := range []Config{{BcryptCost: 4}, {Algorithm: Argon2id, Argon2: fastArgon}} {
		h := mustNew(t, cfg)
		h.DummyVerify("anything")
		h.DummyVerify(strings.Repeat("y", 100))
		if h.dummyHash == "" {
			t.Fatal("dummy hash not set")
		}
		if _, err := parse(h.dummyHash); err != nil {
			t.Fatalf("dummy hash %q unparseable: %v", h.dummyHash, err)
		}
		if h.NeedsRehash(h.dummyHash) {
			t.Fatalf("dummy hash %q does not use the configured parameters", h.dummyHash)
		}
		if ok, _ := h.Verify(h.dummyHash, dummyPassword); !ok {
			t.Fatal("dummy hash does not verify its own password")
		}
		if fb := h.fallbackDummy(); h.NeedsRehash(fb) {
			t.Fatalf("fallback dummy %q unparseable or weaker", fb)
		}
	}
}

// DummyVerify must do the work of a failed Verify: its fixed hash has the
// configured algorithm and parameters, so NeedsRehash (which compares them)
// says no. The time it takes is reported by BenchmarkDummyVsWrongPassword,
// never asserted here.
func TestDummyVerifyUsesConfiguredCost(t *testing.T) {
	for _, cfg := range []Config{{BcryptCost: 6}, {Algorithm: Argon2id, Argon2: Argon2Params{Memory: 64, Time: 1, Threads: 1}}} {
		h := mustNew(t, cfg)
		h.DummyVerify("warm")
		if h.dummyHash == "" || h.NeedsRehash(h.dummyHash) {
			t.Fatalf("%+v: dummy hash %q does not match the configured parameters", cfg, h.dummyHash)
		}
	}
}

// BenchmarkDummyVsWrongPassword reports an unknown user's cost (DummyVerify)
// against a wrong password's (Verify) as a ratio, same run.
func BenchmarkDummyVsWrongPassword(b *testing.B) {
	h := mustNew(b, Config{BcryptCost: 10})
	real, _ := h.Hash("the real password")
	h.DummyVerify("warm")
	var wrong, dummy time.Duration
	for b.Loop() {
		s := time.Now()
		_, _ = h.Verify(real, "wrong password")
		wrong += time.Since(s)
		s = time.Now()
		h.DummyVerify("wrong password")
		dummy += time.Since(s)
	}
	b.ReportMetric(float64(dummy)/float64(wrong), "unknown/wrong")
}

func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

var sink bool

func benchHasher(b *testing.B, cfg Config) {
	h := mustNew(b, cfg)
	b.Run("Hash", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.Hash("correct horse battery staple"); err != nil {
				b.Fatal(err)
			}
		}
	})
	s, _ := h.Hash("correct horse battery staple")
	b.Run("Verify", func(b *testing.B) {
		for b.Loop() {
			ok, err := h.Verify(s, "correct horse battery staple")
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			sink = ok
		}
	})
	b.Run("DummyVerify", func(b *testing.B) {
		for b.Loop() {
			h.DummyVerify("correct horse battery staple")
		}
	})
}

func BenchmarkBcryptCost10(b *testing.B) { benchHasher(b, Config{Algorithm: Bcrypt, BcryptCost: 10}) }
func BenchmarkBcryptCost4(b *testing.B)  { benchHasher(b, Config{Algorithm: Bcrypt, BcryptCost: 4}) }
func BenchmarkArgon2idDefault(b *testing.B) {
	benchHasher(b, Config{Algorithm: Argon2id})
}
