package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // legacy hashes
	"crypto/pbkdf2"
	"crypto/sha1" //nolint:gosec // legacy hashes
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"hash"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"
	"golang.org/x/crypto/scrypt"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/passwords"
)

// The legacy hash families a script asks the host for (ABI.md,
// "password_verify" and "hash_compute"). Each one checks its cost
// parameters against the passwords package's table of bounds, the one the
// import path uses, before any work, then runs under beginHash (a hashing
// slot, its memory in the budget, the call's deadline).

// password_verify(hash_ptr, hash_len, pw_ptr, pw_len) -> 0 on a match,
// -ErrnoMismatch otherwise: the stored hash string in any format
// passwords.Verify reads (Django, phpass, $wp$, bcrypt, argon2, scrypt,
// pbkdf2, LDAP {SSHA}, crypt...).
func (r *Runtime) passwordVerify(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("password_verify"); e != 0 {
		return e
	}
	stored, e := cs.readString(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	pw, e := cs.read(mem, uint32(p[2]), uint32(p[3]))
	if e != 0 {
		return e
	}
	// Parse first (cheap): a malformed or too expensive hash is refused
	// before waiting for a slot. The memory an argon2/scrypt hash takes is
	// reserved in the budget.
	need, err := verifyMemory(stored)
	if err != nil {
		return hashParamErr(cs, err)
	}
	done, e := cs.beginHash(ctx, need)
	if e != 0 {
		return e
	}
	cs.hashed = true
	ok, err := passwords.Verify(stored, string(pw))
	done()
	if err != nil {
		return hashParamErr(cs, err)
	}
	cs.m.lastVerified.Store(&stored)
	if !ok {
		return cs.fail(abi.ErrnoMismatch, "")
	}
	return cs.ok(nil)
}

// hashParamErr maps the passwords package's refusals: too expensive is
// ErrnoDenied, malformed or unsupported ErrnoInval. The message names the
// part of the hash, never its value.
func hashParamErr(cs *callState, err error) int32 {
	if errors.Is(err, passwords.ErrExcessiveParams) {
		return cs.fail(abi.ErrnoDenied, err.Error())
	}
	return cs.fail(abi.ErrnoInval, err.Error())
}

// verifyMemory is the memory a stored hash's verification takes beyond a
// few KiB (argon2's m KiB, scrypt's 128·N·r bytes), after checking those
// parameters against the bounds.
func verifyMemory(s string) (int64, error) {
	if err := passwords.Check(s); err != nil {
		return 0, err
	}
	switch {
	case strings.HasPrefix(s, "$argon2"), strings.HasPrefix(s, "argon2$"):
		a, err := passwords.ParseArgon2(strings.TrimPrefix(s, "argon2"))
		if err != nil {
			return 0, err
		}
		return int64(a.Memory) << 10, nil
	case strings.HasPrefix(s, "$scrypt$ln="):
		var ln, r uint64
		params, _, _ := strings.Cut(strings.TrimPrefix(s, "$scrypt$"), "$")
		for _, kv := range strings.Split(params, ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, _ := strconv.ParseUint(v, 10, 32)
			switch k {
			case "ln":
				ln = n
			case "r":
				r = n
			}
		}
		if err := passwords.BoundOf("scrypt", "ln").Check("scrypt", ln); err != nil {
			return 0, err
		}
		if err := passwords.BoundOf("scrypt", "r").Check("scrypt", r); err != nil {
			return 0, err
		}
		return 128 << ln * int64(r), nil
	}
	return 0, nil
}

// digests are the digest names hash_compute accepts.
var digests = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New,
}

