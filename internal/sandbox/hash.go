package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/abi"
)

// Password hashing runs natively on the host: bcrypt measured about 2x
// slower inside a Go guest, and host time does not count as guest CPU.
// Hashes with extreme cost parameters are refused before any work is done,
// so a hostile hash in the customer's table cannot pin a core.

// bcrypt_hash(pw_ptr, pw_len, cost) -> len: the reply is the hash.
func (r *Runtime) bcryptHash(_ context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("bcrypt_hash"); e != 0 {
		return e
	}
	cost := int(api.DecodeI32(p[2]))
	if cost < abi.MinBcryptCost || cost > abi.MaxBcryptCost {
		return cs.fail(abi.ErrnoDenied, "bcrypt cost must be between "+strconv.Itoa(abi.MinBcryptCost)+" and "+strconv.Itoa(abi.MaxBcryptCost))
	}
	pw, e := cs.read(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		return cs.fail(abi.ErrnoInval, err.Error()) // e.g. longer than 72 bytes
	}
	return cs.ok(h)
}

// bcrypt_compare(hash_ptr, hash_len, pw_ptr, pw_len) -> 0 on a match,
// -ErrnoMismatch otherwise.
func (r *Runtime) bcryptCompare(_ context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("bcrypt_compare"); e != 0 {
		return e
	}
	hash, e := cs.read(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	pw, e := cs.read(mem, uint32(p[2]), uint32(p[3]))
	if e != 0 {
		return e
	}
	cost, err := bcrypt.Cost(hash)
	if err != nil {
		return cs.fail(abi.ErrnoInval, "not a bcrypt hash")
	}
	if cost > abi.MaxBcryptCost {
		return cs.fail(abi.ErrnoDenied, "bcrypt cost "+strconv.Itoa(cost)+" is over the limit of "+strconv.Itoa(abi.MaxBcryptCost))
	}
	cs.hashed = true
	cs.m.bcryptCost.Store(int32(cost))
	switch err := bcrypt.CompareHashAndPassword(hash, pw); {
	case err == nil:
		return cs.ok(nil)
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return cs.fail(abi.ErrnoMismatch, "")
	default:
		return cs.fail(abi.ErrnoInval, err.Error())
	}
}

// argon2Params are argon2id's parameters as a PHC string carries them.
type argon2Params struct {
	time, memory uint32
	threads      uint8
}

func (a argon2Params) check() error {
	switch {
	case a.time < 1 || a.time > abi.MaxArgon2Time:
		return fmt.Errorf("argon2id time %d is outside 1..%d", a.time, abi.MaxArgon2Time)
	case a.memory < 8*uint32(a.threads) || a.memory > abi.MaxArgon2MemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB is outside %d..%d KiB", a.memory, 8*uint32(a.threads), abi.MaxArgon2MemoryKiB)
	case a.threads < 1 || a.threads > abi.MaxArgon2Threads:
		return fmt.Errorf("argon2id parallelism %d is outside 1..%d", a.threads, abi.MaxArgon2Threads)
	}
	return nil
}

var b64 = base64.RawStdEncoding

// argon2id_hash(pw_ptr, pw_len, time, memory_kib, threads) -> len: the
// reply is a PHC string with a 16-byte random salt and a 32-byte key.
func (r *Runtime) argon2idHash(_ context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("argon2id_hash"); e != 0 {
		return e
	}
	t, m, th := uint32(p[2]), uint32(p[3]), uint32(p[4])
	if th > 255 {
		th = 255
	}
	params := argon2Params{time: t, memory: m, threads: uint8(th)}
	if err := params.check(); err != nil {
		return cs.fail(abi.ErrnoDenied, err.Error())
	}
	pw, e := cs.read(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return cs.fail(abi.ErrnoInval, "no randomness: "+err.Error())
	}
	key := argon2.IDKey(pw, salt, params.time, params.memory, params.threads, 32)
	phc := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, params.memory, params.time, params.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
	return cs.ok([]byte(phc))
}

// argon2id_compare(hash_ptr, hash_len, pw_ptr, pw_len) -> 0 on a match,
// -ErrnoMismatch otherwise.
func (r *Runtime) argon2idCompare(_ context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("argon2id_compare"); e != 0 {
		return e
	}
	hash, e := cs.readString(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	pw, e := cs.read(mem, uint32(p[2]), uint32(p[3]))
	if e != 0 {
		return e
	}
	params, salt, key, err := parseArgon2id(hash)
	if err != nil {
		return cs.fail(abi.ErrnoInval, err.Error())
	}
	if err := params.check(); err != nil {
		return cs.fail(abi.ErrnoDenied, err.Error())
	}
	cs.hashed = true
	got := argon2.IDKey(pw, salt, params.time, params.memory, params.threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return cs.fail(abi.ErrnoMismatch, "")
	}
	return cs.ok(nil)
}

// parseArgon2id reads "$argon2id$v=19$m=65536,t=3,p=4$salt$key".
func parseArgon2id(s string) (argon2Params, []byte, []byte, error) {
	var p argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errors.New("unsupported argon2 version " + parts[2])
	}
	var th uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &th); err != nil {
		return p, nil, nil, errors.New("malformed argon2id parameters")
	}
	if th > 255 {
		th = 255
	}
	p.threads = uint8(th)
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("malformed argon2id salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("malformed argon2id key")
	}
	return p, salt, key, nil
}

// dummyBcrypt compares pw with a fixed hash of the given cost (10 when
// unknown), discarding the result: the work of a wrong-password compare.
func (r *Runtime) dummyBcrypt(cost int, pw string) {
	if cost < bcrypt.MinCost || cost > abi.MaxBcryptCost {
		cost = bcrypt.DefaultCost
	}
	r.dummyMu.Lock()
	h, ok := r.dummyHashes[cost]
	if !ok {
		var err error
		if h, err = bcrypt.GenerateFromPassword([]byte("profiled dummy password"), cost); err != nil {
			r.dummyMu.Unlock()
			return
		}
		if r.dummyHashes == nil {
			r.dummyHashes = map[int][]byte{}
		}
		r.dummyHashes[cost] = h
	}
	r.dummyMu.Unlock()
	if len(pw) > 72 {
		pw = pw[:72]
	}
	_ = bcrypt.CompareHashAndPassword(h, []byte(pw))
	r.dummyCompares.Add(1)
}
