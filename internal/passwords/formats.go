package passwords

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
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
	"unicode/utf16"
	_ "unsafe" // go:linkname, for argon2d (see argon2DeriveKey)

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/md4"       //nolint:staticcheck // imported hashes only
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // imported hashes only
	"golang.org/x/crypto/scrypt"
)

// Stored hash formats.
//
// Verify (and Hasher.Verify) read a whole stored hash string and tell its
// format by its prefix. One parser per format, each checking its cost
// parameters against the table in bounds.go before any work:
//
//	$2a$ $2b$ $2y$                bcrypt
//	$argon2id$ $argon2i$ $argon2d$  argon2 PHC strings (v=19)
//	$pbkdf2-<d>$i=N,l=L[,enc=E]$SALT$HASH   d ∈ sha1 sha224 sha256 sha384 sha512
//	$pbkdf2-<d>$N$SALT$HASH, $pbkdf2$N$SALT$HASH   passlib's forms (sha1 for the bare one)
//	$<d>$HASH, $<d>$PARAMS$HASH, $<d>$PARAMS$SALT$HASH   plain digests, d ∈ md4 md5 sha1 sha256 sha512;
//	                              PARAMS: pos=prefix|suffix (with a salt), enc=E
//	$hmac-<d>$key=K[,pos=P][,enc=E]$[SALT$]HASH   d ∈ md4 md5 ripemd160 sha1 sha224 sha256 sha384 sha512
//	$scrypt$ln=L,r=R,p=P[,enc=E]$SALT$HASH
//	{SHA} {SSHA} {SHA256} {SSHA256} {SHA384} {SSHA384} {SHA512} {SSHA512} {MD5} {SMD5} {CRYPT}   RFC 2307 (LDAP)
//	$1$ $5$ $6$                   MD5-crypt and SHA-crypt (also inside {CRYPT})
//	$P$ $H$                       phpass portable hashes (WordPress before 6.8, phpBB)
//	$wp$2y$                       WordPress 6.8+: bcrypt of base64(HMAC-SHA384("wp-sha384", password))
//	pbkdf2_sha256$ pbkdf2_sha1$ argon2$ bcrypt$ bcrypt_sha256$   Django
//
// SALT, HASH and K are PHC base64 (standard alphabet, no padding; passlib's
// '.' for '+' is read too). E is the password's encoding before hashing:
// utf8 (the default), utf16le, or latin1 (Node's latin1/binary/ascii: the
// low byte of each UTF-16 code unit).

// Password encodings (the enc= parameter).
const (
	PasswordUTF8    = "utf8"
	PasswordUTF16LE = "utf16le"
	PasswordLatin1  = "latin1"
)

// NormalizePasswordEncoding maps the names Auth0 (after Node's Buffer)
// accepts to the three encodings above; ok is false for an unknown name.
func NormalizePasswordEncoding(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "", "utf8", "utf-8":
		return PasswordUTF8, true
	case "utf16le", "utf-16le", "ucs2", "ucs-2":
		return PasswordUTF16LE, true
	case "latin1", "binary", "ascii":
		return PasswordLatin1, true
	}
	return "", false
}

// encodePassword returns pw's bytes in enc.
func encodePassword(pw, enc string) []byte {
	switch enc {
	case PasswordUTF16LE:
		u := utf16.Encode([]rune(pw))
		b := make([]byte, 0, 2*len(u))
		for _, c := range u {
			b = append(b, byte(c), byte(c>>8))
		}
		return b
	case PasswordLatin1:
		u := utf16.Encode([]rune(pw))
		b := make([]byte, len(u))
		for i, c := range u {
			b[i] = byte(c)
		}
		return b
	}
	return []byte(pw)
}

// digests are the hash functions imported digests, HMACs and pbkdf2 use.
var digests = map[string]func() hash.Hash{
	"md4":       md4.New,
	"md5":       md5.New,
	"ripemd160": ripemd160.New,
	"sha1":      sha1.New,
	"sha224":    sha256.New224,
	"sha256":    sha256.New,
	"sha384":    sha512.New384,
	"sha512":    sha512.New,
}

// kinds of parsed hashes.
const (
	kBcrypt = iota + 1
	kArgon2
	kPBKDF2
	kDigest
	kHMAC
	kScrypt
	kPHPass
	kCrypt   // $1$, $5$, $6$
	kWrapped // pre(password) then inner
)

