package policy

import (
	"fmt"
	"time"
)

// DecideUpdate applies the update matrix of POLICY.md to a requested change.
//
// It returns the decision, or a *Refusal when any asked field is refused
// (all-or-nothing: one refused field refuses the whole request). Fields are
// checked in a fixed order so the named field is deterministic.
//
// Scope rules: a management caller needs update:users for any field, except
// that appMetadata alone may be changed with update:users_app_metadata; for
// a user of a connection that grants admin scopes it must also hold every
// one of them (see CanManageUsersOf). A
// self-service caller (Caller.Self) may change only userMetadata of its own
// user (Subject == u.ID) with update:current_user_metadata. Management
// scopes mean nothing on a self-service token. An empty request still needs
// the scope (any of the above).
//
// c must be u's connection. The checks run in three passes, each over the
// asked fields in the order of the Update struct (email, emailVerified,
// username, phoneNumber, password, name, givenName, familyName, nickname,
// picture, blocked, userMetadata, appMetadata); the first failure is
// returned:
//  1. scopes (ReasonForbidden), then the admin scopes of an admin
//     connection (ReasonForbidden);
//  2. the matrix (ReasonFieldNotUpdatable) — decided by which fields are
//     present, not by their values: sending the current value of a field the
//     matrix refuses is still refused, as in Auth0;
//  3. values (ReasonBadInput): email format, password length, metadata
//     rules on the patch and then the size of the merged object.
//
// The matrix columns are chosen from the connection and the user: a user of
// an import-mode custom database is in the "import (migrated)" column when
// u.Migrated; a cached user of an import-mode connection who is not
// migrated (possible only when a legacy connection was switched to import
// mode) keeps the custom database as source of truth, so only userMetadata,
// appMetadata and blocked may change. A connection with an unknown strategy
// allows only those three too. PASSWORDLESS connections are not split into
// email and SMS here: emailVerified is updatable for both.
//
// The decision: User is u with the change applied (u itself is never
// mutated; maps and slices not changed are shared with u). Emails are
// stored lower-cased. A changed email resets emailVerified to false unless
// emailVerified is in the same request. Changed lists the fields whose value
// changes (a password always counts); when it is empty, User.UpdatedAt is
// u.UpdatedAt, otherwise now.
//
// For a legacy custom-database user, an email change (or an emailVerified
// sent along with email) turns into Decision.ChangeEmail, which carries the
// resulting verified flag; it is nil when neither value changes. A password
// turns into ChangePasswordScript (legacy) or SetLocalPassword (the service
// is the IdP), with NewPassword set.
func DecideUpdate(u User, c Connection, caller Caller, req Update, lim Limits, now time.Time) (Decision, error) {
	lim = lim.withDefaults()
	var buf [numFields]string
	asked := askedFields(req, buf[:0])

	if err := checkScopes(u, caller, asked); err != nil {
		return Decision{}, err
	}
	if err := checkAdminConnection(c, caller, asked); err != nil {
		return Decision{}, err
	}
	col := columnOf(u, c)
	for _, f := range asked {
		if err := checkMatrix(col, c, f, req); err != nil {
			return Decision{}, err
		}
	}
	return apply(u, col, req, lim, now)
}

// numFields is the number of fields of Update.
const numFields = 13

// askedFields appends the names of the fields req asks for, in check order.
func askedFields(req Update, out []string) []string {
	add := func(asked bool, f string) {
		if asked {
			out = append(out, f)
		}
	}
	add(req.Email != nil, FieldEmail)
	add(req.EmailVerified != nil, FieldEmailVerified)
	add(req.Username != nil, FieldUsername)
	add(req.PhoneNumber != nil, FieldPhoneNumber)
	add(req.Password != nil, FieldPassword)
	add(req.Name != nil, FieldName)
	add(req.GivenName != nil, FieldGivenName)
	add(req.FamilyName != nil, FieldFamilyName)
	add(req.Nickname != nil, FieldNickname)
	add(req.Picture != nil, FieldPicture)
	add(req.Blocked != nil, FieldBlocked)
	add(req.UserMetadata != nil, FieldUserMetadata)
	add(req.AppMetadata != nil, FieldAppMetadata)
	return out
}

