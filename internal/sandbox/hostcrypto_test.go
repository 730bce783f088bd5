package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

// hashesModule loads the hashes script. Its calls get 10 minutes, not the
// 20 s default: these tests check outputs and slots, not speed, and the
// RFC 7914 scrypt vector (16 MiB of work) took over 20 s under -race on a
// loaded machine (TestHostHashVectors: "script timed out (deadline 20s)").
func hashesModule(t *testing.T, cfg map[string]any) (*Runtime, *Module) {
	t.Helper()
	r := newRuntime(t, Config{})
	return r, mustModule(t, r, Spec{Connection: "hashes", Wasm: script(t, "hashes"), DatabaseURL: sqliteURL(t), Configuration: cfg,
		Timeout: 10 * time.Minute})
}

func hx(s string) string { return hex.EncodeToString([]byte(s)) }

// runHash calls the script's create with the function and arguments and
// returns the hex output and the host's errno name ("" when none).
func runHash(t *testing.T, m *Module, args map[string]any) (string, string) {
	t.Helper()
	args["email"] = "h@example.com"
	res, err := m.Run(context.Background(), Call{Action: ActionCreate, User: args})
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	out, _ := res.Attributes["out"].(string)
	errno, _ := res.Attributes["errno"].(string)
	return out, errno
}

