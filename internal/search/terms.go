package search

import (
	"strings"
	"unicode/utf8"
)

// The metadata term index. Metadata lives in JSON columns, which neither
// MySQL nor SQLite can index by arbitrary path, so the store keeps, beside
// each user, one row per metadata path that holds a value: (source, path,
// value), in the table TermsTable. Source is SourceUser or SourceApp; the
// path is the dotted key path ("address.city"); the value is a scalar's
// text (a string as is, a number as its JSON text, true or false) or ""
// for an object or a list; null values have no row. Path and value are cut
// to TermPathMax and TermValueMax runes (TermPrefix).
//
// A metadata term compiles to a lookup in that table (an index range)
// AND the exact test on the JSON column, so the table only narrows: a cut
// value, a key holding a '.', or any other way two values share a row can
// only add candidates, which the exact test drops. The store must keep the
// table exactly in step with the columns, in the same transaction.
const (
	TermsTable   = "metadata_terms"
	SourceUser   = "u"
	SourceApp    = "a"
	TermPathMax  = 255
	TermValueMax = 128
)

// TermPrefix returns s cut to at most n runes.
func TermPrefix(s string, n int) string {
	if len(s) <= n { // bytes ≥ runes
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i]
}

// termSource is the source of a metadata column.
func termSource(col string) string {
	if col == "app_metadata" {
		return SourceApp
	}
	return SourceUser
}

// IndexTerm reports whether the whole query is one metadata term of the
// form path:value that the term index answers alone (path and value
// shorter than TermPathMax and TermValueMax, so that no exact test on the
// JSON column is needed), and returns the condition selecting its rows in
// TermsTable, on columns qualified by alias ("t" gives "t.source = ? AND
// t.path = ? AND t.value = ?"), with its arguments. Those rows are one per
// matching user, and the table's primary key (source, path, value,
// user_id) holds them in user id order: a store can count the matches from
// the index alone and read a page by id from it, joining users for the
// page's rows only.
func (q *Query) IndexTerm(alias string) (where string, args []any, ok bool) {
	t, isTerm := q.root.(*term)
	if !isTerm || t.f == nil || t.f.kind != kindMeta || t.op != opEq {
		return "", nil, false
	}
	v, isText := t.v.(string)
	path := strings.TrimPrefix(t.f.name, t.f.col+".")
	if !isText || utf8.RuneCountInString(path) >= TermPathMax || utf8.RuneCountInString(v) >= TermValueMax {
		return "", nil, false
	}
	if alias != "" {
		alias += "."
	}
	return alias + "source = ? AND " + alias + "path = ? AND " + alias + "value = ?",
		[]any{termSource(t.f.col), path, v}, true
}

// The store also keeps the number of users per term (the term counts),
// for the terms of the index and for the equality terms of CountedFields,
// whose source is SourceField, path the field's name and value its text
// (FieldValue). A query that is one of those terms (CountTerm) is counted
// from them instead of from the index or the users table.
const SourceField = "f"

// CountedFields are the profile fields whose equality terms the store
// counts: the booleans and the connection, few values each, so a term
// matches a large share of the users ("all unverified": email_verified:false)
// and counting it would read that share.
var CountedFields = []string{"email_verified", "phone_verified", "blocked", "connection"}

// FieldValue is the counted text of a counted field's value: "true" or
// "false" for a boolean, the text cut to TermValueMax runes otherwise.
func FieldValue(v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return "true"
		}
		return "false"
	case string:
		return TermPrefix(v, TermValueMax)
	}
	return ""
}

// CountTerm reports whether the whole query is one term whose matches
// are exactly the users the store counts under (source, path, value): a
// metadata term that IndexTerm answers alone, or an equality term of a
// field of CountedFields (a text value shorter than TermValueMax, so that
// no cut value shares its count, and not ending in a space).
func (q *Query) CountTerm() (source, path, value string, ok bool) {
	t, isTerm := q.root.(*term)
	if !isTerm || t.f == nil || t.op != opEq {
		return "", "", "", false
	}
	if t.f.kind == kindMeta {
		where, args, ok := q.IndexTerm("")
		if !ok || where == "" {
			return "", "", "", false
		}
		return args[0].(string), args[1].(string), args[2].(string), true
	}
	if !counted(t.f) {
		return "", "", "", false
	}
	switch v := t.v.(type) {
	case bool:
		return SourceField, t.f.name, FieldValue(v), true
	case string:
		// MySQL's PAD SPACE collations compare "db " equal to "db".
		if utf8.RuneCountInString(v) >= TermValueMax || strings.HasSuffix(v, " ") {
			return "", "", "", false
		}
		return SourceField, t.f.name, v, true
	}
	return "", "", "", false
}

// counted reports whether f is a root field of CountedFields compared as
// its column is stored (exact text or a boolean).
func counted(f *field) bool {
	if f != rootFields[f.name] || (f.kind != kindBool && f.kind != kindText) {
		return false
	}
	for _, name := range CountedFields {
		if name == f.name {
			return true
		}
	}
	return false
}
