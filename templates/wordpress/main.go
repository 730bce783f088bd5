// Command wordpress is the WordPress template for Profiled custom-database
// connections: the seven actions against WordPress's own wp_users and
// wp_usermeta tables (schema.sql), so a site's users log in to Profiled
// with the passwords they have.
//
// Stored hashes WordPress has written over the years are all verified by
// the host (sdk.VerifyPassword, natively): phpass portable hashes ($P$,
// $H$, WordPress before 6.8), WordPress 6.8's $wp$2y$ (bcrypt over an
// HMAC-SHA384 of the password), plain bcrypt ($2y$ from plugins), and the
// bare MD5 of very old installs (hex, checked here). New passwords are
// stored as WordPress 6.8 writes them ($wp$ + bcrypt), so WordPress itself
// keeps accepting them.
//
// Users log in by email or by user name (the connection's requiresUsername
// turns the latter on); an account flagged spam or deleted (multisite) is
// reported blocked once its password matched. create writes a wp_users row
// and its usermeta in one transaction.
//
// Configuration (optional):
//
//	BCRYPT_COST   cost of new hashes, 4..14 (default 10, WordPress's)
//	TABLE_PREFIX  the tables' prefix (default "wp_"): letters, digits, _
package main

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
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

//go:wasmexport verify
func verify() int32 { return sdk.Verify(verifyEmail) }

//go:wasmexport change_password
func changePassword() int32 { return sdk.ChangePassword(changeUserPassword) }

//go:wasmexport delete
func deleteExport() int32 { return sdk.Delete(deleteUser) }

//go:wasmexport change_email
func changeEmail() int32 { return sdk.ChangeEmail(changeUserEmail) }

func main() {}

var prefixRe = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

// table returns the prefixed table name ("users" -> "wp_users"). The prefix
// comes from the configuration, never from a caller, and is checked.
func table(name string) string {
	p := sdk.Config("TABLE_PREFIX")
	if !prefixRe.MatchString(p) {
		p = "wp_"
	}
	return p + name
}

// user is a wp_users row with what login needs.
type user struct {
	profile  sdk.Profile
	hash     string
	disabled bool
}

// find reads the user by email or, when email is empty, by user_login.
func find(email, login string) (*user, error) {
	col, key := "user_email", email
	if email == "" {
		col, key = "user_login", login
	}
	if key == "" {
		return nil, sdk.ErrNoRows
	}
	var u user
	var spam, deleted int64
	err := sdk.QueryRow("SELECT CAST(ID AS CHAR), user_email, user_login, display_name, user_pass, spam, deleted FROM "+
		table("users")+" WHERE "+col+" = ? ORDER BY ID LIMIT 1", key).
		Scan(&u.profile.UserID, &u.profile.Email, &u.profile.Username, &u.profile.Name, &u.hash, &spam, &deleted)
	if err != nil {
		return nil, err
	}
	u.disabled = spam != 0 || deleted != 0
	if err := meta(&u.profile); err != nil {
		return nil, err
	}
	return &u, nil
}

// meta fills the profile from wp_usermeta.
func meta(p *sdk.Profile) error {
	rows, err := sdk.Query("SELECT meta_key, meta_value FROM "+table("usermeta")+
		" WHERE user_id = ? AND meta_key IN ('nickname', 'first_name', 'last_name', 'profiled_email_verified')", p.UserID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		switch k {
		case "nickname":
			p.Nickname = v
		case "first_name":
			p.GivenName = v
		case "last_name":
			p.FamilyName = v
		case "profiled_email_verified":
			p.EmailVerified = v == "1"
		}
	}
	return nil
}

// dummyHash has the cost of the hashes WordPress 6.8 writes: the login of
// an unknown user verifies it, so it takes as long as a wrong password.
const dummyHash = "$wp$2y$10$PUG.Bau1gY55muFsZeAez.Yu6qKRbCTI2Mr2kYqIzOZUfp/caGpVW"

