// A script exposing the host's hash functions to the tests: create's user
// names the function and its arguments (hex strings for bytes); the
// profile's "out" is the hex result, "errno" the host's refusal.
package main

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/profiled/profiled/sdk"
)

//go:wasmexport create
func create() int32 {
	return sdk.Create(func(u sdk.NewUser) (*sdk.Profile, error) {
		x := u.Extra
		s := func(k string) string { v, _ := x[k].(string); return v }
		b := func(k string) []byte { v, _ := hex.DecodeString(s(k)); return v }
		n := func(k string) int { v, _ := strconv.Atoi(s(k)); return v }
		var out []byte
		var err error
		switch s("fn") {
		case "pbkdf2":
			out, err = sdk.PBKDF2(s("digest"), b("pw"), b("salt"), n("iter"), n("keylen"))
		case "digest":
			out, err = sdk.Digest(s("digest"), b("data"), n("iter"))
		case "hmac":
			out, err = sdk.HMAC(s("digest"), b("key"), b("msg"))
		case "scrypt":
			out, err = sdk.Scrypt(b("pw"), b("salt"), n("ln"), n("r"), n("p"), n("keylen"))
		case "argon2":
			out, err = sdk.Argon2(s("variant"), b("pw"), b("salt"), n("t"), n("m"), n("p"), n("keylen"))
		case "guest-pbkdf2": // computed in the guest, for comparison
			h := sha256.New
			if s("digest") == "sha1" {
				h = sha1.New
			}
			out, err = pbkdf2.Key(h, string(b("pw")), b("salt"), n("iter"), n("keylen"))
		case "guest-md5": // iterated MD5 in the guest (phpass's inner loop)
			sum := md5.Sum(b("data"))
			for i := 1; i < n("iter"); i++ {
				sum = md5.Sum(sum[:])
			}
			out = sum[:]
		case "verify":
			var ok bool
			ok, err = sdk.VerifyPassword(s("hash"), s("pw"))
			if ok {
				out = []byte{1}
			} else {
				out = []byte{0}
			}
		}
		p := &sdk.Profile{UserID: "1", Extra: map[string]any{"out": hex.EncodeToString(out)}}
		var he *sdk.HostError
		if errors.As(err, &he) {
			p.Extra["errno"] = he.Errno.String()
			p.Extra["message"] = he.Message
		} else if err != nil {
			return nil, err
		}
		return p, nil
	})
}

// login verifies with the host and, for an unknown user, answers without
// hashing (the host's dummy rule then applies); for dummy@example.com it
// calls sdk.DummyVerify first.
//
//go:wasmexport login
func login() int32 {
	return sdk.Login(func(email, password string) (*sdk.Profile, error) {
		if email == "dummy@example.com" {
			// No such user, answered after the SDK's dummy verify.
			sdk.DummyVerify(sdk.Config("HASH"), password)
			return nil, sdk.ErrWrongCredentials
		}
		if email != "known@example.com" {
			return nil, sdk.ErrWrongCredentials
		}
		ok, err := sdk.VerifyPassword(sdk.Config("HASH"), password)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, sdk.ErrWrongCredentials
		}
		return &sdk.Profile{UserID: "1", Email: email}, nil
	})
}

func main() {}
