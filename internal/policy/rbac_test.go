package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func ordersAPI(enforce, inToken bool) API {
	return API{
		Identifier: "https://orders.example.com", Name: "Orders",
		Permissions: []APIPermission{{Name: "read:orders"}, {Name: "write:orders"}, {Name: "delete:orders"}},
		EnforceRBAC: enforce, PermissionsInToken: inToken,
	}
}

func TestDecideAPIToken(t *testing.T) {
	const aud = "https://orders.example.com"
	held := []Permission{
		{API: aud, Name: "read:orders"},
		{API: aud, Name: "delete:orders"},
		{API: aud, Name: "read:orders"},                      // twice (direct and a role)
		{API: aud, Name: "gone:orders"},                      // no longer defined by the API
		{API: "https://other.example", Name: "write:orders"}, // same name, other API
	}
	for _, tc := range []struct {
		name      string
		api       API
		requested []string
		held      []Permission
		scopes    []string
		perms     []string // nil: no claim
	}{
		{"rbac off: every defined scope requested", ordersAPI(false, false),
			[]string{"read:orders", "write:orders", "unknown"}, held, []string{"read:orders", "write:orders"}, nil},
		{"rbac off: holds nothing, still granted", ordersAPI(false, false),
			[]string{"write:orders"}, nil, []string{"write:orders"}, nil},
		{"rbac on: requested ∩ held", ordersAPI(true, false),
			[]string{"write:orders", "read:orders", "delete:orders"}, held, []string{"read:orders", "delete:orders"}, nil},
		{"rbac on: a permission of another API with the same name does not count", ordersAPI(true, false),
			[]string{"write:orders"}, held, nil, nil},
		{"rbac on: a held name the API no longer defines is not granted", ordersAPI(true, true),
			[]string{"gone:orders"}, held, nil, []string{"delete:orders", "read:orders"}},
		{"claim: all held, requested or not", ordersAPI(true, true),
			nil, held, nil, []string{"delete:orders", "read:orders"}},
		{"claim: present and empty when nothing is held", ordersAPI(true, true),
			[]string{"read:orders"}, nil, nil, []string{}},
		{"claim needs rbac (setting alone ignored)", ordersAPI(false, true),
			[]string{"read:orders"}, held, []string{"read:orders"}, nil},
		{"oidc scopes pass, offline_access does not, duplicates once", ordersAPI(true, false),
			[]string{"openid", "profile", "offline_access", "read:orders", "openid", "", "read:orders"}, held,
			[]string{"openid", "profile", "read:orders"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := DecideAPIToken(tc.api, tc.requested, tc.held)
			if !reflect.DeepEqual(g.Scopes, tc.scopes) {
				t.Errorf("scopes = %#v, want %#v", g.Scopes, tc.scopes)
			}
			if !reflect.DeepEqual(g.Permissions, tc.perms) {
				t.Errorf("permissions = %#v, want %#v", g.Permissions, tc.perms)
			}
		})
	}
}

func TestEffectivePermissions(t *testing.T) {
	a, b := "https://a", "https://b"
	direct := []Permission{{a, "x"}, {b, "y"}, {a, "x"}}
	roles := []Role{
		{ID: "rol_2", Name: "writer", Permissions: []Permission{{a, "x"}, {a, "w"}}},
		{ID: "rol_1", Name: "admin", Permissions: []Permission{{a, "x"}, {b, "z"}, {b, "z"}}},
	}
	got := EffectivePermissions(direct, roles)
	admin := PermissionSource{RoleID: "rol_1", RoleName: "admin"}
	writer := PermissionSource{RoleID: "rol_2", RoleName: "writer"}
	want := []EffectivePermission{
		{Permission{a, "w"}, []PermissionSource{writer}},
		{Permission{a, "x"}, []PermissionSource{{}, admin, writer}},
		{Permission{b, "y"}, []PermissionSource{{}}},
		{Permission{b, "z"}, []PermissionSource{admin}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	if !got[1].Sources[0].Direct() || got[1].Sources[1].Direct() {
		t.Fatal("Direct() wrong")
	}
	if got := EffectivePermissions(nil, nil); len(got) != 0 {
		t.Fatalf("empty: %v", got)
	}
}

func wantRBACRefusal(t *testing.T, err error, reason Reason, field, msg string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || r.Reason != reason || r.Field != field || !strings.Contains(r.Message, msg) {
		t.Fatalf("err = %#v, want %s on %s containing %q", err, reason, field, msg)
	}
}

func TestValidateAPI(t *testing.T) {
	ok := ordersAPI(true, true)
	if _, err := ValidateAPI(ok, RBACLimits{}, []string{"profiled"}); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(*API)) API {
		a := ok
		a.Permissions = append([]APIPermission(nil), ok.Permissions...)
		f(&a)
		return a
	}
	for _, tc := range []struct {
		api    API
		reason Reason
		field  string
		msg    string
	}{
		{mod(func(a *API) { a.Identifier = "" }), ReasonBadInput, FieldIdentifier, "required"},
		{mod(func(a *API) { a.Identifier = "https://x y" }), ReasonBadInput, FieldIdentifier, "spaces"},
		{mod(func(a *API) { a.Identifier = "profiled" }), ReasonBadInput, FieldIdentifier, "own audience"},
		{mod(func(a *API) { a.Identifier = strings.Repeat("a", 601) }), ReasonBadInput, FieldIdentifier, "limit of 600"},
		{mod(func(a *API) { a.Name = " " }), ReasonBadInput, FieldName, "required"},
		{mod(func(a *API) { a.Name = "<script>" }), ReasonBadInput, FieldName, "< or >"},
		{mod(func(a *API) { a.EnforceRBAC = false }), ReasonBadInput, "permissionsInToken", "enforceRbac"},
		{mod(func(a *API) { a.Permissions = append(a.Permissions, APIPermission{Name: "read:orders"}) }), ReasonBadInput, FieldPermissions, "more than once"},
		{mod(func(a *API) { a.Permissions[0].Name = "openid" }), ReasonBadInput, FieldPermissions, "reserved"},
		{mod(func(a *API) { a.Permissions[0].Name = "read orders" }), ReasonBadInput, FieldPermissions, "printable ASCII"},
		{mod(func(a *API) { a.Permissions[0].Name = `a"b` }), ReasonBadInput, FieldPermissions, "printable ASCII"},
		{mod(func(a *API) { a.Permissions[0].Name = "lire:é" }), ReasonBadInput, FieldPermissions, "printable ASCII"},
		{mod(func(a *API) { a.Permissions[0].Name = "" }), ReasonBadInput, FieldPermissions, "empty"},
		{mod(func(a *API) { a.Permissions[0].Name = strings.Repeat("p", 281) }), ReasonBadInput, FieldPermissions, "limit of 280"},
	} {
		_, err := ValidateAPI(tc.api, RBACLimits{}, []string{"profiled"})
		wantRBACRefusal(t, err, tc.reason, tc.field, tc.msg)
	}
	// The permission limit: 1,000 by default, LIMIT_EXCEEDED past it.
	many := mod(func(a *API) {
		a.Permissions = nil
		for i := 0; i < 1001; i++ {
			a.Permissions = append(a.Permissions, APIPermission{Name: "p:" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i)})
		}
	})
	_, err := ValidateAPI(many, RBACLimits{}, nil)
	wantRBACRefusal(t, err, ReasonLimitExceeded, LimitPermissionsPerAPI, "over the limit of 1000")
	many.Permissions = many.Permissions[:1000]
	if _, err := ValidateAPI(many, RBACLimits{}, nil); err != nil {
		t.Fatalf("1000 permissions: %v", err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestValidateRoleAndLimits(t *testing.T) {
	if err := ValidateRole(Role{Name: "admin", Description: "all"}); err != nil {
		t.Fatal(err)
	}
	wantRBACRefusal(t, ValidateRole(Role{Name: ""}), ReasonBadInput, FieldName, "required")
	wantRBACRefusal(t, ValidateRole(Role{Name: "a\x00b"}), ReasonBadInput, FieldName, "control")
	wantRBACRefusal(t, ValidateRole(Role{Name: "a", Description: strings.Repeat("d", 501)}), ReasonBadInput, FieldDescription, "500")
	if d := (RBACLimits{}).WithDefaults(); d != DefaultRBACLimits() || d.RolesPerUser != 50 || d.Roles != 1000 {
		t.Fatalf("defaults %+v", d)
	}
	if err := CheckLimit(LimitRolesPerUser, 50, 50, "roles of user u"); err != nil {
		t.Fatal(err)
	}
	wantRBACRefusal(t, CheckLimit(LimitRolesPerUser, 51, 50, "roles of user u"), ReasonLimitExceeded, LimitRolesPerUser, "would be 51, over the limit of 50")
	apis := map[string]API{"https://orders.example.com": ordersAPI(true, false)}
	if err := UnknownPermissions([]Permission{{"https://orders.example.com", "read:orders"}}, apis); err != nil {
		t.Fatal(err)
	}
	wantRBACRefusal(t, UnknownPermissions([]Permission{{"https://nope", "read:orders"}}, apis), ReasonBadInput, FieldPermissions, "no API")
	wantRBACRefusal(t, UnknownPermissions([]Permission{{"https://orders.example.com", "fly"}}, apis), ReasonBadInput, FieldPermissions, "defines no permission")
}