func forbidden(field, format string, args ...any) error {
	return refuse(ReasonForbidden, field, format, args...)
}

// checkScopes applies the scope rules to the asked fields, in order.
func checkScopes(u User, caller Caller, asked []string) error {
	first := ""
	if len(asked) > 0 {
		first = asked[0]
	}
	if caller.Self {
		for _, f := range asked {
			if f != FieldUserMetadata {
				return forbidden(f, "a user token may change only userMetadata; changing %s needs a management token with update:users", f)
			}
		}
		if caller.Subject == "" || caller.Subject != u.ID {
			return forbidden(first, "a user token may change only its own user")
		}
		if !caller.Has(ScopeUpdateCurrentUserMetadata) {
			return forbidden(first, "changing your own userMetadata needs the scope update:current_user_metadata")
		}
		return nil
	}
	if caller.Has(ScopeUpdateUsers) {
		return nil
	}
	if caller.Has(ScopeUpdateUsersAppMetadata) {
		for _, f := range asked {
			if f != FieldAppMetadata {
				return forbidden(f, "changing %s needs the scope update:users; update:users_app_metadata allows appMetadata only", f)
			}
		}
		return nil
	}
	return forbidden(first, "updating a user needs the scope update:users (or update:users_app_metadata for appMetadata alone)")
}

// checkAdminConnection applies CanManageUsersOf to a management caller,
// naming the first asked field (as checkScopes does). A self-service caller
// changes only its own userMetadata, which grants nothing.
func checkAdminConnection(c Connection, caller Caller, asked []string) error {
	if caller.Self {
		return nil
	}
	err := CanManageUsersOf(caller, c)
	if r, ok := err.(*Refusal); ok && len(asked) > 0 {
		r.Field = asked[0]
	}
	return err
}

// column is a column of the POLICY.md matrix, plus two the matrix does not
// name (see DecideUpdate).
type column int

const (
	colDatabase column = iota
	colLegacySyncOn
	colLegacySyncOff
	colImport // a migrated user of an import-mode custom database
	colOIDCSyncOn
	colOIDCSyncOff
	colPasswordless
	colImportNotMigrated
	colUnknown
	numColumns
)

func columnOf(u User, c Connection) column {
	switch c.Strategy {
	case StrategyDatabase:
		return colDatabase
	case StrategyPasswordless:
		return colPasswordless
	case StrategyOIDC:
		if c.SyncUserProfile {
			return colOIDCSyncOn
		}
		return colOIDCSyncOff
	case StrategyCustomDatabase:
		switch {
		case c.ImportMode && u.Migrated:
			return colImport
		case c.ImportMode:
			return colImportNotMigrated
		case c.SyncUserProfile:
			return colLegacySyncOn
		}
		return colLegacySyncOff
	}
	return colUnknown
}

// row is a row of the matrix: fields that share a rule.
type row int

const (
	rowAlways        row = iota // userMetadata, appMetadata, blocked
	rowEmail                    // email
	rowEmailVerified            // emailVerified
	rowPassword                 // password
	rowIdentifier               // username, phoneNumber
	rowRoot                     // name, givenName, familyName, nickname, picture
	numRows
)

func rowOf(field string) row {
	switch field {
	case FieldEmail:
		return rowEmail
	case FieldEmailVerified:
		return rowEmailVerified
	case FieldPassword:
		return rowPassword
	case FieldUsername, FieldPhoneNumber:
		return rowIdentifier
	case FieldName, FieldGivenName, FieldFamilyName, FieldNickname, FieldPicture:
		return rowRoot
	}
	return rowAlways
}

// verdict is a cell of the matrix.
type verdict uint8

const (
	yes    verdict = iota
	no             // FIELD_NOT_UPDATABLE
	script         // legacy custom database: through change_email / change_password
	na             // does not apply (a passwordless user has no password)
)

// matrix is POLICY.md's table (never written to). Columns: DATABASE, legacy
// sync on, legacy sync off, import (migrated), OIDC sync on, OIDC sync off,
// PASSWORDLESS, import not migrated, unknown strategy.
var matrix = [numRows][numColumns]verdict{
	rowAlways:        {yes, yes, yes, yes, yes, yes, yes, yes, yes},
	rowEmail:         {yes, script, script, yes, no, no, yes, no, no},
	rowEmailVerified: {yes, no, no, yes, no, no, yes, no, no},
	rowPassword:      {yes, script, script, yes, no, no, na, no, no},
	rowIdentifier:    {yes, no, no, yes, no, no, yes, no, no},
	rowRoot:          {yes, no, yes, yes, no, yes, yes, no, no},
}

func notUpdatable(field, format string, args ...any) error {
	return refuse(ReasonFieldNotUpdatable, field, format, args...)
}

// checkMatrix refuses field f when the matrix (and its footnotes) says so,
// with a message saying why and where to change it instead.
func checkMatrix(col column, c Connection, f string, req Update) error {
	r := rowOf(f)
	switch matrix[r][col] {
	case yes:
		return nil
	case script:
		if r == rowEmail && !c.Actions[ActionChangeEmail] {
			return notUpdatable(f, "email cannot be changed here: the script module of custom database connection %q does not export change_email; "+
				"add change_email to the module, or change it in the custom database; the profile refreshes at the user's next login", c.Name)
		}
		if r == rowPassword && !c.Actions[ActionChangePassword] {
			return notUpdatable(f, "password cannot be changed here: the script module of custom database connection %q does not export change_password "+
				"(the service stores no password for its users); add change_password to the module, or change the password in the custom database", c.Name)
		}
		return nil
	case na:
		return notUpdatable(f, "users of passwordless connection %q have no password: they sign in with a one-time code", c.Name)
	}
	// no
	switch col {
	case colLegacySyncOn, colLegacySyncOff:
		if r == rowEmailVerified {
			// Footnote 1: the change_email script carries the verified flag.
			// email precedes emailVerified in check order, so when email is
			// asked here it has already passed (change_email is exported).
			if req.Email != nil {
				return nil
			}
			return notUpdatable(f, "emailVerified cannot be changed alone for a user of custom database connection %q (legacy mode, the custom database is the source of truth); "+
				"send it together with email so the change_email script sets it, or change it in the custom database; the profile refreshes at the user's next login", c.Name)
		}
		msg := fmt.Sprintf("%s cannot be changed here for a user of custom database connection %q (legacy mode, the custom database is the source of truth); "+
			"change it in the custom database; the profile refreshes at the user's next login", f, c.Name)
		if r == rowRoot {
			msg += "; or turn off syncUserProfile on the connection to make root attributes editable here"
		}
		return notUpdatable(f, "%s", msg)
	case colOIDCSyncOn, colOIDCSyncOff:
		switch {
		case r == rowPassword:
			return notUpdatable(f, "the password of a user of OIDC connection %q is held by the identity provider; change it there", c.Name)
		case r == rowRoot:
			return notUpdatable(f, "%s comes from the identity provider of OIDC connection %q and is overwritten at each login; "+
				"change it at the identity provider, or turn off syncUserProfile on the connection to make root attributes editable here", f, c.Name)
		}
		return notUpdatable(f, "%s comes from the identity provider of OIDC connection %q and is refreshed at each login; change it at the identity provider", f, c.Name)
	case colImportNotMigrated:
		return notUpdatable(f, "%s cannot be changed here: the user of import-mode connection %q has not been migrated yet, so the custom database is still the source of truth; "+
			"change it in the custom database, or let the user log in once to migrate them", f, c.Name)
	}
	return notUpdatable(f, "%s cannot be changed: connection %q has the unknown strategy %q; only userMetadata, appMetadata and blocked can be changed", f, c.Name, c.Strategy)
}

// apply validates the values of an allowed request and builds the decision.
func apply(u User, col column, req Update, lim Limits, now time.Time) (Decision, error) {
	d := Decision{User: u}
	nu := &d.User
	var changed []string
	var bad error
	setString := func(p *string, dst *string, f string) {
		if p != nil && *p != *dst {
			if err := ValidateAttribute(f, *p); err != nil && bad == nil {
				bad = err
			}
			*dst = *p
			changed = append(changed, f)
		}
	}
	legacy := col == colLegacySyncOn || col == colLegacySyncOff

	if req.Email != nil {
		email, err := ValidateEmail(*req.Email)
		if err != nil {
			return Decision{}, err
		}
		verified := u.EmailVerified
		if req.EmailVerified != nil {
			verified = *req.EmailVerified
		} else if email != u.Email {
			verified = false
		}
		if legacy && (email != u.Email || verified != u.EmailVerified) {
			d.ChangeEmail = &ChangeEmail{Email: u.Email, NewEmail: email, Verified: verified}
		}
		setString(&email, &nu.Email, FieldEmail)
		nu.EmailVerified = verified
	} else if req.EmailVerified != nil {
		nu.EmailVerified = *req.EmailVerified
	}
	if nu.EmailVerified != u.EmailVerified {
		changed = append(changed, FieldEmailVerified)
	}

	setString(req.Username, &nu.Username, FieldUsername)
	setString(req.PhoneNumber, &nu.PhoneNumber, FieldPhoneNumber)

	if req.Password != nil {
		if err := ValidatePassword(*req.Password, lim); err != nil {
			return Decision{}, err
		}
		d.NewPassword = *req.Password
		if legacy {
			d.ChangePasswordScript = true
		} else {
			d.SetLocalPassword = true
		}
		changed = append(changed, FieldPassword)
	}

	setString(req.Name, &nu.Name, FieldName)
	setString(req.GivenName, &nu.GivenName, FieldGivenName)
	setString(req.FamilyName, &nu.FamilyName, FieldFamilyName)
	setString(req.Nickname, &nu.Nickname, FieldNickname)
	setString(req.Picture, &nu.Picture, FieldPicture)

	if bad != nil {
		return Decision{}, bad
	}

	if req.Blocked != nil && *req.Blocked != u.Blocked {
		nu.Blocked = *req.Blocked
		changed = append(changed, FieldBlocked)
	}

	for _, m := range [...]struct {
		patch Metadata
		dst   *Metadata
		app   bool
		field string
	}{
		{req.UserMetadata, &nu.UserMetadata, false, FieldUserMetadata},
		{req.AppMetadata, &nu.AppMetadata, true, FieldAppMetadata},
	} {
		if m.patch == nil {
			continue
		}
		merged, ch, err := mergeChecked(*m.dst, m.patch, m.app, m.field, lim)
		if err != nil {
			return Decision{}, err
		}
		if ch {
			*m.dst = merged
			changed = append(changed, m.field)
		}
	}

	if len(changed) > 0 {
		d.Changed = changed
		nu.UpdatedAt = now
	}
	return d, nil
}

// mergeChecked validates patch, merges it into old and checks the size of
// the result. changed reports whether the result differs from old.
func mergeChecked(old, patch Metadata, app bool, field string, lim Limits) (merged Metadata, changed bool, err error) {
	if err := ValidateMetadata(patch, app, lim); err != nil {
		return nil, false, err
	}
	if !metadataChanged(old, patch) {
		return old, false, nil
	}
	merged = MergeMetadata(old, patch)
	n, err := MetadataSize(merged)
	if err != nil { // old itself held something unserializable
		return nil, false, refuse(ReasonBadInput, field, "%s after the merge is not serializable as JSON: %v", field, err)
	}
	if n > lim.MetadataMaxBytes {
		return nil, false, refuse(ReasonBadInput, field, "%s after the merge would be %d bytes as JSON, over the limit of %d bytes", field, n, lim.MetadataMaxBytes)
	}
	return merged, true, nil
}
