package search

import (
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/policy"
)

// Every searchable field of the profile's table is a root field on its
// column, parses in a query, sorts when the table says so, and is named in
// the unknown-field message; no other profile field is searchable.
func TestRootFieldsFollowProfileTable(t *testing.T) {
	_, _, err := lookupField("nope")
	if err == nil {
		t.Fatal("lookupField(nope) gave no error")
	}
	for _, pf := range policy.ProfileFields {
		f := rootFields[pf.Name]
		if !pf.Search {
			if f != nil {
				t.Errorf("%s is searchable but the table says it is not", pf.Name)
			}
			continue
		}
		if f == nil {
			t.Errorf("%s is searchable in the table but not a root field", pf.Name)
			continue
		}
		if f.col != pf.Column || f.nullable != pf.Nullable || f.sortable != pf.Sort {
			t.Errorf("%s: root field %+v disagrees with the table %+v", pf.Name, *f, pf)
		}
		if _, err := ParseSort(pf.Name + ":-1"); (err == nil) != pf.Sort {
			t.Errorf("ParseSort(%s:-1): err %v, table says sortable=%v", pf.Name, err, pf.Sort)
		}
		if !strings.Contains(err.Error(), " "+pf.Name+",") {
			t.Errorf("the unknown-field message does not list %s: %v", pf.Name, err)
		}
		val := map[policy.FieldKind]string{policy.KindBool: "true", policy.KindInt: "3", policy.KindDate: "2026-01-02"}[pf.Kind]
		if val == "" {
			val = "x"
		}
		if _, err := Parse(pf.Name + ":" + val); err != nil {
			t.Errorf("Parse(%s:%s): %v", pf.Name, val, err)
		}
	}
}
