package sandbox

import (
	"strings"
	"testing"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/dburl"
)

// TestDecodeProfileChecks covers results the Go SDK's types cannot produce
// but a script in another language (or a hand-written one) can.
func TestDecodeProfileChecks(t *testing.T) {
	enc := func(v any) []byte {
		b, err := abi.AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, tc := range map[string]struct {
		result []byte
		want   string // "" = accepted
	}{
		"ok":                {enc(map[string]any{"user_id": "7", "email": "a@b.c"}), ""},
		"numeric id":        {enc(map[string]any{"id": int64(7)}), ""},
		"no id":             {enc(map[string]any{"email": "a@b.c"}), "no user id"},
		"empty id":          {enc(map[string]any{"user_id": "  "}), "no user id"},
		"string metadata":   {enc(map[string]any{"user_id": "7", "user_metadata": "x"}), "user_metadata must be an object"},
		"list app_metadata": {enc(map[string]any{"user_id": "7", "app_metadata": []any{int64(1)}}), "app_metadata must be an object"},
		"not an object":     {enc([]any{"user_id"}), "not a profile object"},
		"garbage":           {[]byte{0xff, 1, 2}, "not a well-formed"},
		"trailing bytes":    {append(enc(map[string]any{"user_id": "7"}), 0), "not a well-formed"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeProfile(tc.result)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestMySQLURLs(t *testing.T) {
	for _, raw := range []string{"mysql://app:s3cr%40t@db.internal/legacy?tls=true", "mysql://app:s3cr@t@db.internal/legacy?tls=true"} {
		p, err := openDB(raw) // an unencoded '@' in the password works too
		if err != nil {
			t.Fatal(err)
		}
		p.db.Close()
		if p.password != "s3cr@t" || strings.Contains(p.redacted, "s3cr") {
			t.Fatalf("%s: password %q, shown as %s", raw, p.password, p.redacted)
		}
	}
	u, err := dburl.Parse("mysql://app:s3cr%40t@db.internal/legacy?tls=true")
	if err != nil {
		t.Fatal(err)
	}
	cfg, red := mysqlConfig(u), u.String()
	if cfg.Passwd != "s3cr@t" || cfg.Addr != "db.internal:3306" || cfg.DBName != "legacy" || !cfg.ParseTime ||
		cfg.Timeout == 0 || cfg.InterpolateParams || cfg.MultiStatements || cfg.TLSConfig != "true" {
		t.Fatalf("config: %+v", cfg)
	}
	if strings.Contains(red, "s3cr") {
		t.Fatalf("redacted URL shows the password: %s", red)
	}
	for _, bad := range []string{"postgres://u:p@h/db", "mysql://h/db", "mysql://u:hunter2@h/", "mysql://u:hunter2@h/db?foo=1", "mysql://u:hunter2@h/db?timeout=x"} {
		_, err := openDB(bad)
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", bad, err)
		}
	}
}
