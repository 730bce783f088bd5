package passwords

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// refPBKDF2 is RFC 8018's PBKDF2 written out with crypto/hmac, independent
// of the implementation under test.
func refPBKDF2(h func() hash.Hash, pw, salt []byte, iter, keyLen int) []byte {
	var out []byte
	for block := uint32(1); len(out) < keyLen; block++ {
		mac := hmac.New(h, pw)
		mac.Write(salt)
		var ctr [4]byte
		binary.BigEndian.PutUint32(ctr[:], block)
		mac.Write(ctr[:])
		u := mac.Sum(nil)
		t := append([]byte(nil), u...)
		for i := 1; i < iter; i++ {
			mac = hmac.New(h, pw)
			mac.Write(u)
			u = mac.Sum(nil)
			for j := range t {
				t[j] ^= u[j]
			}
		}
		out = append(out, t...)
	}
	return out[:keyLen]
}

func digest(h hash.Hash, parts ...[]byte) []byte {
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func TestPBKDF2ReferenceVector(t *testing.T) {
	// RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64).
	want := "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
	if got := hex.EncodeToString(refPBKDF2(sha256.New, []byte("passwd"), []byte("salt"), 1, 64)); got != want {
		t.Fatalf("reference pbkdf2 = %s", got)
	}
}

func TestCustomHashes(t *testing.T) {
	const pw = "correct horse battery"
	salt := []byte("NaCl-salt")
	b64s := base64.StdEncoding.EncodeToString
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	argonSalt := []byte("0123456789abcdef")
	argonKey := argon2.IDKey([]byte(pw), argonSalt, 1, 64, 1, 32)
	argonID := "$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(argonSalt) + "$" + base64.RawStdEncoding.EncodeToString(argonKey)
	argonIKey := argon2.Key([]byte(pw), argonSalt, 1, 64, 1, 32)
	argonI := "$argon2i$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(argonSalt) + "$" + base64.RawStdEncoding.EncodeToString(argonIKey)
	pb256 := "$pbkdf2-sha256$i=1000,l=32$" + base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(refPBKDF2(sha256.New, []byte(pw), salt, 1000, 32))
	pb512 := "$pbkdf2-sha512$i=500,l=64$" + base64.RawStdEncoding.EncodeToString(salt) + "$" +
		base64.RawStdEncoding.EncodeToString(refPBKDF2(sha512.New, []byte(pw), salt, 500, 64))
	// passlib's adapted base64 ('.' for '+'): a salt whose encoding holds '+'.
	plusSalt := []byte{0xfb, 0xef, 0xbe, 0x01}
	pbPasslib := "$pbkdf2-sha256$i=10$" + strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(plusSalt), "+", ".") + "$" +
		strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(refPBKDF2(sha256.New, []byte(pw), plusSalt, 10, 32)), "+", ".")

	tests := []struct {
		name string
		in   Custom
	}{
		{"bcrypt", Custom{Algorithm: "bcrypt", Hash: string(bc)}},
		{"bcrypt 2y", Custom{Algorithm: "bcrypt", Hash: "$2y$" + string(bc[4:])}},
		{"argon2id", Custom{Algorithm: "argon2", Hash: argonID}},
		{"argon2i", Custom{Algorithm: "argon2", Hash: argonI}},
		{"pbkdf2-sha256", Custom{Algorithm: "pbkdf2", Hash: pb256}},
		{"pbkdf2-sha512", Custom{Algorithm: "pbkdf2", Hash: pb512}},
		{"pbkdf2 passlib base64", Custom{Algorithm: "pbkdf2", Hash: pbPasslib}},
		{"sha256 hex prefix", Custom{Algorithm: "sha256", Hash: hex.EncodeToString(digest(sha256.New(), salt, []byte(pw))), Salt: string(salt)}},
		{"sha256 base64 suffix", Custom{Algorithm: "sha256", Hash: b64s(digest(sha256.New(), []byte(pw), salt)), HashEncoding: "base64", Salt: string(salt), SaltPosition: "suffix"}},
		{"sha256 upper hex, hex salt", Custom{Algorithm: "SHA256", Hash: strings.ToUpper(hex.EncodeToString(digest(sha256.New(), salt, []byte(pw)))), Salt: hex.EncodeToString(salt), SaltEncoding: "hex", SaltPosition: "prefix"}},
		{"sha512 base64 salt suffix", Custom{Algorithm: "sha512", Hash: hex.EncodeToString(digest(sha512.New(), []byte(pw), salt)), Salt: b64s(salt), SaltEncoding: "base64", SaltPosition: "suffix"}},
		{"sha512 url-safe base64", Custom{Algorithm: "sha512", Hash: base64.RawURLEncoding.EncodeToString(digest(sha512.New(), salt, []byte(pw))), HashEncoding: "base64", Salt: string(salt)}},
		{"sha256 unsalted", Custom{Algorithm: "sha256", Hash: hex.EncodeToString(digest(sha256.New(), []byte(pw)))}},
		{"md5 unsalted", Custom{Algorithm: "md5", Hash: hex.EncodeToString(digest(md5.New(), []byte(pw)))}},
		{"md5 salted", Custom{Algorithm: "md5", Hash: b64s(digest(md5.New(), salt, []byte(pw))), HashEncoding: "base64", Salt: string(salt)}},
	}
	h := mustNew(t, Config{BcryptCost: 4})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, err := FromCustom(tt.in)
			if err != nil {
				t.Fatalf("FromCustom: %v", err)
			}
			if len(stored) > 255 {
				t.Fatalf("stored form is %d characters", len(stored))
			}
			if ok, err := h.Verify(stored, pw); !ok || err != nil {
				t.Fatalf("Verify(right password) = %v, %v (stored %s)", ok, err, stored)
			}
			for _, wrong := range []string{"correct horse batter", "", pw + " ", strings.ToUpper(pw)} {
				if ok, err := h.Verify(stored, wrong); ok || err != nil {
					t.Fatalf("Verify(%q) = %v, %v", wrong, ok, err)
				}
			}
			// Everything but bcrypt at the configured cost (4) is replaced.
			wantRehash := !strings.HasPrefix(stored, "$2")
			if got := h.NeedsRehash(stored); got != wantRehash {
				t.Fatalf("NeedsRehash = %v, want %v", got, wantRehash)
			}
		})
	}
}

