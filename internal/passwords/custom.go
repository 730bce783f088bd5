package passwords

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// Imported ("custom") password hashes.
//
// Users imported from other systems bring hashes this package never makes.
// FromCustom turns such a hash, as described in an import file, into a
// stored string that Verify verifies and NeedsRehash always flags, so the
// first successful login replaces it with the configured algorithm:
//
//	bcrypt         $2a$ / $2b$ / $2y$ strings, stored as they are
//	argon2         $argon2id$ / $argon2i$ PHC strings, stored as they are
//	pbkdf2         $pbkdf2-sha256$i=N,l=L$SALT$HASH (also -sha512)
//	sha256/sha512  $sha256$pos=prefix$SALT$HASH, $sha256$pos=suffix$SALT$HASH,
//	               $sha256$HASH without salt (likewise $sha512$)
//	md5            $md5$... in the same three forms (legacy)
//
// SALT and HASH are PHC base64 (standard alphabet, no padding; passlib's
// "adapted" variant with '.' for '+' is read too). For the salted digests
// the digest is of salt||password (prefix) or password||salt (suffix),
// both taken as bytes, the password as UTF-8.
//
// Parameters are bounded before any work (pbkdf2 iterations above
// MaxPBKDF2Iterations give a *ParamsError), salts to MaxCustomSaltLen bytes,
// and every comparison is constant-time.

// Algorithm names of imported hashes (parsed.alg and Custom.Algorithm).
const (
	PBKDF2SHA256 = "pbkdf2-sha256"
	PBKDF2SHA512 = "pbkdf2-sha512"
	SHA256       = "sha256"
	SHA512       = "sha512"
	MD5          = "md5"
)

// Bounds on imported hashes.
const (
	// MaxPBKDF2Iterations bounds the pbkdf2 iteration count a stored hash
	// may ask for (about 5 s of SHA-512 work on a server core).
	MaxPBKDF2Iterations = 10_000_000
	// MaxPBKDF2KeyLen bounds the derived key length (bytes).
	MaxPBKDF2KeyLen = 64
	// MaxCustomSaltLen bounds the salt of a pbkdf2 or salted digest (bytes),
	// which keeps every stored string within 255 characters.
	MaxCustomSaltLen = 64
)

// Salt positions for salted digests.
const (
	SaltPrefix = "prefix"
	SaltSuffix = "suffix"
)

// Encodings of Custom.Hash and Custom.Salt.
const (
	EncodingUTF8   = "utf8"
	EncodingHex    = "hex"
	EncodingBase64 = "base64"
)

// Custom describes an imported hash the way an import file does
// (Auth0's custom_password_hash): the algorithm, the hash value with its
// encoding and, for salted digests, the salt with its encoding and
// position.
type Custom struct {
	// Algorithm is "bcrypt", "argon2", "pbkdf2", "sha256", "sha512" or "md5".
	Algorithm string
	// Hash is the hash value; HashEncoding "utf8" (bcrypt, argon2, pbkdf2:
	// the default), "hex" (the default for digests) or "base64".
	Hash         string
	HashEncoding string
	// Salt is the salt of a digest ("" = none); SaltEncoding "utf8" (the
	// default), "hex" or "base64"; SaltPosition "prefix" (the default) or
	// "suffix".
	Salt         string
	SaltEncoding string
	SaltPosition string
}

