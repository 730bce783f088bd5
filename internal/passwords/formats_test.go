package passwords

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/md4"
	"golang.org/x/crypto/ripemd160"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustVerify(t *testing.T, stored, pw string) {
	t.Helper()
	ok, err := Verify(stored, pw)
	if err != nil || !ok {
		t.Fatalf("Verify(%.40q, right password) = %v, %v", stored, ok, err)
	}
	if ok, err := Verify(stored, pw+"x"); err != nil || ok {
		t.Fatalf("Verify(%.40q, wrong password) = %v, %v", stored, ok, err)
	}
}

// needTool finds a reference tool; a missing one fails under CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(needTool(t, name), args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return strings.TrimSpace(string(out))
}

// RFC 6070 §2: PBKDF2-HMAC-SHA1 test vectors, through the stored format
// and through FromCustom (Auth0's PHC string).
func TestPBKDF2SHA1RFC6070(t *testing.T) {
	for _, v := range []struct {
		iter int
		dk   string
	}{
		{1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"},
		{2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
		{4096, "4b007901b765489abead49d926f721d065a429c1"},
	} {
		phc := "$pbkdf2-sha1$i=" + itoa(v.iter) + ",l=20$" + phc64([]byte("salt")) + "$" + phc64(unhex(t, v.dk))
		mustVerify(t, phc, "password")
		stored, err := FromCustom(Custom{Algorithm: "pbkdf2", Hash: phc})
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, stored, "password")
		// passlib's bare form is pbkdf2-sha1 too.
		mustVerify(t, "$pbkdf2$"+itoa(v.iter)+"$"+phc64([]byte("salt"))+"$"+phc64(unhex(t, v.dk)), "password")
	}
	// RFC 6070's 25-byte output with a long password and salt.
	phc := "$pbkdf2-sha1$i=4096,l=25$" + phc64([]byte("saltSALTsaltSALTsaltSALTsaltSALTsalt")) + "$" +
		phc64(unhex(t, "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"))
	mustVerify(t, phc, "passwordPASSWORDpassword")
	// Auth0's default iteration count applies when i= is missing.
	stored, err := FromCustom(Custom{Algorithm: "pbkdf2", Hash: "$pbkdf2-sha1$l=20$" + phc64([]byte("salt")) + "$" + phc64(make([]byte, 20))})
	if err != nil || !strings.HasPrefix(stored, "$pbkdf2-sha1$i=100000,l=20$") {
		t.Fatalf("default iterations: %q, %v", stored, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustBcrypt(t *testing.T, pw string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// RFC 7914 §12: scrypt test vectors, as Auth0 describes them (hex hash,
// keylen, cost, blockSize, parallelization).
func TestScryptRFC7914(t *testing.T) {
	for _, v := range []struct {
		pw, salt string
		n, r, p  uint64
		dk       string
	}{
		{"", "", 16, 1, 1, "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"},
		{"password", "NaCl", 1024, 8, 16, "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"},
	} {
		if v.salt == "" {
			// Auth0 requires a salt; the empty-salt vector goes through
			// the stored format only.
			_, err := FromCustom(Custom{Algorithm: "scrypt", Hash: v.dk, KeyLen: 64, Cost: v.n, BlockSize: v.r, Parallelization: v.p})
			var ce *CustomError
			if !errors.As(err, &ce) || ce.Field != "salt.value" {
				t.Fatalf("no salt: %v", err)
			}
			continue
		}
		stored, err := FromCustom(Custom{Algorithm: "scrypt", Hash: v.dk, Salt: v.salt, KeyLen: 64, Cost: v.n, BlockSize: v.r, Parallelization: v.p})
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, stored, v.pw)
	}
	for _, tt := range []struct {
		name  string
		c     Custom
		field string
		cat   error
	}{
		{"no keylen", Custom{Algorithm: "scrypt", Hash: "00", Salt: "s"}, "keylen", ErrMalformedHash},
		{"keylen mismatch", Custom{Algorithm: "scrypt", Hash: "0000", Salt: "s", KeyLen: 3}, "hash.value", ErrMalformedHash},
		{"cost not a power of two", Custom{Algorithm: "scrypt", Hash: "00", Salt: "s", KeyLen: 1, Cost: 1000}, "cost", ErrMalformedHash},
		{"cost too high", Custom{Algorithm: "scrypt", Hash: "00", Salt: "s", KeyLen: 1, Cost: 1 << 22}, "cost", ErrExcessiveParams},
		{"memory too high", Custom{Algorithm: "scrypt", Hash: "00", Salt: "s", KeyLen: 1, Cost: 1 << 20, BlockSize: 32}, "cost", ErrExcessiveParams},
		{"parallelization too high", Custom{Algorithm: "scrypt", Hash: "00", Salt: "s", KeyLen: 1, Parallelization: 1000}, "parallelization", ErrExcessiveParams},
		{"keylen on sha1", Custom{Algorithm: "sha1", Hash: strings.Repeat("00", 20), KeyLen: 20}, "keylen", ErrMalformedHash},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromCustom(tt.c)
			var ce *CustomError
			if !errors.As(err, &ce) || ce.Field != tt.field || !errors.Is(err, tt.cat) {
				t.Fatalf("err = %v, want field %s and %v", err, tt.field, tt.cat)
			}
		})
	}
}

// RFC 2104 (HMAC-MD5), RFC 2202 (HMAC-SHA1), RFC 2286 (HMAC-RIPEMD160) and
// RFC 4231 (HMAC-SHA-2) test case 2: key "Jefe", data "what do ya want
// for nothing?". Auth0's hmac is HMAC(key, salt||password); without a
// salt the data is the password itself.
func TestHMACRFCVectors(t *testing.T) {
	const data = "what do ya want for nothing?"
	for _, v := range []struct{ digest, mac string }{
		{"md5", "750c783e6ab0b503eaa86e310a5db738"},
		{"sha1", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
		{"ripemd160", "dda6c0213a485a9e24f4742064a7f033b43c4069"},
		{"sha224", "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"},
		{"sha256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"sha384", "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
		{"sha512", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	} {
		t.Run(v.digest, func(t *testing.T) {
			stored, err := FromCustom(Custom{Algorithm: "hmac", HashDigest: v.digest, Hash: v.mac, Key: "Jefe"})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, stored, data)
			// The same MAC split into salt (prefix) and password.
			stored, err = FromCustom(Custom{Algorithm: "hmac", HashDigest: v.digest, Hash: v.mac, Key: hex.EncodeToString([]byte("Jefe")), KeyEncoding: "hex",
				Salt: "what do ya", SaltPosition: "prefix"})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, stored, " want for nothing?")
			// And as a suffix, base64 encoded.
			b, _ := hex.DecodeString(v.mac)
			stored, err = FromCustom(Custom{Algorithm: "hmac", HashDigest: v.digest, Hash: base64.StdEncoding.EncodeToString(b), HashEncoding: "base64",
				Key: "SmVmZQ==", KeyEncoding: "base64", Salt: "nothing?", SaltPosition: "suffix"})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, stored, "what do ya want for ")
		})
	}
	for _, tt := range []struct {
		name  string
		c     Custom
		field string
		cat   error
	}{
		{"no digest", Custom{Algorithm: "hmac", Hash: "00", Key: "k"}, "hash.digest", ErrMalformedHash},
		{"whirlpool", Custom{Algorithm: "hmac", HashDigest: "whirlpool", Hash: "00", Key: "k"}, "hash.digest", ErrUnsupportedHash},
		{"unknown digest", Custom{Algorithm: "hmac", HashDigest: "crc32", Hash: "00", Key: "k"}, "hash.digest", ErrUnsupportedHash},
		{"no key", Custom{Algorithm: "hmac", HashDigest: "sha1", Hash: strings.Repeat("00", 20)}, "hash.key.value", ErrMalformedHash},
		{"bad key encoding", Custom{Algorithm: "hmac", HashDigest: "sha1", Hash: strings.Repeat("00", 20), Key: "k", KeyEncoding: "rot13"}, "hash.key.encoding", ErrMalformedHash},
		{"key too long", Custom{Algorithm: "hmac", HashDigest: "sha1", Hash: strings.Repeat("00", 20), Key: strings.Repeat("k", 65)}, "hash.key.value", ErrMalformedHash},
		{"digest on md5", Custom{Algorithm: "md5", HashDigest: "sha1", Hash: strings.Repeat("00", 16)}, "hash.digest", ErrMalformedHash},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromCustom(tt.c)
			var ce *CustomError
			if !errors.As(err, &ce) || ce.Field != tt.field || !errors.Is(err, tt.cat) {
				t.Fatalf("err = %v, want field %s and %v", err, tt.field, tt.cat)
			}
		})
	}
}

