package search

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// TimeLayout is how date values are bound: UTC, microseconds, fixed width.
// It must be the layout the store writes times in (db compares stored
// SQLite TEXT times with it; MySQL converts it to DATETIME(6)).
const TimeLayout = "2006-01-02 15:04:05.000000"

type kind int

const (
	kindText   kind = iota // case-sensitive text
	kindFold               // case-insensitive text: LOWER(col) = lower(value)
	kindEmail              // stored lower-cased: col = lower(value)
	kindBool               // true / false
	kindInt                // int64
	kindDate               // YYYY-MM-DD or RFC 3339
	kindIdent              // identities[*].<key>, key in field.col
	kindMeta               // user_metadata / app_metadata path
	kindDomain             // the part of email after '@', case-insensitive
	kindRole               // the name of a role the user holds (roles.go)
)

func (k kind) String() string {
	switch k {
	case kindBool:
		return "boolean"
	case kindInt:
		return "integer"
	case kindDate:
		return "date"
	case kindMeta:
		return "metadata"
	}
	return "text"
}

// text reports whether wildcards (prefix matches) apply.
func (k kind) text() bool {
	return k == kindText || k == kindFold || k == kindEmail || k == kindIdent || k == kindDomain || k == kindRole
}

// column reports whether the field is a plain column expression (leading
// and inner wildcards apply to those).
func (k kind) column() bool {
	return k == kindText || k == kindFold || k == kindEmail || k == kindDomain
}

// field is a searchable field and its fixed column (never from the query).
type field struct {
	name     string
	col      string
	kind     kind
	nullable bool // the column is NULL when the value is absent
	sortable bool
}

var rootFields = map[string]*field{}

// kindOf maps a profile field's kind to how search compares it.
var kindOf = map[policy.FieldKind]kind{
	policy.KindText: kindText, policy.KindFold: kindFold, policy.KindEmail: kindEmail,
	policy.KindBool: kindBool, policy.KindInt: kindInt, policy.KindDate: kindDate,
}

func init() {
	// The root fields are the profile's searchable fields (policy's table);
	// the fields below are search's own views of them.
	for _, pf := range policy.ProfileFields {
		if !pf.Search {
			continue
		}
		k, ok := kindOf[pf.Kind]
		if !ok {
			panic(fmt.Sprintf("search: profile field %q has a kind search cannot compare", pf.Name))
		}
		rootFields[pf.Name] = &field{name: pf.Name, col: pf.Column, kind: k, nullable: pf.Nullable, sortable: pf.Sort}
	}
	for _, f := range []*field{
		{name: "identities.connection", col: "connection", kind: kindIdent},
		{name: "identities.provider", col: "provider", kind: kindIdent},
		{name: "identities.user_id", col: "user_id", kind: kindIdent},
		{name: "email.domain", col: "email", kind: kindDomain, nullable: true},
		rolesField,
	} {
		rootFields[f.name] = f
	}
}

// bareFields are searched by a term without a field: email and username
// whole, the name fields (wordFields) word by word.
var bareFields = []string{"email", "username", "name", "given_name", "family_name", "nickname"}

// wordFields are the bare fields a bare term matches a word of.
var wordFields = map[string]bool{"name": true, "given_name": true, "family_name": true, "nickname": true}

var metaPath = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// lookupField returns the field called name and, for metadata, the JSON
// path to bind ($."a"."b": every key quoted, so keys starting with a digit
// or holding '-' are fine).
func lookupField(name string) (*field, string, error) {
	if f := rootFields[name]; f != nil {
		return f, "", nil
	}
	for _, col := range []string{"user_metadata", "app_metadata"} {
		rest, ok := strings.CutPrefix(name, col)
		if !ok {
			continue
		}
		if rest == "" {
			return nil, "", fmt.Errorf("expected a path after %s (%s.key)", col, col)
		}
		rest, ok = strings.CutPrefix(rest, ".")
		if !ok || !metaPath.MatchString(rest) {
			return nil, "", fmt.Errorf("bad metadata path %q: keys are letters, digits, '_' and '-', separated by '.'", name)
		}
		var b strings.Builder
		b.WriteString("$")
		for _, k := range strings.Split(rest, ".") {
			b.WriteString(`."`)
			b.WriteString(k)
			b.WriteString(`"`)
		}
		return &field{name: name, col: col, kind: kindMeta}, b.String(), nil
	}
	return nil, "", fmt.Errorf("unknown field %q (expected one of user_id, email, email.domain, email_verified, username, phone_number, phone_verified, name, given_name, family_name, nickname, connection, blocked, logins_count, created_at, updated_at, last_login, last_ip, identities.connection, identities.provider, identities.user_id, roles, user_metadata.<path>, app_metadata.<path>)", name)
}

// parse checks and types a value for the field (f nil: a bare term, text).
func (f *field) parse(s string) (any, error) {
	if f == nil {
		return s, nil
	}
	switch f.kind {
	case kindBool:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("%s takes true or false, not %q", f.name, s)
	case kindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s takes an integer, not %q", f.name, s)
		}
		return n, nil
	case kindDate:
		d, err := parseDate(s)
		if err != nil {
			return nil, fmt.Errorf("%s takes a date (YYYY-MM-DD or RFC 3339), not %q", f.name, s)
		}
		return d, nil
	}
	return s, nil
}

func parseDate(s string) (dateVal, error) {
	if len(s) == len("2006-01-02") {
		t, err := time.ParseInLocation("2006-01-02", s, time.UTC)
		if err != nil {
			return dateVal{}, err
		}
		return dateVal{t: t, day: true}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return dateVal{}, err
	}
	if t.Year() < 1 || t.UTC().Year() > 9999 {
		return dateVal{}, errors.New("year out of range")
	}
	return dateVal{t: t.UTC().Truncate(time.Microsecond)}, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }
