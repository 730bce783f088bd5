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

func TestUseCaseScopes(t *testing.T) {
	only := func(scopes ...Scope) Caller {
		c := Caller{Subject: "c", Scopes: map[Scope]bool{}}
		for _, s := range scopes {
			c.Scopes[s] = true
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		decide  func(Caller) error
		enough  Caller
		lacking Caller
	}{
		{"create connection", CanCreateConnection, only(ScopeCreateConnections), only(ScopeUpdateConnections)},
		{"update connection", CanUpdateConnection, only(ScopeUpdateConnections), only(ScopeCreateConnections)},
		{"import", func(c Caller) error { return CanImportUsers(c, false) }, only(ScopeCreateUsers), only(ScopeUpdateUsers)},
		{"import upsert", func(c Caller) error { return CanImportUsers(c, true) }, only(ScopeCreateUsers, ScopeUpdateUsers), only(ScopeCreateUsers)},
		{"export", func(c Caller) error { return CanExportUsers(c, false) }, only(ScopeReadUsers), only(ScopeCreateUsers)},
		{"export hashes", func(c Caller) error { return CanExportUsers(c, true) }, only(ScopeReadUsers, ScopeCreateUsers, ScopeUpdateUsers), only(ScopeReadUsers, ScopeCreateUsers)},
		{"read jobs", CanReadJobs, only(ScopeReadUsers), only(ScopeCreateUsers)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.decide(tc.enough); err != nil {
				t.Fatalf("enough scopes refused: %v", err)
			}
			if err := tc.decide(tc.lacking); err == nil {
				t.Fatal("lacking a scope allowed")
			}
		})
	}
}
