package search

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/sql.golden")

// compileCases cover every construct; their SQL for both dialects is in
// testdata/sql.golden (go test ./search/ -run TestCompileGolden -update).
var compileCases = []string{
	``,
	`   `,
	`email:Alice@Example.COM`,
	`email:"A B"`,
	`email:ali*`,
	`email:[a TO m}`,
	`user_id:"auth0|123"`,
	`user_id:auth0|123`,
	`user_id:auth0*`,
	`username:Bob`,
	`name:John\ Doe`,
	`name:"John Doe"`,
	`name:jo*`,
	`given_name:Zoë`,
	`family_name:[A TO M]`,
	`nickname:"x"`,
	`connection:db`,
	`connection:{a TO *]`,
	`email_verified:true`,
	`blocked:false`,
	`logins_count:7`,
	`logins_count:[100 TO *]`,
	`logins_count:{1 TO 5}`,
	`logins_count:[* TO 5}`,
	`logins_count:[* TO *]`,
	`last_login:[* TO *]`,
	`created_at:2024-03-01`,
	`created_at:2024-03-01T10:00:00+02:00`,
	`created_at:"2024-03-01T10:00:00.123456789Z"`,
	`created_at:[2024-01-01 TO 2024-12-31]`,
	`created_at:{2024-01-01 TO 2024-12-31}`,
	`updated_at:[2024-01-01T00:00:00Z TO 2024-02-01T00:00:00Z}`,
	`last_login:[* TO 2024-12-31]`,
	`identities.connection:google-oauth2`,
	`identities.connection:goo*`,
	`_exists_:identities.connection`,
	`user_metadata.plan:pro`,
	`user_metadata.a.b-c.1d:"x y"`,
	`app_metadata.role:admin`,
	`_exists_:user_metadata.plan`,
	`_exists_:email`,
	`_exists_:name`,
	`_exists_:logins_count`,
	`_exists_:last_login`,
	`john`,
	`"John Doe"`,
	`jo*`,
	`a b`,
	`a AND b`,
	`a OR b`,
	`a OR b AND c`,
	`(a OR b) AND c`,
	`NOT a`,
	`NOT NOT a`,
	`a AND NOT (b OR c)`,
	`connection:db AND (email:a* OR NOT _exists_:email) OR blocked:true`,
	`and or not to`,
	`\AND`,
	`"AND"`,
	`name:\*star`,
	`name:a\*`,
	`user_id:a:b`,
	`name:"quote \" and \\ backslash"`,
	`name:"x'); DROP TABLE users; --"`,
	`ünï*`,
	"name:\U0010FFFF*",
	"name:a\U0010FFFF*",
	"name:\uD7FF*",
}

func TestCompileGolden(t *testing.T) {
	var b strings.Builder
	for _, q := range compileCases {
		pq, err := Parse(q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", q, err)
		}
		fmt.Fprintf(&b, "query: %s\n", q)
		for _, d := range []struct {
			name string
			d    Dialect
		}{{"mysql", MySQL}, {"sqlite", SQLite}} {
			where, args := pq.SQL(d.d)
			checkSQL(t, where, args)
			fmt.Fprintf(&b, "%s: %s\n%s args: %s\n", d.name, where, d.name, fmtArgs(args))
		}
		b.WriteString("\n")
	}
	const golden = "testdata/sql.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s:%d differs (-update to accept):\n got %s\nwant %s", golden, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, want %d (-update to accept)", golden, len(gl), len(wl))
	}
}

