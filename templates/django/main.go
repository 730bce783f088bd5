// Command django is the Django template for Profiled custom-database
// connections: the actions against Django's own auth_user table
// (schema.sql), so a Django site's users log in to Profiled with the
// passwords they have.
//
// Stored hashes are verified by the host, natively (sdk.VerifyPassword):
// pbkdf2_sha256 at Django's default 600,000 or 1,000,000 iterations takes
// about as long as in Django itself, where computing it in WebAssembly
// would take 20-70 times longer. Django's other hashers (pbkdf2_sha1,
// argon2, bcrypt_sha256) are read too. New passwords are stored the way
// Django stores them (pbkdf2_sha256, PBKDF2_ITERATIONS iterations), so the
// Django site keeps accepting them.
//
// Users log in by email or by user name (the connection's requiresUsername
// turns the latter on). is_active = 0 is reported as a blocked account once
// the password matched.
//
// Configuration (optional):
//
//	PBKDF2_ITERATIONS  iterations of new hashes (default 600000, Django 4.2's)
package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/profiled/profiled/sdk"
)

//go:wasmexport login
func login() int32 { return sdk.LoginWith(loginUser) }

//go:wasmexport get_user
func getUser() int32 { return sdk.GetUserWith(getUserBy) }

//go:wasmexport create
func create() int32 { return sdk.Create(createUser) }

//go:wasmexport change_password
func changePassword() int32 { return sdk.ChangePassword(changeUserPassword) }

//go:wasmexport delete
func deleteExport() int32 { return sdk.Delete(deleteUser) }

//go:wasmexport change_email
func changeEmail() int32 { return sdk.ChangeEmail(changeUserEmail) }

func main() {}

const columns = "CAST(id AS CHAR), username, email, first_name, last_name"

func scan(row *sdk.Row, extra ...any) (*sdk.Profile, error) {
	var p sdk.Profile
	if err := row.Scan(append([]any{&p.UserID, &p.Username, &p.Email, &p.GivenName, &p.FamilyName}, extra...)...); err != nil {
		return nil, err
	}
	p.Name = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
	return &p, nil
}

// where picks the lookup column: the email when given, else the username.
// Django does not make emails unique: the oldest account with it wins.
func where(email, username string) (string, string) {
	if email != "" {
		return "email = ? ORDER BY id LIMIT 1", email
	}
	return "username = ?", username
}

// dummyHash is a Django hash at the default cost: the login of an unknown
// user verifies it, so it takes as long as a wrong password.
const dummyHash = "pbkdf2_sha256$600000$dummysaltdummysalt12$Tyzf9y0Quru1Bafv5OpMu/VoRf6686Sp9rIaGdRvtKw="

