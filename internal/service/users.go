package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
)

// MaxPageSize bounds a page of users.
const MaxPageSize = 100

// DefaultPageSize is a page's size when the caller does not say.
const DefaultPageSize = 50

// Bounds of lookup arguments: longer ones cannot exist and are refused
// before reaching the store.
const (
	maxIDBytes         = 255
	maxEmailBytes      = 320
	maxConnectionBytes = 35 // the longest connection name
)

// User returns NOT_FOUND when there is no such user.
func (s *Service) User(ctx context.Context, id string) (policy.User, error) {
	if len(id) > maxIDBytes {
		return policy.User{}, &Error{Code: CodeBadUserInput, Field: "id", Message: fmt.Sprintf("id is longer than %d bytes", maxIDBytes)}
	}
	u, err := s.store.UserByID(ctx, id)
	return u, storeErr("user", err)
}

// UsersByEmail returns the users with this email in every connection.
func (s *Service) UsersByEmail(ctx context.Context, email string) ([]policy.User, error) {
	if len(email) > maxEmailBytes {
		return nil, &Error{Code: CodeBadUserInput, Field: "email", Message: fmt.Sprintf("email is longer than %d bytes", maxEmailBytes)}
	}
	us, err := s.store.UsersByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	return us, storeErr("users", err)
}

// Page is a page of users.
type Page struct {
	Hits        []SearchHit
	HasNextPage bool
	TotalCount  int // 0 unless counted
}

// SearchUsers returns a page of the users matching query (the user search
// query language; "" = every user) in sort order ("field:1" / "field:-1";
// "" = by id), after the position after (a cursor of a previous page).
// first is 1..MaxPageSize (0 = DefaultPageSize). With count, the page's
// TotalCount is the number of matching users in all; without it nothing
// is counted (a count can cost more than the page). A bad query, sort or
// cursor is BAD_USER_INPUT with the position and what was expected.
func (s *Service) SearchUsers(ctx context.Context, query, sort, after string, first int, count bool) (Page, error) {
	if first == 0 {
		first = DefaultPageSize
	}
	if first < 1 || first > MaxPageSize {
		return Page{}, &Error{Code: CodeBadUserInput, Field: "first", Message: fmt.Sprintf("first must be between 1 and %d", MaxPageSize)}
	}
	hits, total, err := s.store.SearchUsers(ctx, SearchParams{Query: query, Sort: sort, After: after, Limit: first + 1, Count: count})
	if err != nil {
		if errors.Is(err, ErrBadQuery) {
			return Page{}, &Error{Code: CodeBadUserInput, Field: "query", Message: badQueryMessage(err), Err: err}
		}
		return Page{}, storeErr("users", err)
	}
	p := Page{Hits: hits, TotalCount: total}
	if len(hits) > first {
		p.Hits, p.HasNextPage = hits[:first], true
	}
	return p, nil
}

// badQueryMessage strips the store's operation prefixes from a query error
// so the client reads what was wrong and where.
func badQueryMessage(err error) string {
	var se *search.Error
	if errors.As(err, &se) {
		return se.Error()
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ErrBadQuery.Error()+": "); i >= 0 {
		return msg[i+len(ErrBadQuery.Error())+2:]
	}
	return msg
}

// CreateUser creates a user as an administrator (createUser): caller needs
// create:users (policy.OpCreateUser) and, on a connection that grants
// admin scopes, every one of them (FORBIDDEN otherwise).
func (s *Service) CreateUser(ctx context.Context, caller policy.Caller, connection string, in policy.Create) (policy.User, error) {
	if err := policy.Authorize(caller, policy.OpCreateUser); err != nil {
		return policy.User{}, err
	}
	return s.create(ctx, connection, in, "create_user", func(c policy.Connection) error {
		return policy.CanManageUsersOf(caller, c)
	})
}

// Signup creates a user through public sign-up; refused (FORBIDDEN) on a
// connection that grants admin scopes.
func (s *Service) Signup(ctx context.Context, connection string, in policy.Create) (policy.User, error) {
	return s.create(ctx, connection, in, "signup", policy.CanSignup)
}

