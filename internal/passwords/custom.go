package passwords

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Imported ("custom") password hashes.
//
// Users imported from other systems bring hashes this package never makes.
// FromCustom turns such a hash, described as Auth0's custom_password_hash
// describes it, into a stored string in one of the formats of formats.go,
// which Verify verifies and NeedsRehash always flags, so the first
// successful login replaces it with the configured algorithm:
//
//	bcrypt      $2a$ / $2b$ / $2y$ strings, stored as they are
//	argon2      $argon2id$ / $argon2i$ / $argon2d$ PHC strings, stored as they are
//	pbkdf2      PHC $pbkdf2-<d>$i=N,l=L$SALT$HASH (d: sha1 sha224 sha256 sha384 sha512;
//	            i defaults to 100000), stored canonically
//	md4 md5 sha1 sha256 sha512   $<d>$[PARAMS$[SALT$]]HASH
//	hmac        $hmac-<d>$key=K[,pos=P]$[SALT$]HASH (hash.digest, hash.key)
//	ldap        RFC 2307 {SSHA}... strings, stored as they are ({CRYPT} with $1$ $5$ $6$ or bcrypt)
//	scrypt      $scrypt$ln=L,r=R,p=P$SALT$HASH (keylen, cost, blockSize, parallelization)
//
// For salted digests and HMACs the input is salt||password (position
// prefix, the default) or password||salt (suffix). password.encoding
// (utf8, utf16le/ucs2, latin1/binary/ascii) is recorded as enc= for the
// families whose string has parameters (digests, hmac, pbkdf2, scrypt);
// bcrypt, argon2 and ldap hash UTF-8 only.
//
// Parameters are bounded before any work (the table in bounds.go), and
// every comparison is constant-time.

// Algorithm names of imported hashes.
const (
	PBKDF2SHA256 = "pbkdf2-sha256"
	PBKDF2SHA512 = "pbkdf2-sha512"
	SHA256       = "sha256"
	SHA512       = "sha512"
	MD5          = "md5"
)

// Salt positions for salted digests.
const (
	SaltPrefix = "prefix"
	SaltSuffix = "suffix"
)

// Encodings of Custom.Hash, Custom.Salt and Custom.Key.
const (
	EncodingUTF8   = "utf8"
	EncodingHex    = "hex"
	EncodingBase64 = "base64"
)

// Auth0's defaults.
const (
	DefaultPBKDF2Iterations = 100_000
	DefaultScryptCost       = 16384
	DefaultScryptBlockSize  = 8
	DefaultScryptParallel   = 1
)

// Custom describes an imported hash the way an import file does
// (Auth0's custom_password_hash).
type Custom struct {
	// Algorithm is one of argon2, bcrypt, hmac, ldap, md4, md5, sha1,
	// sha256, sha512, pbkdf2, scrypt.
	Algorithm string
	// Hash is the hash value; HashEncoding "utf8" (bcrypt, argon2, pbkdf2,
	// ldap: the default), "hex" (the default for digests, hmac, scrypt)
	// or "base64".
	Hash         string
	HashEncoding string
	// HashDigest is hmac's digest (md4, md5, ripemd160, sha1, sha224,
	// sha256, sha384, sha512); Key its key, KeyEncoding "utf8" (default),
	// "hex" or "base64".
	HashDigest  string
	Key         string
	KeyEncoding string
	// Salt is the salt ("" = none); SaltEncoding "utf8" (the default),
	// "hex" or "base64"; SaltPosition "prefix" (the default) or "suffix".
	Salt         string
	SaltEncoding string
	SaltPosition string
	// PasswordEncoding is how the password was turned into bytes: utf8
	// (default), utf16le/ucs2, latin1/binary/ascii.
	PasswordEncoding string
	// scrypt: KeyLen (required), Cost (N, default 16384), BlockSize (r,
	// default 8), Parallelization (p, default 1); 0 = not given.
	KeyLen, Cost, BlockSize, Parallelization uint64
}

// CustomError says which part of a Custom is wrong and why, naming the
// field as the import file does ("hash.digest", "salt.position",
// "keylen"). It never carries the hash, salt or key value.
// errors.Is(err, ErrMalformedHash), ErrUnsupportedHash or
// ErrExcessiveParams holds for it, according to Err.
type CustomError struct {
	Field  string
	Reason string
	Err    error
}

func (e *CustomError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the category (ErrMalformedHash, ErrUnsupportedHash, a
// *ParamsError).
func (e *CustomError) Unwrap() error { return e.Err }

func customErr(field string, cat error, format string, args ...any) error {
	return &CustomError{Field: field, Reason: fmt.Sprintf(format, args...), Err: cat}
}

// Check reports whether s is a stored hash Verify accepts (well-formed,
// supported, within the bounds), without verifying any password.
func Check(s string) error {
	_, err := parse(s)
	return err
}

// Algorithms lists the custom_password_hash algorithms FromCustom takes.
var Algorithms = []string{"argon2", "bcrypt", "hmac", "ldap", "md4", "md5", "sha1", "sha256", "sha512", "pbkdf2", "scrypt"}

// FromCustom validates an imported hash and returns its stored form (see
// the comment at the top of custom.go). Errors are *CustomError.
func FromCustom(c Custom) (string, error) {
	alg := strings.ToLower(c.Algorithm)
	pwEnc, ok := NormalizePasswordEncoding(c.PasswordEncoding)
	if !ok {
		return "", customErr("password.encoding", ErrUnsupportedHash, "%q is not supported (utf8, utf16le, ucs2, latin1, binary, ascii)", clip(c.PasswordEncoding, 16))
	}
	if alg != "hmac" {
		if c.HashDigest != "" {
			return "", customErr("hash.digest", ErrMalformedHash, "only hmac takes a digest")
		}
		if c.Key != "" || c.KeyEncoding != "" {
			return "", customErr("hash.key", ErrMalformedHash, "only hmac takes a key")
		}
	}
	if alg != "scrypt" {
		for _, f := range []struct {
			name string
			v    uint64
		}{{"keylen", c.KeyLen}, {"cost", c.Cost}, {"blockSize", c.BlockSize}, {"parallelization", c.Parallelization}} {
			if f.v != 0 {
				return "", customErr(f.name, ErrMalformedHash, "only scrypt takes %s", f.name)
			}
		}
	}
	switch alg {
	case Bcrypt, "argon2", "ldap":
		if c.Salt != "" || c.SaltEncoding != "" || c.SaltPosition != "" {
			return "", customErr("salt", ErrMalformedHash, "%s hashes carry their salt inside the hash string; give no salt", alg)
		}
		if pwEnc != PasswordUTF8 {
			return "", customErr("password.encoding", ErrUnsupportedHash, "%s hashes are of the UTF-8 password only", alg)
		}
		s, err := stringHash(c, alg)
		if err != nil {
			return "", err
		}
		return s, nil
	case "pbkdf2":
		return customPBKDF2(c, pwEnc)
	case "md4", MD5, "sha1", SHA256, SHA512:
		d, err := digestValue(c, alg, digests[alg]().Size())
		if err != nil {
			return "", err
		}
		salt, pos, err := customSalt(c, true)
		if err != nil {
			return "", err
		}
		return joinHash(alg, paramList(pos, pwEnc), salt, d), nil
	case "hmac":
		return customHMAC(c, pwEnc)
	case "scrypt":
		return customScrypt(c, pwEnc)
	case "":
		return "", customErr("algorithm", ErrMalformedHash, "is required")
	}
	return "", customErr("algorithm", ErrUnsupportedHash, "%q is not supported (%s)", clip(c.Algorithm, 24), strings.Join(Algorithms, ", "))
}

// stringHash checks a hash given as a whole string of its own format.
func stringHash(c Custom, alg string) (string, error) {
	v, err := decodeCustom(c.Hash, c.HashEncoding, EncodingUTF8, "hash")
	if err != nil {
		return "", err
	}
	s := string(v)
	want := map[string]string{Bcrypt: "$2", "argon2": "$argon2", "pbkdf2": "$pbkdf2-", "ldap": "{"}[alg]
	if !strings.HasPrefix(s, want) {
		return "", customErr("hash.value", ErrMalformedHash, "a %s hash must start with %q", alg, want)
	}
	if err := Check(s); err != nil {
		return "", hashValueErr(err)
	}
	return s, nil
}

func customPBKDF2(c Custom, pwEnc string) (string, error) {
	if c.Salt != "" || c.SaltEncoding != "" || c.SaltPosition != "" {
		return "", customErr("salt", ErrMalformedHash, "pbkdf2 hashes carry their salt inside the PHC string; give no salt")
	}
	v, err := decodeCustom(c.Hash, c.HashEncoding, EncodingUTF8, "hash")
	if err != nil {
		return "", err
	}
	s := string(v)
	if !strings.HasPrefix(s, "$pbkdf2-") {
		return "", customErr("hash.value", ErrMalformedHash, "a pbkdf2 hash must be a PHC string starting with \"$pbkdf2-<digest>$\"")
	}
	// Auth0's default iteration count applies when the PHC string has none.
	parts := strings.Split(s, "$")
	if len(parts) == 5 && !strings.Contains(parts[2], "i=") {
		if parts[2] == "" {
			parts[2] = "i=" + strconv.Itoa(DefaultPBKDF2Iterations)
		} else {
			parts[2] = "i=" + strconv.Itoa(DefaultPBKDF2Iterations) + "," + parts[2]
		}
		s = strings.Join(parts, "$")
	}
	p, err := parse(s)
	if err != nil {
		return "", hashValueErr(err)
	}
	if p.enc != "" {
		return "", customErr("hash.value", ErrMalformedHash, "give the password encoding as password.encoding, not enc=")
	}
	pe := ""
	if pwEnc != PasswordUTF8 {
		pe = ",enc=" + pwEnc
	}
	return fmt.Sprintf("$%s$i=%d,l=%d%s$%s$%s", p.alg, p.iterations, len(p.key), pe, phc64(p.salt), phc64(p.key)), nil
}

func customHMAC(c Custom, pwEnc string) (string, error) {
	d := strings.ToLower(c.HashDigest)
	switch {
	case d == "":
		return "", customErr("hash.digest", ErrMalformedHash, "is required for hmac (md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512)")
	case d == "whirlpool":
		return "", customErr("hash.digest", ErrUnsupportedHash, "whirlpool is not supported by this service (md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512 are)")
	case digests[d] == nil:
		return "", customErr("hash.digest", ErrUnsupportedHash, "%q is not supported (md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512)", clip(c.HashDigest, 16))
	}
	if c.Key == "" {
		return "", customErr("hash.key.value", ErrMalformedHash, "is required for hmac")
	}
	key, err := decodeCustom(c.Key, c.KeyEncoding, EncodingUTF8, "hash.key")
	if err != nil {
		return "", err
	}
	if len(key) > MaxHMACKeyLen {
		return "", customErr("hash.key.value", ErrMalformedHash, "is longer than %d bytes", MaxHMACKeyLen)
	}
	mac, err := digestValue(c, "hmac-"+d, digests[d]().Size())
	if err != nil {
		return "", err
	}
	salt, pos, err := customSalt(c, true)
	if err != nil {
		return "", err
	}
	return joinHash("hmac-"+d, append([]string{"key=" + phc64(key)}, paramList(pos, pwEnc)...), salt, mac), nil
}

func customScrypt(c Custom, pwEnc string) (string, error) {
	if c.KeyLen == 0 {
		return "", customErr("keylen", ErrMalformedHash, "is required for scrypt (the length of the hash in bytes)")
	}
	if err := BoundOf("scrypt", "keylen").Check("scrypt", c.KeyLen); err != nil {
		return "", customErr("keylen", err, "%v", strings.TrimPrefix(err.Error(), "passwords: "))
	}
	n, r, p := c.Cost, c.BlockSize, c.Parallelization
	if n == 0 {
		n = DefaultScryptCost
	}
	if r == 0 {
		r = DefaultScryptBlockSize
	}
	if p == 0 {
		p = DefaultScryptParallel
	}
	if n < 2 || n&(n-1) != 0 {
		return "", customErr("cost", ErrMalformedHash, "must be a power of two above 1 (scrypt's N)")
	}
	ln := uint64(bits.TrailingZeros64(n))
	for _, f := range []struct {
		field, param string
		v            uint64
	}{{"cost", "ln", ln}, {"blockSize", "r", r}, {"parallelization", "p", p}} {
		if err := BoundOf("scrypt", f.param).Check("scrypt", f.v); err != nil {
			var pe *ParamsError
			if errors.As(err, &pe) && f.param == "ln" {
				return "", customErr(f.field, err, "N=%d is above the maximum 2^%d", n, MaxScryptLogN)
			}
			return "", customErr(f.field, err, "%s", strings.TrimPrefix(err.Error(), "passwords: "))
		}
	}
	if err := checkScryptMemory(ln, r); err != nil {
		return "", customErr("cost", err, "128·N·r bytes exceeds the maximum %d", MaxScryptMemory)
	}
	key, err := digestValue(c, "scrypt", int(c.KeyLen))
	if err != nil {
		return "", err
	}
	if c.SaltPosition != "" {
		return "", customErr("salt.position", ErrMalformedHash, "scrypt takes its salt as a parameter; give no position")
	}
	salt, _, err := customSalt(c, false)
	if err != nil {
		return "", err
	}
	if salt == nil {
		return "", customErr("salt.value", ErrMalformedHash, "is required for scrypt")
	}
	ps := []string{"ln=" + strconv.FormatUint(ln, 10), "r=" + strconv.FormatUint(r, 10), "p=" + strconv.FormatUint(p, 10)}
	if pwEnc != PasswordUTF8 {
		ps = append(ps, "enc="+pwEnc)
	}
	return joinHash("scrypt", ps, salt, key), nil
}

// digestValue decodes the hash value (hex by default) and checks its size.
func digestValue(c Custom, alg string, size int) ([]byte, error) {
	d, err := decodeCustom(c.Hash, c.HashEncoding, EncodingHex, "hash")
	if err != nil {
		return nil, err
	}
	if len(d) != size {
		if strings.HasPrefix(alg, "scrypt") {
			return nil, customErr("hash.value", ErrMalformedHash, "decodes to %d bytes, keylen says %d", len(d), size)
		}
		return nil, customErr("hash.value", ErrMalformedHash, "a %s value is %d bytes, this one decodes to %d", alg, size, len(d))
	}
	return d, nil
}

// customSalt decodes the salt (nil when none) and its position.
func customSalt(c Custom, positioned bool) ([]byte, string, error) {
	if c.Salt == "" {
		if c.SaltPosition != "" || c.SaltEncoding != "" {
			return nil, "", customErr("salt.value", ErrMalformedHash, "salt position or encoding given without a salt")
		}
		return nil, "", nil
	}
	salt, err := decodeCustom(c.Salt, c.SaltEncoding, EncodingUTF8, "salt")
	if err != nil {
		return nil, "", err
	}
	if len(salt) > MaxCustomSaltLen {
		return nil, "", customErr("salt.value", ErrMalformedHash, "the salt is longer than %d bytes", MaxCustomSaltLen)
	}
	if !positioned {
		return salt, "", nil
	}
	pos := strings.ToLower(c.SaltPosition)
	switch pos {
	case "":
		pos = SaltPrefix
	case SaltPrefix, SaltSuffix:
	default:
		return nil, "", customErr("salt.position", ErrMalformedHash, "must be %q or %q", SaltPrefix, SaltSuffix)
	}
	return salt, pos, nil
}

func paramList(pos, pwEnc string) []string {
	var ps []string
	if pos != "" {
		ps = append(ps, "pos="+pos)
	}
	if pwEnc != PasswordUTF8 {
		ps = append(ps, "enc="+pwEnc)
	}
	return ps
}

// joinHash builds "$alg$[params$][salt$]hash".
func joinHash(alg string, ps []string, salt, h []byte) string {
	s := "$" + alg + "$"
	if len(ps) > 0 {
		s += strings.Join(ps, ",") + "$"
	}
	if salt != nil {
		s += phc64(salt) + "$"
	}
	return s + phc64(h)
}

// hashValueErr wraps a parse error of the hash value as a *CustomError,
// keeping a *ParamsError's message (it names the parameter, not the value).
func hashValueErr(err error) error {
	var pe *ParamsError
	if errors.As(err, &pe) {
		return &CustomError{Field: "hash.value", Reason: strings.TrimPrefix(pe.Error(), "passwords: "), Err: pe}
	}
	cat := ErrMalformedHash
	if errors.Is(err, ErrUnsupportedHash) {
		cat = ErrUnsupportedHash
	}
	return &CustomError{Field: "hash.value", Reason: strings.TrimPrefix(err.Error(), "passwords: "), Err: cat}
}

func decodeCustom(v, enc, def, field string) ([]byte, error) {
	if v == "" {
		return nil, customErr(field+".value", ErrMalformedHash, "is required")
	}
	if enc == "" {
		enc = def
	}
	switch strings.ToLower(enc) {
	case EncodingUTF8:
		return []byte(v), nil
	case EncodingHex:
		b, err := hex.DecodeString(v)
		if err != nil {
			return nil, customErr(field+".value", ErrMalformedHash, "is not valid hex")
		}
		return b, nil
	case EncodingBase64:
		b, err := decodeAnyBase64(v)
		if err != nil {
			return nil, customErr(field+".value", ErrMalformedHash, "is not valid base64")
		}
		return b, nil
	}
	return nil, customErr(field+".encoding", ErrMalformedHash, "must be %q, %q or %q", EncodingUTF8, EncodingHex, EncodingBase64)
}

// decodeAnyBase64 reads standard or URL-safe base64, padded or not.
func decodeAnyBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

func phc64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }
