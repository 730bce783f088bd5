// Package model holds the GraphQL-facing types: thin read-only views over
// the domain values (policy.User, service.Connection) whose methods gqlgen
// binds directly, so reading a field costs a method call, not a resolver
// goroutine. Generated input types live in models_gen.go.
package model

import (
	"sort"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// User is the GraphQL view of a user.
type User struct {
	U policy.User
	// AppMetadataDenied is nil when the caller may read appMetadata, and
	// otherwise returns the field's error. The resolver that produced the
	// user decides it once for the operation's caller, so reading the
	// field is a plain method call (no context: gqlgen resolves fields
	// whose method takes one in a goroutine each, one per user of a list).
	AppMetadataDenied func() error
}

// optional is nil for "", else p (a field of the view's user: no copy).
func optional(p *string) *string {
	if *p == "" {
		return nil
	}
	return p
}

func (u *User) ID() string             { return u.U.ID }
func (u *User) Connection() string     { return u.U.Connection }
func (u *User) Email() *string         { return optional(&u.U.Email) }
func (u *User) EmailVerified() bool    { return u.U.EmailVerified }
func (u *User) Username() *string      { return optional(&u.U.Username) }
func (u *User) PhoneNumber() *string   { return optional(&u.U.PhoneNumber) }
func (u *User) PhoneVerified() bool    { return u.U.PhoneVerified }
func (u *User) Name() *string          { return optional(&u.U.Name) }
func (u *User) GivenName() *string     { return optional(&u.U.GivenName) }
func (u *User) FamilyName() *string    { return optional(&u.U.FamilyName) }
func (u *User) Nickname() *string      { return optional(&u.U.Nickname) }
func (u *User) Picture() *string       { return optional(&u.U.Picture) }
func (u *User) Blocked() bool          { return u.U.Blocked }
func (u *User) Migrated() bool         { return u.U.Migrated }
func (u *User) CreatedAt() time.Time   { return u.U.CreatedAt }
func (u *User) UpdatedAt() time.Time   { return u.U.UpdatedAt }
func (u *User) LastLogin() *time.Time  { return u.U.LastLogin }
func (u *User) LastIP() *string        { return optional(&u.U.LastIP) }
func (u *User) LoginsCount() int       { return int(u.U.LoginsCount) }
func (u *User) UserMetadata() Metadata { return nonNil(u.U.UserMetadata) }

// AppMetadata returns the app metadata when the caller may read it.
func (u *User) AppMetadata() (Metadata, error) {
	if u.AppMetadataDenied != nil {
		return nil, u.AppMetadataDenied()
	}
	return nonNil(u.U.AppMetadata), nil
}

// Identities returns the user's identities.
func (u *User) Identities() []Identity {
	out := make([]Identity, len(u.U.Identities))
	for i, id := range u.U.Identities {
		out[i] = Identity{I: id}
	}
	return out
}

func nonNil(m policy.Metadata) Metadata {
	if m == nil {
		return Metadata{}
	}
	return Metadata(m)
}

// Identity is the GraphQL view of an identity.
type Identity struct{ I policy.Identity }

func (i Identity) Connection() string { return i.I.Connection }
func (i Identity) Provider() string   { return i.I.Provider }
func (i Identity) UserID() string     { return i.I.UserID }
func (i Identity) IsSocial() bool     { return i.I.IsSocial }
func (i Identity) ProfileData() Metadata {
	if i.I.ProfileData == nil {
		return nil
	}
	return Metadata(i.I.ProfileData)
}

// Connection is the GraphQL view of a connection. It never exposes the
// database URL or the configuration values.
type Connection struct{ C service.Connection }

func (c *Connection) Name() string          { return c.C.Name }
func (c *Connection) Strategy() Strategy    { return Strategy(c.C.Strategy) }
func (c *Connection) ImportMode() bool      { return c.C.ImportMode }
func (c *Connection) SyncUserProfile() bool { return c.C.SyncUserProfile }

// RequiresUsername: users may log in with their username.
func (c *Connection) RequiresUsername() bool { return c.C.RequiresUsername }
func (c *Connection) HasScript() bool        { return len(c.C.ScriptSHA256) > 0 }
func (c *Connection) HasDatabaseURL() bool   { return c.C.DatabaseURL != "" }
func (c *Connection) CreatedAt() time.Time   { return c.C.CreatedAt }
func (c *Connection) UpdatedAt() time.Time   { return c.C.UpdatedAt }
func (c *Connection) ScriptSha256() *string  { return optional(&c.C.ScriptSHA256) }
func (c *Connection) ScriptTimeoutMs() int {
	return int(service.ScriptTimeout(c.C) / time.Millisecond)
}

// Actions lists the exported script actions, sorted.
func (c *Connection) Actions() []string {
	out := make([]string, 0, len(c.C.Actions))
	for a, ok := range c.C.Actions {
		if ok {
			out = append(out, string(a))
		}
	}
	sort.Strings(out)
	return out
}

// AdminScopes lists the management scopes the connection grants its users
// at login (never nil).
func (c *Connection) AdminScopes() []string {
	out := make([]string, len(c.C.AdminScopes))
	for i, s := range c.C.AdminScopes {
		out[i] = string(s)
	}
	return out
}

// ConfigurationKeys lists the configuration's keys, sorted, never values.
func (c *Connection) ConfigurationKeys() []string {
	out := make([]string, 0, len(c.C.Configuration))
	for k := range c.C.Configuration {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