// TestHostHashVectors: each host hash function against published vectors
// (RFC 6070, RFC 7914, RFC 4231) and the argon2 reference implementation's
// command-line tool (`argon2 somesaltsomesalt -d|-i|-id -t 2 -m 10 -p 2 -l 32 -r`).
func TestHostHashVectors(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	_, m := hashesModule(t, nil)
	three := sha256.Sum256([]byte("abc"))
	three = sha256.Sum256(three[:])
	three = sha256.Sum256(three[:])
	for _, c := range []struct {
		name string
		args map[string]any
		want string
	}{
		{"pbkdf2-sha1 RFC 6070 c=2", map[string]any{"fn": "pbkdf2", "digest": "sha1", "pw": hx("password"), "salt": hx("salt"), "iter": "2", "keylen": "20"},
			"ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
		{"pbkdf2-sha1 RFC 6070 c=4096", map[string]any{"fn": "pbkdf2", "digest": "sha1", "pw": hx("password"), "salt": hx("salt"), "iter": "4096", "keylen": "20"},
			"4b007901b765489abead49d926f721d065a429c1"},
		{"pbkdf2-sha256 RFC 7914 §11", map[string]any{"fn": "pbkdf2", "digest": "sha256", "pw": hx("passwd"), "salt": hx("salt"), "iter": "1", "keylen": "64"},
			"55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
		{"scrypt RFC 7914 §12", map[string]any{"fn": "scrypt", "pw": hx("password"), "salt": hx("NaCl"), "ln": "10", "r": "8", "p": "16", "keylen": "64"},
			"fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"},
		{"hmac-sha256 RFC 4231 case 2", map[string]any{"fn": "hmac", "digest": "sha256", "key": hx("Jefe"), "msg": hx("what do ya want for nothing?")},
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"md5", map[string]any{"fn": "digest", "digest": "md5", "data": hx("abc"), "iter": "1"}, "900150983cd24fb0d6963f7d28e17f72"},
		{"sha256 iterated 3 times", map[string]any{"fn": "digest", "digest": "sha256", "data": hx("abc"), "iter": "3"}, hex.EncodeToString(three[:])},
		{"argon2d (reference tool)", map[string]any{"fn": "argon2", "variant": "d", "pw": hx("password"), "salt": hx("somesaltsomesalt"), "t": "2", "m": "1024", "p": "2", "keylen": "32"},
			"66d3e4bffd77ac37f5ff34a079760e3320dd286c2795469bb32eb9dd163e3e0e"},
		{"argon2i (reference tool)", map[string]any{"fn": "argon2", "variant": "i", "pw": hx("password"), "salt": hx("somesaltsomesalt"), "t": "2", "m": "1024", "p": "2", "keylen": "32"},
			"d7214220abeb75b5abc0e58826f1f0ce273059f6f2f75b63994661e8a434a902"},
		{"argon2id (reference tool)", map[string]any{"fn": "argon2", "variant": "id", "pw": hx("password"), "salt": hx("somesaltsomesalt"), "t": "2", "m": "1024", "p": "2", "keylen": "32"},
			"136523b6b0d30a0231e267e9a90f46c0bcef69bb90b9509cc22b2a0516d223ee"},
		// Stored strings written by real software: Django 3.2's
		// PBKDF2PasswordHasher, passlib's phpass, PHP's password_hash and
		// WordPress 6.8's wp_hash_password formula.
		{"verify Django pbkdf2_sha256", map[string]any{"fn": "verify", "hash": "pbkdf2_sha256$1000$s4ltsalt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk=", "pw": "hunter22"}, "01"},
		{"verify Django pbkdf2_sha256, wrong", map[string]any{"fn": "verify", "hash": "pbkdf2_sha256$1000$s4ltsalt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk=", "pw": "hunter23"}, "00"},
		{"verify phpass", map[string]any{"fn": "verify", "hash": "$P$BabcdefghKfdE7H4Uy7ajxpijsjAJW0", "pw": "correct horse"}, "01"},
		{"verify $wp$", map[string]any{"fn": "verify", "hash": "$wp$2y$05$mhXBu4eIx6CxxcMVPhXrZef.7oki2xE.s2nFG0b3.C9oLTiwSB3L2", "pw": "wp68 pass"}, "01"},
		{"verify $2y$", map[string]any{"fn": "verify", "hash": "$2y$04$3TRpIzgGZheVF8S0GdeUv.rTBmDYzLemHu5BHYV7d4nA3l.ToAq/e", "pw": "y pass"}, "01"},
	} {
		got, errno := runHash(t, m, c.args)
		if errno != "" || got != c.want {
			t.Errorf("%s: got %s (errno %q), want %s", c.name, got, errno, c.want)
		}
	}
}

// TestHostHashBounds: costs over the passwords bounds table are refused
// before any work (ErrnoDenied: no hashing slot taken), malformed input is
// ErrnoInval, and nothing leaks the hash value.
func TestHostHashBounds(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	r, m := hashesModule(t, nil)
	started := r.hashStarts.Load()
	for _, c := range []struct {
		name  string
		args  map[string]any
		errno string
	}{
		{"pbkdf2 over 10M iterations", map[string]any{"fn": "pbkdf2", "digest": "sha256", "pw": "00", "salt": "00", "iter": "10000001", "keylen": "32"}, "refused"},
		{"pbkdf2 key too long", map[string]any{"fn": "pbkdf2", "digest": "sha256", "pw": "00", "salt": "00", "iter": "1", "keylen": "65"}, "refused"},
		{"pbkdf2 unknown digest", map[string]any{"fn": "pbkdf2", "digest": "whirlpool", "pw": "00", "salt": "00", "iter": "1", "keylen": "32"}, "invalid argument"},
		{"iterated digest over the bound", map[string]any{"fn": "digest", "digest": "sha512", "data": "00", "iter": "20000000"}, "refused"},
		{"scrypt N = 2^21", map[string]any{"fn": "scrypt", "pw": "00", "salt": "00", "ln": "21", "r": "8", "p": "1", "keylen": "32"}, "refused"},
		{"scrypt memory over 1 GiB", map[string]any{"fn": "scrypt", "pw": "00", "salt": "00", "ln": "20", "r": "32", "p": "1", "keylen": "32"}, "refused"},
		{"argon2 memory over the bound", map[string]any{"fn": "argon2", "variant": "id", "pw": "00", "salt": hx("somesaltsomesalt"), "t": "1", "m": "2000000", "p": "1", "keylen": "32"}, "refused"},
		{"argon2 time over the bound", map[string]any{"fn": "argon2", "variant": "id", "pw": "00", "salt": hx("somesaltsomesalt"), "t": "99", "m": "1024", "p": "1", "keylen": "32"}, "refused"},
		{"argon2 unknown variant", map[string]any{"fn": "argon2", "variant": "x", "pw": "00", "salt": hx("somesaltsomesalt"), "t": "1", "m": "1024", "p": "1", "keylen": "32"}, "invalid argument"},
		{"verify: Django hash at 20M iterations", map[string]any{"fn": "verify", "hash": "pbkdf2_sha256$20000000$salt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk=", "pw": "x"}, "refused"},
		{"verify: phpass at 2^25 rounds", map[string]any{"fn": "verify", "hash": "$P$NabcdefghKfdE7H4Uy7ajxpijsjAJW0", "pw": "x"}, "refused"},
		{"verify: argon2 at 4 GiB", map[string]any{"fn": "verify", "hash": "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$ZZ0l4Hh3FvCd0cOJmUfG7kOeTwNsnxNeBb4LTDbT7Ns", "pw": "x"}, "refused"},
		{"verify: not a hash", map[string]any{"fn": "verify", "hash": "hello", "pw": "x"}, "invalid argument"},
	} {
		_, errno := runHash(t, m, c.args)
		if errno != c.errno {
			t.Errorf("%s: errno %q, want %q", c.name, errno, c.errno)
		}
	}
	if n := r.hashStarts.Load() - started; n != 0 {
		t.Fatalf("%d refused hashes took a hashing slot (work started)", n)
	}
}

// TestDummyVerifyUsesTheConnectionsHash: once a login verified a stored
// hash, a login that answers "no" without hashing (unknown email) verifies
// the password against that hash, not a bcrypt, so both take the time of
// the connection's real hashes.
func TestDummyVerifyUsesTheConnectionsHash(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	r, m := hashesModule(t, map[string]any{"HASH": "pbkdf2_sha256$1000$s4ltsalt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk="})
	ctx := context.Background()
	if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: "known@example.com", Password: "hunter22"}); err != nil {
		t.Fatal(err)
	}
	if m.lastVerified.Load() == nil {
		t.Fatal("the verified hash was not remembered")
	}
	before, starts := r.dummyCompares.Load(), r.hashStarts.Load()
	_, err := m.Run(ctx, Call{Action: ActionLogin, Email: "unknown@example.com", Password: "x"})
	if !errors.Is(err, ErrWrongCredentials) {
		t.Fatal(err)
	}
	if r.dummyCompares.Load() != before+1 {
		t.Fatal("no dummy verification for an unknown email")
	}
	// A wrong password for a known user: hashed by the script, no dummy.
	_, err = m.Run(ctx, Call{Action: ActionLogin, Email: "known@example.com", Password: "x"})
	if !errors.Is(err, ErrWrongCredentials) || r.dummyCompares.Load() != before+1 || r.hashStarts.Load() != starts+1 {
		t.Fatalf("wrong password: %v, dummies %d, hashes %d", err, r.dummyCompares.Load()-before, r.hashStarts.Load()-starts)
	}
}

