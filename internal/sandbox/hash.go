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
// A hash cannot be interrupted once started, so before any work:
//   - cost parameters over the bounds (abi.MaxBcryptCost; argon2id memory
//     over the script's own memory limit, abi.MaxArgon2Time/Threads) are
//     refused (ErrnoDenied), so a hostile hash in the customer's table
//     cannot pin a core or allocate a GiB;
//   - the hash waits for one of MaxParallelHashes host-wide slots and for
//     its memory in the sandbox's budget, both bounded by the call's
//     deadline, and is refused (ErrnoTimeout, the call ends in ErrTimeout)
//     when the deadline passed: a call overruns its deadline by at most one
//     hash at the bounds.
// Every host hash function (including future ones) goes through
// beginHash.

// beginHash waits for a hashing slot and mem bytes of the memory budget,
// bounded by ctx. On success the caller must call the returned release
// when the hash is done; otherwise it returns the errno to give the guest.
func (cs *callState) beginHash(ctx context.Context, mem int64) (release func(), e int32) {
	r := cs.m.rt
	late := func() (func(), int32) {
		r.hashRefused.Add(1)
		cs.timedOut = true
		return nil, cs.fail(abi.ErrnoTimeout, "the call's deadline passed before the hash could start")
	}
	if ctx.Err() != nil {
		return late()
	}
	select {
	case r.hashSem <- struct{}{}:
	case <-ctx.Done():
		return late()
	}
	if mem > 0 {
		if err := r.budget.acquire(ctx, mem, r.evictIdle); err != nil {
			<-r.hashSem
			if ctx.Err() != nil {
				return late()
			}
			return nil, cs.fail(abi.ErrnoDenied, err.Error())
		}
	}
	if ctx.Err() != nil { // the deadline passed at the same time
		<-r.hashSem
		if mem > 0 {
			r.budget.release(mem)
		}
		return late()
	}
	r.hashStarts.Add(1)
	return func() {
		if mem > 0 {
			r.budget.release(mem)
		}
		<-r.hashSem
	}, 0
}

// bcryptMem is what one bcrypt run takes (its state is about 4 KiB).
const bcryptMem = 0

// bcrypt_hash(pw_ptr, pw_len, cost) -> len: the reply is the hash.
func (r *Runtime) bcryptHash(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
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
	done, e := cs.beginHash(ctx, bcryptMem)
	if e != 0 {
		return e
	}
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	done()
	if err != nil {
		return cs.fail(abi.ErrnoInval, err.Error()) // e.g. longer than 72 bytes
	}
	return cs.ok(h)
}

// bcrypt_compare(hash_ptr, hash_len, pw_ptr, pw_len) -> 0 on a match,
// -ErrnoMismatch otherwise.
func (r *Runtime) bcryptCompare(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
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
	done, e := cs.beginHash(ctx, bcryptMem)
	if e != 0 {
		return e
	}
	cs.hashed = true
	cs.m.bcryptCost.Store(int32(cost))
	err = bcrypt.CompareHashAndPassword(hash, pw)
	done()
	switch {
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

// check applies the script's memory limit and then the passwords
// package's table of cost bounds, the same one stored hashes are held to.
func (a argon2Params) check(limitKiB uint32) error {
	if a.memory > limitKiB {
		return fmt.Errorf("argon2id memory %d KiB is over the script memory limit of %d KiB", a.memory, limitKiB)
	}
	return passwords.CheckArgon2Params(passwords.Argon2id, a.memory, a.time, a.threads)
}

var b64 = base64.RawStdEncoding

// argon2id_hash(pw_ptr, pw_len, time, memory_kib, threads) -> len: the
// reply is a PHC string with a 16-byte random salt and a 32-byte key.
func (r *Runtime) argon2idHash(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("argon2id_hash"); e != 0 {
		return e
	}
	t, m, th := uint32(p[2]), uint32(p[3]), uint32(p[4])
	if th > 255 {
		th = 255
	}
	params := argon2Params{time: t, memory: m, threads: uint8(th)}
	if err := params.check(r.argon2LimitKiB()); err != nil {
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
	done, e := cs.beginHash(ctx, int64(params.memory)<<10)
	if e != 0 {
		return e
	}
	key := argon2.IDKey(pw, salt, params.time, params.memory, params.threads, 32)
	done()
	phc := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, params.memory, params.time, params.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
	return cs.ok([]byte(phc))
}

// argon2id_compare(hash_ptr, hash_len, pw_ptr, pw_len) -> 0 on a match,
// -ErrnoMismatch otherwise.
func (r *Runtime) argon2idCompare(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
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
	params := argon2Params{time: a.Time, memory: a.Memory, threads: a.Threads}
	if err := params.check(r.argon2LimitKiB()); err != nil {
		return cs.fail(abi.ErrnoDenied, err.Error())
	}
	done, e := cs.beginHash(ctx, int64(params.memory)<<10)
	if e != 0 {
		return e
	}
	cs.hashed = true
	ok := a.Matches(pw)
	done()
	if !ok {
		return cs.fail(abi.ErrnoMismatch, "")
	}
	return cs.ok(nil)
}

// argon2LimitKiB is the largest argon2id memory parameter: the script's
// own memory limit (and never over abi.MaxArgon2MemoryKiB).
func (r *Runtime) argon2LimitKiB() uint32 {
	return min(r.cfg.MemoryLimitPages*64, abi.MaxArgon2MemoryKiB)
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