// parsed is a decoded hash string.
type parsed struct {
	kind int
	alg  string // "bcrypt", "argon2id", "pbkdf2-sha256", "sha256", "hmac-sha1", "scrypt", "ldap-ssha", ...
	raw  string

	cost int // bcrypt

	memory  uint32 // argon2
	time    uint32
	threads uint8
	salt    []byte
	key     []byte

	iterations int // pbkdf2, phpass (count), sha-crypt (rounds)
	digest     func() hash.Hash
	saltSuffix bool   // salted digests: password||salt instead of salt||password
	hmacKey    []byte // hmac
	enc        string // password encoding ("" = utf8)

	scryptN, scryptR, scryptP int

	cryptRounds string // sha-crypt: "rounds=N$" as written, or ""

	pre   func(pw []byte) []byte // kWrapped
	inner *parsed
}

// Verify reports whether pw matches the stored hash s, in any format the
// package comment of formats.go lists. A wrong password is (false, nil);
// an error says why the hash itself is unusable: a *HashError
// (ErrMalformedHash or ErrUnsupportedHash, naming the part of the string)
// or a *ParamsError (ErrExcessiveParams) returned before any hashing work.
func Verify(s, pw string) (bool, error) {
	p, err := parse(s)
	if err != nil {
		return false, err
	}
	return p.verify([]byte(pw))
}

func (p *parsed) verify(pw []byte) (bool, error) {
	if p.enc != "" && p.enc != PasswordUTF8 {
		pw = encodePassword(string(pw), p.enc)
	}
	var got []byte
	switch p.kind {
	case kBcrypt:
		err := bcrypt.CompareHashAndPassword([]byte(p.raw), pw)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, malformed(p.alg, "", "%v", err)
		}
	case kArgon2:
		got = argon2Key(p.alg, pw, p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	case kPBKDF2:
		k, err := pbkdf2.Key(p.digest, string(pw), p.salt, p.iterations, len(p.key))
		if err != nil {
			return false, malformed(p.alg, "", "%v", err)
		}
		got = k
	case kDigest:
		h := p.digest()
		if !p.saltSuffix {
			h.Write(p.salt)
		}
		h.Write(pw)
		if p.saltSuffix {
			h.Write(p.salt)
		}
		got = h.Sum(nil)
	case kHMAC:
		m := hmac.New(p.digest, p.hmacKey)
		if !p.saltSuffix {
			m.Write(p.salt)
		}
		m.Write(pw)
		if p.saltSuffix {
			m.Write(p.salt)
		}
		got = m.Sum(nil)
	case kScrypt:
		k, err := scrypt.Key(pw, p.salt, p.scryptN, p.scryptR, p.scryptP, len(p.key))
		if err != nil {
			return false, malformed(p.alg, "", "%v", err)
		}
		got = k
	case kPHPass:
		got = phpassSum(pw, p.salt, p.iterations)
	case kCrypt:
		s := cryptString(p, pw)
		return subtle.ConstantTimeCompare([]byte(s), []byte(p.raw)) == 1, nil
	case kWrapped:
		return p.inner.verify(p.pre(pw))
	default:
		return false, ErrUnsupportedHash
	}
	return subtle.ConstantTimeCompare(got, p.key) == 1, nil
}

func parse(s string) (*parsed, error) {
	if len(s) > maxHashLen {
		return nil, malformed("hash", "", "longer than %d characters", maxHashLen)
	}
	switch {
	case s == "":
		return nil, malformed("hash", "", "empty")
	case strings.HasPrefix(s, "$2"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$argon2"):
		return parseArgon(s)
	case strings.HasPrefix(s, "$pbkdf2"):
		return parsePBKDF2(s)
	case strings.HasPrefix(s, "$hmac-"):
		return parseHMAC(s)
	case strings.HasPrefix(s, "$scrypt$"):
		return parseScrypt(s)
	case strings.HasPrefix(s, "$P$"), strings.HasPrefix(s, "$H$"):
		return parsePHPass(s)
	case strings.HasPrefix(s, "$1$"), strings.HasPrefix(s, "$5$"), strings.HasPrefix(s, "$6$"):
		return parseCrypt(s, s[1:2])
	case strings.HasPrefix(s, "$wp$"):
		return parseWordPress(s)
	case strings.HasPrefix(s, "{"):
		return parseLDAP(s)
	case strings.HasPrefix(s, "$"):
		alg, _, _ := strings.Cut(s[1:], "$")
		if _, ok := plainDigests[alg]; ok {
			return parseDigest(s)
		}
		return nil, unsupported("hash", "prefix", "no supported format starts with $%s$", clip(alg, 16))
	}
	if alg, _, ok := strings.Cut(s, "$"); ok {
		return parseDjango(s, alg)
	}
	return nil, malformed("hash", "", "not a hash string in a known format")
}

// clip shortens a piece of a hash quoted in an error (a prefix, never a
// salt or hash value).
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks "$2x$NN$" + 53 characters of bcrypt's base64, x in
// {a, b, y}, and the cost bound, before x/crypto does any work.
func parseBcrypt(s string) (*parsed, error) {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return nil, malformed(Bcrypt, "", "not a bcrypt string ($2b$NN$ and 53 characters)")
	}
	switch s[2] {
	case 'a', 'b', 'y':
	default:
		return nil, unsupported(Bcrypt, "variant", "$2%c$ is not supported ($2a$, $2b$, $2y$ are)", s[2])
	}
	if s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return nil, malformed(Bcrypt, "cost", "not two digits")
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if err := BoundOf("bcrypt", "cost").Check(Bcrypt, uint64(cost)); err != nil {
		return nil, err
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return nil, malformed(Bcrypt, "hash", "characters outside bcrypt's base64")
		}
	}
	raw := s
	if s[2] == 'y' {
		// $2y$ (PHP/crypt_blowfish) is the same algorithm as $2b$; x/crypto
		// reads the minor letter without interpreting it, say so explicitly.
		raw = "$2b" + s[3:]
	}
	return &parsed{kind: kBcrypt, alg: Bcrypt, raw: raw, cost: cost}, nil
}

// Argon2Hash is a parsed argon2 PHC string.
type Argon2Hash struct {
	Variant string // "argon2id", "argon2i", "argon2d"
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

// ParseArgon2 parses "$argon2{id,i,d}$v=19$m=M,t=T,p=P$SALT$HASH" and
// checks its parameters against the bounds table, before any work. It is
// the only argon2 parser: Verify, FromCustom and the scripts' host
// functions all use it.
func ParseArgon2(s string) (Argon2Hash, error) {
	p, err := parseArgon(s)
	if err != nil {
		return Argon2Hash{}, err
	}
	return Argon2Hash{Variant: p.alg, Memory: p.memory, Time: p.time, Threads: p.threads, Salt: p.salt, Key: p.key}, nil
}

// Matches reports whether pw matches, in constant time.
func (a Argon2Hash) Matches(pw []byte) bool {
	got := argon2Key(a.Variant, pw, a.Salt, a.Time, a.Memory, a.Threads, uint32(len(a.Key)))
	return subtle.ConstantTimeCompare(got, a.Key) == 1
}

// CheckArgon2Params checks argon2 cost parameters against the table (for
// callers that make hashes, such as a script's host function).
func CheckArgon2Params(variant string, m, t uint32, p uint8) error {
	if err := checkArgonCost(variant, m, t, uint32(p)); err != nil {
		return err
	}
	if t < 1 {
		return malformed(variant, "t", "must be at least 1")
	}
	if p < 1 {
		return malformed(variant, "p", "must be at least 1")
	}
	if m < 8*uint32(p) {
		return malformed(variant, "m", "must be at least 8 KiB per lane (%d)", 8*uint32(p))
	}
	return nil
}

func parseArgon(s string) (*parsed, error) {
	parts := strings.Split(s, "$")
	alg := "argon2"
	if len(parts) > 1 {
		alg = parts[1]
	}
	// "", alg, "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" {
		if len(parts) == 5 && strings.HasPrefix(parts[2], "m=") {
			// No version field means v=16 (argon2 1.0), which x/crypto
			// does not implement.
			return nil, unsupported(alg, "version", "missing, which means 0x10 (argon2 1.0); only v=19 is supported")
		}
		return nil, malformed(alg, "", "not a PHC argon2 string ($argon2id$v=19$m=..,t=..,p=..$salt$hash)")
	}
	p := &parsed{kind: kArgon2, alg: alg}
	switch p.alg {
	case Argon2id, "argon2i", "argon2d":
	default:
		return nil, unsupported(alg, "variant", "unknown argon2 variant (argon2id, argon2i, argon2d)")
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return nil, malformed(alg, "version", "want v=19")
	}
	if n, err := strconv.ParseUint(v, 10, 32); err != nil {
		return nil, malformed(alg, "version", "not a number")
	} else if n != argon2.Version {
		return nil, unsupported(alg, "version", "%d is not supported (19 is)", n)
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, malformed(alg, "parameters", "want m=..,t=..,p=..")
	}
	var m, t, par uint64
	for i, name := range []string{"m", "t", "p"} {
		n, err := paramNumber(alg, name, params[i], name+"=")
		if err != nil {
			return nil, err
		}
		switch name {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			par = n
		}
	}
	if err := checkArgonCost(p.alg, clamp32(m), clamp32(t), clamp32(par)); err != nil {
		return nil, err
	}
	if err := CheckArgon2Params(alg, uint32(m), uint32(t), uint8(par)); err != nil {
		return nil, err
	}
	p.memory, p.time, p.threads = uint32(m), uint32(t), uint8(par)
	var err error
	sb, kb := BoundOf("argon2", "salt"), BoundOf("argon2", "keylen")
	if p.salt, err = decodeB64(parts[4]); err != nil {
		return nil, malformed(alg, "salt", "not PHC base64")
	} else if l := uint64(len(p.salt)); l < sb.Min || l > sb.Max {
		return nil, malformed(alg, "salt", "%d bytes, want %d..%d", l, sb.Min, sb.Max)
	}
	if p.key, err = decodeB64(parts[5]); err != nil {
		return nil, malformed(alg, "hash", "not PHC base64")
	} else if l := uint64(len(p.key)); l < kb.Min || l > kb.Max {
		return nil, malformed(alg, "hash", "%d bytes, want %d..%d", l, kb.Min, kb.Max)
	}
	return p, nil
}

