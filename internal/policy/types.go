// Package policy is the domain model of Profiled and the decisions taken
// on it. The name says "policy" for the decisions, but the package holds
// both halves, on purpose:
//
//   - the model: users, connections, identities, metadata, callers and
//     their scopes, APIs, roles and permissions (types.go, rbac.go), and the
//     profile a script or an upstream IdP returns (profile.go);
//   - the decisions: which caller may change which field of which user,
//     given the user's connection and its mode (decide.go, explained to the
//     dashboard by explain.go; see POLICY.md in the project's shared docs,
//     mirrored in docs/POLICY.md), who may manage users or grant admin
//     scopes (adminscopes.go), what an API token carries (rbac.go), what a
//     login makes of a returned profile (login.go) and what a create
//     request must satisfy (create.go, validate.go).
//
// It is pure: it imports only the standard library, performs no I/O, reads
// no clock and no environment. Every input, including "now", is a value; every
// refusal is a value (*Refusal), never a panic. Callers (the service package)
// load the user and the connection, ask this package what to do, run the
// scripts it names and store the result, all in one transaction. Why the
// model and the decisions share one package: docs/RATIONALE.md ("Why is the
// domain model in policy?").
package policy

import (
	"fmt"
	"strings"
	"time"
)

// Strategy is the kind of a connection: where its users' data comes from.
type Strategy string

// The connection strategies.
const (
	StrategyDatabase       Strategy = "DATABASE"
	StrategyCustomDatabase Strategy = "CUSTOM_DATABASE"
	StrategyOIDC           Strategy = "OIDC"
	StrategyPasswordless   Strategy = "PASSWORDLESS"
)

// Valid reports whether s is one of the known strategies.
func (s Strategy) Valid() bool {
	switch s {
	case StrategyDatabase, StrategyCustomDatabase, StrategyOIDC, StrategyPasswordless:
		return true
	}
	return false
}

// Action names a custom-database action script export.
type Action string

// The seven custom-database actions.
const (
	ActionLogin          Action = "login"
	ActionGetUser        Action = "get_user"
	ActionCreate         Action = "create"
	ActionVerify         Action = "verify"
	ActionChangePassword Action = "change_password"
	ActionDelete         Action = "delete"
	ActionChangeEmail    Action = "change_email"
)

// Connection is what the policy needs to know of a connection.
type Connection struct {
	Name            string
	Strategy        Strategy
	ImportMode      bool // CUSTOM_DATABASE only: automatic migration
	SyncUserProfile bool // CUSTOM_DATABASE legacy and OIDC: root attributes overwritten at each login
	// Actions is the set of actions the connection's script module exports
	// (empty when no module is set).
	Actions map[Action]bool
	// AdminScopes are the management scopes every user of the connection
	// holds when they log in (DATABASE only; empty for none). See
	// ValidateAdminScopes, CanManageUsersOf and CanSignup.
	AdminScopes []Scope
	// RequiresUsername: the connection's users have a username and may
	// log in with it instead of their email (Auth0's requires_username).
	// DATABASE and CUSTOM_DATABASE only. On a DATABASE connection a new
	// user needs one (ValidateUsername).
	RequiresUsername bool
}

// Legacy reports whether the connection is a custom database in legacy mode
// (the custom database is the source of truth).
func (c Connection) Legacy() bool {
	return c.Strategy == StrategyCustomDatabase && !c.ImportMode
}

// Metadata is a user_metadata / app_metadata object.
type Metadata map[string]any

// Identity is one identity of a user at a provider.
type Identity struct {
	Connection  string
	Provider    string // see ProviderFor: "profiled", "custom-database" or "oidc"
	UserID      string // the id at the provider (for custom DB: the id the script returned)
	IsSocial    bool
	ProfileData Metadata // raw attributes the source returned that have no normalized field
}

// User is the cached, normalized profile plus service-owned data.
// Empty strings mean "not set".
type User struct {
	ID            string
	Connection    string
	Email         string
	EmailVerified bool
	Username      string
	PhoneNumber   string
	PhoneVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Nickname      string
	Picture       string
	Blocked       bool
	UserMetadata  Metadata
	AppMetadata   Metadata
	Identities    []Identity
	// Migrated is true for a user of an import-mode custom database who has
	// been copied into the service's store (the service is now their IdP).
	Migrated bool
	// PasswordHash is the service-held password hash (PHC/bcrypt string);
	// empty for users whose password the service does not hold.
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLogin    *time.Time
	LastIP       string
	LoginsCount  int64
}

// Scope is an OAuth scope carried by a token.
type Scope string

// The scopes of CONTRACT.md.
const (
	ScopeReadUsers                 Scope = "read:users"
	ScopeCreateUsers               Scope = "create:users"
	ScopeUpdateUsers               Scope = "update:users"
	ScopeUpdateUsersAppMetadata    Scope = "update:users_app_metadata"
	ScopeDeleteUsers               Scope = "delete:users"
	ScopeReadConnections           Scope = "read:connections"
	ScopeCreateConnections         Scope = "create:connections"
	ScopeUpdateConnections         Scope = "update:connections"
	ScopeReadRoles                 Scope = "read:roles"
	ScopeCreateRoles               Scope = "create:roles"
	ScopeUpdateRoles               Scope = "update:roles"
	ScopeDeleteRoles               Scope = "delete:roles"
	ScopeReadResourceServers       Scope = "read:resource_servers"
	ScopeCreateResourceServers     Scope = "create:resource_servers"
	ScopeUpdateResourceServers     Scope = "update:resource_servers"
	ScopeDeleteResourceServers     Scope = "delete:resource_servers"
	ScopeReadClients               Scope = "read:clients"
	ScopeCreateClients             Scope = "create:clients"
	ScopeUpdateClients             Scope = "update:clients"
	ScopeDeleteClients             Scope = "delete:clients"
	ScopeReadCurrentUser           Scope = "read:current_user"
	ScopeUpdateCurrentUserMetadata Scope = "update:current_user_metadata"
)