func TestCustomHashErrors(t *testing.T) {
	sha := hex.EncodeToString(digest(sha256.New(), []byte("x")))
	tests := []struct {
		name  string
		in    Custom
		field string
		cat   error
	}{
		{"no algorithm", Custom{Hash: sha}, "algorithm", ErrMalformedHash},
		{"unknown algorithm", Custom{Algorithm: "crc32", Hash: sha}, "algorithm", ErrUnsupportedHash},
		{"no hash", Custom{Algorithm: "sha256"}, "hash.value", ErrMalformedHash},
		{"bad hex", Custom{Algorithm: "sha256", Hash: "zz" + sha[2:]}, "hash.value", ErrMalformedHash},
		{"bad base64", Custom{Algorithm: "sha256", Hash: "!!!", HashEncoding: "base64"}, "hash.value", ErrMalformedHash},
		{"bad encoding", Custom{Algorithm: "sha256", Hash: sha, HashEncoding: "rot13"}, "hash.encoding", ErrMalformedHash},
		{"wrong digest size", Custom{Algorithm: "sha512", Hash: sha}, "hash.value", ErrMalformedHash},
		{"bad salt position", Custom{Algorithm: "sha256", Hash: sha, Salt: "s", SaltPosition: "middle"}, "salt.position", ErrMalformedHash},
		{"salt too long", Custom{Algorithm: "sha256", Hash: sha, Salt: strings.Repeat("s", MaxCustomSaltLen+1)}, "salt.value", ErrMalformedHash},
		{"bad salt hex", Custom{Algorithm: "sha256", Hash: sha, Salt: "xyz", SaltEncoding: "hex"}, "salt.value", ErrMalformedHash},
		{"position without salt", Custom{Algorithm: "md5", Hash: sha[:32], SaltPosition: "suffix"}, "salt.value", ErrMalformedHash},
		{"bcrypt not bcrypt", Custom{Algorithm: "bcrypt", Hash: sha}, "hash.value", ErrMalformedHash},
		{"bcrypt with salt", Custom{Algorithm: "bcrypt", Hash: "$2a$04$" + strings.Repeat(".", 53), Salt: "x"}, "salt", ErrMalformedHash},
		{"bcrypt cost", Custom{Algorithm: "bcrypt", Hash: "$2a$31$" + strings.Repeat(".", 53)}, "hash.value", ErrExcessiveParams},
		{"argon2 version 16", Custom{Algorithm: "argon2", Hash: "$argon2d$v=16$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}, "hash.value", ErrUnsupportedHash},
		{"pbkdf2 iterations", Custom{Algorithm: "pbkdf2", Hash: "$pbkdf2-sha256$i=10000001,l=32$c2FsdA$" + strings.Repeat("A", 43)}, "hash.value", ErrExcessiveParams},
		{"pbkdf2 md5", Custom{Algorithm: "pbkdf2", Hash: "$pbkdf2-md5$i=1,l=16$c2FsdA$" + strings.Repeat("A", 22)}, "hash.value", ErrUnsupportedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromCustom(tt.in)
			var ce *CustomError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *CustomError", err)
			}
			if ce.Field != tt.field || !errors.Is(err, tt.cat) {
				t.Fatalf("err = %v (field %q), want field %q and %v", err, ce.Field, tt.field, tt.cat)
			}
			if tt.in.Hash != "" && len(tt.in.Hash) > 4 && strings.Contains(err.Error(), tt.in.Hash) {
				t.Fatalf("error quotes the hash: %v", err)
			}
		})
	}
}