// CustomError says which part of a Custom is wrong and why. It never
// carries the hash or salt value. errors.Is(err, ErrMalformedHash),
// ErrUnsupportedHash or ErrExcessiveParams holds for it, according to Err.
type CustomError struct {
	Field  string // "algorithm", "hash.value", "hash.encoding", "salt.value", "salt.encoding", "salt.position"
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

// FromCustom validates an imported hash and returns its stored form (see
// the package comment). Errors are *CustomError.
func FromCustom(c Custom) (string, error) {
	alg := strings.ToLower(c.Algorithm)
	switch alg {
	case Bcrypt, "argon2", "pbkdf2":
		if c.Salt != "" {
			return "", customErr("salt.value", ErrMalformedHash, "%s hashes carry their salt inside the hash string; give no salt", alg)
		}
		v, err := decodeCustom(c.Hash, c.HashEncoding, EncodingUTF8, "hash")
		if err != nil {
			return "", err
		}
		s := string(v)
		want := map[string]string{Bcrypt: "$2", "argon2": "$argon2", "pbkdf2": "$pbkdf2-"}[alg]
		if !strings.HasPrefix(s, want) {
			return "", customErr("hash.value", ErrMalformedHash, "a %s hash must start with %q", alg, want)
		}
		if err := Check(s); err != nil {
			return "", hashValueErr(err)
		}
		return s, nil
	case SHA256, SHA512, MD5:
		d, err := decodeCustom(c.Hash, c.HashEncoding, EncodingHex, "hash")
		if err != nil {
			return "", err
		}
		if n := digestSize(alg); len(d) != n {
			return "", customErr("hash.value", ErrMalformedHash, "a %s digest is %d bytes, this one decodes to %d", alg, n, len(d))
		}
		if c.Salt == "" {
			if c.SaltPosition != "" || c.SaltEncoding != "" {
				return "", customErr("salt.value", ErrMalformedHash, "salt position or encoding given without a salt")
			}
			return "$" + alg + "$" + phc64(d), nil
		}
		salt, err := decodeCustom(c.Salt, c.SaltEncoding, EncodingUTF8, "salt")
		if err != nil {
			return "", err
		}
		if len(salt) > MaxCustomSaltLen {
			return "", customErr("salt.value", ErrMalformedHash, "the salt is longer than %d bytes", MaxCustomSaltLen)
		}
		pos := strings.ToLower(c.SaltPosition)
		switch pos {
		case "":
			pos = SaltPrefix
		case SaltPrefix, SaltSuffix:
		default:
			return "", customErr("salt.position", ErrMalformedHash, "must be %q or %q", SaltPrefix, SaltSuffix)
		}
		return "$" + alg + "$pos=" + pos + "$" + phc64(salt) + "$" + phc64(d), nil
	case "":
		return "", customErr("algorithm", ErrMalformedHash, "is required")
	}
	return "", customErr("algorithm", ErrUnsupportedHash, "%q is not supported (bcrypt, argon2, pbkdf2, sha256, sha512, md5)", c.Algorithm)
}

// hashValueErr wraps a parse error of the hash value as a *CustomError,
// keeping a *ParamsError's message (it names the parameter, not the value).
func hashValueErr(err error) error {
	var pe *ParamsError
	if errors.As(err, &pe) {
		return &CustomError{Field: "hash.value", Reason: pe.Error(), Err: pe}
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

func digestSize(alg string) int {
	switch alg {
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	case MD5:
		return md5.Size
	}
	return 0
}

// parsePBKDF2 parses "$pbkdf2-<digest>$i=N,l=L$SALT$HASH" and checks the
// bounds before any work.
func parsePBKDF2(s string) (*parsed, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, fmt.Errorf("%w: not a PHC pbkdf2 string", ErrMalformedHash)
	}
	p := &parsed{alg: parts[1]}
	switch p.alg {
	case PBKDF2SHA256, PBKDF2SHA512:
	default:
		return nil, fmt.Errorf("%w: pbkdf2 digest", ErrUnsupportedHash)
	}
	var iter, keyLen uint64
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[2], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] || v == "" || (len(v) > 1 && v[0] == '0') {
			return nil, fmt.Errorf("%w: pbkdf2 parameters", ErrMalformedHash)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if !errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("%w: pbkdf2 parameter %s", ErrMalformedHash, k)
			}
			n = 1<<64 - 1
		}
		switch k {
		case "i":
			iter = n
		case "l":
			keyLen = n
		default:
			return nil, fmt.Errorf("%w: pbkdf2 parameter %s", ErrMalformedHash, k)
		}
	}
	if !seen["i"] {
		return nil, fmt.Errorf("%w: pbkdf2 iterations missing", ErrMalformedHash)
	}
	if iter > MaxPBKDF2Iterations {
		return nil, &ParamsError{Algorithm: p.alg, Param: "i", Value: iter, Max: MaxPBKDF2Iterations}
	}
	if iter < 1 {
		return nil, fmt.Errorf("%w: pbkdf2 iterations", ErrMalformedHash)
	}
	if keyLen > MaxPBKDF2KeyLen {
		return nil, &ParamsError{Algorithm: p.alg, Param: "l", Value: keyLen, Max: MaxPBKDF2KeyLen}
	}
	var err error
	if p.salt, err = decodePHC64(parts[3]); err != nil || len(p.salt) == 0 || len(p.salt) > MaxCustomSaltLen {
		return nil, fmt.Errorf("%w: pbkdf2 salt", ErrMalformedHash)
	}
	if p.key, err = decodePHC64(parts[4]); err != nil || len(p.key) == 0 || len(p.key) > MaxPBKDF2KeyLen {
		return nil, fmt.Errorf("%w: pbkdf2 hash", ErrMalformedHash)
	}
	if seen["l"] && uint64(len(p.key)) != keyLen {
		return nil, fmt.Errorf("%w: pbkdf2 hash length differs from l", ErrMalformedHash)
	}
	p.iterations = int(iter)
	return p, nil
}

