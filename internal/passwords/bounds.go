package passwords

import "fmt"

// The one table of cost bounds.
//
// Every parameter a stored hash (or a caller, such as a script's host
// function) can choose, and that decides how much CPU or memory one
// verification costs, is bounded here and nowhere else. A value above Max
// is refused with a *ParamsError before any work; a value below Min is a
// malformed hash. Parsers call Bound.Check with the value as read, so a
// number too big for its field is still reported as "too expensive".
const (
	MinBcryptCost     = 4
	MaxBcryptCost     = 14 // a cost-14 compare takes about 1 s on a core, and cannot be interrupted
	DefaultBcryptCost = 10

	MaxArgon2Memory  = 1 << 20 // KiB: 1 GiB
	MaxArgon2Time    = 10
	MaxArgon2Threads = 16

	// MaxPBKDF2Iterations bounds the pbkdf2 iteration count a stored hash
	// may ask for (about 5 s of SHA-512 work on a server core).
	MaxPBKDF2Iterations = 10_000_000
	// MaxPBKDF2KeyLen bounds the derived key length (bytes).
	MaxPBKDF2KeyLen = 64

	// MaxScryptMemory bounds scrypt's working memory, 128·N·r bytes.
	MaxScryptMemory = 1 << 30
	MaxScryptLogN   = 20 // N ≤ 2^20
	MaxScryptR      = 32
	MaxScryptP      = 16
	MaxScryptKeyLen = 128

	// MaxPHPassLog2 bounds phpass's iteration count, 2^n MD5 rounds.
	MaxPHPassLog2 = 24
	// MaxShaCryptRounds bounds SHA-crypt's rounds ($5$, $6$ under {CRYPT}).
	MaxShaCryptRounds = 10_000_000

	// MaxCustomSaltLen bounds the salt of an imported hash (bytes), which
	// keeps every stored string within 255 characters.
	MaxCustomSaltLen = 64
	// MaxHMACKeyLen bounds an imported HMAC key (bytes).
	MaxHMACKeyLen = 64
)

// Bound is one row of the table: the inclusive range of one parameter of
// one family.
type Bound struct {
	Family string // "bcrypt", "argon2", "pbkdf2", "scrypt", "phpass", "sha-crypt", "salt", "hmac"
	Param  string // as hash strings name it: "cost", "m", "t", "p", "i", "l", "ln", "r", "keylen", "rounds", "len"
	Unit   string
	Min    uint64
	Max    uint64
}

// bounds is the table; Bounds returns a copy.
var bounds = []Bound{
	{"bcrypt", "cost", "log2 rounds", MinBcryptCost, MaxBcryptCost},
	{"argon2", "m", "KiB of memory", 8, MaxArgon2Memory},
	{"argon2", "t", "passes over memory", 1, MaxArgon2Time},
	{"argon2", "p", "lanes", 1, MaxArgon2Threads},
	{"argon2", "salt", "bytes", 8, 64},
	{"argon2", "keylen", "bytes", 16, 128},
	{"pbkdf2", "i", "iterations", 1, MaxPBKDF2Iterations},
	{"pbkdf2", "l", "bytes", 1, MaxPBKDF2KeyLen},
	{"scrypt", "ln", "log2 N", 1, MaxScryptLogN},
	{"scrypt", "r", "block size", 1, MaxScryptR},
	{"scrypt", "p", "parallelization", 1, MaxScryptP},
	{"scrypt", "memory", "bytes of memory (128·N·r)", 1, MaxScryptMemory},
	{"scrypt", "keylen", "bytes", 1, MaxScryptKeyLen},
	{"phpass", "rounds", "log2 rounds", 7, MaxPHPassLog2},
	{"sha-crypt", "rounds", "rounds", 1000, MaxShaCryptRounds},
	{"salt", "len", "bytes", 1, MaxCustomSaltLen},
	{"hmac", "keylen", "bytes", 1, MaxHMACKeyLen},
}

// Bounds returns the table of cost bounds (a copy).
func Bounds() []Bound { return append([]Bound(nil), bounds...) }

// BoundOf returns the bound of family's param; it panics on a name not in
// the table (a programming error).
func BoundOf(family, param string) Bound {
	for _, b := range bounds {
		if b.Family == family && b.Param == param {
			return b
		}
	}
	panic("passwords: no bound " + family + "." + param)
}

// Check returns nil when v is within b; a *ParamsError (errors.Is
// ErrExcessiveParams) above Max; a *HashError (ErrMalformedHash) below
// Min. alg names the algorithm in the error ("argon2id", "pbkdf2-sha1").
func (b Bound) Check(alg string, v uint64) error {
	switch {
	case v > b.Max:
		return &ParamsError{Algorithm: alg, Param: b.Param, Value: v, Max: b.Max, Unit: b.Unit}
	case v < b.Min:
		return &HashError{Format: alg, Field: b.Param, Reason: fmt.Sprintf("%d is below the minimum %d", v, b.Min), Err: ErrMalformedHash}
	}
	return nil
}

// HashError says which part of a stored hash string is wrong and why. It
// never carries the salt or hash value. errors.Is(err, ErrMalformedHash)
// or ErrUnsupportedHash holds, according to Err.
type HashError struct {
	Format string // "argon2id", "pbkdf2-sha256", "ldap", "scrypt", "phpass", "django", ...
	Field  string // the part: "version", "m", "salt", "hash", "scheme", ...
	Reason string
	Err    error
}

func (e *HashError) Error() string {
	s := "passwords: " + e.Format
	if e.Field != "" {
		s += " " + e.Field
	}
	return s + ": " + e.Reason
}

// Unwrap returns the category.
func (e *HashError) Unwrap() error { return e.Err }

func malformed(format, field, reason string, args ...any) error {
	return &HashError{Format: format, Field: field, Reason: fmt.Sprintf(reason, args...), Err: ErrMalformedHash}
}

func unsupported(format, field, reason string, args ...any) error {
	return &HashError{Format: format, Field: field, Reason: fmt.Sprintf(reason, args...), Err: ErrUnsupportedHash}
}
