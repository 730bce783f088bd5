// Package passwords hashes and verifies the passwords the service holds.
//
// New hashes use the configured algorithm: bcrypt (the default, cost 10) or
// argon2id (a PHC string, "$argon2id$v=19$m=...,t=...,p=...$salt$hash").
// Verify accepts, whatever the configuration, every stored format listed in
// formats.go: bcrypt, argon2 (id, i, d), pbkdf2, plain and salted digests,
// HMACs, scrypt, LDAP's RFC 2307 schemes, MD5-/SHA-crypt, phpass,
// WordPress 6.8 and Django strings, so hashes imported from other systems
// keep working (FromCustom, in custom.go, makes them from an import file's
// custom_password_hash). NeedsRehash tells the caller when to replace a
// hash after a successful login (always, for the imported kinds).
//
// A stored hash is input too: every cost parameter is checked against the
// one table of bounds in bounds.go before any work, and a hash above it is
// refused with a *ParamsError; a malformed or unsupported one with a
// *HashError naming the part of the string that is wrong.
package passwords

import (
	"crypto/rand"
	"errors"
	"fmt"
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
	// BcryptCost is bcrypt's work factor, 4..14 (0: 10).
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
	Unit      string // what the parameter counts ("KiB of memory"), from the table
}

func (e *ParamsError) Error() string {
	s := fmt.Sprintf("passwords: %s parameter %s=%d exceeds the maximum %d", e.Algorithm, e.Param, e.Value, e.Max)
	if e.Unit != "" {
		s += " (" + e.Unit + ")"
	}
	return s
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
			return nil, BoundOf("bcrypt", "cost").Check(Bcrypt, uint64(h.bcryptCost))
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
	return ph.verify([]byte(pw))
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
	if !strings.HasPrefix(hash, "$2") && !strings.HasPrefix(hash, "$argon2") {
		// Imported forms ({CRYPT}$2b$..., Django's argon2$..., $wp$...)
		// are replaced by the service's own form even when the inner
		// algorithm matches.
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
