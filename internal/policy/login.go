package policy

import (
	"strings"
	"time"
)

// UserIDFor derives the service's user id for a user of connection conn
// whose id at the source is sourceID. Ids of different connections never
// collide: the connection name is part of the id ("conn|sourceID").
func UserIDFor(conn, sourceID string) string {
	return conn + "|" + sourceID
}

// ApplyLogin merges a profile returned at login (custom database script or
// upstream IdP) into the cached user, following POLICY.md:
//   - existing == nil: a new user is built from the profile (metadata seeded
//     from the profile, CreatedAt = now, Migrated = c.ImportMode for a custom
//     database), with one identity {c.Name, provider, p.UserID, profile data}.
//   - existing != nil: the fields that come from the connection (email,
//     email_verified, username, phone_number, identity profile data) are
//     overwritten; root attributes only when c.SyncUserProfile is on;
//     user_metadata, app_metadata, blocked and counters are kept.
//
// Either way LastLogin = now, LastIP = ip, LoginsCount++ and UpdatedAt = now.
// ID is UserIDFor(c.Name, p.UserID). The email is stored lower-cased.
// Migrated becomes true for an import-mode custom database (a successful
// login through its script migrates the user; storing the password hash is
// the caller's job) and is otherwise kept. The identity of c is replaced
// (or added) with IsSocial true only for OIDC and Provider ProviderFor.
// existing is never mutated; maps not replaced are shared with it.
func ApplyLogin(existing *User, p Profile, c Connection, ip string, now time.Time) User {
	ident := Identity{
		Connection:  c.Name,
		Provider:    ProviderFor(c.Strategy),
		UserID:      p.UserID,
		IsSocial:    c.Strategy == StrategyOIDC,
		ProfileData: cloneMetadata(p.Extra),
	}
	importMode := c.Strategy == StrategyCustomDatabase && c.ImportMode
	var u User
	if existing == nil {
		u = User{
			CreatedAt:    now,
			UserMetadata: cloneMetadata(p.UserMetadata),
			AppMetadata:  cloneMetadata(p.AppMetadata),
			Identities:   []Identity{ident},
		}
		setRootAttributes(&u, p)
	} else {
		u = *existing
		if c.SyncUserProfile {
			setRootAttributes(&u, p)
		}
		u.Identities = withIdentity(existing.Identities, ident)
	}
	// A successful login through the script of an import-mode connection
	// migrates the user (the caller stores the password hash).
	u.Migrated = u.Migrated || importMode
	u.ID = UserIDFor(c.Name, p.UserID)
	u.Connection = c.Name
	u.Email = strings.ToLower(p.Email)
	u.EmailVerified = p.EmailVerified
	u.Username = p.Username
	u.PhoneNumber = p.PhoneNumber
	u.PhoneVerified = p.PhoneVerified
	at := now
	u.LastLogin = &at
	u.LastIP = ip
	u.LoginsCount++
	u.UpdatedAt = now
	return u
}

func setRootAttributes(u *User, p Profile) {
	u.Name = p.Name
	u.GivenName = p.GivenName
	u.FamilyName = p.FamilyName
	u.Nickname = p.Nickname
	u.Picture = p.Picture
}

// withIdentity returns a copy of ids with the identity of ident's connection
// replaced by ident (appended when there is none).
func withIdentity(ids []Identity, ident Identity) []Identity {
	out := make([]Identity, len(ids), len(ids)+1)
	copy(out, ids)
	for i := range out {
		if out[i].Connection == ident.Connection {
			out[i] = ident
			return out
		}
	}
	return append(out, ident)
}

// cloneMetadata is a shallow copy; nil stays nil.
func cloneMetadata(m Metadata) Metadata {
	if m == nil {
		return nil
	}
	return MergeMetadata(m, nil)
}
