package policy

import (
	"fmt"
	"strings"
)

// Admin connections: a DATABASE connection may list management scopes
// (Connection.AdminScopes) that every one of its users holds when they log
// in — login then also returns a management token carrying exactly those
// scopes. Such a connection's users are administrators, so:
//
//   - only a caller holding every scope in a connection's list may set or
//     change it (CanGrantAdminScopes): nobody grants more than they hold;
//   - scopes are added only while it has no user and no import in
//     progress (CanAddAdminScopes): a grant must not reach accounts that
//     joined before it, without its safeguards;
//   - nobody signs up on it (CanSignup);
//   - management writes on its users — create, update, password, email
//     verification, delete, import — need every scope it grants
//     (CanManageUsersOf): whoever could set an admin's password could act
//     with that admin's scopes.

// FieldAdminScopes is the field an adminScopes refusal names (the
// connection inputs' adminScopes).
const FieldAdminScopes = "adminScopes"

// ManagementScopes are the management scopes, in the order of CONTRACT.md.
// They are the only scopes a connection may grant its users.
var ManagementScopes = []Scope{
	ScopeReadUsers, ScopeCreateUsers, ScopeUpdateUsers, ScopeUpdateUsersAppMetadata,
	ScopeDeleteUsers, ScopeReadConnections, ScopeCreateConnections, ScopeUpdateConnections,
	ScopeReadRoles, ScopeCreateRoles, ScopeUpdateRoles, ScopeDeleteRoles,
	ScopeReadResourceServers, ScopeCreateResourceServers, ScopeUpdateResourceServers, ScopeDeleteResourceServers,
	ScopeReadClients, ScopeCreateClients, ScopeUpdateClients, ScopeDeleteClients,
}

// IsManagementScope reports whether s is one of ManagementScopes.
func IsManagementScope(s Scope) bool {
	return scopeRank(s) >= 0
}

// scopeRank is s's position in ManagementScopes, or -1.
func scopeRank(s Scope) int {
	for i, m := range ManagementScopes {
		if s == m {
			return i
		}
	}
	return -1
}

// ValidateAdminScopes checks the adminScopes asked for a connection of
// strategy st and returns them in canonical order (that of
// ManagementScopes); nil when the list is empty. Refused with
// ReasonBadInput (field FieldAdminScopes): a name that is not a management
// scope, a name listed twice, and a non-empty list on a connection whose
// strategy is not DATABASE (only there does the service hold the users'
// passwords, the credentials such a grant rests on).
func ValidateAdminScopes(st Strategy, scopes []Scope) ([]Scope, error) {
	if len(scopes) == 0 {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return refuse(ReasonBadInput, FieldAdminScopes, format, args...)
	}
	if st != StrategyDatabase {
		return nil, bad("adminScopes apply to DATABASE connections only, not %s: only there does this service hold the passwords that admin sign-in rests on", st)
	}
	seen := make([]bool, len(ManagementScopes))
	for _, s := range scopes {
		i := scopeRank(s)
		if i < 0 {
			return nil, bad("adminScopes: %q is not a management scope; use %s", shorten(string(s), 64), scopeList(ManagementScopes))
		}
		if seen[i] {
			return nil, bad("adminScopes lists %s more than once", s)
		}
		seen[i] = true
	}
	out := make([]Scope, 0, len(scopes))
	for i, ok := range seen {
		if ok {
			out = append(out, ManagementScopes[i])
		}
	}
	return out, nil
}

// SameScopes reports whether a and b hold the same scopes, whatever their
// order (nil and empty are the same).
func SameScopes(a, b []Scope) bool {
	if len(a) != len(b) {
		return false
	}
	in := make(map[Scope]int, len(a))
	for _, s := range a {
		in[s]++
	}
	for _, s := range b {
		if in[s] == 0 {
			return false
		}
		in[s]--
	}
	return true
}

// missingScopes lists, in the order of want, the scopes caller does not
// hold. A self-service caller holds no management scope, whatever its
// token says.
func missingScopes(caller Caller, want []Scope) []Scope {
	var out []Scope
	for _, s := range want {
		if caller.Self || !caller.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// CanGrantAdminScopes decides whether caller may make scopes a connection's
// adminScopes (on create, or when an update changes the list): only when it
// holds every one of them, so that no one hands a connection's users — and
// so, through their passwords, themselves — a scope they lack. Refused with
// ReasonForbidden (field FieldAdminScopes) naming the missing scopes.
// Removing every scope (an empty list) needs nothing.
func CanGrantAdminScopes(caller Caller, scopes []Scope) error {
	if miss := missingScopes(caller, scopes); len(miss) > 0 {
		return refuse(ReasonForbidden, FieldAdminScopes,
			"granting adminScopes needs every scope granted, and this token lacks %s", scopeList(miss))
	}
	return nil
}

// AddedScopes lists, in the order of scopes, the scopes of scopes that old
// lacks: what changing a connection's adminScopes from old to scopes
// grants anew.
func AddedScopes(old, scopes []Scope) []Scope {
	var out []Scope
	for _, s := range scopes {
		found := false
		for _, o := range old {
			if o == s {
				found = true
				break
			}
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// CanAddAdminScopes decides whether connection c may grant the scopes
// added (AddedScopes) to its users, given whether it is in use (has a
// user, or a pending or running import). A grant reaches the users a
// connection already has, and those joined without the grant's
// safeguards: anyone could sign up, or be created or given a password by a
// caller holding only create:users or update:users. So adding a scope is
// refused, whoever asks, once the connection is in use — with
// ReasonForbidden (field FieldAdminScopes): the request is well formed,
// the connection's state forbids it, and no other input on this
// connection would be accepted. Removing scopes, and creating a
// connection with scopes (it has no user yet), are always allowed.
func CanAddAdminScopes(c Connection, added []Scope, inUse bool) error {
	if len(added) == 0 || !inUse {
		return nil
	}
	return refuse(ReasonForbidden, FieldAdminScopes,
		"connection %q already has users (or an import in progress); adding %s to its adminScopes would make administrators of accounts "+
			"that joined without that grant's safeguards. Create a new connection for admins (with the adminScopes they need) and create "+
			"their users there; removing adminScopes is always allowed",
		c.Name, scopeList(added))
}

// CanManageUsersOf decides whether a management caller may write a user of
// connection c (create, update, change its password, verify its email,
// delete it, import users into c). When c grants admin scopes the caller
// must hold every one of them: setting an admin's password or email is
// acting with the admin's scopes. Refused with ReasonForbidden (field
// "connection") naming the missing scopes; a connection without admin
// scopes asks for nothing here (the operation's own scope is checked
// elsewhere).
func CanManageUsersOf(caller Caller, c Connection) error {
	if miss := missingScopes(caller, c.AdminScopes); len(miss) > 0 {
		return refuse(ReasonForbidden, "connection",
			"connection %q grants its users the admin scopes %s; changing its users needs every one of them, and this token lacks %s",
			c.Name, scopeList(c.AdminScopes), scopeList(miss))
	}
	return nil
}

// CanSignup decides whether public sign-up is open on c: never on a
// connection that grants admin scopes (anyone signing up would be an
// administrator). Refused with ReasonForbidden (field "connection").
func CanSignup(c Connection) error {
	if len(c.AdminScopes) > 0 {
		return refuse(ReasonForbidden, "connection", "self-signup is disabled on a connection that grants admin scopes; an administrator holding those scopes creates its users")
	}
	return nil
}

func scopeList(scopes []Scope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// shorten cuts s to at most n bytes (on a rune boundary) for a message.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !runeStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s…", s[:n])
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }
