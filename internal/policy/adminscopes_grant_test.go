package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCanAddAdminScopes(t *testing.T) {
	r, u, d := ScopeReadUsers, ScopeUpdateUsers, ScopeDeleteUsers
	if got := AddedScopes([]Scope{r, u}, []Scope{u, d, r}); !reflect.DeepEqual(got, []Scope{d}) {
		t.Fatalf("AddedScopes = %v", got)
	}
	if got := AddedScopes([]Scope{r, u}, []Scope{r}); got != nil {
		t.Fatalf("AddedScopes of a removal = %v", got)
	}
	c := Connection{Name: "staff", Strategy: StrategyDatabase}
	for _, tc := range []struct {
		added []Scope
		inUse bool
		ok    bool
	}{
		{nil, true, true},         // removing or unchanged, even in use
		{[]Scope{r}, false, true}, // empty connection
		{[]Scope{r, d}, true, false},
	} {
		err := CanAddAdminScopes(c, tc.added, tc.inUse)
		if (err == nil) != tc.ok {
			t.Fatalf("%v in use %v: %v", tc.added, tc.inUse, err)
		}
		if err != nil {
			var ref *Refusal
			if !errors.As(err, &ref) || ref.Reason != ReasonForbidden || ref.Field != FieldAdminScopes ||
				!strings.Contains(ref.Message, "read:users, delete:users") || !strings.Contains(ref.Message, "Create a new connection for admins") {
				t.Fatalf("refusal = %#v", err)
			}
		}
	}
}
