package dburl

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The store, the service's validation and the sandbox all parse with
// Parse; these are the cases where their three former parsers disagreed.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Config
	}{
		// An unencoded '@' in the password: the userinfo ends at the last '@'.
		{"mysql://app:p@ss@db/legacy", Config{Dialect: DialectMySQL, User: "app", Password: "p@ss", Host: "db", Port: 3306, DBName: "legacy"}},
		{"mysql://app:@@@db:3307/x", Config{Dialect: DialectMySQL, User: "app", Password: "@@", Host: "db", Port: 3307, DBName: "x"}},
		{"mysql://app:s3cr%40t@db.internal/legacy?tls=true",
			Config{Dialect: DialectMySQL, User: "app", Password: "s3cr@t", Host: "db.internal", Port: 3306, DBName: "legacy", TLS: "true"}},
		{"mysql://app:pw@db/legacy?timeout=2s&tls=false",
			Config{Dialect: DialectMySQL, User: "app", Password: "pw", Host: "db", Port: 3306, DBName: "legacy", Timeout: 2 * time.Second}},
		// A custom database's name may hold what MySQL allows when quoted.
		{"mysql://app:pw@db/legacy.v2", Config{Dialect: DialectMySQL, User: "app", Password: "pw", Host: "db", Port: 3306, DBName: "legacy.v2"}},
		{"mysql://app:pw@db/my%20db", Config{Dialect: DialectMySQL, User: "app", Password: "pw", Host: "db", Port: 3306, DBName: "my db"}},
		{"sqlite:/var/lib/legacy.db", Config{Dialect: DialectSQLite, Path: "/var/lib/legacy.db"}},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		again, err := Parse(got.String())
		if got.Password == "" && (err != nil || again != got) {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v", tc.in, got.String(), again, err)
		}
	}

	const secret = "S3cr3t@pw"
	for _, tc := range []struct{ in, says string }{
		{"mysql://u:" + secret + "@h/a/b", "one database"},
		{"mysql://u:" + secret + "@h/db?timeout=soon", "timeout"},
		{"mysql://u:" + secret + "@h/db?timeout=-1s", "timeout"},
		{"mysql://u:" + secret + "@h/db?tls=maybe", "tls must be"},
		{"mysql://u:" + secret + "@h/db?multiStatements=true", `unknown parameter "multiStatements"`},
		{"mysql://u:" + secret + "@h", "missing /DBNAME"},
		{"mysql://h/db", "missing USER@"},
		{"sqlite:legacy.db?mode=rwc", "query parameters"},
		{"sqlite:", "missing file path"},
		{"postgres://u:" + secret + "@h/db", "unknown scheme"},
	} {
		_, err := Parse(tc.in)
		switch {
		case err == nil:
			t.Errorf("Parse(%q) succeeded", tc.in)
		case !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), tc.says):
			t.Errorf("Parse(%q) = %v, want ErrBadURL saying %q", tc.in, err, tc.says)
		case strings.Contains(err.Error(), "S3cr3t"):
			t.Errorf("Parse(%q) shows the password: %v", tc.in, err)
		}
	}
}
