package reliability

import (
	"database/sql"
	"testing"

	"github.com/profiled/profiled/internal/testenv"
)

func openSQL(dsn string) (*sql.DB, error) { return sql.Open("mysql", dsn) }

// addLegacyUser inserts a user into a template users table, name as its
// nickname too.
func addLegacyUser(t testing.TB, d *sql.DB, email, password, name string, cost int) int64 {
	t.Helper()
	return testenv.AddLegacyUser(t, d, email, password, name, name, cost)
}
