package policy

import (
	"reflect"
	"strings"
	"testing"
)

func scopesCaller(scopes ...Scope) Caller {
	c := Caller{Subject: "client-1", Scopes: map[Scope]bool{}}
	for _, s := range scopes {
		c.Scopes[s] = true
	}
	return c
}

func adminConnection(scopes ...Scope) Connection {
	return Connection{Name: "staff", Strategy: StrategyDatabase, AdminScopes: scopes}
}

func TestManagementScopesMatchContract(t *testing.T) {
	want := []Scope{"read:users", "create:users", "update:users", "update:users_app_metadata",
		"delete:users", "read:connections", "create:connections", "update:connections",
		"read:roles", "create:roles", "update:roles", "delete:roles",
		"read:resource_servers", "create:resource_servers", "update:resource_servers", "delete:resource_servers",
		"read:clients", "create:clients", "update:clients", "delete:clients"}
	if !reflect.DeepEqual(ManagementScopes, want) {
		t.Fatalf("ManagementScopes = %v", ManagementScopes)
	}
	for _, s := range []Scope{ScopeReadCurrentUser, ScopeUpdateCurrentUserMetadata, "", "admin", "read:users "} {
		if IsManagementScope(s) {
			t.Errorf("IsManagementScope(%q) = true", s)
		}
	}
}

func TestValidateAdminScopes(t *testing.T) {
	got, err := ValidateAdminScopes(StrategyDatabase, []Scope{ScopeUpdateConnections, ScopeReadUsers, ScopeDeleteUsers})
	mustNoErr(t, err)
	if want := []Scope{ScopeReadUsers, ScopeDeleteUsers, ScopeUpdateConnections}; !reflect.DeepEqual(got, want) {
		t.Fatalf("canonical order = %v, want %v", got, want)
	}
	for _, empty := range [][]Scope{nil, {}} {
		for _, st := range []Strategy{StrategyDatabase, StrategyCustomDatabase, StrategyOIDC, StrategyPasswordless} {
			got, err := ValidateAdminScopes(st, empty)
			mustNoErr(t, err)
			if got != nil {
				t.Fatalf("empty list on %s = %#v, want nil", st, got)
			}
		}
	}

	for _, tc := range []struct {
		name   string
		st     Strategy
		scopes []Scope
		msg    []string
	}{
		{"unknown", StrategyDatabase, []Scope{ScopeReadUsers, "read:user"}, []string{`"read:user" is not a management scope`, "read:users, create:users"}},
		{"self-service scope", StrategyDatabase, []Scope{ScopeReadCurrentUser}, []string{`"read:current_user" is not a management scope`}},
		{"empty name", StrategyDatabase, []Scope{""}, []string{`"" is not a management scope`}},
		{"duplicate", StrategyDatabase, []Scope{ScopeReadUsers, ScopeDeleteUsers, ScopeReadUsers}, []string{"lists read:users more than once"}},
		{"custom database", StrategyCustomDatabase, []Scope{ScopeReadUsers}, []string{"DATABASE connections only, not CUSTOM_DATABASE"}},
		{"oidc", StrategyOIDC, []Scope{ScopeReadUsers}, []string{"DATABASE connections only, not OIDC"}},
		{"passwordless", StrategyPasswordless, []Scope{ScopeReadUsers}, []string{"not PASSWORDLESS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ValidateAdminScopes(tc.st, tc.scopes)
			r := wantRefusal(t, err, ReasonBadInput, FieldAdminScopes)
			wantContains(t, r.Message, tc.msg...)
		})
	}

	long := Scope(strings.Repeat("x", 500))
	_, err = ValidateAdminScopes(StrategyDatabase, []Scope{long})
	if r := wantRefusal(t, err, ReasonBadInput, FieldAdminScopes); strings.Contains(r.Message, string(long)) {
		t.Fatalf("a long unknown name is echoed whole: %d bytes", len(r.Message))
	}
}

func TestCanGrantAdminScopes(t *testing.T) {
	all := scopesCaller(ManagementScopes...)
	mustNoErr(t, CanGrantAdminScopes(all, ManagementScopes))
	mustNoErr(t, CanGrantAdminScopes(scopesCaller(ScopeUpdateConnections), nil))
	mustNoErr(t, CanGrantAdminScopes(scopesCaller(ScopeUpdateConnections, ScopeReadUsers), []Scope{ScopeReadUsers}))

	// update:connections alone cannot grant update:users.
	r := wantRefusal(t, CanGrantAdminScopes(scopesCaller(ScopeUpdateConnections, ScopeReadUsers), []Scope{ScopeReadUsers, ScopeUpdateUsers, ScopeDeleteUsers}),
		ReasonForbidden, FieldAdminScopes)
	wantContains(t, r.Message, "lacks update:users, delete:users")
	if strings.Contains(r.Message, "read:users") {
		t.Fatal("names a scope the caller holds")
	}

	// A user token holds no management scope, whatever it claims.
	self := scopesCaller(ScopeReadUsers)
	self.Self = true
	wantRefusal(t, CanGrantAdminScopes(self, []Scope{ScopeReadUsers}), ReasonForbidden, FieldAdminScopes)
}

func TestCanManageUsersOf(t *testing.T) {
	plain := Connection{Name: "main", Strategy: StrategyDatabase}
	mustNoErr(t, CanManageUsersOf(scopesCaller(), plain))
	mustNoErr(t, CanManageUsersOf(scopesCaller(ScopeCreateUsers), plain))

	staff := adminConnection(ScopeReadUsers, ScopeUpdateUsers)
	mustNoErr(t, CanManageUsersOf(scopesCaller(ScopeReadUsers, ScopeUpdateUsers, ScopeCreateUsers), staff))

	// create:users without read:users cannot create a user who would read users.
	r := wantRefusal(t, CanManageUsersOf(scopesCaller(ScopeCreateUsers, ScopeUpdateUsers), staff), ReasonForbidden, "connection")
	wantContains(t, r.Message, `connection "staff"`, "read:users, update:users", "lacks read:users")

	self := scopesCaller(ScopeReadUsers, ScopeUpdateUsers)
	self.Self = true
	wantRefusal(t, CanManageUsersOf(self, staff), ReasonForbidden, "connection")
}

func TestCanSignup(t *testing.T) {
	mustNoErr(t, CanSignup(Connection{Name: "main", Strategy: StrategyDatabase}))
	r := wantRefusal(t, CanSignup(adminConnection(ScopeReadUsers)), ReasonForbidden, "connection")
	wantContains(t, r.Message, "self-signup is disabled on a connection that grants admin scopes")
}

func TestSameScopes(t *testing.T) {
	for _, tc := range []struct {
		a, b []Scope
		want bool
	}{
		{nil, nil, true},
		{nil, []Scope{}, true},
		{[]Scope{ScopeReadUsers, ScopeDeleteUsers}, []Scope{ScopeDeleteUsers, ScopeReadUsers}, true},
		{[]Scope{ScopeReadUsers}, nil, false},
		{[]Scope{ScopeReadUsers, ScopeReadUsers}, []Scope{ScopeReadUsers, ScopeDeleteUsers}, false},
	} {
		if got := SameScopes(tc.a, tc.b); got != tc.want {
			t.Errorf("SameScopes(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

// TestDecideUpdateAdminConnection: every management update of an admin
// connection's user needs the scopes it grants, named in the refusal on the
// first asked field; the user's own self-service update does not.
func TestDecideUpdateAdminConnection(t *testing.T) {
	c := adminConnection(ScopeReadUsers, ScopeDeleteUsers)
	u := baseUser(c.Name)

	for _, f := range RuleFields {
		_, err := DecideUpdate(u, c, admin(), requestFor(f), Limits{}, now)
		r := wantRefusal(t, err, ReasonForbidden, f)
		wantContains(t, r.Message, "lacks read:users, delete:users")
	}
	// With the scopes the update runs as for any DATABASE user.
	holder := scopesCaller(ScopeUpdateUsers, ScopeReadUsers, ScopeDeleteUsers)
	d, err := DecideUpdate(u, c, holder, Update{Password: ptr("new-password-1")}, Limits{}, now)
	mustNoErr(t, err)
	if !d.SetLocalPassword {
		t.Fatal("password not set locally")
	}
	// Missing update:users is still reported as such first.
	_, err = DecideUpdate(u, c, scopesCaller(ScopeReadUsers, ScopeDeleteUsers), Update{Name: ptr("x")}, Limits{}, now)
	r := wantRefusal(t, err, ReasonForbidden, FieldName)
	wantContains(t, r.Message, "update:users")

	self := Caller{Subject: u.ID, Self: true, Scopes: map[Scope]bool{ScopeUpdateCurrentUserMetadata: true}}
	_, err = DecideUpdate(u, c, self, Update{UserMetadata: Metadata{"lang": "fr"}}, Limits{}, now)
	mustNoErr(t, err)

	// The dashboard's field rules say why.
	for _, rule := range FieldRules(u, c, admin()) {
		if rule.Updatable || rule.Reason != ReasonForbidden {
			t.Fatalf("rule %+v", rule)
		}
		wantContains(t, rule.Message, "admin scopes")
	}
}