// create creates a user of connection once authorize accepts the
// connection.
func (s *Service) create(ctx context.Context, connection string, in policy.Create, event string, authorize func(policy.Connection) error) (u policy.User, err error) {
	defer func() { s.record(ctx, event, u.ID, connection, err, "") }()
	conn, err := s.connection(ctx, connection)
	if err != nil {
		return policy.User{}, connectionErr(err)
	}
	if err := authorize(conn.Connection); err != nil {
		return policy.User{}, err
	}
	email, err := policy.ValidateEmail(in.Email)
	if err != nil {
		return policy.User{}, err
	}
	in.Email = email
	if conn.Strategy == policy.StrategyDatabase && conn.RequiresUsername {
		// Users log in with it: required, Auth0's rules, stored lower-cased.
		if in.Username, err = policy.NormalizeUsername(in.Username); err != nil {
			return policy.User{}, err
		}
	}
	if err := policy.ValidateCreate(conn.Connection, in, s.cfg.Limits); err != nil {
		return policy.User{}, err
	}
	if conn.Legacy() {
		return s.createLegacy(ctx, conn, in)
	}
	if conn.Strategy == policy.StrategyCustomDatabase {
		// Import mode: the legacy database must not already hold the email.
		if err := s.refuseLegacyUser(ctx, conn, in.Email, in.Username); err != nil {
			return policy.User{}, err
		}
	}
	var hash string
	if in.Password != "" {
		if hash, err = s.hasher.Hash(in.Password); err != nil {
			return policy.User{}, storeErr("password", err)
		}
	}
	newUser := func() policy.User {
		u := policy.NewLocalUser(policy.UserIDFor(conn.Name, newUserIDSource()), conn.Connection, in, s.now())
		u.PasswordHash = hash
		return u
	}
	u = newUser()
	// Decide again on the connection as it is when the user is written, and
	// hold it (shared) until then: a grant of admin scopes committed since
	// the first read must refuse this user, and a grant in progress waits
	// for this insert, then finds the connection in use.
	err = s.store.WithTx(ctx, func(tx Queries) error {
		c, err := tx.ConnectionByNameForShare(ctx, connection)
		if err != nil {
			return connectionErr(err)
		}
		if err := authorize(c.Connection); err != nil {
			return err
		}
		// Ids are predictable (ObjectIds) and an import may bring its own:
		// one already taken is replaced, not reported as USER_EXISTS.
		for tries := 1; ; tries++ {
			_, err := tx.UserByID(ctx, u.ID)
			if errors.Is(err, ErrNotFound) {
				break
			}
			if err != nil {
				return storeErr("user", err)
			}
			if tries == 3 {
				return &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("three new user ids were taken (last %q)", u.ID)}
			}
			u = newUser()
		}
		if err := tx.InsertUser(ctx, u); err != nil {
			if errors.Is(err, ErrConflict) {
				return clashErr(ctx, tx, u, err)
			}
			return storeErr("user", err)
		}
		return nil
	})
	if err != nil {
		return policy.User{}, err
	}
	return u, nil
}

// clashErr says which of a new user's unique values another user of the
// connection already has (USER_EXISTS on the field "email" or
// "username"), for a person to fix the right one. It asks the store
// inside the transaction whose insert failed (a failed statement does not
// end a MySQL or SQLite transaction).
func clashErr(ctx context.Context, tx Queries, u policy.User, err error) error {
	if _, e := tx.UserByConnectionEmail(ctx, u.Connection, u.Email); e == nil {
		return &Error{Code: CodeUserExists, Field: "email", Message: "a user of this connection already has this email", Err: err}
	}
	if u.Username != "" {
		if _, e := tx.UserByConnectionUsername(ctx, u.Connection, u.Username); e == nil {
			return &Error{Code: CodeUserExists, Field: "username", Message: "a user of this connection already has this username", Err: err}
		}
	}
	return storeErr("user", err)
}