// paramNumber reads "<prefix>N" as a decimal without leading zeros; a
// number too large for 64 bits reads as the maximum (so the bound check
// reports it as too expensive, not malformed).
func paramNumber(alg, name, s, prefix string) (uint64, error) {
	val, ok := strings.CutPrefix(s, prefix)
	if !ok || val == "" || (len(val) > 1 && val[0] == '0') {
		return 0, malformed(alg, name, "want %sN (decimal, no leading zero)", prefix)
	}
	n, err := strconv.ParseUint(val, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 1<<64 - 1, nil
		}
		return 0, malformed(alg, name, "not a decimal number")
	}
	return n, nil
}

func clamp32(n uint64) uint32 {
	if n > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(n)
}

func checkArgonCost(alg string, m, t, p uint32) error {
	for _, c := range []struct {
		param string
		v     uint32
	}{{"m", m}, {"t", t}, {"p", p}} {
		if b := BoundOf("argon2", c.param); uint64(c.v) > b.Max {
			return b.Check(alg, uint64(c.v))
		}
	}
	return nil
}

// argon2DeriveKey is x/crypto's argon2 core, which implements all three
// variants (mode 0 = argon2d) but exports only argon2i and argon2id. It is
// reached by name rather than rewritten: the RFC 9106 argon2d vector in
// the tests fails loudly if a later x/crypto changes it.
//
//go:linkname argon2DeriveKey golang.org/x/crypto/argon2.deriveKey
func argon2DeriveKey(mode int, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// Argon2Key derives a key with argon2 variant "argon2id", "argon2i" or
// "argon2d" (the last one is not in x/crypto). Check the parameters with
// CheckArgon2Params first: it does no bounds checking.
func Argon2Key(variant string, pw, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
	return argon2Key(variant, pw, salt, t, m, p, keyLen)
}

func argon2Key(variant string, pw, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
	switch variant {
	case Argon2id:
		return argon2.IDKey(pw, salt, t, m, p, keyLen)
	case "argon2i":
		return argon2.Key(pw, salt, t, m, p, keyLen)
	}
	return argon2DeriveKey(0, pw, salt, nil, nil, t, m, p, keyLen)
}

// decodeB64 decodes PHC's base64 (standard alphabet, no padding), also
// tolerating the padding some encoders add.
func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

// decodePHC64 is decodeB64 that also reads passlib's adapted base64 ('.'
// for '+').
func decodePHC64(s string) ([]byte, error) {
	return decodeB64(strings.ReplaceAll(s, ".", "+"))
}

func encodeArgon(alg string, m, t uint32, p uint8, salt, key []byte) string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", alg, argon2.Version, m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// params parses "k=v,k=v" allowing only the keys in allowed, each once.
func params(alg, s string, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return nil, malformed(alg, "parameters", "want k=v pairs separated by commas")
		}
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			return nil, malformed(alg, "parameters", "unknown parameter %q (known: %s)", clip(k, 16), strings.Join(allowed, ", "))
		}
		if _, dup := out[k]; dup {
			return nil, malformed(alg, "parameters", "%s given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

func setEncoding(p *parsed, kv map[string]string) error {
	if e, ok := kv["enc"]; ok {
		n, ok := NormalizePasswordEncoding(e)
		if !ok || n != e {
			return malformed(p.alg, "enc", "must be utf8, utf16le or latin1")
		}
		if n != PasswordUTF8 {
			p.enc = n
		}
	}
	return nil
}

func setPosition(p *parsed, kv map[string]string, haveSalt bool) error {
	pos, ok := kv["pos"]
	switch {
	case ok && !haveSalt:
		return malformed(p.alg, "pos", "given without a salt")
	case !ok && haveSalt:
		return malformed(p.alg, "pos", "required with a salt (prefix or suffix)")
	case ok && pos != SaltPrefix && pos != SaltSuffix:
		return malformed(p.alg, "pos", "must be prefix or suffix")
	}
	p.saltSuffix = pos == SaltSuffix
	return nil
}

func decodeSalt(alg, s string) ([]byte, error) {
	b, err := decodePHC64(s)
	if err != nil {
		return nil, malformed(alg, "salt", "not PHC base64")
	}
	if err := BoundOf("salt", "len").Check(alg, uint64(len(b))); err != nil {
		return nil, malformed(alg, "salt", "%d bytes, want 1..%d", len(b), MaxCustomSaltLen)
	}
	return b, nil
}

// parsePBKDF2 parses "$pbkdf2-<digest>$i=N[,l=L][,enc=E]$SALT$HASH" and
// passlib's "$pbkdf2-<digest>$N$SALT$HASH" / "$pbkdf2$N$SALT$HASH" (sha1).
func parsePBKDF2(s string) (*parsed, error) {
	parts := strings.Split(s, "$")
	alg := parts[1]
	if len(parts) != 5 || parts[0] != "" {
		return nil, malformed(alg, "", "not a PHC pbkdf2 string ($pbkdf2-sha256$i=N,l=L$salt$hash)")
	}
	d := "sha1"
	if alg != "pbkdf2" {
		d = strings.TrimPrefix(alg, "pbkdf2-")
	}
	p := &parsed{kind: kPBKDF2, alg: "pbkdf2-" + d}
	switch d {
	case "sha1", "sha224", "sha256", "sha384", "sha512":
		p.digest = digests[d]
	default:
		return nil, unsupported(alg, "digest", "%q is not supported (sha1, sha224, sha256, sha384, sha512)", clip(d, 16))
	}
	var iter, keyLen uint64
	var haveLen bool
	if parts[2] != "" && strings.Trim(parts[2], "0123456789") == "" {
		n, err := paramNumber(alg, "i", parts[2], "")
		if err != nil {
			return nil, err
		}
		iter = n
	} else {
		kv, err := params(alg, parts[2], "i", "l", "enc")
		if err != nil {
			return nil, err
		}
		if _, ok := kv["i"]; !ok {
			return nil, malformed(alg, "i", "the iteration count is missing")
		}
		if iter, err = paramNumber(alg, "i", kv["i"], ""); err != nil {
			return nil, err
		}
		if l, ok := kv["l"]; ok {
			if keyLen, err = paramNumber(alg, "l", l, ""); err != nil {
				return nil, err
			}
			haveLen = true
		}
		if err := setEncoding(p, kv); err != nil {
			return nil, err
		}
	}
	if err := BoundOf("pbkdf2", "i").Check(alg, iter); err != nil {
		return nil, err
	}
	if haveLen {
		if err := BoundOf("pbkdf2", "l").Check(alg, keyLen); err != nil {
			return nil, err
		}
	}
	var err error
	if p.salt, err = decodeSalt(alg, parts[3]); err != nil {
		return nil, err
	}
	if p.key, err = decodePHC64(parts[4]); err != nil {
		return nil, malformed(alg, "hash", "not PHC base64")
	}
	if len(p.key) == 0 || len(p.key) > MaxPBKDF2KeyLen {
		return nil, malformed(alg, "hash", "%d bytes, want 1..%d", len(p.key), MaxPBKDF2KeyLen)
	}
	if haveLen && uint64(len(p.key)) != keyLen {
		return nil, malformed(alg, "hash", "%d bytes, but l=%d", len(p.key), keyLen)
	}
	p.iterations = int(iter)
	return p, nil
}

// plainDigests are the digests an imported hash may be a plain (salted)
// digest of, as Auth0 lists them.
var plainDigests = map[string]bool{"md4": true, MD5: true, "sha1": true, SHA256: true, SHA512: true}

// parseDigest parses "$sha256$HASH", "$sha256$PARAMS$HASH" or
// "$sha256$PARAMS$SALT$HASH" (likewise md4, md5, sha1, sha512).
func parseDigest(s string) (*parsed, error) {
	parts := strings.Split(s, "$")
	alg := parts[1]
	p := &parsed{kind: kDigest, alg: alg, digest: digests[alg]}
	var hashPart, paramPart, saltPart string
	switch len(parts) {
	case 3:
		hashPart = parts[2]
	case 4:
		paramPart, hashPart = parts[2], parts[3]
	case 5:
		paramPart, saltPart, hashPart = parts[2], parts[3], parts[4]
	default:
		return nil, malformed(alg, "", "want $%s$[params$[salt$]]hash", alg)
	}
	kv, err := params(alg, paramPart, "pos", "enc")
	if err != nil {
		return nil, err
	}
	if len(parts) == 5 {
		if p.salt, err = decodeSalt(alg, saltPart); err != nil {
			return nil, err
		}
	}
	if err := setPosition(p, kv, len(parts) == 5); err != nil {
		return nil, err
	}
	if err := setEncoding(p, kv); err != nil {
		return nil, err
	}
	if p.key, err = decodePHC64(hashPart); err != nil {
		return nil, malformed(alg, "hash", "not PHC base64")
	}
	if n := p.digest().Size(); len(p.key) != n {
		return nil, malformed(alg, "hash", "%d bytes, a %s digest is %d", len(p.key), alg, n)
	}
	return p, nil
}

// parseHMAC parses "$hmac-<d>$key=K[,pos=P][,enc=E]$[SALT$]HASH".
func parseHMAC(s string) (*parsed, error) {
	parts := strings.Split(s, "$")
	alg := parts[1]
	d := strings.TrimPrefix(alg, "hmac-")
	p := &parsed{kind: kHMAC, alg: alg, digest: digests[d]}
	if p.digest == nil {
		return nil, unsupported(alg, "digest", "%q is not supported (md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512)", clip(d, 16))
	}
	var hashPart, saltPart string
	switch len(parts) {
	case 4:
		hashPart = parts[3]
	case 5:
		saltPart, hashPart = parts[3], parts[4]
	default:
		return nil, malformed(alg, "", "want $%s$key=K[,pos=P]$[salt$]hash", alg)
	}
	kv, err := params(alg, parts[2], "key", "pos", "enc")
	if err != nil {
		return nil, err
	}
	k, ok := kv["key"]
	if !ok {
		return nil, malformed(alg, "key", "required")
	}
	if p.hmacKey, err = decodePHC64(k); err != nil {
		return nil, malformed(alg, "key", "not PHC base64")
	}
	if err := BoundOf("hmac", "keylen").Check(alg, uint64(len(p.hmacKey))); err != nil {
		return nil, err
	}
	if len(parts) == 5 {
		if p.salt, err = decodeSalt(alg, saltPart); err != nil {
			return nil, err
		}
	}
	if err := setPosition(p, kv, len(parts) == 5); err != nil {
		return nil, err
	}
	if err := setEncoding(p, kv); err != nil {
		return nil, err
	}
	if p.key, err = decodePHC64(hashPart); err != nil {
		return nil, malformed(alg, "hash", "not PHC base64")
	}
	if n := p.digest().Size(); len(p.key) != n {
		return nil, malformed(alg, "hash", "%d bytes, an HMAC-%s is %d", len(p.key), d, n)
	}
	return p, nil
}

// parseScrypt parses "$scrypt$ln=L,r=R,p=P[,enc=E]$SALT$HASH" (passlib's
// form; N = 2^L).
func parseScrypt(s string) (*parsed, error) {
	const alg = "scrypt"
	parts := strings.Split(s, "$")
	if len(parts) != 5 {
		return nil, malformed(alg, "", "want $scrypt$ln=L,r=R,p=P$salt$hash")
	}
	kv, err := params(alg, parts[2], "ln", "r", "p", "enc")
	if err != nil {
		return nil, err
	}
	p := &parsed{kind: kScrypt, alg: alg}
	var vals [3]uint64
	for i, name := range []string{"ln", "r", "p"} {
		v, ok := kv[name]
		if !ok {
			return nil, malformed(alg, name, "required")
		}
		if vals[i], err = paramNumber(alg, name, v, ""); err != nil {
			return nil, err
		}
		if err := BoundOf(alg, name).Check(alg, vals[i]); err != nil {
			return nil, err
		}
	}
	if err := checkScryptMemory(vals[0], vals[1]); err != nil {
		return nil, err
	}
	p.scryptN, p.scryptR, p.scryptP = 1<<vals[0], int(vals[1]), int(vals[2])
	if err := setEncoding(p, kv); err != nil {
		return nil, err
	}
	if p.salt, err = decodeSalt(alg, parts[3]); err != nil {
		return nil, err
	}
	if p.key, err = decodePHC64(parts[4]); err != nil {
		return nil, malformed(alg, "hash", "not PHC base64")
	}
	if err := BoundOf(alg, "keylen").Check(alg, uint64(len(p.key))); err != nil {
		return nil, malformed(alg, "hash", "%d bytes, want 1..%d", len(p.key), MaxScryptKeyLen)
	}
	return p, nil
}

// checkScryptMemory bounds 128·N·r, scrypt's working memory.
func checkScryptMemory(ln, r uint64) error {
	mem := uint64(128) << ln * r
	return BoundOf("scrypt", "memory").Check("scrypt", mem)
}

// ldapSchemes maps RFC 2307 schemes (upper case) to their digest and
// whether a salt follows the digest.
var ldapSchemes = map[string]struct {
	digest string
	salted bool
}{
	"MD5": {"md5", false}, "SMD5": {"md5", true},
	"SHA": {"sha1", false}, "SSHA": {"sha1", true},
	"SHA256": {"sha256", false}, "SSHA256": {"sha256", true},
	"SHA384": {"sha384", false}, "SSHA384": {"sha384", true},
	"SHA512": {"sha512", false}, "SSHA512": {"sha512", true},
}

// parseLDAP parses "{SCHEME}base64" (RFC 2307; salted schemes append the
// salt to the digest) and "{CRYPT}<crypt string>".
func parseLDAP(s string) (*parsed, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return nil, malformed("ldap", "scheme", "no closing '}'")
	}
	scheme := strings.ToUpper(s[1:end])
	body := s[end+1:]
	if scheme == "CRYPT" {
		switch {
		case strings.HasPrefix(body, "$2"):
			return parseBcrypt(body)
		case strings.HasPrefix(body, "$1$"), strings.HasPrefix(body, "$5$"), strings.HasPrefix(body, "$6$"):
			return parseCrypt(body, body[1:2])
		}
		return nil, unsupported("ldap", "scheme", "{CRYPT} with this crypt(3) method is not supported ($1$, $5$, $6$ and bcrypt are)")
	}
	sc, ok := ldapSchemes[scheme]
	if !ok {
		return nil, unsupported("ldap", "scheme", "{%s} is not supported", clip(scheme, 16))
	}
	alg := "ldap-" + strings.ToLower(scheme)
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, malformed(alg, "hash", "not base64")
	}
	p := &parsed{kind: kDigest, alg: alg, digest: digests[sc.digest], saltSuffix: true}
	n := p.digest().Size()
	switch {
	case !sc.salted && len(raw) != n:
		return nil, malformed(alg, "hash", "%d bytes, a %s digest is %d", len(raw), sc.digest, n)
	case sc.salted && len(raw) <= n:
		return nil, malformed(alg, "salt", "missing after the %d-byte digest", n)
	case sc.salted && len(raw)-n > MaxCustomSaltLen:
		return nil, malformed(alg, "salt", "longer than %d bytes", MaxCustomSaltLen)
	}
	p.key, p.salt = raw[:n], raw[n:]
	return p, nil
}

// itoa64 is crypt(3)'s base64 alphabet (also phpass's).
const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// parsePHPass parses phpass's portable hashes: "$P$" (or "$H$"), one
// character giving log2 of the MD5 rounds, 8 salt characters, 22 hash
// characters.
func parsePHPass(s string) (*parsed, error) {
	const alg = "phpass"
	if len(s) != 34 {
		return nil, malformed(alg, "", "%d characters, a phpass hash has 34", len(s))
	}
	n := strings.IndexByte(itoa64, s[3])
	if n < 0 {
		return nil, malformed(alg, "rounds", "not a crypt base64 character")
	}
	if err := BoundOf(alg, "rounds").Check(alg, uint64(n)); err != nil {
		return nil, err
	}
	for i := 4; i < 34; i++ {
		if strings.IndexByte(itoa64, s[i]) < 0 {
			return nil, malformed(alg, "hash", "characters outside crypt's base64")
		}
	}
	key := []byte(s[12:])
	return &parsed{kind: kPHPass, alg: alg, salt: []byte(s[4:12]), iterations: 1 << n, key: key, raw: s}, nil
}

// phpassSum returns the 22 encoded characters of a portable hash.
func phpassSum(pw, salt []byte, count int) []byte {
	h := md5.Sum(append(append([]byte(nil), salt...), pw...))
	buf := make([]byte, 0, md5.Size+len(pw))
	for i := 0; i < count; i++ {
		buf = append(append(buf[:0], h[:]...), pw...)
		h = md5.Sum(buf)
	}
	return phpassEncode(h[:])
}

