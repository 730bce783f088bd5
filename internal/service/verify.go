package service

import (
	"context"
	"errors"
	"strings"

	"github.com/profiled/profiled/internal/policy"
)

// MarkEmailVerified marks a user's email as verified. For a legacy
// custom-database user the connection's verify script runs first (the
// custom database owns the flag); the cached flag is set once it succeeds
// and is refreshed from the database at each login anyway. For every other
// user it is an update of emailVerified under the update policy. caller
// needs update:users first (policy.OpMarkEmailVerified).
func (s *Service) MarkEmailVerified(ctx context.Context, caller policy.Caller, id string) (policy.User, error) {
	if err := policy.Authorize(caller, policy.OpMarkEmailVerified); err != nil {
		return policy.User{}, err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return policy.User{}, storeErr("user", err)
	}
	conn, err := s.store.ConnectionByName(ctx, u.Connection)
	if err != nil {
		return policy.User{}, storeErr("connection", err)
	}
	yes := true
	if !conn.Legacy() {
		// The update policy decides, admin connections included.
		return s.UpdateUser(ctx, caller, id, policy.Update{EmailVerified: &yes})
	}
	if !caller.Has(policy.ScopeUpdateUsers) || caller.Self {
		return policy.User{}, &policy.Refusal{Reason: policy.ReasonForbidden, Field: policy.FieldEmailVerified, Message: "marking an email verified needs update:users"}
	}
	if err := policy.CanManageUsersOf(caller, conn.Connection); err != nil {
		return policy.User{}, err
	}
	if !conn.Actions[policy.ActionVerify] {
		return policy.User{}, &policy.Refusal{Reason: policy.ReasonFieldNotUpdatable, Field: policy.FieldEmailVerified,
			Message: "connection " + conn.Name + "'s script does not export verify: change it in the custom database; the profile refreshes at the user's next login"}
	}
	if _, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionVerify, Email: u.Email}); err != nil && !errors.Is(err, ErrScriptUserNotFound) {
		// verify on an already verified user is a no-op for most scripts
		// (they report "not found" when no row changed).
		return policy.User{}, scriptAnswerErr(err)
	}
	var out policy.User
	err = s.store.WithTx(ctx, func(tx Queries) error {
		u, err := tx.UserByIDForUpdate(ctx, id)
		if err != nil {
			return storeErr("user", err)
		}
		if !u.EmailVerified {
			u.EmailVerified, u.UpdatedAt = true, s.now()
			if err := tx.UpdateUser(ctx, u); err != nil {
				return storeErr("user", err)
			}
		}
		out = u
		return tx.InsertEvent(ctx, s.event(ctx, "verify_email", id, u.Connection, nil, policy.FieldEmailVerified))
	})
	return out, err
}

// ResetPassword sets the password of the user of connection with email,
// whether or not the service holds that user yet:
//   - a user in the store: as changePassword (the update policy decides);
//   - import mode, user not migrated yet: get_user finds them in the
//     legacy database, and the user is migrated now with the new password
//     (the legacy database is never asked about them again). This is
//     Auth0's flow: a reset must not depend on the old password, which is
//     the only thing a first login would have used to migrate them;
//   - legacy mode, user never logged in: get_user then change_password.
//
// caller needs update:users first (policy.OpChangePassword).
func (s *Service) ResetPassword(ctx context.Context, caller policy.Caller, connection, email, password string) (err error) {
	if err := policy.Authorize(caller, policy.OpChangePassword); err != nil {
		return err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	conn, err := s.store.ConnectionByName(ctx, connection)
	if err != nil {
		return connectionErr(err)
	}
	// Before looking the user up: whether the email exists is not told to
	// a caller who may not manage this connection's users.
	if err := policy.CanManageUsersOf(caller, conn.Connection); err != nil {
		return err
	}
	if err := policy.ValidatePassword(password, s.cfg.Limits); err != nil {
		return err
	}
	u, err := s.store.UserByConnectionEmail(ctx, connection, email)
	switch {
	case err == nil:
		return s.ChangePassword(ctx, caller, u.ID, password)
	case !errors.Is(err, ErrNotFound):
		return storeErr("user", err)
	case conn.Strategy != policy.StrategyCustomDatabase:
		return &Error{Code: CodeNotFound, Message: "user not found"}
	}
	if !caller.Has(policy.ScopeUpdateUsers) || caller.Self {
		return &policy.Refusal{Reason: policy.ReasonForbidden, Field: policy.FieldPassword, Message: "resetting a password needs update:users"}
	}
	res, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionGetUser, Email: email})
	if err != nil {
		return scriptAnswerErr(err)
	}
	if conn.Legacy() {
		_, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionChangePassword, Email: email, NewPassword: password})
		s.record(ctx, "change_password", policy.UserIDFor(conn.Name, res.Profile.UserID), conn.Name, err, "")
		return scriptAnswerErr(err)
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return storeErr("password", err)
	}
	return s.store.WithTx(ctx, func(tx Queries) error {
		u := s.userFromProfile(*res.Profile, conn.Connection)
		u.Migrated, u.PasswordHash = true, hash
		if err := tx.InsertUser(ctx, u); err != nil {
			return storeErr("user", err)
		}
		return tx.InsertEvent(ctx, s.event(ctx, "change_password", u.ID, conn.Name, nil, "migrated by password reset"))
	})
}