// createLegacy: get_user (must not exist) → create → login (read back the
// profile the custom database now holds) → cache it.
func (s *Service) createLegacy(ctx context.Context, conn Connection, in policy.Create) (policy.User, error) {
	if !conn.Actions[policy.ActionCreate] {
		return policy.User{}, &Error{Code: CodeBadUserInput, Field: "connection", Message: fmt.Sprintf("connection %q's script does not export create: users are created in the custom database", conn.Name)}
	}
	if err := s.refuseLegacyUser(ctx, conn, in.Email, in.Username); err != nil {
		return policy.User{}, err
	}
	if _, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionCreate, Email: in.Email, Password: in.Password, User: createPayload(in)}); err != nil {
		if errors.Is(err, ErrScriptUserExists) {
			return policy.User{}, &Error{Code: CodeUserExists, Field: "email", Message: "a user with this email already exists"}
		}
		return policy.User{}, err
	}
	res, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionLogin, Email: in.Email, Password: in.Password})
	if err != nil {
		if errors.Is(err, ErrScriptWrongCredentials) || errors.Is(err, ErrScriptUserNotFound) {
			return policy.User{}, &Error{Code: CodeScriptError, Message: "the create script succeeded but login with the new credentials failed"}
		}
		return policy.User{}, err
	}
	var out policy.User
	err = s.store.WithTx(ctx, func(tx Queries) error {
		id := policy.UserIDFor(conn.Name, res.Profile.UserID)
		if _, err := tx.UserByID(ctx, id); err == nil {
			return &Error{Code: CodeUserExists, Message: "a user with this id already exists"}
		}
		u := s.userFromProfile(*res.Profile, conn.Connection)
		if in.UserMetadata != nil {
			u.UserMetadata = policy.MergeMetadata(u.UserMetadata, in.UserMetadata)
		}
		if in.AppMetadata != nil {
			u.AppMetadata = policy.MergeMetadata(u.AppMetadata, in.AppMetadata)
		}
		u.Blocked = in.Blocked
		if err := tx.InsertUser(ctx, u); err != nil {
			return storeErr("user", err)
		}
		out = u
		return nil
	})
	return out, err
}

// refuseLegacyUser runs get_user and refuses (USER_EXISTS) an email the
// custom database already has. A module without get_user cannot tell, so
// the email counts as free. On a connection with RequiresUsername a
// second get_user by the username alone refuses a taken username.
func (s *Service) refuseLegacyUser(ctx context.Context, conn Connection, email, username string) error {
	if err := s.refuseLegacy(ctx, conn, ScriptCall{Action: policy.ActionGetUser, Email: email}, policy.FieldEmail); err != nil || username == "" || !conn.RequiresUsername {
		return err
	}
	return s.refuseLegacy(ctx, conn, ScriptCall{Action: policy.ActionGetUser, Username: username}, policy.FieldUsername)
}

// refuseLegacy runs get_user and refuses (USER_EXISTS, on field) what it
// finds.
func (s *Service) refuseLegacy(ctx context.Context, conn Connection, call ScriptCall, field string) error {
	switch _, err := s.runScript(ctx, conn, call); {
	case err == nil:
		return &Error{Code: CodeUserExists, Field: field, Message: "the custom database already has a user with this " + field}
	case errors.Is(err, ErrScriptUserNotFound), errors.Is(err, ErrScriptUnsupported):
		return nil
	default:
		return scriptAnswerErr(err)
	}
}

// userFromProfile builds the user to store from a script's profile outside
// a login (create, password reset): no login is counted.
func (s *Service) userFromProfile(p policy.Profile, c policy.Connection) policy.User {
	u := policy.ApplyLogin(nil, p, c, "", s.now())
	u.LoginsCount, u.LastLogin, u.LastIP = 0, nil, ""
	return u
}

func createPayload(in policy.Create) map[string]any {
	m := map[string]any{"email": in.Email, "password": in.Password, "email_verified": in.EmailVerified}
	for k, v := range map[string]string{"username": in.Username, "phone_number": in.PhoneNumber, "name": in.Name,
		"given_name": in.GivenName, "family_name": in.FamilyName, "nickname": in.Nickname, "picture": in.Picture} {
		if v != "" {
			m[k] = v
		}
	}
	if in.UserMetadata != nil {
		m["user_metadata"] = map[string]any(in.UserMetadata)
	}
	return m
}

// UpdateUser applies a change requested by caller, following the update
// policy, in one transaction: load under lock → decide → save (+ event).
// When the decision names scripts (a legacy custom database's change_email
// or change_password), the transaction is abandoned, the scripts run
// outside it (they reach another system and cannot be rolled back), and a
// second transaction reloads, decides again on the fresh copy and saves.
// Either way concurrent metadata merges never lose a key.
func (s *Service) UpdateUser(ctx context.Context, caller policy.Caller, id string, upd policy.Update) (out policy.User, err error) {
	detail := changedFields(upd)
	typ := updateEventType(upd)
	defer func() {
		if err != nil {
			s.record(ctx, typ, id, out.Connection, err, detail)
		}
	}()
	var hash string
	if upd.Password != nil {
		// Hash before taking any lock; wasted only when the policy refuses
		// or a script takes the password instead.
		if err := policy.ValidatePassword(*upd.Password, s.cfg.Limits); err == nil {
			if hash, err = s.hasher.Hash(*upd.Password); err != nil {
				return policy.User{}, storeErr("password", err)
			}
		}
	}
	var pending *policy.Decision
	attempt := func(scriptsDone *policy.Decision) error {
		return s.store.WithTx(ctx, func(tx Queries) error {
			u, err := tx.UserByIDForUpdate(ctx, id)
			if err != nil {
				return storeErr("user", err)
			}
			out.Connection = u.Connection
			conn, err := tx.ConnectionByName(ctx, u.Connection)
			if err != nil {
				return storeErr("connection", err)
			}
			upd := upd
			if upd.Username != nil && conn.Strategy == policy.StrategyDatabase && conn.RequiresUsername {
				// The connection's usernames log in: its rules, lower-cased.
				n, err := policy.NormalizeUsername(*upd.Username)
				if err != nil {
					return err
				}
				upd.Username = &n
			}
			d, err := policy.DecideUpdate(u, conn.Connection, caller, upd, s.cfg.Limits, s.now())
			if err != nil {
				return err
			}
			needs := d.ChangeEmail != nil || d.ChangePasswordScript
			if needs && scriptsDone == nil {
				pending = &d
				return errScriptsFirst
			}
			if scriptsDone != nil && ((d.ChangeEmail != nil) != (scriptsDone.ChangeEmail != nil) || d.ChangePasswordScript != scriptsDone.ChangePasswordScript) {
				return &Error{Code: CodeInternal, Message: "the user's connection changed during the update; try again"}
			}
			if d.SetLocalPassword {
				d.User.PasswordHash = hash
			}
			if len(d.Changed) > 0 {
				if err := tx.UpdateUser(ctx, d.User); err != nil {
					return storeErr("user", err)
				}
			}
			if err := tx.InsertEvent(ctx, s.event(ctx, typ, id, u.Connection, nil, detail)); err != nil {
				return storeErr("event", err)
			}
			out = d.User
			return nil
		})
	}
	err = attempt(nil)
	if errors.Is(err, errScriptsFirst) {
		conn, cerr := s.store.ConnectionByName(ctx, out.Connection)
		if cerr != nil {
			return policy.User{}, storeErr("connection", cerr)
		}
		if err := s.runUpdateScripts(ctx, conn, *pending); err != nil {
			return policy.User{}, err
		}
		err = attempt(pending)
	}
	if err != nil {
		return policy.User{}, err
	}
	if upd.Password != nil || (upd.Blocked != nil && !*upd.Blocked) {
		// A password change, or an admin unblock, lifts brute-force blocks.
		s.resetFailures(ctx, out)
	}
	return out, nil
}

// UpdateMe merges into the caller's own user metadata (self-service).
func (s *Service) UpdateMe(ctx context.Context, caller policy.Caller, patch policy.Metadata) (policy.User, error) {
	if patch == nil {
		patch = policy.Metadata{}
	}
	return s.UpdateUser(ctx, caller, caller.Subject, policy.Update{UserMetadata: patch})
}

var errScriptsFirst = errors.New("scripts must run first")

// runUpdateScripts runs what a legacy custom-database update needs:
// get_user (the new email must be free; the user must exist for a password
// change), then change_email / change_password.
func (s *Service) runUpdateScripts(ctx context.Context, conn Connection, d policy.Decision) error {
	if c := d.ChangeEmail; c != nil {
		if c.NewEmail != c.Email {
			if err := s.refuseLegacyUser(ctx, conn, c.NewEmail, ""); err != nil {
				return err
			}
		}
		if _, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionChangeEmail, Email: c.Email, NewEmail: c.NewEmail, Verified: c.Verified}); err != nil {
			return scriptAnswerErr(err)
		}
	}
	if d.ChangePasswordScript {
		if conn.Actions[policy.ActionGetUser] {
			if _, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionGetUser, Email: d.User.Email}); err != nil {
				return scriptAnswerErr(err)
			}
		}
		if _, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionChangePassword, Email: d.User.Email, NewPassword: d.NewPassword}); err != nil {
			return scriptAnswerErr(err)
		}
	}
	return nil
}

// scriptAnswerErr maps a script's "answers" in an update flow to errors.
func scriptAnswerErr(err error) error {
	switch {
	case errors.Is(err, ErrScriptUserNotFound):
		return &Error{Code: CodeNotFound, Message: "the custom database has no such user", Err: err}
	case errors.Is(err, ErrScriptUserExists):
		return &Error{Code: CodeUserExists, Field: "email", Message: "the custom database already has a user with this email", Err: err}
	case errors.Is(err, ErrScriptUnsupported):
		return &Error{Code: CodeFieldNotUpdatable, Message: "the connection's script does not support this change", Err: err}
	case errors.Is(err, ErrScriptWrongCredentials):
		return &Error{Code: CodeScriptError, Message: "the script refused the change", Err: err}
	}
	return err
}

// ChangePassword sets a user's password (management API): caller needs
// update:users (policy.OpChangePassword), then the update policy decides.
func (s *Service) ChangePassword(ctx context.Context, caller policy.Caller, id, password string) error {
	if err := policy.Authorize(caller, policy.OpChangePassword); err != nil {
		return err
	}
	_, err := s.UpdateUser(ctx, caller, id, policy.Update{Password: &password})
	return err
}

// DeleteUser deletes a user. For a custom-database user whose database is
// the source of truth (legacy, or import mode not yet migrated) the delete
// script runs first; if it fails, nothing is deleted. A user of a
// connection that grants admin scopes is deleted only by a caller holding
// every one of them (FORBIDDEN otherwise). caller needs delete:users
// (policy.OpDeleteUser), decided before anything is read or recorded.
func (s *Service) DeleteUser(ctx context.Context, caller policy.Caller, id string) (err error) {
	if err := policy.Authorize(caller, policy.OpDeleteUser); err != nil {
		return err
	}
	var conn string
	defer func() { s.record(ctx, "delete", id, conn, err, "") }()
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return storeErr("user", err)
	}
	conn = u.Connection
	c, err := s.store.ConnectionByName(ctx, u.Connection)
	if err != nil {
		return storeErr("connection", err)
	}
	if err := policy.CanManageUsersOf(caller, c.Connection); err != nil {
		return err
	}
	if c.Strategy == policy.StrategyCustomDatabase && (c.Legacy() || !u.Migrated) {
		if !c.Actions[policy.ActionDelete] {
			return &Error{Code: CodeBadUserInput, Message: fmt.Sprintf("connection %q's script does not export delete: delete the user in the custom database", c.Name)}
		}
		sourceID := u.ID
		if len(u.Identities) > 0 {
			sourceID = u.Identities[0].UserID
		}
		if _, err := s.runScript(ctx, c, ScriptCall{Action: policy.ActionDelete, ID: sourceID}); err != nil && !errors.Is(err, ErrScriptUserNotFound) {
			return scriptAnswerErr(err)
		}
	}
	if err := s.store.DeleteUser(ctx, id); err != nil {
		return storeErr("user", err)
	}
	return nil
}

func updateEventType(upd policy.Update) string {
	switch {
	case upd.Blocked != nil && *upd.Blocked:
		return "block"
	case upd.Blocked != nil:
		return "unblock"
	case upd.Password != nil:
		return "change_password"
	case upd.Email != nil:
		return "change_email"
	}
	return "update"
}

func changedFields(upd policy.Update) string {
	var f []string
	add := func(set bool, name string) {
		if set {
			f = append(f, name)
		}
	}
	add(upd.Email != nil, policy.FieldEmail)
	add(upd.EmailVerified != nil, policy.FieldEmailVerified)
	add(upd.Username != nil, policy.FieldUsername)
	add(upd.PhoneNumber != nil, policy.FieldPhoneNumber)
	add(upd.Password != nil, policy.FieldPassword)
	add(upd.Name != nil, policy.FieldName)
	add(upd.GivenName != nil, policy.FieldGivenName)
	add(upd.FamilyName != nil, policy.FieldFamilyName)
	add(upd.Nickname != nil, policy.FieldNickname)
	add(upd.Picture != nil, policy.FieldPicture)
	add(upd.Blocked != nil, policy.FieldBlocked)
	add(upd.UserMetadata != nil, policy.FieldUserMetadata)
	add(upd.AppMetadata != nil, policy.FieldAppMetadata)
	return strings.Join(f, ",")
}

func connectionErr(err error) error {
	if errors.Is(err, ErrNotFound) {
		return &Error{Code: CodeNotFound, Field: "connection", Message: "connection not found", Err: err}
	}
	return storeErr("connection", err)
}
