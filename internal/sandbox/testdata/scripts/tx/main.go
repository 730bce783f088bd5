// A script exercising transactions (sdk.Begin, sdk.InTx), the blocked
// status and the username argument, over the table t(email, hash).
package main

import (
	"errors"

	"github.com/profiled/profiled/sdk"
)

//go:wasmexport login
func login() int32 {
	return sdk.LoginWith(func(c sdk.Credentials) (*sdk.Profile, error) {
		if c.Email == "" {
			// By username: this table has none, so the username is echoed.
			return &sdk.Profile{UserID: "u:" + c.Username, Username: c.Username}, nil
		}
		var hash string
		err := sdk.QueryRow("SELECT hash FROM t WHERE email = ?", c.Email).Scan(&hash)
		if errors.Is(err, sdk.ErrNoRows) {
			return nil, sdk.ErrWrongCredentials
		}
		if err != nil {
			return nil, err
		}
		if ok, err := sdk.BcryptCompare(hash, c.Password); err != nil || !ok {
			return nil, errors.Join(err, sdk.ErrWrongCredentials)
		}
		if c.Email == "blocked@example.com" {
			return nil, sdk.ErrBlocked
		}
		return &sdk.Profile{UserID: c.Email, Email: c.Email}, nil
	})
}

//go:wasmexport get_user
func getUser() int32 {
	return sdk.GetUserWith(func(k sdk.Lookup) (*sdk.Profile, error) {
		if k.Email == "blocked-get@example.com" {
			return nil, sdk.ErrBlocked // not an answer get_user may give
		}
		return &sdk.Profile{UserID: "x", Email: k.Email, Username: k.Username}, nil
	})
}

func insert(email string) error {
	_, err := sdk.Exec("INSERT INTO t (email, hash) VALUES (?, 'h')", email)
	return err
}

//go:wasmexport create
func create() int32 {
	return sdk.Create(func(u sdk.NewUser) (*sdk.Profile, error) {
		switch u.Email {
		case "open@example.com": // returns success with the transaction open
			if _, err := sdk.Begin(); err != nil {
				return nil, err
			}
			return nil, insert(u.Email)
		case "loop@example.com": // runs out of time inside the transaction
			if _, err := sdk.Begin(); err != nil {
				return nil, err
			}
			if err := insert(u.Email); err != nil {
				return nil, err
			}
			for {
			}
		case "twice@example.com":
			if _, err := sdk.Begin(); err != nil {
				return nil, err
			}
			_, err := sdk.Begin()
			return nil, err
		case "fail@example.com": // the second statement fails: both undone
			return nil, sdk.InTx(func(tx *sdk.Tx) error {
				if err := insert(u.Email); err != nil {
					return err
				}
				return insert(u.Email) // duplicate key
			})
		case "invalid@example.com":
			return nil, sdk.InTx(func(tx *sdk.Tx) error {
				if err := insert(u.Email); err != nil {
					return err
				}
				return sdk.Validation("that name is taken, pick another")
			})
		}
		return nil, sdk.InTx(func(tx *sdk.Tx) error {
			if _, err := tx.Exec("INSERT INTO t (email, hash) VALUES (?, 'h')", u.Email); err != nil {
				return err
			}
			_, err := tx.Exec("UPDATE t SET hash = ? WHERE email = ?", u.Password, u.Email)
			return err
		})
	})
}

func main() {}
