package search

import (
	"reflect"
	"testing"
)

func init() {
	for _, w := range []string{"ur.user_id", "user_roles", "ur", "JOIN", "r", "ON", "r.id", "ur.role_id", "r.name"} {
		sqlWords[w] = true
	}
}

func TestRolesTerm(t *testing.T) {
	for _, tc := range []struct {
		q     string
		where string
		args  []any
	}{
		{`roles:admin`, `(users.id IN (SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE (r.name = ?)))`, []any{"admin"}},
		{`roles:Admin`, `(users.id IN (SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE (r.name = ?)))`, []any{"Admin"}},
		{`roles:adm*`, `(users.id IN (SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE (r.name >= ? AND r.name < ?)))`, []any{"adm", "adn"}},
		{`_exists_:roles`, `(users.id IN (SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE (r.name <> '')))`, nil},
		{`NOT roles:admin`, `NOT COALESCE((users.id IN (SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE (r.name = ?))), 0)`, []any{"admin"}},
	} {
		pq, err := Parse(tc.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.q, err)
		}
		for _, d := range []Dialect{MySQL, SQLite} {
			where, args := pq.SQL(d)
			checkSQL(t, where, args)
			if where != tc.where || !reflect.DeepEqual(args, tc.args) {
				t.Errorf("%q: got %s %v\nwant %s %v", tc.q, where, args, tc.where, tc.args)
			}
		}
	}
	// Hostile role names stay arguments.
	for _, q := range []string{`roles:"x' OR 1=1) --"`, `roles:"); DROP TABLE roles; --"`, `roles:"a\"b"`} {
		pq, err := Parse(q)
		if err != nil {
			continue
		}
		for _, d := range []Dialect{MySQL, SQLite} {
			where, args := pq.SQL(d)
			checkSQL(t, where, args)
		}
	}
	if _, err := Parse(`roles.name:admin`); err == nil {
		t.Fatal("roles.name accepted")
	}
	if _, err := ParseSort(`roles:1`); err == nil {
		t.Fatal("sort on roles accepted")
	}
}