// RFC 1320 §A.5 (MD4) and RFC 3174 §7.3 / FIPS 180 (SHA-1) vectors.
func TestMD4SHA1Vectors(t *testing.T) {
	for _, v := range []struct{ alg, in, sum string }{
		{"md4", "abc", "a448017aaf21d8525fc10ae87aa6729d"},
		{"md4", "message digest", "d9130a8164549fe818874806e1c7014b"},
		{"md4", "12345678901234567890123456789012345678901234567890123456789012345678901234567890", "e33b4ddc9c38f2199c3e7b164fcc0536"},
		{"sha1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"sha1", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
	} {
		stored, err := FromCustom(Custom{Algorithm: v.alg, Hash: v.sum})
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, stored, v.in)
		// Salted: "ab" as a prefix salt, then "c" as the password.
		if v.in == "abc" {
			stored, err = FromCustom(Custom{Algorithm: v.alg, Hash: strings.ToUpper(v.sum), Salt: "ab"})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, stored, "c")
		}
	}
}

// password.encoding: the password is hashed as UTF-16LE or latin1 bytes,
// as Node's Buffer.from(password, encoding) gives them. Reference: the
// digests of the byte strings written out by hand.
func TestPasswordEncodings(t *testing.T) {
	const pw = "pässwörd€"
	utf16le := []byte{'p', 0, 0xe4, 0, 's', 0, 's', 0, 'w', 0, 0xf6, 0, 'r', 0, 'd', 0, 0xac, 0x20}
	latin1 := []byte{'p', 0xe4, 's', 's', 'w', 0xf6, 'r', 'd', 0xac} // € is U+20AC: its low byte
	sum := func(h hash.Hash, b []byte) string { h.Write(b); return hex.EncodeToString(h.Sum(nil)) }
	for _, v := range []struct {
		enc  string
		data []byte
	}{{"utf16le", utf16le}, {"ucs2", utf16le}, {"latin1", latin1}, {"binary", latin1}, {"ascii", latin1}, {"utf8", []byte(pw)}} {
		t.Run(v.enc, func(t *testing.T) {
			for _, alg := range []string{"md4", "sha1", "sha256"} {
				var h hash.Hash
				switch alg {
				case "md4":
					h = md4.New()
				case "sha1":
					h = sha1.New()
				default:
					h = sha256.New()
				}
				stored, err := FromCustom(Custom{Algorithm: alg, Hash: sum(h, v.data), PasswordEncoding: v.enc})
				if err != nil {
					t.Fatal(err)
				}
				mustVerify(t, stored, pw)
			}
			m := hmac.New(ripemd160.New, []byte("k"))
			m.Write([]byte("salt"))
			m.Write(v.data)
			stored, err := FromCustom(Custom{Algorithm: "hmac", HashDigest: "ripemd160", Key: "k", Hash: hex.EncodeToString(m.Sum(nil)), Salt: "salt", PasswordEncoding: v.enc})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, stored, pw)
			pb := "$pbkdf2-sha512$i=10,l=64$" + phc64([]byte("salt")) + "$" + phc64(refPBKDF2(sha512.New, v.data, []byte("salt"), 10, 64))
			stored, err = FromCustom(Custom{Algorithm: "pbkdf2", Hash: pb, PasswordEncoding: v.enc})
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, stored, pw)
		})
	}
	for _, alg := range []string{"bcrypt", "argon2", "ldap"} {
		_, err := FromCustom(Custom{Algorithm: alg, Hash: "x", PasswordEncoding: "utf16le"})
		var ce *CustomError
		if !errors.As(err, &ce) || ce.Field != "password.encoding" {
			t.Fatalf("%s with utf16le: %v", alg, err)
		}
	}
	if _, err := FromCustom(Custom{Algorithm: "md5", Hash: strings.Repeat("00", 16), PasswordEncoding: "ebcdic"}); err == nil || !strings.HasPrefix(err.Error(), "password.encoding:") {
		t.Fatalf("unknown encoding: %v", err)
	}
}

