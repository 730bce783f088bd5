// Compares bcrypt inside the guest with the host helper (benchmarks): both
// actions take the hash as "email". A script module with its own go.mod, to
// show that scriptbuild uses modules already in the local module cache.
package main

import (
	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/sdk"
)

// login checks the password inside the guest (x/crypto compiled to wasm).
//
//go:wasmexport login
func login() int32 {
	return sdk.Login(func(hash, password string) (*sdk.Profile, error) {
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
			return nil, sdk.ErrWrongCredentials
		}
		return &sdk.Profile{UserID: "1"}, nil
	})
}

// verify checks it with the host helper.
//
//go:wasmexport verify
func verify() int32 {
	return sdk.Verify(func(hash string) error {
		ok, err := sdk.BcryptCompare(hash, "password")
		if err != nil {
			return err
		}
		if !ok {
			return sdk.ErrUserNotFound
		}
		return nil
	})
}

func main() {}