func TestStoredCustomMalformed(t *testing.T) {
	h := mustNew(t, Config{BcryptCost: 4})
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name, hash string
		want       error
	}{
		{"pbkdf2 huge iterations", "$pbkdf2-sha512$i=99999999999999999999999,l=64$c2FsdA$" + key, ErrExcessiveParams},
		{"pbkdf2 zero iterations", "$pbkdf2-sha256$i=0,l=32$c2FsdA$" + key, ErrMalformedHash},
		{"pbkdf2 leading zero", "$pbkdf2-sha256$i=010,l=32$c2FsdA$" + key, ErrMalformedHash},
		{"pbkdf2 no iterations", "$pbkdf2-sha256$l=32$c2FsdA$" + key, ErrMalformedHash},
		{"pbkdf2 unknown param", "$pbkdf2-sha256$i=1,x=2$c2FsdA$" + key, ErrMalformedHash},
		{"pbkdf2 key length mismatch", "$pbkdf2-sha256$i=1,l=16$c2FsdA$" + key, ErrMalformedHash},
		{"pbkdf2 key too long", "$pbkdf2-sha256$i=1,l=65$c2FsdA$" + key, ErrExcessiveParams},
		{"pbkdf2 empty salt", "$pbkdf2-sha256$i=1$$" + key, ErrMalformedHash},
		{"pbkdf2 missing part", "$pbkdf2-sha256$i=1$" + key, ErrMalformedHash},
		{"sha256 short digest", "$sha256$" + base64.RawStdEncoding.EncodeToString(make([]byte, 31)), ErrMalformedHash},
		{"sha256 bad position", "$sha256$pos=middle$c2FsdA$" + key, ErrMalformedHash},
		{"sha256 bad base64", "$sha256$!!!", ErrMalformedHash},
		{"sha256 four parts", "$sha256$pos=prefix$" + key, ErrMalformedHash},
		{"md5 empty", "$md5$", ErrMalformedHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(tt.hash, "anything")
			if ok || !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tt.want)
			}
			if !h.NeedsRehash(tt.hash) {
				t.Fatal("NeedsRehash = false for an unusable hash")
			}
		})
	}
}
