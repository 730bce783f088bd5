// A small script exercising every action and host function without a real
// user table: it keeps users in a SQLite/MySQL table "t(email, hash)".
package main

import (
	"errors"
	"os"
	"strings"

	"github.com/profiled/profiled/sdk"
)

//go:wasmexport login
func login() int32 {
	return sdk.Login(func(email, password string) (*sdk.Profile, error) {
		switch email {
		case "noop@example.com": // the trivial action of the benchmarks
			return &sdk.Profile{UserID: "1", Email: email}, nil
		case "config@example.com":
			return &sdk.Profile{UserID: "2", Email: email, Name: sdk.Config("greeting"),
				Extra: map[string]any{"missing": sdk.Config("nope"), "n": mustValue("n")}}, nil
		case "log@example.com":
			sdk.Log("hello from the script; password=" + password)
			os.Stdout.WriteString("to stdout\n")
			os.Stderr.WriteString("to stderr " + password + "\n")
			return &sdk.Profile{UserID: "3", Email: email}, nil
		case "meta@example.com":
			return &sdk.Profile{UserID: "4", Email: email, EmailVerified: true, GivenName: "Ann",
				UserMetadata: map[string]any{"lang": "fr", "n": int64(3)},
				AppMetadata:  map[string]any{"plan": "gold", "tags": []any{"a", "b"}},
				Extra:        map[string]any{"legacy_code": "X1"}}, nil
		case "validation@example.com":
			return nil, sdk.Validation("email domain not allowed")
		case "error@example.com":
			return nil, errors.New("something broke, password was " + password)
		case "panic@example.com":
			panic("boom")
		}
		var hash string
		err := sdk.QueryRow("SELECT hash FROM t WHERE email = ?", email).Scan(&hash)
		if errors.Is(err, sdk.ErrNoRows) {
			return nil, sdk.ErrWrongCredentials
		}
		if err != nil {
			return nil, err
		}
		ok, err := sdk.BcryptCompare(hash, password)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, sdk.ErrWrongCredentials
		}
		return &sdk.Profile{UserID: email, Email: email}, nil
	})
}

func mustValue(k string) any {
	v, _ := sdk.ConfigValue(k)
	return v
}

//go:wasmexport get_user
func getUser() int32 {
	return sdk.GetUser(func(email string) (*sdk.Profile, error) {
		var n int
		if err := sdk.QueryRow("SELECT COUNT(*) FROM t WHERE email = ?", email).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		return &sdk.Profile{UserID: email, Email: email}, nil
	})
}

//go:wasmexport create
func create() int32 {
	return sdk.Create(func(u sdk.NewUser) (*sdk.Profile, error) {
		if !strings.Contains(u.Email, "@") {
			return nil, sdk.Validation("bad email")
		}
		h, err := sdk.BcryptHash(u.Password, 4)
		if err != nil {
			return nil, err
		}
		if _, err := sdk.Exec("INSERT INTO t (email, hash) VALUES (?, ?)", u.Email, h); errors.Is(err, sdk.ErrDuplicate) {
			return nil, sdk.ErrUserExists
		} else if err != nil {
			return nil, err
		}
		return &sdk.Profile{UserID: u.Email, Email: u.Email, Nickname: u.Nickname,
			UserMetadata: u.UserMetadata}, nil
	})
}

//go:wasmexport delete
func deleteUser() int32 {
	return sdk.Delete(func(id string) error {
		_, err := sdk.Exec("DELETE FROM t WHERE email = ?", id)
		return err
	})
}

func main() {}