// parseDigest parses "$sha256$HASH" or "$sha256$pos=prefix|suffix$SALT$HASH"
// (likewise sha512, md5).
func parseDigest(s string) (*parsed, error) {
	parts := strings.Split(s, "$")
	if parts[0] != "" || len(parts) < 3 {
		return nil, fmt.Errorf("%w: not a digest string", ErrMalformedHash)
	}
	p := &parsed{alg: parts[1]}
	var hashPart string
	switch len(parts) {
	case 3:
		hashPart = parts[2]
	case 5:
		pos, ok := strings.CutPrefix(parts[2], "pos=")
		if !ok || (pos != SaltPrefix && pos != SaltSuffix) {
			return nil, fmt.Errorf("%w: %s salt position", ErrMalformedHash, p.alg)
		}
		p.saltSuffix = pos == SaltSuffix
		var err error
		if p.salt, err = decodePHC64(parts[3]); err != nil || len(p.salt) == 0 || len(p.salt) > MaxCustomSaltLen {
			return nil, fmt.Errorf("%w: %s salt", ErrMalformedHash, p.alg)
		}
		hashPart = parts[4]
	default:
		return nil, fmt.Errorf("%w: not a %s digest string", ErrMalformedHash, p.alg)
	}
	key, err := decodePHC64(hashPart)
	if err != nil || len(key) != digestSize(p.alg) {
		return nil, fmt.Errorf("%w: %s digest", ErrMalformedHash, p.alg)
	}
	p.key = key
	return p, nil
}

// decodePHC64 is decodeB64 that also reads passlib's adapted base64 ('.'
// for '+').
func decodePHC64(s string) ([]byte, error) {
	return decodeB64(strings.ReplaceAll(s, ".", "+"))
}

// verifyCustom verifies pw against a parsed pbkdf2 or digest hash.
func (p *parsed) verifyCustom(pw string) (bool, error) {
	var got []byte
	switch p.alg {
	case PBKDF2SHA256, PBKDF2SHA512:
		h := sha256.New
		if p.alg == PBKDF2SHA512 {
			h = sha512.New
		}
		k, err := pbkdf2.Key(h, pw, p.salt, p.iterations, len(p.key))
		if err != nil {
			return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
		}
		got = k
	case SHA256, SHA512, MD5:
		var h hash.Hash
		switch p.alg {
		case SHA256:
			h = sha256.New()
		case SHA512:
			h = sha512.New()
		default:
			h = md5.New()
		}
		if !p.saltSuffix {
			h.Write(p.salt)
		}
		h.Write([]byte(pw))
		if p.saltSuffix {
			h.Write(p.salt)
		}
		got = h.Sum(nil)
	default:
		return false, ErrUnsupportedHash
	}
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}
