package sdk

import (
	"crypto/subtle"

	"github.com/profiled/profiled/abi"
)

// Legacy password hashes, computed by the host natively.
//
// Hashing inside the script (WebAssembly) is slow: SHA-256 about 100-180
// times, MD5 about 10 times slower than native code, so a Django login at
// 600,000 PBKDF2 iterations takes seconds and may miss its deadline. Ask
// the host instead: VerifyPassword for a whole stored hash string (the
// usual case), or the building blocks PBKDF2, Digest, HMAC, Scrypt and
// Argon2 for formats of your own. Their cost parameters are bounded by the
// same table as imported hashes (a hash costing minutes is refused with
// ErrDenied before any work), and they count as host calls.

// VerifyPassword reports whether password matches the stored hash string,
// in any format the host reads:
//
//	pbkdf2_sha256$600000$salt$base64, pbkdf2_sha1$..., argon2$argon2id$..., bcrypt_sha256$...  (Django)
//	$P$..., $H$...                        phpass (WordPress before 6.8, phpBB, Drupal 7's $P$)
//	$wp$2y$...                            WordPress 6.8+
//	$2a$, $2b$, $2y$                      bcrypt
//	$argon2id$, $argon2i$, $argon2d$      argon2 PHC strings
//	$scrypt$ln=..., $pbkdf2-sha256$...    PHC-style scrypt and pbkdf2
//	{SHA}, {SSHA}, {SSHA256}, {SSHA512}, {MD5}, {SMD5}, {CRYPT}   LDAP
//	$1$, $5$, $6$                         MD5-crypt, SHA-crypt
//
// A wrong password is (false, nil). An error means the hash itself is
// unusable: malformed or unsupported (a *HostError with abi.ErrnoInval), or too expensive
// (ErrDenied); its message names the part, never the value.
func VerifyPassword(stored, password string) (bool, error) {
	return compare(hostPasswordVerify(sptr(stored), uint32(len(stored)), sptr(password), uint32(len(password))))
}

// DummyVerify verifies password against sample, a hash of the format and
// cost your table holds, and discards the result. Call it when login finds
// no user, so an unknown email takes as long as a wrong password:
//
//	if errors.Is(err, sdk.ErrNoRows) {
//		sdk.DummyVerify(dummyHash, c.Password)
//		return nil, sdk.ErrWrongCredentials
//	}
//
// Without it the host does a comparison itself when login answers "no"
// without having hashed: against the last hash VerifyPassword checked for
// this connection, else a bcrypt at the last bcrypt cost seen (10 at
// first) — right for most tables, but a script that hashes in the guest,
// or whose first login after a restart is an unknown email, is better off
// calling DummyVerify.
func DummyVerify(sample, password string) {
	_, _ = VerifyPassword(sample, password)
}

// PBKDF2 derives a keyLen-byte key with PBKDF2-HMAC-digest (digest: sha1,
// sha224, sha256, sha384, sha512, md5).
func PBKDF2(digest string, password, salt []byte, iterations, keyLen int) ([]byte, error) {
	return hashCompute(func(b []byte) []byte {
		b = abi.AppendString(abi.AppendString(abi.AppendList(b, 6), "pbkdf2"), digest)
		b = abi.AppendBytes(abi.AppendBytes(b, password), salt)
		return abi.AppendInt(abi.AppendInt(b, int64(iterations)), int64(keyLen))
	})
}

// Digest hashes data with digest (md5, sha1, sha224, sha256, sha384,
// sha512), then hashes the result again, iterations times in all (1 = one
// plain digest). Salting is the caller's: Digest("sha1", append(salt,
// password...), 1) is a salted SHA-1.
func Digest(digest string, data []byte, iterations int) ([]byte, error) {
	return hashCompute(func(b []byte) []byte {
		b = abi.AppendString(abi.AppendString(abi.AppendList(b, 4), "digest"), digest)
		return abi.AppendInt(abi.AppendBytes(b, data), int64(iterations))
	})
}

// HMAC is HMAC-digest(key, message).
func HMAC(digest string, key, message []byte) ([]byte, error) {
	return hashCompute(func(b []byte) []byte {
		b = abi.AppendString(abi.AppendString(abi.AppendList(b, 4), "hmac"), digest)
		return abi.AppendBytes(abi.AppendBytes(b, key), message)
	})
}

// Scrypt derives a key with scrypt, N = 2^logN.
func Scrypt(password, salt []byte, logN, r, p, keyLen int) ([]byte, error) {
	return hashCompute(func(b []byte) []byte {
		b = abi.AppendString(abi.AppendList(b, 7), "scrypt")
		b = abi.AppendBytes(abi.AppendBytes(b, password), salt)
		for _, v := range []int{logN, r, p, keyLen} {
			b = abi.AppendInt(b, int64(v))
		}
		return b
	})
}

// Argon2 derives a key with argon2 (variant "id", "i" or "d"), time
// passes over memoryKiB KiB, threads lanes.
func Argon2(variant string, password, salt []byte, time, memoryKiB, threads, keyLen int) ([]byte, error) {
	return hashCompute(func(b []byte) []byte {
		b = abi.AppendString(abi.AppendString(abi.AppendList(b, 8), "argon2"), variant)
		b = abi.AppendBytes(abi.AppendBytes(b, password), salt)
		for _, v := range []int{time, memoryKiB, threads, keyLen} {
			b = abi.AppendInt(b, int64(v))
		}
		return b
	})
}

// Equal compares two byte strings in constant time (for a hash computed
// with the functions above against the stored one).
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

func hashCompute(build func([]byte) []byte) ([]byte, error) {
	req := build(make([]byte, 0, 128))
	raw, err := readReply(hostHashCompute(bptr(req), uint32(len(req))))
	if err != nil {
		return nil, err
	}
	d := abi.NewDecoder(raw)
	out, err := d.Bytes()
	if err != nil {
		return nil, errMalformedReply
	}
	return out, nil
}