// TestDummyVerifyWaitsForASlot: an unknown email answered while every
// hashing slot is busy still gets its dummy verification, once a slot
// frees, like a wrong password's real one (which would wait too). Skipping
// it under load made "no such user" the faster answer exactly when an
// attacker floods the server.
func TestDummyVerifyWaitsForASlot(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	r, m := hashesModule(t, map[string]any{"HASH": "pbkdf2_sha256$1000$s4ltsalt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk="})
	ctx := context.Background()
	if _, err := m.Run(ctx, Call{Action: ActionLogin, Email: "known@example.com", Password: "hunter22"}); err != nil {
		t.Fatal(err) // remembers the connection's hash for dummies
	}
	// Take every slot, as concurrent real verifications would.
	for range cap(r.hashSem) {
		r.hashSem <- struct{}{}
	}
	held := true
	release := func() {
		if held {
			for range cap(r.hashSem) {
				<-r.hashSem
			}
			held = false
		}
	}
	defer release()
	before, waits := r.dummyCompares.Load(), r.dummyWaits.Load()
	done := make(chan error, 1)
	go func() {
		_, err := m.Run(ctx, Call{Action: ActionLogin, Email: "unknown@example.com", Password: "x"})
		done <- err
	}()
	for held {
		select {
		case err := <-done:
			t.Fatalf("the login answered (%v) while every hashing slot was busy, after %d dummy verifications (want it to wait for one)",
				err, r.dummyCompares.Load()-before)
		default:
		}
		if r.dummyWaits.Load() > waits {
			release() // the dummy is queued for a slot: let it run
		} else {
			time.Sleep(time.Millisecond) // polling, not a timing assertion
		}
	}
	if err := <-done; !errors.Is(err, ErrWrongCredentials) {
		t.Fatal(err)
	}
	if got := r.dummyCompares.Load() - before; got != 1 {
		t.Fatalf("%d dummy verifications, want 1", got)
	}
}

// TestSDKDummyVerifyHashesOnTheHost: sdk.DummyVerify runs the host's
// password_verify (one host hash started during the call), and the host,
// seeing the script hashed, adds no dummy of its own.
func TestSDKDummyVerifyHashesOnTheHost(t *testing.T) {
	t.Parallel() // own runtime, database and module; no global state
	r, m := hashesModule(t, map[string]any{"HASH": "pbkdf2_sha256$1000$s4ltsalt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk="})
	dummies, starts := r.dummyCompares.Load(), r.hashStarts.Load()
	_, err := m.Run(context.Background(), Call{Action: ActionLogin, Email: "dummy@example.com", Password: "x"})
	if !errors.Is(err, ErrWrongCredentials) {
		t.Fatal(err)
	}
	if got := r.hashStarts.Load() - starts; got != 1 {
		t.Fatalf("sdk.DummyVerify started %d host hashes, want 1", got)
	}
	if got := r.dummyCompares.Load() - dummies; got != 0 {
		t.Fatalf("the host added %d dummy verifications after the script's own, want 0", got)
	}
}