// RFC 9106 §5: argon2d, argon2i and argon2id test vectors through the one
// argon2 core (the argon2d vector is what proves the linkname to
// x/crypto's core still reaches a working argon2d).
func TestArgon2RFC9106(t *testing.T) {
	pw, salt := make([]byte, 32), make([]byte, 16)
	secret, ad := make([]byte, 8), make([]byte, 12)
	for i := range pw {
		pw[i] = 1
	}
	for i := range salt {
		salt[i] = 2
	}
	for i := range secret {
		secret[i] = 3
	}
	for i := range ad {
		ad[i] = 4
	}
	for _, v := range []struct {
		mode int
		tag  string
	}{
		{0, "51 2b 39 1b 6f 11 62 97 53 71 d3 09 19 73 42 94 f8 68 e3 be 39 84 f3 c1 a1 3a 4d b9 fa be 4a cb"},
		{1, "c8 14 d9 d1 dc 7f 37 aa 13 f0 d7 7f 24 94 bd a1 c8 de 6b 01 6d d3 88 d2 99 52 a4 c4 67 2b 6c e8"},
		{2, "0d 64 0d f5 8d 78 76 6c 08 c0 37 a3 4a 8b 53 c9 d0 1e f0 45 2d 75 b6 5e b5 25 20 e9 6b 01 e6 59"},
	} {
		got := argon2DeriveKey(v.mode, pw, salt, secret, ad, 3, 32, 4, 32)
		if hex.EncodeToString(got) != strings.ReplaceAll(v.tag, " ", "") {
			t.Fatalf("mode %d: %x", v.mode, got)
		}
	}
	// An argon2d PHC string verifies, through Verify and FromCustom.
	s := []byte("0123456789abcdef")
	key := argon2DeriveKey(0, []byte("hunter2"), s, nil, nil, 2, 64, 1, 32)
	d := "$argon2d$v=19$m=64,t=2,p=1$" + phc64(s) + "$" + phc64(key)
	mustVerify(t, d, "hunter2")
	if stored, err := FromCustom(Custom{Algorithm: "argon2", Hash: d}); err != nil || stored != d {
		t.Fatalf("FromCustom argon2d: %q, %v", stored, err)
	}
	// Made by the reference implementation's CLI (phc-winner-argon2):
	// echo -n "correct horse battery" | argon2 0123456789abcdef -d -t 1 -k 64 -p 1 -l 32 -e
	mustVerify(t, "$argon2d$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$lFsyBlBt5TWqbEq3aUDWRD1HBqaOd1qkT+7xxuqCMUY", "correct horse battery")
	a, err := ParseArgon2(d)
	if err != nil || a.Variant != "argon2d" || !a.Matches([]byte("hunter2")) || a.Matches([]byte("hunter3")) {
		t.Fatalf("ParseArgon2: %+v, %v", a, err)
	}
}

