package db

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		in   string
		want Config
	}{
		{"sqlite:profiled.db", Config{Dialect: DialectSQLite, Path: "profiled.db"}},
		{"sqlite:/var/lib/profiled/p.db", Config{Dialect: DialectSQLite, Path: "/var/lib/profiled/p.db"}},
		{"sqlite:///var/lib/p.db", Config{Dialect: DialectSQLite, Path: "/var/lib/p.db"}},
		{"sqlite://rel/p.db", Config{Dialect: DialectSQLite, Path: "rel/p.db"}},
		{"sqlite::memory:", Config{Dialect: DialectSQLite, Path: ":memory:", Memory: true}},
		{"./data/p.db", Config{Dialect: DialectSQLite, Path: "./data/p.db"}},
		{"/abs/p.db", Config{Dialect: DialectSQLite, Path: "/abs/p.db"}},
		{"mysql://root@127.0.0.1:3306/profiled",
			Config{Dialect: DialectMySQL, User: "root", Host: "127.0.0.1", Port: 3306, DBName: "profiled"}},
		{"mysql://app:pw@db.internal/profiled",
			Config{Dialect: DialectMySQL, User: "app", Password: "pw", Host: "db.internal", Port: 3306, DBName: "profiled"}},
		{"mysql://app:p%40ss%3Aw%2Frd@db:3307/p_1",
			Config{Dialect: DialectMySQL, User: "app", Password: "p@ss:w/rd", Host: "db", Port: 3307, DBName: "p_1"}},
		{"mysql://app:p@ss@db:3307/p", // an unencoded '@' in the password
			Config{Dialect: DialectMySQL, User: "app", Password: "p@ss", Host: "db", Port: 3307, DBName: "p"}},
		{"mysql://app:@db:3307/p", Config{Dialect: DialectMySQL, User: "app", Host: "db", Port: 3307, DBName: "p"}},
		{"mysql://app:pw@[::1]:3306/p", Config{Dialect: DialectMySQL, User: "app", Password: "pw", Host: "::1", Port: 3306, DBName: "p"}},
		{"mysql://app:pw@[::1]/p", Config{Dialect: DialectMySQL, User: "app", Password: "pw", Host: "::1", Port: 3306, DBName: "p"}},
		{"mysql://app:pw@db:3306/p?tls=true",
			Config{Dialect: DialectMySQL, User: "app", Password: "pw", Host: "db", Port: 3306, DBName: "p", TLS: "true"}},
	}
	for _, tc := range good {
		got, err := ParseURL(tc.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}

	const secret = "S3cr3t-pw"
	bad := []struct{ in, says string }{
		{"", "empty"},
		{"   ", "empty"},
		{"postgres://u:" + secret + "@h/db", `unknown scheme "postgres"`},
		{"mysq://u:" + secret + "@h/db", `unknown scheme "mysq"`},
		{"sqlite:", "missing file path"},
		{"sqlite://", "missing file path"},
		{"sqlite:p.db?_pragma=x", "query parameters"},
		{"sqlite:file:p.db", "file: URI"},
		{"mysql:u:" + secret + "@h/db", "mysql://"},
		{"mysql://h:3306/db", "missing USER@"},
		{"mysql://:" + secret + "@h:3306/db", "missing user name"},
		{"mysql://u:" + secret + "@h:3306", "missing /DBNAME"},
		{"mysql://u:" + secret + "@h:3306/", "missing database name"},
		{"mysql://u:" + secret + "@/db", "missing host"},
		{"mysql://u:" + secret + "@:3306/db", "missing host"},
		{"mysql://u:" + secret + "@h:0/db", "bad port"},
		{"mysql://u:" + secret + "@h:99999/db", "bad port"},
		{"mysql://u:" + secret + "@h:abc/db", "bad"},
		{"mysql://u:" + secret + "@::1:3306/db", "brackets"},
		{"mysql://u:" + secret + "@h/db`x", "may hold only"},
		{"mysql://u:" + secret + "@h/" + strings.Repeat("d", 65), "longer than 64"},
		{"mysql://u:" + secret + "%zz@h/db", "percent-encoding in the password"},
		{"mysql://u:" + secret + "@h/db?charset=latin1", `unknown parameter "charset"`},
		{"mysql://u:" + secret + "@h/db?tls=maybe", "tls must be"},
	}
	for _, tc := range bad {
		_, err := ParseURL(tc.in)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", tc.in)
			continue
		}
		if !errors.Is(err, ErrBadURL) {
			t.Errorf("ParseURL(%q) = %v, not ErrBadURL", tc.in, err)
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseURL(%q) = %q, want it to say %q", tc.in, err, tc.says)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseURL(%q) error shows the password: %v", tc.in, err)
		}
	}
}

func TestConfigNeverPrintsPassword(t *testing.T) {
	c, err := ParseURL("mysql://app:Hunter2@db:3306/p")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, "Hunter2") {
			t.Fatalf("printed the password: %s", s)
		}
	}
	if c.String() != "mysql://app:***@db:3306/p" {
		t.Fatalf("String() = %q", c.String())
	}
}
