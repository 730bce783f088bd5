package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role-based access control: APIs (resource servers) define permissions,
// roles group permissions of any APIs, users hold roles and direct
// permissions. A user's effective permissions are the union of both, each
// with where it comes from (EffectivePermissions). When a token is asked
// for an API's audience, DecideAPIToken says which scopes it carries and
// whether it carries a `permissions` claim — the one decision every token
// endpoint (login, the OpenID Provider) calls.

// Permission names one permission: the API it belongs to (by identifier,
// the audience) and the permission's name (a scope that API defines).
type Permission struct {
	API  string
	Name string
}

func (p Permission) String() string { return p.API + " " + p.Name }

// APIPermission is a permission an API defines.
type APIPermission struct {
	Name        string
	Description string
}

// API is a resource server: an application's API that tokens are issued
// for.
type API struct {
	// ID is the store's key ("api_…"); Identifier is the audience tokens
	// for this API name (unique, immutable).
	ID         string
	Identifier string
	Name       string
	// Permissions are the scopes the API defines, at most
	// RBACLimits.PermissionsPerAPI.
	Permissions []APIPermission
	// EnforceRBAC: a token for this API carries only requested scopes the
	// user holds (directly or through a role). Off: any scope the API
	// defines may be requested.
	EnforceRBAC bool
	// PermissionsInToken: access tokens for this API carry a `permissions`
	// claim listing every permission the user holds for it. Needs
	// EnforceRBAC.
	PermissionsInToken bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Defines reports whether the API defines the permission name.
func (a API) Defines(name string) bool {
	for _, p := range a.Permissions {
		if p.Name == name {
			return true
		}
	}
	return false
}

// Role is a named set of permissions of any APIs.
type Role struct {
	ID          string // "rol_…"
	Name        string // unique
	Description string
	Permissions []Permission
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PermissionSource says where a user holds a permission from: directly
// (RoleID empty) or through a role.
type PermissionSource struct {
	RoleID   string
	RoleName string
}

// Direct reports whether the permission was assigned to the user directly.
func (s PermissionSource) Direct() bool { return s.RoleID == "" }

// EffectivePermission is a permission a user holds and every source it
// comes from.
type EffectivePermission struct {
	Permission
	// Sources: the direct assignment first (when there is one), then the
	// roles granting it, by role name.
	Sources []PermissionSource
}

// EffectivePermissions is the union of a user's direct permissions and
// those of its roles, ordered by API identifier then permission name, each
// with its sources. Duplicates (the same permission twice in direct, or in
// one role) count once.
func EffectivePermissions(direct []Permission, roles []Role) []EffectivePermission {
	idx := map[Permission]int{}
	var out []EffectivePermission
	add := func(p Permission, src PermissionSource) {
		i, ok := idx[p]
		if !ok {
			i = len(out)
			idx[p] = i
			out = append(out, EffectivePermission{Permission: p})
		}
		if slices.Contains(out[i].Sources, src) {
			return
		}
		out[i].Sources = append(out[i].Sources, src)
	}
	for _, p := range direct {
		add(p, PermissionSource{})
	}
	sorted := slices.Clone(roles)
	slices.SortStableFunc(sorted, func(a, b Role) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, r := range sorted {
		for _, p := range r.Permissions {
			add(p, PermissionSource{RoleID: r.ID, RoleName: r.Name})
		}
	}
	slices.SortFunc(out, func(a, b EffectivePermission) int {
		if c := strings.Compare(a.API, b.API); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// OIDCScopes are the OpenID Connect scopes a token request may carry
// besides an API's permissions; they pass through to the access token
// whatever the API's settings (they name claims of the user, not rights
// at the API). offline_access is not among them: no refresh tokens are
// issued.
var OIDCScopes = []string{"openid", "profile", "email", "address", "phone"}

// APITokenGrant is what an access token for an API carries.
type APITokenGrant struct {
	// Scopes for the token's `scope` claim, in the order requested, each
	// once.
	Scopes []string
	// Permissions for the `permissions` claim, sorted; nil when the API does
	// not add the claim (the claim is then absent, not empty). An API that
	// adds it gives a non-nil (possibly empty) list.
	Permissions []string
}

// DecideAPIToken decides what an access token for api carries for a user
// holding held (effective permissions of any APIs; others are ignored) who
// asked for the scopes requested (the `scope` parameter, split on spaces;
// nil or empty: none).
//
//   - OIDCScopes requested pass through.
//   - A requested scope the API does not define is dropped.
//   - With EnforceRBAC, a requested scope the user does not hold for this
//     API is dropped; without it, every defined scope requested is granted.
//   - With EnforceRBAC and PermissionsInToken, Permissions lists every
//     permission the user holds for the API (requested or not) that the API
//     still defines; otherwise it is nil.
//
// It is pure: the same inputs give the same grant.
func DecideAPIToken(api API, requested []string, held []Permission) APITokenGrant {
	holds := map[string]bool{}
	for _, p := range held {
		if p.API == api.Identifier && api.Defines(p.Name) {
			holds[p.Name] = true
		}
	}
	var g APITokenGrant
	seen := map[string]bool{}
	for _, s := range requested {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		switch {
		case slices.Contains(OIDCScopes, s):
		case !api.Defines(s):
			continue
		case api.EnforceRBAC && !holds[s]:
			continue
		}
		g.Scopes = append(g.Scopes, s)
	}
	if api.EnforceRBAC && api.PermissionsInToken {
		g.Permissions = make([]string, 0, len(holds))
		for name := range holds {
			g.Permissions = append(g.Permissions, name)
		}
		slices.Sort(g.Permissions)
	}
	return g
}

// ReasonLimitExceeded: a count limit would be exceeded (LIMIT_EXCEEDED);
// the refusal's Field names the limit (see RBACLimits).
const ReasonLimitExceeded Reason = "LIMIT_EXCEEDED"

// RBACLimits bound roles and permissions. A zero (or negative) field means
// its default; the defaults are Auth0's documented entity limits.
type RBACLimits struct {
	Roles                    int // roles in all; default 1,000
	RolesPerUser             int // default 50
	PermissionsPerRole       int // default 1,000
	PermissionsPerAPI        int // default 1,000
	DirectPermissionsPerUser int // default 1,000
}

// DefaultRBACLimits are the defaults.
func DefaultRBACLimits() RBACLimits {
	return RBACLimits{Roles: 1000, RolesPerUser: 50, PermissionsPerRole: 1000, PermissionsPerAPI: 1000, DirectPermissionsPerUser: 1000}
}

// WithDefaults fills zero or negative fields with their defaults.
func (l RBACLimits) WithDefaults() RBACLimits {
	d := DefaultRBACLimits()
	for _, f := range []struct{ v, d *int }{
		{&l.Roles, &d.Roles}, {&l.RolesPerUser, &d.RolesPerUser}, {&l.PermissionsPerRole, &d.PermissionsPerRole},
		{&l.PermissionsPerAPI, &d.PermissionsPerAPI}, {&l.DirectPermissionsPerUser, &d.DirectPermissionsPerUser},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return l
}

// The limits a LIMIT_EXCEEDED refusal names (its Field).
const (
	LimitRoles                    = "roles"
	LimitRolesPerUser             = "rolesPerUser"
	LimitPermissionsPerRole       = "permissionsPerRole"
	LimitPermissionsPerAPI        = "permissionsPerApi"
	LimitDirectPermissionsPerUser = "directPermissionsPerUser"
)

// CheckLimit refuses (ReasonLimitExceeded, Field limit) when n, the count
// after the change, exceeds max. what names the counted thing for the
// message ("roles of user x").
func CheckLimit(limit string, n, max int, what string) error {
	if n <= max {
		return nil
	}
	return refuse(ReasonLimitExceeded, limit, "%s would be %d, over the limit of %d (%s)", what, n, max, limit)
}

// Field names of RBAC inputs (in refusals).
const (
	FieldIdentifier  = "identifier"
	FieldPermissions = "permissions"
	FieldDescription = "description"
)

// Bounds on RBAC names.
const (
	maxIdentifierBytes     = 600
	maxAPINameBytes        = 200
	maxPermissionNameBytes = 280
	maxRoleNameBytes       = 200
	maxDescriptionBytes    = 500
)

// ReservedPermissionNames may not be permissions of an API: they are OIDC
// scopes and profile claim names (Auth0 reserves the same).
var ReservedPermissionNames = []string{
	"address", "created_at", "email", "email_verified", "family_name", "given_name", "identities",
	"name", "nickname", "offline_access", "openid", "phone", "picture", "profile",
}

// ValidateAPI checks an API's identifier, name and permissions and returns
// it with its permissions in the order given. reserved lists identifiers no
// API may take (the service's own management audience: a token for it
// must never be obtainable through an API's settings). Refused with
// ReasonBadInput (naming the field), or ReasonLimitExceeded past
// lim.PermissionsPerAPI.
func ValidateAPI(a API, lim RBACLimits, reserved []string) (API, error) {
	lim = lim.WithDefaults()
	bad := func(field, format string, args ...any) error { return refuse(ReasonBadInput, field, format, args...) }
	switch {
	case a.Identifier == "":
		return API{}, bad(FieldIdentifier, "identifier is required (the audience tokens for this API name, e.g. https://api.example.com)")
	case len(a.Identifier) > maxIdentifierBytes:
		return API{}, bad(FieldIdentifier, "identifier is %d bytes, over the limit of %d", len(a.Identifier), maxIdentifierBytes)
	case !utf8.ValidString(a.Identifier) || strings.ContainsFunc(a.Identifier, isSpaceOrControl):
		return API{}, bad(FieldIdentifier, "identifier may not contain spaces or control characters")
	case slices.Contains(reserved, a.Identifier):
		return API{}, bad(FieldIdentifier, "identifier %q is this service's own audience and cannot name an API", a.Identifier)
	}
	if err := checkName(FieldName, a.Name, maxAPINameBytes); err != nil {
		return API{}, err
	}
	if strings.ContainsAny(a.Name, "<>") {
		return API{}, bad(FieldName, "name may not contain < or >")
	}
	if a.PermissionsInToken && !a.EnforceRBAC {
		return API{}, bad("permissionsInToken", "adding permissions to the access token needs enforceRbac: without it tokens are not limited to what the user holds")
	}
	if err := CheckLimit(LimitPermissionsPerAPI, len(a.Permissions), lim.PermissionsPerAPI, "permissions of API "+shorten(a.Identifier, 64)); err != nil {
		return API{}, err
	}
	seen := make(map[string]bool, len(a.Permissions))
	for _, p := range a.Permissions {
		if err := ValidatePermissionName(p.Name); err != nil {
			return API{}, err
		}
		if seen[p.Name] {
			return API{}, bad(FieldPermissions, "permission %q is listed more than once", p.Name)
		}
		seen[p.Name] = true
		if len(p.Description) > maxDescriptionBytes || !utf8.ValidString(p.Description) {
			return API{}, bad(FieldPermissions, "the description of permission %q must be valid UTF-8 of at most %d bytes", p.Name, maxDescriptionBytes)
		}
	}
	return a, nil
}

// ValidatePermissionName checks a permission name: 1–280 bytes of the
// characters an OAuth scope token allows (RFC 6749 §3.3: printable ASCII
// except space, '"' and '\'), not one of ReservedPermissionNames.
func ValidatePermissionName(name string) error {
	bad := func(format string, args ...any) error {
		return refuse(ReasonBadInput, FieldPermissions, format, args...)
	}
	if name == "" {
		return bad("a permission name may not be empty")
	}
	if len(name) > maxPermissionNameBytes {
		return bad("permission name %q is %d bytes, over the limit of %d", shorten(name, 64), len(name), maxPermissionNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return bad("permission name %q may hold only printable ASCII without spaces, '\"' or '\\' (an OAuth scope)", shorten(name, 64))
		}
	}
	if slices.Contains(ReservedPermissionNames, name) {
		return bad("%q is reserved (an OpenID Connect scope or profile claim) and cannot be a permission", name)
	}
	return nil
}

// ValidateRole checks a role's name and description.
func ValidateRole(r Role) error {
	if err := checkName(FieldName, r.Name, maxRoleNameBytes); err != nil {
		return err
	}
	if len(r.Description) > maxDescriptionBytes || !utf8.ValidString(r.Description) {
		return refuse(ReasonBadInput, FieldDescription, "description must be valid UTF-8 of at most %d bytes", maxDescriptionBytes)
	}
	return nil
}

func checkName(field, v string, max int) error {
	switch {
	case strings.TrimSpace(v) == "":
		return refuse(ReasonBadInput, field, "%s is required", field)
	case len(v) > max:
		return refuse(ReasonBadInput, field, "%s is %d bytes, over the limit of %d", field, len(v), max)
	case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
		return refuse(ReasonBadInput, field, "%s must be valid UTF-8 without control characters", field)
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// UnknownPermissions lists the permissions of ps that no API of apis (by
// identifier) defines, as a refusal (ReasonBadInput, FieldPermissions), or
// nil when all are defined.
func UnknownPermissions(ps []Permission, apis map[string]API) error {
	for _, p := range ps {
		a, ok := apis[p.API]
		if !ok {
			return refuse(ReasonBadInput, FieldPermissions, "no API has the identifier %q", shorten(p.API, 64))
		}
		if !a.Defines(p.Name) {
			return refuse(ReasonBadInput, FieldPermissions, "API %q defines no permission %q", shorten(p.API, 64), shorten(p.Name, 64))
		}
	}
	return nil
}

// Describe lists permissions for an event's detail ("api name, api name").
func Describe(ps []Permission) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%s %s", p.API, p.Name)
	}
	return strings.Join(parts, ", ")
}
