// Package passwords hashes and verifies the passwords the service holds.
//
// New hashes use the configured algorithm: bcrypt (the default, cost 10) or
// argon2id (a PHC string, "$argon2id$v=19$m=...,t=...,p=...$salt$hash").
// Verify accepts, whatever the configuration, bcrypt hashes ($2a$, $2b$,
// $2y$), argon2id/argon2i PHC strings and the stored forms of imported
// pbkdf2, salted SHA-2 and MD5 hashes (see custom.go and FromCustom), so
// hashes imported from other systems keep working; NeedsRehash tells the
// caller when to replace a hash after a successful login (always, for the
// imported kinds).
//
// A stored hash is input too: Verify refuses hashes whose parameters would
// make one verification absurdly expensive (bcrypt cost above 15, argon2
// memory above 1 GiB, more than 10 passes or parallelism above 16, pbkdf2
// iterations above 10,000,000) before doing any work, with a *ParamsError.
package passwords

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Algorithm names for Config.Algorithm.
const (
	Bcrypt   = "bcrypt"
	Argon2id = "argon2id"
)

// Bounds on the parameters of a hash Verify accepts; a configuration beyond
// them is refused too, so the service never writes a hash it would refuse.
const (
	MaxBcryptCost     = 15
	MaxArgon2Memory   = 1 << 20 // KiB: 1 GiB
	MaxArgon2Time     = 10
	MaxArgon2Threads  = 16
	DefaultBcryptCost = 10
)

// Structural bounds on argon2 strings (not configurable).
const (
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 128
	// maxHashLen bounds the whole encoded string before it is parsed.
	maxHashLen = 512
)

// Argon2Params are argon2id's cost parameters. Zero fields take the
// defaults of DefaultArgon2Params.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // parallelism (lanes)
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2Params are the OWASP Password Storage Cheat Sheet's baseline
// for argon2id (19 MiB, 2 passes, 1 lane), with a 16-byte salt and a
// 32-byte output. They keep memory per concurrent login modest.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Config selects how new hashes are made.
type Config struct {
	// Algorithm is "bcrypt" (default when empty) or "argon2id".
	Algorithm string
	// BcryptCost is bcrypt's work factor, 4..15 (0: 10).
	BcryptCost int
	// Argon2 are argon2id's parameters (zero fields: the defaults).
	Argon2 Argon2Params
}

// Errors. Verify's errors are about the stored hash, never about the
// password: a wrong password is (false, nil).
var (
	// ErrMalformedHash: the stored hash is not a well-formed bcrypt or argon2
	// string.
	ErrMalformedHash = errors.New("passwords: malformed hash")
	// ErrUnsupportedHash: a well-formed string of an algorithm, variant or
	// version this package does not verify (e.g. argon2d, argon2 v=16).
	ErrUnsupportedHash = errors.New("passwords: unsupported hash algorithm")
	// ErrExcessiveParams is matched (errors.Is) by every *ParamsError.
	ErrExcessiveParams = errors.New("passwords: hash parameters too expensive")
	// ErrPasswordTooLong: bcrypt cannot hash more than 72 bytes.
	ErrPasswordTooLong = errors.New("passwords: password longer than 72 bytes (bcrypt's limit)")
	// ErrInvalidConfig: New was given an unknown algorithm or out-of-range
	// parameters.
	ErrInvalidConfig = errors.New("passwords: invalid configuration")
)

// ParamsError reports a stored hash (or a configuration) whose cost
// parameter exceeds the accepted bound. It is returned before any hashing
// work is done.
type ParamsError struct {
	Algorithm string // "bcrypt", "argon2id", "argon2i"
	Param     string // "cost", "m", "t", "p"
	Value     uint64
	Max       uint64
}

func (e *ParamsError) Error() string {
	return fmt.Sprintf("passwords: %s parameter %s=%d exceeds the maximum %d", e.Algorithm, e.Param, e.Value, e.Max)
}

// Is makes errors.Is(err, ErrExcessiveParams) true.
func (e *ParamsError) Is(target error) bool { return target == ErrExcessiveParams }

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	alg        string
	bcryptCost int
	argon      Argon2Params

	dummyOnce sync.Once
	dummyHash string
}

// New returns a Hasher for cfg, filling defaults. It fails with an error
// wrapping ErrInvalidConfig (or a *ParamsError for a cost above the bounds)
// when the configuration is unusable.
func New(cfg Config) (*Hasher, error) {
	h := &Hasher{alg: cfg.Algorithm, bcryptCost: cfg.BcryptCost, argon: cfg.Argon2}
	if h.alg == "" {
		h.alg = Bcrypt
	}
	switch h.alg {
	case Bcrypt:
		if h.bcryptCost == 0 {
			h.bcryptCost = DefaultBcryptCost
		}
		if h.bcryptCost > MaxBcryptCost {
			return nil, &ParamsError{Algorithm: Bcrypt, Param: "cost", Value: uint64(h.bcryptCost), Max: MaxBcryptCost}
		}
		if h.bcryptCost < bcrypt.MinCost {
			return nil, fmt.Errorf("%w: bcrypt cost %d below %d", ErrInvalidConfig, h.bcryptCost, bcrypt.MinCost)
		}
	case Argon2id:
		d := DefaultArgon2Params()
		if h.argon.Memory == 0 {
			h.argon.Memory = d.Memory
		}
		if h.argon.Time == 0 {
			h.argon.Time = d.Time
		}
		if h.argon.Threads == 0 {
			h.argon.Threads = d.Threads
		}
		if h.argon.SaltLen == 0 {
			h.argon.SaltLen = d.SaltLen
		}
		if h.argon.KeyLen == 0 {
			h.argon.KeyLen = d.KeyLen
		}
		p := h.argon
		if err := checkArgonCost(Argon2id, p.Memory, p.Time, uint32(p.Threads)); err != nil {
			return nil, err
		}
		if p.Memory < 8*uint32(p.Threads) {
			return nil, fmt.Errorf("%w: argon2 memory must be at least 8 KiB per thread", ErrInvalidConfig)
		}
		if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
			return nil, fmt.Errorf("%w: argon2 salt length must be %d..%d bytes", ErrInvalidConfig, minSaltLen, maxSaltLen)
		}
		if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
			return nil, fmt.Errorf("%w: argon2 key length must be %d..%d bytes", ErrInvalidConfig, minKeyLen, maxKeyLen)
		}
	default:
		return nil, fmt.Errorf("%w: unknown algorithm %q (want %q or %q)", ErrInvalidConfig, cfg.Algorithm, Bcrypt, Argon2id)
	}
	return h, nil
}

// Algorithm returns the algorithm new hashes use.
func (h *Hasher) Algorithm() string { return h.alg }

// Hash returns a new hash of pw with the configured algorithm and a fresh
// random salt. bcrypt refuses passwords over 72 bytes (ErrPasswordTooLong).
func (h *Hasher) Hash(pw string) (string, error) {
	switch h.alg {
	case Argon2id:
		salt := make([]byte, h.argon.SaltLen)
		if _, err := rand.Read(salt); err != nil {
			return "", fmt.Errorf("passwords: salt: %w", err)
		}
		p := h.argon
		key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		return encodeArgon(Argon2id, p.Memory, p.Time, p.Threads, salt, key), nil
	default:
		if len(pw) > 72 {
			return "", ErrPasswordTooLong
		}
		b, err := bcrypt.GenerateFromPassword([]byte(pw), h.bcryptCost)
		if err != nil {
			return "", fmt.Errorf("passwords: bcrypt: %w", err)
		}
		return string(b), nil
	}
}

// Verify reports whether pw matches hash. A wrong password is (false, nil);
// an error means the hash itself is unusable: ErrMalformedHash,
// ErrUnsupportedHash, or a *ParamsError (errors.Is ErrExcessiveParams) when
// its parameters exceed the bounds, returned before any hashing work.
//
// For bcrypt, as in every bcrypt implementation, only the first 72 bytes of
// pw count.
func (h *Hasher) Verify(hash, pw string) (bool, error) {
	ph, err := parse(hash)
	if err != nil {
		return false, err
	}
	return ph.verify(pw)
}

// NeedsRehash reports whether hash should be replaced by a new Hash of the
// password (call it after a successful Verify): it uses another algorithm
// or variant than the configured one, or weaker parameters (lower bcrypt
// cost; lower argon2 memory, passes, salt or output length, or fewer
// lanes). An unparseable hash needs rehashing too.
func (h *Hasher) NeedsRehash(hash string) bool {
	ph, err := parse(hash)
	if err != nil {
		return true
	}
	switch h.alg {
	case Bcrypt:
		return ph.alg != Bcrypt || ph.cost < h.bcryptCost
	case Argon2id:
		p := h.argon
		return ph.alg != Argon2id ||
			ph.memory < p.Memory || ph.time < p.Time || ph.threads < p.Threads ||
			uint32(len(ph.salt)) < p.SaltLen || uint32(len(ph.key)) < p.KeyLen
	}
	return true
}

// dummyPassword is what the dummy hash hashes; DummyVerify never reports
// whether it matched, so the value does not matter.
const dummyPassword = "profiled dummy password: unknown users take as long as wrong passwords"

// DummyVerify does the work of a Verify against a fixed hash made with the
// configured algorithm and parameters, and discards the result. Call it
// when the user is unknown (or holds no password) so that the answer takes
// as long as a wrong password would, and does not reveal which accounts
// exist. The fixed hash is computed on first use.
func (h *Hasher) DummyVerify(pw string) {
	h.dummyOnce.Do(func() {
		s, err := h.Hash(dummyPassword)
		if err != nil {
			// Only a failing random source gets here; keep a valid string
			// of the configured cost anyway so the work stays comparable.
			s = h.fallbackDummy()
		}
		h.dummyHash = s
	})
	if h.alg == Bcrypt && len(pw) > 72 {
		pw = pw[:72] // Hash would refuse; Verify only reads 72 bytes anyway
	}
	_, _ = h.Verify(h.dummyHash, pw)
}

// fallbackDummy builds a syntactically valid hash of the configured cost
// with an all-zero salt and key, used only if the random source fails.
func (h *Hasher) fallbackDummy() string {
	if h.alg == Argon2id {
		p := h.argon
		return encodeArgon(Argon2id, p.Memory, p.Time, p.Threads, make([]byte, p.SaltLen), make([]byte, p.KeyLen))
	}
	return fmt.Sprintf("$2a$%02d$%s", h.bcryptCost, strings.Repeat(".", 53))
}

// parsed is a decoded hash string.
type parsed struct {
	alg string // "bcrypt", "argon2id", "argon2i", "pbkdf2-sha256", "sha256", ...
	raw string

	cost int // bcrypt

	memory  uint32 // argon2
	time    uint32
	threads uint8
	salt    []byte
	key     []byte

	iterations int  // pbkdf2
	saltSuffix bool // salted digests: password||salt instead of salt||password
}

func (p *parsed) verify(pw string) (bool, error) {
	switch p.alg {
	case Bcrypt:
		err := bcrypt.CompareHashAndPassword([]byte(p.raw), []byte(pw))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
		}
	case Argon2id, "argon2i":
		var got []byte
		if p.alg == Argon2id {
			got = argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		} else {
			got = argon2.Key([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		}
		return subtle.ConstantTimeCompare(got, p.key) == 1, nil
	case PBKDF2SHA256, PBKDF2SHA512, SHA256, SHA512, MD5:
		return p.verifyCustom(pw)
	}
	return false, ErrUnsupportedHash
}

func parse(s string) (*parsed, error) {
	if len(s) > maxHashLen {
		return nil, fmt.Errorf("%w: too long", ErrMalformedHash)
	}
	switch {
	case strings.HasPrefix(s, "$2"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$argon2"):
		return parseArgon(s)
	case strings.HasPrefix(s, "$pbkdf2-"):
		return parsePBKDF2(s)
	case strings.HasPrefix(s, "$"+SHA256+"$"), strings.HasPrefix(s, "$"+SHA512+"$"), strings.HasPrefix(s, "$"+MD5+"$"):
		return parseDigest(s)
	case s == "":
		return nil, fmt.Errorf("%w: empty", ErrMalformedHash)
	case strings.HasPrefix(s, "$"):
		return nil, ErrUnsupportedHash
	}
	return nil, ErrMalformedHash
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks "$2x$NN$" + 53 characters of bcrypt's base64, x in
// {a, b, y}, and the cost bound, before x/crypto does any work.
func parseBcrypt(s string) (*parsed, error) {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return nil, fmt.Errorf("%w: not a bcrypt string", ErrMalformedHash)
	}
	switch s[2] {
	case 'a', 'b', 'y':
	default:
		return nil, fmt.Errorf("%w: bcrypt variant $2%c$", ErrUnsupportedHash, s[2])
	}
	if s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return nil, fmt.Errorf("%w: bcrypt cost", ErrMalformedHash)
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost > MaxBcryptCost {
		return nil, &ParamsError{Algorithm: Bcrypt, Param: "cost", Value: uint64(cost), Max: MaxBcryptCost}
	}
	if cost < bcrypt.MinCost {
		return nil, fmt.Errorf("%w: bcrypt cost %d below %d", ErrMalformedHash, cost, bcrypt.MinCost)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return nil, fmt.Errorf("%w: bcrypt salt/hash characters", ErrMalformedHash)
		}
	}
	raw := s
	if s[2] == 'y' {
		// $2y$ (PHP/crypt_blowfish) is the same algorithm as $2b$; x/crypto
		// reads the minor letter without interpreting it, say so explicitly.
		raw = "$2b" + s[3:]
	}
	return &parsed{alg: Bcrypt, raw: raw, cost: cost}, nil
}

// parseArgon parses "$argon2{id,i}$v=19$m=M,t=T,p=P$SALT$HASH" (PHC, base64
// standard alphabet without padding) and checks the bounds before any work.
func parseArgon(s string) (*parsed, error) {
	parts := strings.Split(s, "$")
	// "", alg, "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" {
		if len(parts) == 5 && (parts[1] == "argon2id" || parts[1] == "argon2i") && strings.HasPrefix(parts[2], "m=") {
			// No version field means v=16 (argon2 1.0), which x/crypto
			// does not implement.
			return nil, fmt.Errorf("%w: argon2 version 0x10", ErrUnsupportedHash)
		}
		return nil, fmt.Errorf("%w: not a PHC argon2 string", ErrMalformedHash)
	}
	p := &parsed{alg: parts[1]}
	switch p.alg {
	case Argon2id, "argon2i":
	case "argon2d":
		return nil, fmt.Errorf("%w: argon2d", ErrUnsupportedHash)
	default:
		return nil, fmt.Errorf("%w: unknown argon2 variant", ErrMalformedHash)
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return nil, fmt.Errorf("%w: argon2 version field", ErrMalformedHash)
	}
	if n, err := strconv.ParseUint(v, 10, 32); err != nil {
		return nil, fmt.Errorf("%w: argon2 version", ErrMalformedHash)
	} else if n != argon2.Version {
		return nil, fmt.Errorf("%w: argon2 version %d", ErrUnsupportedHash, n)
	}

	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, fmt.Errorf("%w: argon2 parameters", ErrMalformedHash)
	}
	var m, t, par uint64
	for i, name := range []string{"m", "t", "p"} {
		val, ok := strings.CutPrefix(params[i], name+"=")
		if !ok || val == "" || (len(val) > 1 && val[0] == '0') {
			return nil, fmt.Errorf("%w: argon2 parameter %s", ErrMalformedHash, name)
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				// Syntactically a number, just enormous.
				n = 1 << 32
			} else {
				return nil, fmt.Errorf("%w: argon2 parameter %s", ErrMalformedHash, name)
			}
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
	if t < 1 || par < 1 || m < 8*par {
		return nil, fmt.Errorf("%w: argon2 parameters out of range", ErrMalformedHash)
	}
	p.memory, p.time, p.threads = uint32(m), uint32(t), uint8(par)

	var err error
	if p.salt, err = decodeB64(parts[4]); err != nil || len(p.salt) < minSaltLen || len(p.salt) > maxSaltLen {
		return nil, fmt.Errorf("%w: argon2 salt", ErrMalformedHash)
	}
	if p.key, err = decodeB64(parts[5]); err != nil || len(p.key) < minKeyLen || len(p.key) > maxKeyLen {
		return nil, fmt.Errorf("%w: argon2 hash", ErrMalformedHash)
	}
	return p, nil
}

func clamp32(n uint64) uint32 {
	if n > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(n)
}

func checkArgonCost(alg string, m, t, p uint32) error {
	switch {
	case m > MaxArgon2Memory:
		return &ParamsError{Algorithm: alg, Param: "m", Value: uint64(m), Max: MaxArgon2Memory}
	case t > MaxArgon2Time:
		return &ParamsError{Algorithm: alg, Param: "t", Value: uint64(t), Max: MaxArgon2Time}
	case p > MaxArgon2Threads:
		return &ParamsError{Algorithm: alg, Param: "p", Value: uint64(p), Max: MaxArgon2Threads}
	}
	return nil
}

// decodeB64 decodes PHC's base64 (standard alphabet, no padding), also
// tolerating the padding some encoders add.
func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

func encodeArgon(alg string, m, t uint32, p uint8, salt, key []byte) string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", alg, argon2.Version, m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}
