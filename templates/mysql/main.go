// Command mysql is the MySQL template for Profiled custom-database
// connections: the seven action scripts against the legacy `users` table of
// schema.sql (id, email, bcrypt password, username, nickname, name fields,
// email_verified), in the spirit of Auth0's MySQL templates.
//
// Build it with `profiled script build templates/mysql -o mysql.wasm` and
// upload it with setConnectionScript; the connection's databaseURL points at
// the database holding the table. Configuration (optional):
//
//	BCRYPT_COST  bcrypt cost of new hashes, 4..14 (default 10)
//
// Every query passes the user's input as `?` parameters: nothing the caller
// sends is ever spliced into SQL.
package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/profiled/profiled/sdk"
)

//go:wasmexport login
func login() int32 { return sdk.Login(loginUser) }

//go:wasmexport get_user
func getUser() int32 { return sdk.GetUser(getUserByEmail) }

//go:wasmexport create
func create() int32 { return sdk.Create(createUser) }

//go:wasmexport verify
func verify() int32 { return sdk.Verify(verifyEmail) }

//go:wasmexport change_password
func changePassword() int32 { return sdk.ChangePassword(changeUserPassword) }

//go:wasmexport delete
func deleteExport() int32 { return sdk.Delete(deleteUser) }

//go:wasmexport change_email
func changeEmail() int32 { return sdk.ChangeEmail(changeUserEmail) }

// main is never called: the module is a reactor, its actions are the
// exports above.
func main() {}

const profileColumns = "id, email, username, nickname, name, given_name, family_name, picture, email_verified"

// scanProfile reads a row of profileColumns (plus extra destinations).
func scanProfile(row interface{ Scan(...any) error }, extra ...any) (*sdk.Profile, error) {
	var p sdk.Profile
	dest := append([]any{&p.UserID, &p.Email, &p.Username, &p.Nickname, &p.Name,
		&p.GivenName, &p.FamilyName, &p.Picture, &p.EmailVerified}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return &p, nil
}

// loginUser: the user must exist and the password must match its bcrypt
// hash; either failure is the same ErrWrongCredentials.
func loginUser(email, password string) (*sdk.Profile, error) {
	var hash string
	p, err := scanProfile(sdk.QueryRow("SELECT "+profileColumns+", password FROM users WHERE email = ?", email), &hash)
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
	return p, nil
}

// getUserByEmail returns the same profile as loginUser, without a password.
func getUserByEmail(email string) (*sdk.Profile, error) {
	p, err := scanProfile(sdk.QueryRow("SELECT "+profileColumns+" FROM users WHERE email = ?", email))
	if errors.Is(err, sdk.ErrNoRows) {
		return nil, sdk.ErrUserNotFound
	}
	return p, err
}

// createUser inserts the user with a bcrypt hash of the password. The
// service runs get_user first; the UNIQUE keys catch a race.
func createUser(u sdk.NewUser) (*sdk.Profile, error) {
	if u.Email == "" || !strings.Contains(u.Email, "@") {
		return nil, sdk.Validation("a valid email is required")
	}
	if u.Password == "" {
		return nil, sdk.Validation("a password is required")
	}
	hash, err := sdk.BcryptHash(u.Password, bcryptCost())
	if err != nil {
		return nil, err
	}
	_, err = sdk.Exec(`INSERT INTO users (email, password, username, nickname, name, given_name, family_name, picture, email_verified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Email, hash, nullable(u.Username), nullable(u.Nickname), nullable(u.Name),
		nullable(u.GivenName), nullable(u.FamilyName), nullable(u.Picture), u.EmailVerified)
	if errors.Is(err, sdk.ErrDuplicate) {
		return nil, sdk.ErrUserExists
	}
	return nil, err
}

// verifyEmail marks the email verified; already verified is a success.
func verifyEmail(email string) error {
	res, err := sdk.Exec("UPDATE users SET email_verified = 1 WHERE email = ? AND email_verified = 0", email)
	if err != nil {
		return err
	}
	if res.RowsAffected == 0 {
		return exists(email)
	}
	return nil
}

// changeUserPassword stores a new bcrypt hash.
func changeUserPassword(email, newPassword string) error {
	if newPassword == "" {
		return sdk.Validation("a password is required")
	}
	hash, err := sdk.BcryptHash(newPassword, bcryptCost())
	if err != nil {
		return err
	}
	res, err := sdk.Exec("UPDATE users SET password = ? WHERE email = ?", hash, email)
	if err != nil {
		return err
	}
	if res.RowsAffected == 0 {
		return sdk.ErrUserNotFound
	}
	return nil
}

// deleteUser removes the user whose id login/get_user returned. A user
// already gone is not an error: the service can then drop its copy.
func deleteUser(id string) error {
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return sdk.Validation("not a user id of this database: " + id)
	}
	_, err = sdk.Exec("DELETE FROM users WHERE id = ?", n)
	return err
}

// changeUserEmail moves the user to newEmail with its verification status.
func changeUserEmail(email, newEmail string, verified bool) error {
	if newEmail == "" || !strings.Contains(newEmail, "@") {
		return sdk.Validation("a valid email is required")
	}
	res, err := sdk.Exec("UPDATE users SET email = ?, email_verified = ? WHERE email = ?", newEmail, verified, email)
	if errors.Is(err, sdk.ErrDuplicate) {
		return sdk.ErrUserExists
	}
	if err != nil {
		return err
	}
	if res.RowsAffected == 0 {
		return exists(email) // same email and flag: nothing to change
	}
	return nil
}

// exists returns nil when a user has that email, ErrUserNotFound otherwise.
func exists(email string) error {
	var one int
	err := sdk.QueryRow("SELECT 1 FROM users WHERE email = ?", email).Scan(&one)
	if errors.Is(err, sdk.ErrNoRows) {
		return sdk.ErrUserNotFound
	}
	return err
}

func bcryptCost() int {
	if c, err := strconv.Atoi(sdk.Config("BCRYPT_COST")); err == nil && c >= 4 && c <= 14 {
		return c
	}
	return 10
}

// nullable stores "" as NULL (the UNIQUE username key allows many NULLs).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
