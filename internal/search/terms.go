package search

import "unicode/utf8"

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
