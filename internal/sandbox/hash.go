package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/tetratelabs/wazero/api"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/passwords"
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

// check applies the passwords package's table of cost bounds, the same
// one stored hashes are held to.
func (a argon2Params) check() error {
	return passwords.CheckArgon2Params(passwords.Argon2id, a.memory, a.time, a.threads)
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
	a, err := passwords.ParseArgon2(hash)
	switch {
	case errors.Is(err, passwords.ErrExcessiveParams):
		return cs.fail(abi.ErrnoDenied, err.Error())
	case err != nil:
		return cs.fail(abi.ErrnoInval, err.Error())
	case a.Variant != passwords.Argon2id:
		return cs.fail(abi.ErrnoInval, "not an argon2id PHC string")
	}
	cs.hashed = true
	if !a.Matches(pw) {
		return cs.fail(abi.ErrnoMismatch, "")
	}
	return cs.ok(nil)
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