// phpassEncode is phpass's encode64: 3 bytes, least significant first,
// into 4 characters; a short last group gives fewer.
func phpassEncode(in []byte) []byte {
	var out []byte
	for i := 0; i < len(in); i += 3 {
		v := uint(in[i])
		n := 2
		if i+1 < len(in) {
			v |= uint(in[i+1]) << 8
			n = 3
		}
		if i+2 < len(in) {
			v |= uint(in[i+2]) << 16
			n = 4
		}
		for j := 0; j < n; j++ {
			out = append(out, itoa64[v&0x3f])
			v >>= 6
		}
	}
	return out
}

// parseWordPress parses WordPress 6.8's "$wp$2y$NN$...": bcrypt of the
// base64 of HMAC-SHA384 with the key "wp-sha384" over the password.
func parseWordPress(s string) (*parsed, error) {
	inner, err := parseBcrypt(s[3:])
	if err != nil {
		return nil, err
	}
	return &parsed{kind: kWrapped, alg: "wordpress", inner: inner, pre: func(pw []byte) []byte {
		m := hmac.New(sha512.New384, []byte("wp-sha384"))
		m.Write(pw)
		return []byte(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}}, nil
}

// parseDjango parses Django's "<algorithm>$..." forms.
func parseDjango(s, alg string) (*parsed, error) {
	const f = "django"
	rest := s[len(alg)+1:]
	switch alg {
	case "pbkdf2_sha256", "pbkdf2_sha1":
		parts := strings.Split(rest, "$")
		if len(parts) != 3 {
			return nil, malformed(f+" "+alg, "", "want %s$iterations$salt$hash", alg)
		}
		iter, err := paramNumber(alg, "iterations", parts[0], "")
		if err != nil {
			return nil, err
		}
		if err := BoundOf("pbkdf2", "i").Check(alg, iter); err != nil {
			return nil, err
		}
		if parts[1] == "" || len(parts[1]) > MaxCustomSaltLen || strings.Contains(parts[1], "$") {
			return nil, malformed(f+" "+alg, "salt", "want 1..%d characters", MaxCustomSaltLen)
		}
		key, err := base64.StdEncoding.DecodeString(parts[2])
		if err != nil || len(key) == 0 || len(key) > MaxPBKDF2KeyLen {
			return nil, malformed(f+" "+alg, "hash", "not base64 of 1..%d bytes", MaxPBKDF2KeyLen)
		}
		d := strings.TrimPrefix(alg, "pbkdf2_")
		return &parsed{kind: kPBKDF2, alg: "django-" + alg, digest: digests[d], iterations: int(iter), salt: []byte(parts[1]), key: key}, nil
	case "argon2":
		return parseArgon(rest)
	case "bcrypt":
		return parseBcrypt(rest)
	case "bcrypt_sha256":
		inner, err := parseBcrypt(rest)
		if err != nil {
			return nil, err
		}
		return &parsed{kind: kWrapped, alg: "django-bcrypt_sha256", inner: inner, pre: func(pw []byte) []byte {
			h := sha256.Sum256(pw)
			return []byte(hex.EncodeToString(h[:]))
		}}, nil
	}
	return nil, unsupported(f, "algorithm", "%q is not supported (pbkdf2_sha256, pbkdf2_sha1, argon2, bcrypt, bcrypt_sha256)", clip(alg, 24))
}
