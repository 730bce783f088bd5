package policy

import (
	"strings"
	"time"
)

// NewLocalUser builds a user the service is the IdP for (DATABASE,
// PASSWORDLESS, import-mode custom database signup/createUser), from the
// fields of a create request; id is the generated id (already namespaced).
// The caller validates the fields first with ValidateCreate.
func NewLocalUser(id string, c Connection, in Create, now time.Time) User {
	idpID := id
	if rest, ok := strings.CutPrefix(id, c.Name+"|"); ok {
		idpID = rest
	} else if _, rest, ok := strings.Cut(id, "|"); ok {
		idpID = rest
	}
	return User{
		ID:            id,
		Connection:    c.Name,
		Email:         strings.ToLower(in.Email),
		EmailVerified: in.EmailVerified,
		Username:      in.Username,
		PhoneNumber:   in.PhoneNumber,
		Name:          in.Name,
		GivenName:     in.GivenName,
		FamilyName:    in.FamilyName,
		Nickname:      in.Nickname,
		Picture:       in.Picture,
		Blocked:       in.Blocked,
		UserMetadata:  cloneMetadata(in.UserMetadata),
		AppMetadata:   cloneMetadata(in.AppMetadata),
		Identities: []Identity{{
			Connection: c.Name,
			Provider:   ProviderFor(c.Strategy),
			UserID:     idpID,
			IsSocial:   c.Strategy == StrategyOIDC,
		}},
		// An import-mode user created here is in the store from the start.
		Migrated:  c.Strategy == StrategyCustomDatabase && c.ImportMode,
		CreatedAt: now,
		UpdatedAt: now,
	}
}

// Create is a create request (createUser / signup).
type Create struct {
	Email         string
	Password      string
	Username      string
	PhoneNumber   string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Nickname      string
	Picture       string
	Blocked       bool
	UserMetadata  Metadata
	AppMetadata   Metadata
}

// ValidateCreate checks a create request for connection c (email format,
// password length for connections where the service or script takes a
// password, metadata rules, that the connection's strategy allows creating
// users here: OIDC users cannot be created). Returns a *Refusal.
//
// Checks run in this order; the first failure is returned:
//  1. the connection (Field "connection"): strategy known and not OIDC; a
//     legacy custom database needs a script module exporting get_user,
//     create and login (the create flow is get_user → create → login);
//  2. email (required for every connection kind; ValidateEmail);
//  3. password: required with ValidatePassword for DATABASE and
//     CUSTOM_DATABASE; refused when given for PASSWORDLESS;
//  4. userMetadata, then appMetadata (ValidateMetadata).
func ValidateCreate(c Connection, in Create, lim Limits) error {
	const fieldConnection = "connection"
	switch c.Strategy {
	case StrategyDatabase, StrategyPasswordless:
	case StrategyCustomDatabase:
		if !c.ImportMode {
			for _, a := range [...]Action{ActionGetUser, ActionCreate, ActionLogin} {
				if !c.Actions[a] {
					return refuse(ReasonBadInput, fieldConnection, "users cannot be created in custom database connection %q: its script module does not export %s "+
						"(creating a user runs get_user, create, then login)", c.Name, a)
				}
			}
		}
	case StrategyOIDC:
		return refuse(ReasonBadInput, fieldConnection, "users cannot be created in OIDC connection %q: they are created at their first login through the identity provider", c.Name)
	default:
		return refuse(ReasonBadInput, fieldConnection, "connection %q has the unknown strategy %q", c.Name, c.Strategy)
	}
	if _, err := ValidateEmail(in.Email); err != nil {
		return err
	}
	if c.Strategy == StrategyPasswordless {
		if in.Password != "" {
			return refuse(ReasonBadInput, FieldPassword, "users of passwordless connection %q have no password: they sign in with a one-time code", c.Name)
		}
	} else if err := ValidatePassword(in.Password, lim); err != nil {
		return err
	}
	for _, a := range [...]struct{ field, v string }{
		{FieldUsername, in.Username}, {FieldPhoneNumber, in.PhoneNumber}, {FieldName, in.Name},
		{FieldGivenName, in.GivenName}, {FieldFamilyName, in.FamilyName}, {FieldNickname, in.Nickname}, {FieldPicture, in.Picture},
	} {
		if err := ValidateAttribute(a.field, a.v); err != nil {
			return err
		}
	}
	if err := ValidateMetadata(in.UserMetadata, false, lim); err != nil {
		return err
	}
	return ValidateMetadata(in.AppMetadata, true, lim)
}
