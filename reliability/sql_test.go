package reliability

import (
	"database/sql"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func openSQL(dsn string) (*sql.DB, error) { return sql.Open("mysql", dsn) }

// addLegacyUser inserts a user into a template users table.
func addLegacyUser(t testing.TB, d *sql.DB, email, password, name string, cost int) int64 {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Exec("INSERT INTO users (email, password, nickname, name, email_verified) VALUES (?, ?, ?, ?, 1)", email, hash, name, name)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}