// Caller is who asks. A user token (Self) acts on its own user only.
type Caller struct {
	Subject string // token subject: a user id for user tokens
	Scopes  map[Scope]bool
	// Self is true for a user (self-service) token, false for a management token.
	Self bool
}

// Has reports whether the caller holds scope s.
func (c Caller) Has(s Scope) bool { return c.Scopes[s] }

// Update is a requested change to a user through the management API
// (updateUser) or self-service (updateMe). A nil pointer means "not asked".
//
// Metadata fields are patches: nil means not asked; a non-nil empty map
// clears the object; otherwise each top-level key replaces that key and a key
// whose value is nil removes it.
type Update struct {
	Email         *string
	EmailVerified *bool
	Username      *string
	PhoneNumber   *string
	Password      *string
	Name          *string
	GivenName     *string
	FamilyName    *string
	Nickname      *string
	Picture       *string
	Blocked       *bool
	UserMetadata  Metadata
	AppMetadata   Metadata
}

// Field names as they appear in the GraphQL API (used in refusals).
const (
	FieldEmail         = "email"
	FieldEmailVerified = "emailVerified"
	FieldUsername      = "username"
	FieldPhoneNumber   = "phoneNumber"
	FieldPassword      = "password"
	FieldName          = "name"
	FieldGivenName     = "givenName"
	FieldFamilyName    = "familyName"
	FieldNickname      = "nickname"
	FieldPicture       = "picture"
	FieldBlocked       = "blocked"
	FieldUserMetadata  = "userMetadata"
	FieldAppMetadata   = "appMetadata"
)

// Reason is the stable code of a refusal.
type Reason string

// The refusal reasons; the API maps them to extensions.code.
const (
	// ReasonFieldNotUpdatable: the field cannot be changed for this user
	// through this service (FIELD_NOT_UPDATABLE).
	ReasonFieldNotUpdatable Reason = "FIELD_NOT_UPDATABLE"
	// ReasonForbidden: the caller lacks the scope (FORBIDDEN).
	ReasonForbidden Reason = "FORBIDDEN"
	// ReasonBadInput: the value is invalid (BAD_USER_INPUT).
	ReasonBadInput Reason = "BAD_USER_INPUT"
)

// Refusal is a typed "no" from the policy. It names the field and says why
// and, where there is one, where to change it instead.
type Refusal struct {
	Reason  Reason
	Field   string
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// ChangeEmail asks the caller to run the connection's change_email script
// before saving (legacy custom database).
type ChangeEmail struct {
	Email    string // current email
	NewEmail string
	Verified bool
}

// Decision is what an accepted update turns into.
type Decision struct {
	// User is the user as it must be stored (UpdatedAt set to now when
	// anything changed). For a password change PasswordHash is NOT set here:
	// hashing is the caller's job (see SetLocalPassword).
	User User
	// Changed lists the API field names that change (for events/logs).
	Changed []string
	// ChangeEmail, when non-nil, must run (and succeed) before saving.
	ChangeEmail *ChangeEmail
	// ChangePasswordScript: run the connection's change_password script with
	// NewPassword (legacy custom database). The service stores no password.
	ChangePasswordScript bool
	// SetLocalPassword: hash NewPassword and store it in User.PasswordHash.
	SetLocalPassword bool
	// NewPassword is the requested password, when one was requested.
	NewPassword string
}

// Limits are the configurable bounds the policy enforces. A zero (or
// negative) field means its default, so Limits{} behaves as DefaultLimits().
type Limits struct {
	MetadataMaxBytes int // per metadata object, serialized JSON; default 16 KiB
	PasswordMinBytes int // default 8
	PasswordMaxBytes int // default 72 (bcrypt's input limit)
}

// DefaultLimits are the documented defaults.
func DefaultLimits() Limits {
	return Limits{MetadataMaxBytes: 16 << 10, PasswordMinBytes: 8, PasswordMaxBytes: 72}
}

// withDefaults fills zero or negative fields with their defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MetadataMaxBytes <= 0 {
		l.MetadataMaxBytes = d.MetadataMaxBytes
	}
	if l.PasswordMinBytes <= 0 {
		l.PasswordMinBytes = d.PasswordMinBytes
	}
	if l.PasswordMaxBytes <= 0 {
		l.PasswordMaxBytes = d.PasswordMaxBytes
	}
	return l
}

// Identity providers (Identity.Provider).
const (
	// ProviderProfiled: the service itself is the identity provider
	// (DATABASE and PASSWORDLESS connections).
	ProviderProfiled = "profiled"
	// ProviderCustomDatabase: a custom database reached through action
	// scripts (legacy and import mode alike).
	ProviderCustomDatabase = "custom-database"
	// ProviderOIDC: an upstream OpenID Connect provider.
	ProviderOIDC = "oidc"
)

// ProviderFor is the Identity.Provider of a user of a connection with
// strategy s. An unknown strategy gives its lower-cased name.
func ProviderFor(s Strategy) string {
	switch s {
	case StrategyDatabase, StrategyPasswordless:
		return ProviderProfiled
	case StrategyCustomDatabase:
		return ProviderCustomDatabase
	case StrategyOIDC:
		return ProviderOIDC
	}
	return strings.ToLower(string(s))
}

// refuse builds a *Refusal as an error (never a typed nil).
func refuse(reason Reason, field, format string, args ...any) error {
	return &Refusal{Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}
