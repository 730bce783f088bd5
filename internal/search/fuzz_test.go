package search

import "testing"

// FuzzParse: Parse never panics, and whatever it accepts compiles for both
// dialects to the fixed SQL vocabulary with one ? per argument.
//
//	go test ./search/ -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	for _, q := range compileCases {
		f.Add(q)
	}
	for _, q := range []string{
		"name:[a TO", "(((a", "a)", `"unterminated`, `x\`, "email:*", "user_metadata.a'b:x",
		"created_at:[2024-01-01 TO 2024-02-30]", "_exists_:", "NOT NOT NOT", "a:b:c:d", "[* TO *]",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		pq, err := Parse(q)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q): error %T, want *Error", q, err)
			}
			return
		}
		for _, d := range []Dialect{MySQL, SQLite} {
			where, args := pq.SQL(d)
			checkSQL(t, where, args)
		}
		_ = pq.Fields()
	})
}