// fmtArgs shows each argument with its type: "s" string, int64(7), true.
func fmtArgs(args []any) string {
	out := make([]string, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case string:
			out[i] = strconv.Quote(a)
		case int64:
			out[i] = fmt.Sprintf("int64(%d)", a)
		default:
			out[i] = fmt.Sprintf("%T(%v)", a, a)
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// A few expectations spelled out, so the golden file is not the only word.
func TestCompileExact(t *testing.T) {
	for _, tc := range []struct {
		q     string
		d     Dialect
		where string
		args  []any
	}{
		{`email:Alice@Example.COM`, MySQL, `(email = ?)`, []any{"alice@example.com"}},
		{`name:jo*`, SQLite, `(LOWER(name) >= ? AND LOWER(name) < ?)`, []any{"jo", "jp"}},
		{`logins_count:{1 TO 5]`, MySQL, `(logins_count > ? AND logins_count <= ?)`, []any{int64(1), int64(5)}},
		{`blocked:true`, SQLite, `(blocked = ?)`, []any{true}},
		{`created_at:[2024-01-01 TO 2024-12-31]`, MySQL, `(created_at >= ? AND created_at < ?)`,
			[]any{"2024-01-01 00:00:00.000000", "2025-01-01 00:00:00.000000"}},
		{`created_at:{2024-01-01 TO 2024-12-31}`, SQLite, `(created_at >= ? AND created_at < ?)`,
			[]any{"2024-01-02 00:00:00.000000", "2024-12-31 00:00:00.000000"}},
		{`last_login:2024-03-01T10:00:00+02:00`, SQLite, `(last_login = ?)`, []any{"2024-03-01 08:00:00.000000"}},
		{`user_metadata.a.b:x`, MySQL, `(users.id IN (SELECT user_id FROM metadata_terms WHERE source = ? AND path = ? AND value = ?))`,
			[]any{"u", "a.b", "x"}},
		{`_exists_:app_metadata.plan`, MySQL, `(users.id IN (SELECT user_id FROM metadata_terms WHERE source = ? AND path = ?))`,
			[]any{"a", "plan"}},
		{`app_metadata.tier:[4 TO *]`, SQLite, `(users.id IN (SELECT user_id FROM metadata_terms WHERE source = ? AND path = ? AND num IS NOT NULL AND num >= ?))`,
			[]any{"a", "tier", 4.0}},
		{`app_metadata.tier:{a TO b]`, MySQL, `(users.id IN (SELECT user_id FROM metadata_terms WHERE source = ? AND path = ? AND value <> '' AND value > ? AND value <= ?))`,
			[]any{"a", "tier", "a", "b"}},
		{`user_metadata.city:Par*`, MySQL, `(users.id IN (SELECT user_id FROM metadata_terms WHERE source = ? AND path = ? AND value >= ? AND value < ?))`,
			[]any{"u", "city", "Par", "Pas"}},
		{`name:*ohn`, MySQL, `(RIGHT(LOWER(name), ?) = ?)`, []any{3, "ohn"}},
		{`email:*@contoso.com*`, SQLite, `(instr(email, ?) > 0)`, []any{"@contoso.com"}},
		{`email.domain:Contoso.com`, MySQL, `((CASE WHEN email LIKE '%@%' THEN SUBSTRING_INDEX(email, '@', -1) END) = ?)`, []any{"contoso.com"}},
		{`-blocked:true`, SQLite, `NOT COALESCE((blocked = ?), 0)`, []any{true}},
		{`connection:(db OR ldap)`, SQLite, `((connection = ?) OR (connection = ?))`, []any{"db", "ldap"}},
		{`NOT _exists_:last_login`, MySQL, `NOT COALESCE((last_login IS NOT NULL), 0)`, nil},
		{`John`, SQLite, `((email = ?) OR (username = ?) OR (instr(' ' || LOWER(name) || ' ', ?) > 0) OR (instr(' ' || LOWER(given_name) || ' ', ?) > 0) OR (instr(' ' || LOWER(family_name) || ' ', ?) > 0) OR (instr(' ' || LOWER(nickname) || ' ', ?) > 0))`,
			[]any{"john", "John", " john ", " john ", " john ", " john "}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			pq, err := Parse(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			where, args := pq.SQL(tc.d)
			if where != tc.where || !reflect.DeepEqual(args, tc.args) {
				t.Fatalf("got  %s %#v\nwant %s %#v", where, args, tc.where, tc.args)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth)
	many := strings.TrimSpace(strings.Repeat("a ", MaxTerms+1))
	for _, tc := range []struct {
		q   string
		pos int
		msg string
	}{
		{strings.Repeat("a", MaxQueryBytes+1), 1, "longer than 2048 bytes"},
		{"name:\xff", 1, "not valid UTF-8"},
		{deep, MaxDepth + 1, "nests deeper than 20"},
		{strings.Repeat("NOT ", MaxDepth) + "a", 4*MaxDepth + 1, "nests deeper than 20"},
		{many, 2*MaxTerms + 1, "more than 64 terms"},
		{"name:[a TO", 11, "expected the upper bound (a value or '*'), found end of query"},
		{"name:[a b]", 9, "expected 'TO', found \"b\""},
		{"name:[a TO b", 13, "expected ']' or '}', found end of query"},
		{"name:[a TO b)", 13, "expected ']' or '}', found ')'"},
		{"name:[TO b]", 7, "expected the lower bound (a value or '*') before TO"},
		{"name:[a* TO b]", 7, "wildcards are not allowed in a range bound"},
		{"name:[(", 7, "expected the lower bound (a value or '*'), found '('"},
		{"[a TO b]", 1, "a range needs a field"},
		{"blocked:[false TO true]", 9, "ranges are not supported on boolean field blocked"},
		{"nope:x", 1, `unknown field "nope"`},
		{"Email:x", 1, `unknown field "Email"`},
		{"user_metadata:x", 1, "expected a path after user_metadata"},
		{"user_metadata.:x", 1, "bad metadata path"},
		{"user_metadata.a..b:x", 1, "bad metadata path"},
		{"user_metadata.a'b:x", 1, "bad metadata path"},
		{`user_metadata.a\"b:x`, 1, "bad metadata path"},
		{"app_metadata.a b:x", 16, `unknown field "b"`},
		{"user_metadataX.a:x", 1, "bad metadata path"},
		{"*", 1, "a lone '*' is not a term"},
		{"email:*", 7, "use _exists_:email"},
		{"email:*ab", 7, "a leading wildcard needs at least 3 characters"},
		{"email:a*b", 8, "a wildcard may only start or end a term"},
		{"email:a**", 8, "a wildcard may only start or end a term"},
		{"email:*a*b*", 7, "a leading and a trailing wildcard only"},
		{"user_metadata.plan:*abc", 20, "leading wildcards are not supported on user_metadata.plan"},
		{"*abc", 1, "leading wildcards are not supported on a bare term"},
		{"logins_count:*123", 14, "leading wildcards are not supported on logins_count"},
		{"logins_count:1*", 14, "wildcards are not supported on integer field logins_count"},
		{"created_at:2024*", 12, "wildcards are not supported on date field created_at"},
		{"email:a?", 8, "'?' wildcards are not supported"},
		{"name:jon~", 9, "fuzzy and boost operators"},
		{"name:jon^2", 9, "fuzzy and boost operators"},
		{"na*me:x", 1, "a field name cannot contain '*'"},
		{"blocked:yes", 9, "blocked takes true or false"},
		{"email_verified:TRUE", 16, "takes true or false"},
		{"logins_count:1.5", 14, "logins_count takes an integer"},
		{"logins_count:[a TO 5]", 15, "logins_count takes an integer"},
		{"created_at:2024-13-01", 12, "created_at takes a date"},
		{"created_at:yesterday", 12, "created_at takes a date"},
		{"created_at:[2024-01-01 TO 2024-02-30]", 27, "created_at takes a date"},
		{`name:"abc`, 6, "unterminated phrase"},
		{`"abc`, 1, "unterminated phrase"},
		{`name:abc\`, 9, `expected a character after '\'`},
		{`"abc\`, 5, `expected a character after '\'`},
		{"(a", 3, "expected ')'"},
		{"(a b", 5, "expected ')'"},
		{"a)", 2, "unexpected ')'"},
		{"()", 2, "expected a term, '(' or NOT, found ')'"},
		{"a AND", 6, "expected a term, '(' or NOT, found end of query"},
		{"a OR OR b", 6, "expected a term, '(' or NOT before OR"},
		{"AND a", 1, "expected a term, '(' or NOT before AND"},
		{"NOT", 4, "found end of query"},
		{"name:", 6, "expected a value, a phrase or a range after ':', found end of query"},
		{"name:(a OR email:b)", 12, "holds values of name only"},
		{"name:(a OR b", 13, "expected ')' to close name:( ... )"},
		{"name:AND", 6, "expected a value after ':', found AND"},
		{"_exists_:", 10, "expected a field name after '_exists_:'"},
		{"_exists_:nope", 10, `unknown field "nope"`},
		{`_exists_:"email"`, 10, "expected a field name"},
		{"_exists_:ema*", 10, "expected a field name"},
		{"name: a:b", 8, "unexpected ':' after a value"},
		{"ünïcödé:x", 1, `unknown field "ünïcödé"`},
		{"ü ü )", 5, "unexpected ')'"},
	} {
		t.Run(tc.q[:min(len(tc.q), 40)], func(t *testing.T) {
			_, err := Parse(tc.q)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
				t.Fatalf("got %q (pos %d), want pos %d and %q", se.Error(), se.Pos, tc.pos, tc.msg)
			}
			if want := fmt.Sprintf("at %d: ", tc.pos); !strings.HasPrefix(se.Error(), want) {
				t.Fatalf("Error() = %q, want it to start with %q", se.Error(), want)
			}
		})
	}
}

func TestLimitsAccepted(t *testing.T) {
	for _, q := range []string{
		strings.Repeat("a", MaxQueryBytes),
		strings.Repeat("(", MaxDepth-1) + "a" + strings.Repeat(")", MaxDepth-1),
		strings.TrimSpace(strings.Repeat("a ", MaxTerms)),
	} {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%.30q...): %v", q, err)
		}
	}
}

func TestFields(t *testing.T) {
	pq, err := Parse(`app_metadata.role:admin OR (x AND _exists_:last_login) NOT user_metadata.a.b:1`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app_metadata.role", "email", "family_name", "given_name", "last_login", "name", "nickname", "user_metadata.a.b", "username"}
	if got := pq.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields() = %v, want %v", got, want)
	}
}

// Injection attempts: whatever is accepted compiles to fixed SQL text; the
// payload only ever appears in the arguments.
func TestInjection(t *testing.T) {
	for _, q := range []string{
		`name:"x' OR '1'='1"`,
		`name:x'\ OR\ 1=1\ --`,
		`email:"a\"b"`,
		`email:a\\b`,
		`user_id:"); DROP TABLE users; --"`,
		`user_metadata.plan:"' OR 1=1 -- "`,
		`user_metadata.plan:"\\' OR 1=1 #"`,
		`app_metadata.a:"$.b') OR ('1'='1"`,
		`identities.connection:"x' OR 1=1) --"`,
		`nickname:` + "\x00" + `nul`,
		`name:"` + "\n\t\r" + `"`,
		`name:/*comment*/`,
		`name:x;SELECT`,
		`"?" ?`,
	} {
		t.Run(q, func(t *testing.T) {
			pq, err := Parse(q)
			if err != nil {
				return // refused: fine
			}
			for _, d := range []Dialect{MySQL, SQLite} {
				where, args := pq.SQL(d)
				checkSQL(t, where, args)
			}
		})
	}
	for _, q := range []string{
		`user_metadata.a'b:x`, `user_metadata.a"b:x`, `user_metadata.a\'b:x`, `app_metadata.$.x:1`,
		`user_metadata.a)b:x`, `name';--:x`, `users.id:x`, `id:x`, `password_hash:x`, `1=1:x`,
	} {
		if _, err := Parse(q); err == nil {
			t.Errorf("Parse(%q) accepted a field it must refuse", q)
		}
	}
}

var (
	sqlToken = regexp.MustCompile(`'[^']*'|[A-Za-z_][A-Za-z0-9_.]*|[0-9]+|->|<>|>=|<=|\|\||[()=<>?,*+-]|\s+`)
	sqlWords = map[string]bool{}
	sqlLits  = map[string]bool{`''`: true, `'$[*]'`: true, `'$.connection'`: true, `'NULL'`: true, `'null'`: true, `'true'`: true, `'false'`: true,
		`'text'`: true, `'object'`: true, `'array'`: true, `'OBJECT'`: true, `'ARRAY'`: true,
		`' '`: true, `'$.provider'`: true, `'$.user_id'`: true, `'%@%'`: true, `'@'`: true,
		`'*[0-9]*'`: true, `'$'`: true, `'['`: true, `']'`: true, `'*[^0-9eE.+-]*'`: true, `'[+.eE]*'`: true}
)

func init() {
	for _, w := range strings.Fields(`AND OR NOT COALESCE LOWER IS NULL EXISTS SELECT FROM JSON_TABLE
		users.identities COLUMNS c VARCHAR COLLATE utf8mb4_bin PATH AS ic WHERE ic.c json_each json_extract
		ic.value JSON_UNQUOTE JSON_EXTRACT JSON_TYPE json_type CASE WHEN THEN ELSE CAST TEXT END
		user_metadata app_metadata 0 1 255 users.id IN user_id metadata_terms source path value BINARY
		LOCATE CONCAT instr RIGHT substr SUBSTRING_INDEX LIKE num DOUBLE REAL GLOB REGEXP JSON_CONTAINS
		JSON_QUOTE je je.type je.value || je.i je.v i v FOR ORDINALITY LONGTEXT`) {
		sqlWords[w] = true
	}
	for _, f := range rootFields {
		sqlWords[f.col] = true
	}
}

// checkSQL fails unless where is made only of the compiler's fixed
// vocabulary and as many ? as there are args.
func checkSQL(t testing.TB, where string, args []any) {
	t.Helper()
	rest := sqlToken.ReplaceAllStringFunc(where, func(tok string) string {
		switch {
		case strings.TrimSpace(tok) == "":
		case tok[0] == '\'':
			if !sqlLits[tok] {
				t.Fatalf("SQL %q has an unexpected literal %s", where, tok)
			}
		case tok[0] == '_' || tok[0] >= 'A' || tok[0] >= '0' && tok[0] <= '9':
			if !sqlWords[tok] {
				t.Fatalf("SQL %q has an unexpected word %q", where, tok)
			}
		}
		return ""
	})
	if rest != "" {
		t.Fatalf("SQL %q has unexpected characters %q", where, rest)
	}
	if n := strings.Count(where, "?"); n != len(args) {
		t.Fatalf("SQL %q has %d placeholders for %d args", where, n, len(args))
	}
}

func TestSort(t *testing.T) {
	for _, tc := range []struct {
		in, canon, orderBy string
	}{
		{"", "user_id:1", "id ASC"},
		{"user_id:-1", "user_id:-1", "id DESC"},
		{"created_at:1", "created_at:1", "created_at ASC, id ASC"},
		{"email:-1", "email:-1", "email DESC, id DESC"},
		{"name:1", "name:1", "name ASC, id ASC"},
	} {
		s, err := ParseSort(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if s.String() != tc.canon || s.OrderBy() != tc.orderBy {
			t.Errorf("ParseSort(%q) = %s / %s, want %s / %s", tc.in, s, s.OrderBy(), tc.canon, tc.orderBy)
		}
	}
	for _, in := range []string{"created_at", "created_at:0", "created_at:asc", "nope:1", "user_metadata.a:1",
		"identities.connection:1", ":1", "email:1:1", "email: 1"} {
		_, err := ParseSort(in)
		var se *Error
		if !errors.As(err, &se) || se.Pos != 0 || !strings.Contains(se.Msg, "bad sort") {
			t.Errorf("ParseSort(%q) = %v, want a bad sort *Error", in, err)
		}
	}
}

func TestCursor(t *testing.T) {
	when := time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		sort  string
		v     any
		where string
		args  []any
	}{
		{"", nil, "id > ?", []any{"u1"}},
		{"user_id:-1", "ignored", "id < ?", []any{"u1"}},
		{"created_at:1", when, "(created_at >= ? AND (created_at > ? OR id > ?))",
			[]any{"2024-03-01 11:00:00.123456", "2024-03-01 11:00:00.123456", "u1"}},
		{"logins_count:-1", int64(7), "(logins_count <= ? AND (logins_count < ? OR id < ?))", []any{int64(7), int64(7), "u1"}},
		{"blocked:1", true, "(blocked >= ? AND (blocked > ? OR id > ?))", []any{true, true, "u1"}},
		{"email:1", "a@x", "(email >= ? AND (email > ? OR id > ?))", []any{"a@x", "a@x", "u1"}},
		{"email:-1", "a@x", "(email <= ? AND (email < ? OR id < ?)) OR email IS NULL", []any{"a@x", "a@x", "u1"}},
		{"email:1", nil, "(email IS NULL AND id > ?) OR email IS NOT NULL", []any{"u1"}},
		{"last_login:-1", nil, "last_login IS NULL AND id < ?", []any{"u1"}},
	} {
		t.Run(tc.sort, func(t *testing.T) {
			s, err := ParseSort(tc.sort)
			if err != nil {
				t.Fatal(err)
			}
			where, args, err := s.After(s.Cursor(tc.v, "u1"))
			if err != nil {
				t.Fatal(err)
			}
			if where != tc.where || !reflect.DeepEqual(args, tc.args) {
				t.Fatalf("got  %s %#v\nwant %s %#v", where, args, tc.where, tc.args)
			}
		})
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		sort, cursor, msg string
	}{
		{"", "not base64!", "does not decode"},
		{"", enc("not json"), "does not decode"},
		{"", enc(`{"s":"user_id:1"}`), "does not decode"},
		{"", enc(`{"s":"user_id:1","id":"a","x":1}`), "does not decode"},
		{"", enc(`{"s":"user_id:1","id":"a"} trailing`), ""}, // the decoder stops at the object: accepted
		{"", enc(`{"s":"created_at:1","v":"2024-03-01 11:00:00.000000","id":"a"}`), `made for the sort "created_at:1"`},
		{"created_at:1", enc(`{"s":"created_at:1","v":"2024-03-01","id":"a"}`), "not of its type"},
		{"created_at:1", enc(`{"s":"created_at:1","v":null,"id":"a"}`), "no created_at value"},
		{"created_at:1", enc(`{"s":"created_at:1","id":"a"}`), "no created_at value"},
		{"logins_count:1", enc(`{"s":"logins_count:1","v":"1","id":"a"}`), "not of its type"},
		{"logins_count:1", enc(`{"s":"logins_count:1","v":1.5,"id":"a"}`), "not of its type"},
		{"blocked:1", enc(`{"s":"blocked:1","v":1,"id":"a"}`), "not of its type"},
		{"email:1", enc(`{"s":"email:1","v":1,"id":"a"}`), "not of its type"},
		{"name:1", enc(`{"s":"name:1","v":null,"id":"a"}`), "no name value"},
	} {
		t.Run(tc.cursor, func(t *testing.T) {
			s, err := ParseSort(tc.sort)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.After(tc.cursor)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) || !strings.Contains(se.Msg, tc.msg) || !strings.HasPrefix(se.Msg, "bad cursor: ") {
				t.Fatalf("err = %v, want a bad cursor *Error with %q", err, tc.msg)
			}
		})
	}
}

func TestSuccessor(t *testing.T) {
	for in, want := range map[string]string{
		"a": "b", "az": "a{", "a\U0010FFFF": "b", "\U0010FFFF": "", "\uD7FF": "\uE000", "é": "ê",
	} {
		got, ok := successor(in)
		if got != want || ok != (want != "") {
			t.Errorf("successor(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestIndexTerm(t *testing.T) {
	long := strings.Repeat("x", TermValueMax)
	for q, want := range map[string][]any{
		"app_metadata.plan:pro":                 {SourceApp, "plan", "pro"},
		`user_metadata.address.city:"New York"`: {SourceUser, "address.city", "New York"},
		"app_metadata.tier:10":                  {SourceApp, "tier", "10"},
		"app_metadata.plan:" + long[1:]:         {SourceApp, "plan", long[1:]},
		// Not one term the index answers alone.
		"app_metadata.plan:" + long:                    nil, // cut: the JSON test too
		"app_metadata.plan:pro AND email:a@b.c":        nil,
		"app_metadata.plan:pro OR app_metadata.plan:x": nil,
		"NOT app_metadata.plan:pro":                    nil,
		"app_metadata.plan:pr*":                        nil,
		"app_metadata.tier:[1 TO 5]":                   nil,
		"_exists_:app_metadata.plan":                   nil,
		"email:a@b.c":                                  nil,
		"pro":                                          nil,
		"roles:admin":                                  nil,
		"":                                             nil,
	} {
		pq, err := Parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		where, args, ok := pq.IndexTerm("t")
		if ok != (want != nil) || ok && (where != "t.source = ? AND t.path = ? AND t.value = ?" || !reflect.DeepEqual(args, want)) {
			t.Errorf("%s: IndexTerm = %q %v %v, want %v", q, where, args, ok, want)
		}
	}
}

func TestSortAfterID(t *testing.T) {
	byID, _ := ParseSort("user_id:-1")
	c := byID.Cursor(nil, "auth0|9")
	where, args, err := byID.AfterID(c, "t.user_id")
	if err != nil || where != "t.user_id < ?" || !reflect.DeepEqual(args, []any{"auth0|9"}) {
		t.Fatalf("AfterID = %q %v %v", where, args, err)
	}
	if w, _, _ := byID.After(c); w != "id < ?" {
		t.Fatalf("After = %q", w)
	}
	byDate, _ := ParseSort("created_at:1")
	if _, _, err := byDate.AfterID(byDate.Cursor(nil, "x"), "t.user_id"); err == nil || byDate.ByID() || !byID.ByID() {
		t.Fatalf("AfterID on a sort by created_at: %v", err)
	}
}

// TestCursorFastPath: Cursor writes the bytes encoding/json writes
// (cursorJSONOf), for ids that take the fast path and ids that need
// escapes, on every sort.
func TestCursorFastPath(t *testing.T) {
	for _, sort := range []string{"", "user_id:1", "user_id:-1", "email:1", "created_at:-1"} {
		s, err := ParseSort(sort)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"", "u1", "auth0|5f7c8ec7c33c6c004bbafe82", "google-oauth2|123", "a<b>&c", `q"b\`, "é", "\u2028", "\xff", "tab\t", "~ !#$%'()*+,-./:;=?@[]^_`{}"} {
			if got, want := s.Cursor("v", id), s.cursorJSONOf("v", id); got != want {
				t.Fatalf("%q %q: Cursor %s, encoding/json %s", sort, id, got, want)
			}
		}
	}
}

// FuzzCursor: any id's cursor is encoding/json's.
func FuzzCursor(f *testing.F) {
	f.Add("auth0|abc", false)
	f.Add("<&>\"\\\xff", true)
	f.Fuzz(func(t *testing.T, id string, desc bool) {
		s, _ := ParseSort("user_id:1")
		if desc {
			s, _ = ParseSort("user_id:-1")
		}
		if got, want := s.Cursor(nil, id), s.cursorJSONOf(nil, id); got != want {
			t.Fatalf("%q: Cursor %s, encoding/json %s", id, got, want)
		}
	})
}
