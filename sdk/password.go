package sdk

import "github.com/profiled/profiled/abi"

// BcryptHash hashes password with bcrypt at cost (4..14; 10 is the usual
// choice), on the host. It fails with ErrDenied for a cost over 14 and for a
// password over 72 bytes.
func BcryptHash(password string, cost int) (string, error) {
	if cost < abi.MinBcryptCost || cost > abi.MaxBcryptCost {
		return "", &HostError{Errno: abi.ErrnoDenied, Message: "bcrypt cost must be between 4 and 14"}
	}
	raw, err := readReply(hostBcryptHash(sptr(password), uint32(len(password)), int32(cost)))
	return string(raw), err
}

// BcryptCompare reports whether password matches the bcrypt hash ($2a$,
// $2b$ or $2y$), checked on the host. A malformed hash is an error; a hash
// whose cost is over 14 is refused (ErrDenied) without being checked.
func BcryptCompare(hash, password string) (bool, error) {
	return compare(hostBcryptCompare(sptr(hash), uint32(len(hash)), sptr(password), uint32(len(password))))
}

// Argon2Params are argon2id's cost parameters.
type Argon2Params struct {
	Time      uint32 // iterations, 1..16
	MemoryKiB uint32 // up to the script memory limit (64 MiB by default) and 1 GiB
	Threads   uint32 // 1..16
}

// DefaultArgon2Params are OWASP's minimum recommendation (19 MiB, 2
// iterations, 1 thread).
var DefaultArgon2Params = Argon2Params{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

// Argon2idHash hashes password with argon2id and DefaultArgon2Params on the
// host, returning a PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$key).
func Argon2idHash(password string) (string, error) {
	return Argon2idHashWith(password, DefaultArgon2Params)
}

// Argon2idHashWith is Argon2idHash with explicit parameters.
func Argon2idHashWith(password string, p Argon2Params) (string, error) {
	raw, err := readReply(hostArgon2idHash(sptr(password), uint32(len(password)), p.Time, p.MemoryKiB, p.Threads))
	return string(raw), err
}

// Argon2idCompare reports whether password matches an argon2id PHC string,
// checked on the host. Parameters over the limits (memory over the script memory limit, ...)
// are refused (ErrDenied) without being checked.
func Argon2idCompare(hash, password string) (bool, error) {
	return compare(hostArgon2idCompare(sptr(hash), uint32(len(hash)), sptr(password), uint32(len(password))))
}

func compare(n int32) (bool, error) {
	if n == -int32(abi.ErrnoMismatch) {
		return false, nil
	}
	if err := status(n); err != nil {
		return false, err
	}
	return true, nil
}

// Config returns the connection's configuration value for key as a string
// ("" when absent; numbers and booleans are formatted). The configuration is
// read-only and meant for secrets and settings, like Auth0's
// `configuration`.
func Config(key string) string {
	v, ok := ConfigValue(key)
	if !ok || v == nil {
		return ""
	}
	var s string
	if assign(&s, v) != nil {
		return ""
	}
	return s
}

// ConfigValue returns the configuration value for key as decoded (string,
// bool, int64, float64, []any, map[string]any) and whether it exists.
func ConfigValue(key string) (any, bool) {
	raw, err := readReply(hostConfigGet(sptr(key), uint32(len(key))))
	if err != nil {
		return nil, false
	}
	var d abi.Decoder
	d.Reset(raw)
	v, err := d.Value()
	if err != nil {
		return nil, false
	}
	return v, true
}

// Log writes one line to the service log, tagged with the connection and
// the action, and to the call's log shown in the dashboard. Lines are
// bounded in number and size per call, and the host masks the call's
// password arguments if a line contains them, but do not log secrets.
// Writing to os.Stdout or os.Stderr also ends up in the call's log.
func Log(msg string) {
	hostLog(sptr(msg), uint32(len(msg)))
}
