package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestCanCall(t *testing.T) {
	all := Caller{Subject: "op", Scopes: map[Scope]bool{}}
	for _, s := range ManagementScopes {
		all.Scopes[s] = true
	}
	self := all
	self.Self = true
	partial := Caller{Subject: "p", Scopes: map[Scope]bool{ScopeReadUsers: true}}
	for _, tc := range []struct {
		name   string
		caller Caller
		scopes []Scope
		want   string // "" = allowed
	}{
		{"every scope", all, []Scope{ScopeCreateUsers, ScopeUpdateUsers}, ""},
		{"no scope needed", partial, nil, ""},
		{"user token, whatever it holds", self, []Scope{ScopeReadUsers}, "a user token cannot call management operations"},
		{"user token, no scope needed", self, nil, "a user token cannot call management operations"},
		{"one missing", partial, []Scope{ScopeReadUsers, ScopeUpdateUsers}, "this operation needs the scope read:users update:users"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CanCall(tc.caller, tc.scopes...)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || r.Reason != ReasonForbidden || r.Field != "" || !strings.Contains(r.Message, tc.want) {
				t.Fatalf("got %#v, want FORBIDDEN %q", err, tc.want)
			}
		})
	}
}

// Every operation of the table passes with exactly its scopes and is
// refused without any one of them (even holding every other management
// scope) and to a user token; an operation missing from the table is
// refused.
func TestAuthorize(t *testing.T) {
	all := func() Caller {
		c := Caller{Subject: "op", Scopes: map[Scope]bool{}}
		for _, s := range ManagementScopes {
			c.Scopes[s] = true
		}
		return c
	}
	if len(opScopes) < 16 {
		t.Fatalf("the table has %d operations", len(opScopes))
	}
	for op, scopes := range opScopes {
		t.Run(string(op), func(t *testing.T) {
			if len(scopes) == 0 {
				t.Fatal("an operation needing no scope")
			}
			exact := Caller{Subject: "c", Scopes: map[Scope]bool{}}
			for _, s := range scopes {
				if !IsManagementScope(s) {
					t.Fatalf("%s is not a management scope", s)
				}
				exact.Scopes[s] = true
			}
			if err := Authorize(exact, op); err != nil {
				t.Fatalf("its own scopes refused: %v", err)
			}
			for _, s := range scopes {
				c := all()
				delete(c.Scopes, s)
				var r *Refusal
				if err := Authorize(c, op); !errors.As(err, &r) || r.Reason != ReasonForbidden || !strings.Contains(r.Message, string(s)) {
					t.Fatalf("without %s: %v", s, err)
				}
			}
			self := all()
			self.Self = true
			if err := Authorize(self, op); err == nil {
				t.Fatal("a user token allowed")
			}
			got, ok := OpScopes(op)
			if !ok || len(got) != len(scopes) {
				t.Fatalf("OpScopes = %v, %v", got, ok)
			}
		})
	}
	if err := Authorize(all(), Op("nope")); err == nil {
		t.Fatal("an unknown operation allowed")
	}
}