// hash_compute(req_ptr, req_len) -> len: req is List[String function, ...]
// (ABI.md); the reply is the Bytes result, encoded.
func (r *Runtime) hashCompute(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("hash_compute"); e != 0 {
		return e
	}
	req, e := cs.read(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	d := abi.NewDecoder(req)
	n, err := d.List()
	if err != nil || n < 1 {
		return cs.fail(abi.ErrnoInval, "the request is not [function, ...arguments]")
	}
	fn, err := d.String()
	if err != nil {
		return cs.fail(abi.ErrnoInval, "the function name is not a String")
	}
	a := hashArgs{d: d, n: n - 1}
	var out []byte
	switch fn {
	case "pbkdf2":
		alg, pw, salt, iter, keyLen := a.str(), a.bytes(), a.bytes(), a.int(), a.int()
		if err := a.done(); err != nil {
			return cs.fail(abi.ErrnoInval, "pbkdf2: want [\"pbkdf2\", digest, password, salt, iterations, keylen]: "+err.Error())
		}
		h := digests[alg]
		if h == nil {
			return cs.fail(abi.ErrnoInval, "pbkdf2: unknown digest "+strconv.Quote(alg))
		}
		if err := checkBounds("pbkdf2-"+alg, [][2]any{{"i", iter}, {"l", keyLen}}); err != nil {
			return hashParamErr(cs, err)
		}
		done, e := cs.beginHash(ctx, 0)
		if e != 0 {
			return e
		}
		cs.hashed = true
		out, err = pbkdf2.Key(h, string(pw), salt, int(iter), int(keyLen))
		done()
		if err != nil {
			return cs.fail(abi.ErrnoInval, "pbkdf2: "+err.Error())
		}
	case "digest":
		alg, data, iter := a.str(), a.bytes(), a.int()
		if err := a.done(); err != nil {
			return cs.fail(abi.ErrnoInval, "digest: want [\"digest\", digest, data, iterations]: "+err.Error())
		}
		h := digests[alg]
		if h == nil {
			return cs.fail(abi.ErrnoInval, "digest: unknown digest "+strconv.Quote(alg))
		}
		// Iterating a digest costs what as many pbkdf2 iterations do:
		// the same bound.
		if err := checkBounds(alg, [][2]any{{"i", iter}}); err != nil {
			return hashParamErr(cs, err)
		}
		done, e := cs.beginHash(ctx, 0)
		if e != 0 {
			return e
		}
		if iter > 1 {
			cs.hashed = true
		}
		hh := h()
		hh.Write(data)
		out = hh.Sum(nil)
		for i := int64(1); i < iter; i++ {
			hh.Reset()
			hh.Write(out)
			out = hh.Sum(out[:0])
		}
		done()
	case "hmac":
		alg, key, msg := a.str(), a.bytes(), a.bytes()
		if err := a.done(); err != nil {
			return cs.fail(abi.ErrnoInval, "hmac: want [\"hmac\", digest, key, message]: "+err.Error())
		}
		h := digests[alg]
		if h == nil {
			return cs.fail(abi.ErrnoInval, "hmac: unknown digest "+strconv.Quote(alg))
		}
		m := hmac.New(h, key)
		m.Write(msg)
		out = m.Sum(nil)
	case "scrypt":
		pw, salt, logN, rr, pp, keyLen := a.bytes(), a.bytes(), a.int(), a.int(), a.int(), a.int()
		if err := a.done(); err != nil {
			return cs.fail(abi.ErrnoInval, "scrypt: want [\"scrypt\", password, salt, log2 N, r, p, keylen]: "+err.Error())
		}
		if err := checkBounds("scrypt", [][2]any{{"ln", logN}, {"r", rr}, {"p", pp}, {"keylen", keyLen}}); err != nil {
			return hashParamErr(cs, err)
		}
		memory := int64(128) << logN * rr
		if err := passwords.BoundOf("scrypt", "memory").Check("scrypt", uint64(memory)); err != nil {
			return hashParamErr(cs, err)
		}
		done, e := cs.beginHash(ctx, memory)
		if e != 0 {
			return e
		}
		cs.hashed = true
		out, err = scrypt.Key(pw, salt, 1<<logN, int(rr), int(pp), int(keyLen))
		done()
		if err != nil {
			return cs.fail(abi.ErrnoInval, "scrypt: "+err.Error())
		}
	case "argon2":
		variant, pw, salt, t, m, threads, keyLen := a.str(), a.bytes(), a.bytes(), a.int(), a.int(), a.int(), a.int()
		if err := a.done(); err != nil {
			return cs.fail(abi.ErrnoInval, "argon2: want [\"argon2\", id|i|d, password, salt, time, memory KiB, threads, keylen]: "+err.Error())
		}
		alg := "argon2" + variant
		if variant != "id" && variant != "i" && variant != "d" {
			return cs.fail(abi.ErrnoInval, "argon2: the variant is id, i or d")
		}
		if err := checkBounds("argon2", [][2]any{{"t", t}, {"m", m}, {"p", threads}, {"salt", int64(len(salt))}, {"keylen", keyLen}}); err != nil {
			return hashParamErr(cs, err)
		}
		if err := passwords.CheckArgon2Params(alg, uint32(m), uint32(t), uint8(threads)); err != nil {
			return hashParamErr(cs, err)
		}
		done, e := cs.beginHash(ctx, m<<10)
		if e != 0 {
			return e
		}
		cs.hashed = true
		out = passwords.Argon2Key(alg, pw, salt, uint32(t), uint32(m), uint8(threads), uint32(keyLen))
		done()
	case "equal":
		x, y := a.bytes(), a.bytes()
		if err := a.done(); err != nil {
			return cs.fail(abi.ErrnoInval, "equal: want [\"equal\", bytes, bytes]: "+err.Error())
		}
		if subtle.ConstantTimeCompare(x, y) == 1 {
			out = []byte{1}
		} else {
			out = []byte{0}
		}
	default:
		return cs.fail(abi.ErrnoInval, "unknown hash function "+strconv.Quote(fn)+" (pbkdf2, digest, hmac, scrypt, argon2, equal)")
	}
	return cs.ok(abi.AppendBytes(nil, out))
}

// checkBounds checks each (param, value) of family against the table.
func checkBounds(alg string, params [][2]any) error {
	family := alg
	switch {
	case strings.HasPrefix(alg, "pbkdf2"), digests[alg] != nil:
		family = "pbkdf2"
	}
	for _, pv := range params {
		v := pv[1].(int64)
		if v < 0 {
			v = 0
		}
		if err := passwords.BoundOf(family, pv[0].(string)).Check(alg, uint64(v)); err != nil {
			return err
		}
	}
	return nil
}

// hashArgs reads the positional arguments of a hash_compute request.
type hashArgs struct {
	d   *abi.Decoder
	n   int
	err error
}

func (a *hashArgs) next() bool {
	if a.err != nil {
		return false
	}
	if a.n == 0 {
		a.err = errors.New("too few arguments")
		return false
	}
	a.n--
	return true
}

func (a *hashArgs) str() string {
	if !a.next() {
		return ""
	}
	s, err := a.d.String()
	if err != nil {
		a.err = err
	}
	return s
}

func (a *hashArgs) bytes() []byte {
	if !a.next() {
		return nil
	}
	v, err := a.d.Value()
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	if err == nil {
		err = errors.New("want Bytes or String")
	}
	a.err = err
	return nil
}

func (a *hashArgs) int() int64 {
	if !a.next() {
		return 0
	}
	v, err := a.d.Int()
	if err != nil {
		a.err = err
	}
	return v
}

func (a *hashArgs) done() error {
	if a.err == nil && (a.n != 0 || a.d.Remaining() != 0) {
		a.err = errors.New("too many arguments")
	}
	return a.err
}

// dummyVerify verifies pw against a stored hash of the connection,
// discarding the result: the work of a wrong-password verification. Like
// a real one it waits for a hashing slot and its memory in the budget,
// within the call's deadline (past it, the call has used its time anyway).
func (r *Runtime) dummyVerify(ctx context.Context, stored, pw string) {
	need, err := verifyMemory(stored)
	if err != nil {
		return
	}
	r.dummyWaits.Add(1)
	select {
	case r.hashSem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-r.hashSem }()
	if need > 0 {
		if r.budget.acquire(ctx, need, r.evictIdle) != nil {
			return
		}
		defer r.budget.release(need)
	}
	_, _ = passwords.Verify(stored, pw)
	r.dummyCompares.Add(1)
}