// RFC 2307 schemes, computed with the standard library's digests, and
// {CRYPT} with strings made by openssl passwd (a reference implementation
// outside this repository).
func TestLDAP(t *testing.T) {
	const pw = "secret!"
	salt := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	b64 := base64.StdEncoding.EncodeToString
	sum := func(h hash.Hash, parts ...[]byte) []byte {
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	md5h := md5.New
	cases := map[string]string{
		"{SHA}":     b64(sum(sha1.New(), []byte(pw))),
		"{SSHA}":    b64(append(sum(sha1.New(), []byte(pw), salt), salt...)),
		"{MD5}":     b64(sum(md5h(), []byte(pw))),
		"{SMD5}":    b64(append(sum(md5h(), []byte(pw), salt), salt...)),
		"{SHA256}":  b64(sum(sha256.New(), []byte(pw))),
		"{SSHA256}": b64(append(sum(sha256.New(), []byte(pw), salt), salt...)),
		"{SSHA384}": b64(append(sum(sha512.New384(), []byte(pw), salt), salt...)),
		"{SHA512}":  b64(sum(sha512.New(), []byte(pw))),
		"{SSHA512}": b64(append(sum(sha512.New(), []byte(pw), salt), salt...)),
		"{ssha}":    b64(append(sum(sha1.New(), []byte(pw), salt), salt...)),
	}
	for scheme, body := range cases {
		stored, err := FromCustom(Custom{Algorithm: "ldap", Hash: scheme + body})
		if err != nil || stored != scheme+body {
			t.Fatalf("%s: %q, %v", scheme, stored, err)
		}
		mustVerify(t, stored, pw)
	}
	// A published {SSHA} example is not in any RFC; RFC 2307 defines only
	// the form. {CRYPT}: openssl's MD5-crypt and SHA-crypt.
	for _, flag := range []string{"-1", "-5", "-6"} {
		c := run(t, "openssl", "passwd", flag, "-salt", "NaClNaCl", pw)
		mustVerify(t, "{CRYPT}"+c, pw)
		if stored, err := FromCustom(Custom{Algorithm: "ldap", Hash: "{CRYPT}" + c}); err != nil || stored != "{CRYPT}"+c {
			t.Fatalf("{CRYPT}%s: %v", flag, err)
		}
	}
	mustVerify(t, "{CRYPT}"+mustBcrypt(t, pw), pw)
	for _, tt := range []struct{ name, s string }{
		{"DES crypt", "{CRYPT}abJnggxhB/yWI"},
		{"unknown scheme", "{PBKDF2}xxxx"},
	} {
		if _, err := Verify(tt.s, pw); !errors.Is(err, ErrUnsupportedHash) {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
	for _, tt := range []struct{ name, s string }{
		{"no brace", "{SSHA"},
		{"short digest", "{SHA}" + b64(make([]byte, 19))},
		{"salted without salt", "{SSHA}" + b64(make([]byte, 20))},
		{"not base64", "{SHA}!!!"},
	} {
		if _, err := Verify(tt.s, pw); !errors.Is(err, ErrMalformedHash) {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
}

// SHA-crypt: the test vectors of Drepper's specification; MD5-crypt: a
// string from openssl passwd -1 checked at test time, and a fixed one.
func TestCryptVectors(t *testing.T) {
	mustVerify(t, "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!")
	mustVerify(t, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!")
	mustVerify(t, "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!")
	mustVerify(t, "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!")
	mustVerify(t, "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", "password")
	if _, err := Verify("$6$rounds=99999999$salt$"+strings.Repeat("a", 86), "x"); !errors.Is(err, ErrExcessiveParams) {
		t.Fatalf("rounds bound: %v", err)
	}
	for _, pw := range []string{"a", "0123456789abcdef0123456789abcdef-longer-than-a-digest-and-then-some", "pässwörd"} {
		c := run(t, "openssl", "passwd", "-6", "-salt", "sixteencharsalt!", pw)
		mustVerify(t, c, pw)
		c = run(t, "openssl", "passwd", "-1", "-salt", "eight8ch", pw)
		mustVerify(t, c, pw)
	}
}

// phpass: the vector of phpass's own test.php; WordPress 6.8's $wp$ form:
// a hash made by WordPress's wp_hash_password, published in a public
// test; Django: strings built with python's hashlib, a reference
// implementation, at test time.
func TestPHPassWordPressDjango(t *testing.T) {
	mustVerify(t, "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "test12345")
	mustVerify(t, "$H$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", "test12345")
	mustVerify(t, "$wp$2y$10$qeleDSuDaeZO5fBsEqFReeWdlqaDnBDBzB16hFgsFnhN9qFBIihvm", "BigBike@2026")
	if _, err := Verify("$P$"+string(itoa64[30])+strings.Repeat("a", 30), "x"); !errors.Is(err, ErrExcessiveParams) {
		t.Fatalf("phpass rounds bound: %v", err)
	}
	if _, err := Verify("$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L", "x"); !errors.Is(err, ErrMalformedHash) {
		t.Fatalf("short phpass: %v", err)
	}

	py := `import hashlib, base64, sys
pw = sys.argv[1].encode()
for alg, d in (("pbkdf2_sha256", "sha256"), ("pbkdf2_sha1", "sha1")):
    dk = hashlib.pbkdf2_hmac(d, pw, b"seasalt", 1200)
    print("%s$1200$seasalt$%s" % (alg, base64.b64encode(dk).decode()))
`
	out := run(t, "python3", "-c", py, "lètmein")
	lines := strings.Split(out, "\n")
	if len(lines) != 2 {
		t.Fatalf("python: %q", out)
	}
	for _, l := range lines {
		mustVerify(t, l, "lètmein")
	}
	// Django's bcrypt_sha256 and argon2 wrappers.
	bc := mustBcrypt(t, hex.EncodeToString(sha256Sum([]byte("lètmein"))))
	mustVerify(t, "bcrypt_sha256$"+bc, "lètmein")
	mustVerify(t, "bcrypt$"+mustBcrypt(t, "lètmein"), "lètmein")
	if _, err := Verify("unsalted_md5$x", "x"); !errors.Is(err, ErrUnsupportedHash) {
		t.Fatalf("unknown django algorithm: %v", err)
	}
	if _, err := Verify("pbkdf2_sha256$99999999999$s$AAAA", "x"); !errors.Is(err, ErrExcessiveParams) {
		t.Fatalf("django iterations bound: %v", err)
	}
}

func sha256Sum(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// Errors name the part of the string and never quote salt or hash.
func TestHashErrorsNameTheField(t *testing.T) {
	for _, tt := range []struct {
		s, field string
	}{
		{"$argon2id$v=19$m=64,t=1,p=1$!!$" + strings.Repeat("A", 43), "salt"},
		{"$argon2id$v=19$m=64,t=0,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + strings.Repeat("A", 43), "t"},
		{"$scrypt$ln=4,r=1$c2FsdA$AAAA", "p"},
		{"$sha1$pos=middle$c2FsdA$" + phc64(make([]byte, 20)), "pos"},
		{"$hmac-sha1$pos=prefix$c2FsdA$" + phc64(make([]byte, 20)), "key"},
		{"$hmac-sha1$key=a2V5$" + phc64(make([]byte, 19)), "hash"},
		{"$md4$enc=utf32$" + phc64(make([]byte, 16)), "enc"},
	} {
		_, err := Verify(tt.s, "x")
		var he *HashError
		if !errors.As(err, &he) || he.Field != tt.field {
			t.Fatalf("%q: %v, want field %s", tt.s, err, tt.field)
		}
	}
	var pe *ParamsError
	if _, err := Verify("$scrypt$ln=21,r=8,p=1$c2FsdA$AAAA", "x"); !errors.As(err, &pe) || pe.Param != "ln" {
		t.Fatalf("scrypt ln: %v", err)
	}
	if _, err := Verify("$scrypt$ln=20,r=16,p=1$c2FsdA$AAAA", "x"); !errors.As(err, &pe) || pe.Param != "memory" {
		t.Fatalf("scrypt memory: %v", err)
	}
}

// The table: every parser's limit comes from it, and the configuration
// check refuses what Verify would refuse.
func TestBoundsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range Bounds() {
		k := b.Family + "." + b.Param
		if seen[k] || b.Min > b.Max {
			t.Fatalf("bad row %+v", b)
		}
		seen[k] = true
	}
	if BoundOf("argon2", "t").Max != MaxArgon2Time || BoundOf("bcrypt", "cost").Max != MaxBcryptCost {
		t.Fatal("table and constants differ")
	}
	if _, err := New(Config{Algorithm: Argon2id, Argon2: Argon2Params{Time: MaxArgon2Time + 1}}); !errors.Is(err, ErrExcessiveParams) {
		t.Fatalf("config above the table: %v", err)
	}
	if err := CheckArgon2Params("argon2id", 64, MaxArgon2Time+1, 1); !errors.Is(err, ErrExcessiveParams) {
		t.Fatalf("CheckArgon2Params: %v", err)
	}
}