func loginUser(c sdk.Credentials) (*sdk.Profile, error) {
	cond, key := where(c.Email, c.Username)
	var hash string
	var active bool
	p, err := scan(sdk.QueryRow("SELECT "+columns+", password, is_active FROM auth_user WHERE "+cond, key), &hash, &active)
	if errors.Is(err, sdk.ErrNoRows) || err == nil && (hash == "" || hash[0] == '!') {
		// No such user, or Django's set_unusable_password ("!..."): the
		// same answer after the same work.
		sdk.DummyVerify(dummyHash, c.Password)
		return nil, sdk.ErrWrongCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := sdk.VerifyPassword(hash, c.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sdk.ErrWrongCredentials
	}
	if !active {
		return nil, sdk.ErrBlocked // only now that the password matched
	}
	if _, err := sdk.Exec("UPDATE auth_user SET last_login = UTC_TIMESTAMP(6) WHERE id = ?", p.UserID); err != nil {
		return nil, err
	}
	return p, nil
}

func getUserBy(k sdk.Lookup) (*sdk.Profile, error) {
	cond, key := where(k.Email, k.Username)
	p, err := scan(sdk.QueryRow("SELECT "+columns+" FROM auth_user WHERE "+cond, key))
	if errors.Is(err, sdk.ErrNoRows) {
		return nil, sdk.ErrUserNotFound
	}
	return p, err
}

// newHash stores a password as Django's PBKDF2PasswordHasher does:
// pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>.
func newHash(password string) (string, error) {
	iter := 600000
	if n, err := strconv.Atoi(sdk.Config("PBKDF2_ITERATIONS")); err == nil && n > 0 {
		iter = n
	}
	salt := saltString(22)
	key, err := sdk.PBKDF2("sha256", []byte(password), []byte(salt), iter, 32)
	if err != nil {
		return "", err
	}
	return "pbkdf2_sha256$" + strconv.Itoa(iter) + "$" + salt + "$" + base64.StdEncoding.EncodeToString(key), nil
}

// saltString is a random salt from Django's alphabet (letters and digits).
func saltString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func validPassword(pw string) error {
	switch {
	case len(pw) < 8:
		return sdk.Validation("This password is too short. It must contain at least 8 characters.")
	case strings.Trim(pw, "0123456789") == "":
		return sdk.Validation("This password is entirely numeric.")
	}
	return nil
}

func createUser(nu sdk.NewUser) (*sdk.Profile, error) {
	if !strings.Contains(nu.Email, "@") {
		return nil, sdk.Validation("Enter a valid email address.")
	}
	if err := validPassword(nu.Password); err != nil {
		return nil, err
	}
	username := nu.Username
	if username == "" {
		username = nu.Email
	}
	if len(username) > 150 {
		return nil, sdk.Validation("Ensure the username has at most 150 characters.")
	}
	hash, err := newHash(nu.Password)
	if err != nil {
		return nil, err
	}
	var id int64
	err = sdk.InTx(func(tx *sdk.Tx) error {
		res, err := tx.Exec(`INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
			VALUES (?, 0, ?, ?, ?, ?, 0, 1, UTC_TIMESTAMP(6))`, hash, username, nu.GivenName, nu.FamilyName, nu.Email)
		if errors.Is(err, sdk.ErrDuplicate) {
			return sdk.ErrUserExists // the username
		}
		if err != nil {
			return err
		}
		id = res.LastInsertID
		// Emails are not unique in Django's schema: refuse a second
		// account with this one, undoing the insert.
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM auth_user WHERE email = ?", nu.Email).Scan(&n); err != nil {
			return err
		}
		if n > 1 {
			return sdk.ErrUserExists
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sdk.Profile{UserID: strconv.FormatInt(id, 10), Username: username, Email: nu.Email,
		GivenName: nu.GivenName, FamilyName: nu.FamilyName, Name: strings.TrimSpace(nu.GivenName + " " + nu.FamilyName)}, nil
}

func changeUserPassword(email, newPassword string) error {
	if err := validPassword(newPassword); err != nil {
		return err
	}
	hash, err := newHash(newPassword)
	if err != nil {
		return err
	}
	res, err := sdk.Exec("UPDATE auth_user SET password = ? WHERE email = ? ORDER BY id LIMIT 1", hash, email)
	if err != nil {
		return err
	}
	if res.RowsAffected == 0 {
		return sdk.ErrUserNotFound
	}
	return nil
}

func deleteUser(id string) error {
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return sdk.Validation("not a user id of this site: " + id)
	}
	_, err = sdk.Exec("DELETE FROM auth_user WHERE id = ?", n)
	return err
}

func changeUserEmail(email, newEmail string, _ bool) error {
	if !strings.Contains(newEmail, "@") {
		return sdk.Validation("Enter a valid email address.")
	}
	return sdk.InTx(func(tx *sdk.Tx) error {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM auth_user WHERE email = ?", newEmail).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return sdk.ErrUserExists
		}
		res, err := tx.Exec("UPDATE auth_user SET email = ? WHERE email = ? ORDER BY id LIMIT 1", newEmail, email)
		if err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return sdk.ErrUserNotFound
		}
		return nil
	})
}