func loginUser(c sdk.Credentials) (*sdk.Profile, error) {
	u, err := find(c.Email, c.Username)
	if errors.Is(err, sdk.ErrNoRows) {
		sdk.DummyVerify(dummyHash, c.Password)
		return nil, sdk.ErrWrongCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := checkPassword(u.hash, c.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sdk.ErrWrongCredentials
	}
	if u.disabled {
		return nil, sdk.ErrBlocked // only now that the password matched
	}
	return &u.profile, nil
}

var md5Hex = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkPassword verifies any hash WordPress has stored.
func checkPassword(stored, password string) (bool, error) {
	if md5Hex.MatchString(stored) {
		// WordPress before 2.5 stored unsalted MD5; WordPress itself still
		// accepts it (and rehashes). Cheap, so computed here.
		sum := md5.Sum([]byte(password))
		return sdk.Equal([]byte(hex.EncodeToString(sum[:])), []byte(stored)), nil
	}
	return sdk.VerifyPassword(stored, password)
}

func getUserBy(k sdk.Lookup) (*sdk.Profile, error) {
	u, err := find(k.Email, k.Username)
	if errors.Is(err, sdk.ErrNoRows) {
		return nil, sdk.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}
	return &u.profile, nil
}

// newHash stores a password as WordPress 6.8 does: "$wp" + bcrypt of the
// base64 of HMAC-SHA384(key "wp-sha384", password).
func newHash(password string) (string, error) {
	m := hmac.New(sha512.New384, []byte("wp-sha384"))
	m.Write([]byte(password))
	h, err := sdk.BcryptHash(base64.StdEncoding.EncodeToString(m.Sum(nil)), bcryptCost())
	if err != nil {
		return "", err
	}
	return "$wp" + h, nil
}

func bcryptCost() int {
	if c, err := strconv.Atoi(sdk.Config("BCRYPT_COST")); err == nil && c >= 4 && c <= 14 {
		return c
	}
	return 10
}

var loginRe = regexp.MustCompile(`^[A-Za-z0-9 _.\-@]{1,60}$`)

func createUser(nu sdk.NewUser) (*sdk.Profile, error) {
	if !strings.Contains(nu.Email, "@") || len(nu.Email) > 100 {
		return nil, sdk.Validation("a valid email address is required")
	}
	if len(nu.Password) < 8 {
		return nil, sdk.Validation("the password needs at least 8 characters")
	}
	login := nu.Username
	if login == "" {
		login = nu.Email
	}
	if !loginRe.MatchString(login) {
		return nil, sdk.Validation("the user name may use letters, digits, spaces and . _ - @ (at most 60)")
	}
	hash, err := newHash(nu.Password)
	if err != nil {
		return nil, err
	}
	display := nu.Name
	if display == "" {
		display = strings.TrimSpace(nu.GivenName + " " + nu.FamilyName)
	}
	if display == "" {
		display = login
	}
	nickname := nu.Nickname
	if nickname == "" {
		nickname = login
	}
	var id int64
	err = sdk.InTx(func(tx *sdk.Tx) error {
		res, err := tx.Exec("INSERT INTO "+table("users")+
			" (user_login, user_pass, user_nicename, user_email, user_registered, display_name) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(), ?)",
			login, hash, nicename(login), nu.Email, display)
		if err != nil {
			return err
		}
		id = res.LastInsertID
		// WordPress has no unique keys on these columns: count inside the
		// transaction, and undo the insert when another user has either.
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM "+table("users")+" WHERE user_login = ? OR user_email = ?", login, nu.Email).Scan(&n); err != nil {
			return err
		}
		if n > 1 {
			return sdk.ErrUserExists
		}
		for _, m := range [][2]string{
			{"nickname", nickname}, {"first_name", nu.GivenName}, {"last_name", nu.FamilyName},
			{table("capabilities"), `a:1:{s:10:"subscriber";b:1;}`}, {table("user_level"), "0"},
			{"profiled_email_verified", boolMeta(nu.EmailVerified)},
		} {
			if _, err := tx.Exec("INSERT INTO "+table("usermeta")+" (user_id, meta_key, meta_value) VALUES (?, ?, ?)", id, m[0], m[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &sdk.Profile{UserID: strconv.FormatInt(id, 10), Email: nu.Email, Username: login, Name: display,
		Nickname: nickname, GivenName: nu.GivenName, FamilyName: nu.FamilyName, EmailVerified: nu.EmailVerified}, nil
}

func boolMeta(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// nicename is WordPress's URL-friendly user name (sanitize_title, roughly).
func nicename(login string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 32
		}
		return '-'
	}, login)
	if len(s) > 50 {
		s = s[:50]
	}
	return s
}

func idOf(email string) (string, error) {
	var id string
	err := sdk.QueryRow("SELECT CAST(ID AS CHAR) FROM "+table("users")+" WHERE user_email = ? ORDER BY ID LIMIT 1", email).Scan(&id)
	if errors.Is(err, sdk.ErrNoRows) {
		return "", sdk.ErrUserNotFound
	}
	return id, err
}

func verifyEmail(email string) error {
	id, err := idOf(email)
	if err != nil {
		return err
	}
	return sdk.InTx(func(tx *sdk.Tx) error {
		if _, err := tx.Exec("DELETE FROM "+table("usermeta")+" WHERE user_id = ? AND meta_key = 'profiled_email_verified'", id); err != nil {
			return err
		}
		_, err := tx.Exec("INSERT INTO "+table("usermeta")+" (user_id, meta_key, meta_value) VALUES (?, 'profiled_email_verified', '1')", id)
		return err
	})
}

func changeUserPassword(email, newPassword string) error {
	if len(newPassword) < 8 {
		return sdk.Validation("the password needs at least 8 characters")
	}
	id, err := idOf(email)
	if err != nil {
		return err
	}
	hash, err := newHash(newPassword)
	if err != nil {
		return err
	}
	_, err = sdk.Exec("UPDATE "+table("users")+" SET user_pass = ?, user_activation_key = '' WHERE ID = ?", hash, id)
	return err
}

func deleteUser(id string) error {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return sdk.Validation("not a user id of this site: " + id)
	}
	return sdk.InTx(func(tx *sdk.Tx) error {
		if _, err := tx.Exec("DELETE FROM "+table("usermeta")+" WHERE user_id = ?", n); err != nil {
			return err
		}
		_, err := tx.Exec("DELETE FROM "+table("users")+" WHERE ID = ?", n)
		return err
	})
}

func changeUserEmail(email, newEmail string, verified bool) error {
	if !strings.Contains(newEmail, "@") || len(newEmail) > 100 {
		return sdk.Validation("a valid email address is required")
	}
	id, err := idOf(email)
	if err != nil {
		return err
	}
	return sdk.InTx(func(tx *sdk.Tx) error {
		var n int
		if err := tx.QueryRow("SELECT COUNT(*) FROM "+table("users")+" WHERE user_email = ? AND ID <> ?", newEmail, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return sdk.ErrUserExists
		}
		if _, err := tx.Exec("UPDATE "+table("users")+" SET user_email = ? WHERE ID = ?", newEmail, id); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM "+table("usermeta")+" WHERE user_id = ? AND meta_key = 'profiled_email_verified'", id); err != nil {
			return err
		}
		_, err := tx.Exec("INSERT INTO "+table("usermeta")+" (user_id, meta_key, meta_value) VALUES (?, 'profiled_email_verified', ?)", id, boolMeta(verified))
		return err
	})
}
