package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/profiled/profiled/internal/policy"
)

// AuthResult is a successful login.
type AuthResult struct {
	AccessToken string
	IDToken     string
	ExpiresIn   time.Duration
	User        policy.User
	// ManagementToken is set when the user's connection grants admin
	// scopes: a management token carrying exactly ManagementScopes (the
	// connection's adminScopes) for the subject "user:<id>", valid for
	// ManagementExpiresIn (Config.AdminTokenTTL). Empty otherwise.
	ManagementToken     string
	ManagementScopes    []policy.Scope
	ManagementExpiresIn time.Duration
	// Audience is set when the login asked for an API's token
	// (LoginFor): AccessToken is then for that API, carrying Scopes (and a
	// permissions claim when the API adds one), instead of the
	// self-service token.
	Audience string
	Scopes   []string
}

// ManagementSubject is the subject of the management token issued to the
// user with this id when they log in on an admin connection.
func ManagementSubject(userID string) string { return managementSubjectPrefix + userID }

const managementSubjectPrefix = "user:"

// Login authenticates a user of a connection.
//
// Unknown user and wrong password give the same error (INVALID_CREDENTIALS)
// after the same work (a dummy hash comparison when there is no user). A
// blocked user gets USER_BLOCKED only after the password was checked, so the
// error reveals nothing to someone who does not know the password. After
// BruteForceThreshold consecutive failures for one account from one IP,
// attempts get TOO_MANY_ATTEMPTS until BruteForceWindow passes, a login
// succeeds, the password is changed or an admin unblocks the user.
//
// Login returns the access token and the ID token (LoginFor signs only
// what its TokenRequest asks for).
func (s *Service) Login(ctx context.Context, connection, email, password string) (res AuthResult, err error) {
	return s.LoginFor(ctx, connection, email, password, TokenRequest{IDToken: true})
}

// Authenticate is Login without tokens: it checks the password (with the
// same brute-force counting and audit event) and returns the user. For
// the OpenID Provider's sign-in pages and password grant, which sign their
// own tokens.
func (s *Service) Authenticate(ctx context.Context, connection, email, password string) (policy.User, error) {
	res, err := s.LoginFor(ctx, connection, email, password, TokenRequest{NoTokens: true})
	return res.User, err
}

// LoginFor is Login asking for an access token for an API (tr.Audience,
// the API's identifier): the token's scopes and permissions claim follow
// the API's settings and the user's permissions at this moment (APIGrant).
// An unknown audience is BAD_USER_INPUT (field "audience") before any
// password is checked or attempt counted. The ID token is signed only
// when tr.IDToken asks for it, and nothing when tr.NoTokens.
func (s *Service) LoginFor(ctx context.Context, connection, email, password string, tr TokenRequest) (res AuthResult, err error) {
	return s.LoginWith(ctx, LoginRequest{Connection: connection, Email: email, Password: password, Token: tr})
}

// LoginRequest is a login: a password with an email or a username.
type LoginRequest struct {
	Connection string
	// Email and Username: exactly one is non-empty. A username needs a
	// connection with RequiresUsername.
	Email, Username string
	Password        string
	Token           TokenRequest
}

// LoginWith is LoginFor by email or by username. Giving both or neither,
// a username on a connection without RequiresUsername, or one breaking the
// connection's username rules (policy.NormalizeUsername on a DATABASE
// connection, policy.CheckLoginUsername on a custom database) is
// BAD_USER_INPUT before any password is checked or attempt counted. On a
// DATABASE connection (and a custom database in import mode, for the
// users it holds) the username is looked up in the store; a custom
// database's login script receives it (ScriptCall.Username). Failed
// attempts by username are counted under the username, apart from those
// by email.
func (s *Service) LoginWith(ctx context.Context, req LoginRequest) (res AuthResult, err error) {
	connection, password, tr := req.Connection, req.Password, req.Token
	email, username := strings.ToLower(strings.TrimSpace(req.Email)), req.Username
	if req.Email != "" && req.Username != "" || req.Email == "" && req.Username == "" {
		return AuthResult{}, &Error{Code: CodeBadUserInput, Field: "username", Message: "give exactly one of email and username"}
	}
	if len(email) > maxEmailBytes || len(connection) > maxConnectionBytes {
		// No account can have it: answer like any wrong login, but store
		// nothing (a counter or an event) for an anonymous caller's megabytes.
		s.hasher.DummyVerify(password)
		return AuthResult{}, ErrInvalidCredentials
	}
	if username != "" {
		// Checked before the connection is read (so before anything is
		// stored) against the loosest rule; the connection's own rule
		// follows once it is known.
		if err := policy.CheckLoginUsername(username); err != nil {
			return AuthResult{}, err
		}
	}
	client := clientFrom(ctx)
	key := connection + "|" + attemptFold(email)
	if username != "" {
		key = connection + "|username:" + attemptFold(username) // set again below
	}
	var conn Connection
	defer func() {
		typ, id, detail := "login", res.User.ID, ""
		if res.ManagementToken != "" {
			// Which admin scopes were handed out, for the audit trail (the
			// token itself is never recorded).
			detail = "management token: " + scopeNames(res.ManagementScopes)
		}
		if res.Audience != "" {
			detail = strings.TrimSpace(detail + "; API " + truncateRunes(res.Audience, 200) + ": " + cut(strings.Join(res.Scopes, " ")))
		}
		if err != nil {
			typ = "login_failed"
			// Attribute the failure to the cached user with this email (or
			// username), if any, so it shows in their history (admins only
			// read it).
			var u policy.User
			var lerr error
			if username != "" {
				u, lerr = s.store.UserByConnectionUsername(ctx, connection, username)
			} else {
				u, lerr = s.store.UserByConnectionEmail(ctx, connection, email)
			}
			if lerr == nil {
				id = u.ID
			}
		}
		s.record(ctx, typ, id, connection, err, detail)
	}()
	var api policy.API
	if tr.Audience != "" {
		if api, err = s.AudienceAPI(ctx, tr.Audience); err != nil {
			return AuthResult{}, err
		}
	}
	conn, err = s.connection(ctx, connection)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			s.hasher.DummyVerify(password)
			return AuthResult{}, ErrInvalidCredentials
		}
		return AuthResult{}, storeErr("connection", err)
	}
	if username != "" {
		if username, err = loginUsername(conn, username); err != nil {
			return AuthResult{}, err
		}
		// Counted case-insensitively whatever the script matches: "Ann"
		// and "ANN" must not be fresh identifiers for a guesser.
		key = connection + "|username:" + attemptFold(username)
	}
	// Brute-force protection. The attempt is counted before the password is
	// checked, atomically, so parallel requests cannot all pass a check
	// made before any of them failed: the (threshold+1)th attempt is
	// refused however they are sent. A block older than the window is
	// cleared first.
	failures, last, err := s.store.LoginFailures(ctx, key, client.IP)
	if err != nil {
		return AuthResult{}, storeErr("login attempts", err)
	}
	if failures > 0 && s.now().Sub(last) >= s.cfg.BruteForceWindow {
		if err := s.store.ResetLoginFailures(ctx, key, client.IP); err != nil {
			return AuthResult{}, storeErr("login attempts", err)
		}
	}
	attempt, err := s.store.RecordLoginFailure(ctx, key, client.IP, s.now())
	if err != nil {
		return AuthResult{}, storeErr("login attempts", err)
	}
	if attempt > s.cfg.BruteForceThreshold {
		return AuthResult{}, ErrTooManyAttempts
	}

	var u policy.User
	switch {
	case conn.Strategy == policy.StrategyDatabase || conn.Strategy == policy.StrategyCustomDatabase && conn.ImportMode:
		u, err = s.loginLocal(ctx, conn, email, username, password)
	case conn.Legacy():
		u, err = s.loginLegacy(ctx, conn, email, username, password)
	default:
		err = &Error{Code: CodeBadUserInput, Field: "connection", Message: fmt.Sprintf("%s connections do not log in with a password", conn.Strategy)}
	}
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		return AuthResult{}, err // counted above
	case err == nil, errors.Is(err, ErrUserBlocked):
		// The password was right: the count starts again.
		if rerr := s.store.ResetLoginFailures(ctx, key, client.IP); rerr != nil {
			s.log.ErrorContext(ctx, "reset login failures", "err", rerr)
		}
	default:
		// Nothing was checked (the custom database was down, a script
		// failed): this attempt does not count.
		if ferr := s.store.ForgiveLoginFailure(ctx, key, client.IP); ferr != nil {
			s.log.ErrorContext(ctx, "forgive login failure", "err", ferr)
		}
	}
	if err != nil {
		return AuthResult{}, err
	}
	out := AuthResult{User: u}
	if tr.NoTokens {
		return out, nil
	}
	if tr.IDToken {
		if out.IDToken, err = s.tokens.IssueIDToken(u); err != nil {
			return AuthResult{}, storeErr("token", err)
		}
	}
	if tr.Audience == "" {
		if out.AccessToken, out.ExpiresIn, err = s.tokens.IssueUser(u); err != nil {
			return AuthResult{}, storeErr("token", err)
		}
	} else {
		grant, err := s.APIGrant(ctx, u.ID, api, tr.Scopes)
		if err != nil {
			return AuthResult{}, err
		}
		at, aexp, err := s.tokens.IssueAPI(u, api.Identifier, grant)
		if err != nil {
			return AuthResult{}, storeErr("token", err)
		}
		out.AccessToken, out.ExpiresIn, out.Audience, out.Scopes = at, aexp, api.Identifier, grant.Scopes
	}
	if len(conn.AdminScopes) > 0 {
		// The connection makes its users administrators: hand out a
		// management token with exactly its scopes, short-lived. The user
		// tokens above stay self-service only.
		scopes := append([]policy.Scope(nil), conn.AdminScopes...)
		mt, err := s.tokens.IssueManagement(scopes, ManagementSubject(u.ID), s.cfg.AdminTokenTTL)
		if err != nil {
			return AuthResult{}, storeErr("token", err)
		}
		out.ManagementToken, out.ManagementScopes, out.ManagementExpiresIn = mt, scopes, s.cfg.AdminTokenTTL
	}
	return out, nil
}

// loginUsername checks a username typed at a login against conn's rules
// and returns the form to look up: BAD_USER_INPUT when conn does not let
// its users log in by username or the username breaks its rules.
func loginUsername(conn Connection, username string) (string, error) {
	if !conn.RequiresUsername {
		return "", &Error{Code: CodeBadUserInput, Field: "username", Message: fmt.Sprintf("connection %q does not let its users log in by username: give the email", conn.Name)}
	}
	if conn.Strategy == policy.StrategyDatabase {
		return policy.NormalizeUsername(username)
	}
	return username, policy.CheckLoginUsername(username)
}

// attemptFold is the spelling of an email or username that failed logins
// are counted under: lower-cased, compatibility-decomposed without its
// accents (NFKD, marks dropped), without surrounding spaces. A custom
// database is usually MySQL with a case- and accent-insensitive,
// trailing-space-padding collation, where "ann", "ANN ", "ánn" and "ａnn"
// are one account: each must not be a fresh identifier for a guesser. Only
// the count is folded; the script gets the identifier as typed. (ASCII
// identifiers, all a DATABASE connection has, are only lower-cased.)
func attemptFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimSpace(b.String())
}

func scopeNames(scopes []policy.Scope) string {
	names := make([]string, len(scopes))
	for i, sc := range scopes {
		names[i] = string(sc)
	}
	return strings.Join(names, " ")
}

// loginLocal checks a password the service holds. For an import-mode custom
// database, a user not yet in the store is looked up through the login
// script and, on success, migrated with a hash of the password that worked.
func (s *Service) loginLocal(ctx context.Context, conn Connection, email, username, password string) (policy.User, error) {
	var u policy.User
	var err error
	if username != "" {
		u, err = s.store.UserByConnectionUsername(ctx, conn.Name, username)
	} else {
		u, err = s.store.UserByConnectionEmail(ctx, conn.Name, email)
	}
	switch {
	case errors.Is(err, ErrNotFound) && conn.Strategy == policy.StrategyCustomDatabase:
		return s.migrate(ctx, conn, email, username, password)
	case errors.Is(err, ErrNotFound):
		s.hasher.DummyVerify(password)
		return policy.User{}, ErrInvalidCredentials
	case err != nil:
		return policy.User{}, storeErr("user", err)
	}
	if u.PasswordHash == "" {
		s.hasher.DummyVerify(password)
		return policy.User{}, ErrInvalidCredentials
	}
	ok, err := s.hasher.Verify(u.PasswordHash, password)
	if err != nil || !ok {
		if err != nil {
			s.log.WarnContext(ctx, "password hash unusable", "user", u.ID, "err", err)
		}
		return policy.User{}, ErrInvalidCredentials
	}
	if u.Blocked {
		return policy.User{}, ErrUserBlocked
	}
	var rehash string
	if s.hasher.NeedsRehash(u.PasswordHash) {
		if h, err := s.hasher.Hash(password); err == nil {
			rehash = h
		}
	}
	return s.recordLogin(ctx, u.ID, rehash)
}

// recordLogin bumps the login counters (and swaps in a new hash) under lock.
func (s *Service) recordLogin(ctx context.Context, id, rehash string) (policy.User, error) {
	var out policy.User
	err := s.store.WithTx(ctx, func(tx Queries) error {
		u, err := tx.UserByIDForUpdate(ctx, id)
		if err != nil {
			return storeErr("user", err)
		}
		now := s.now()
		u.LastLogin, u.LastIP, u.LoginsCount = &now, clientFrom(ctx).IP, u.LoginsCount+1
		if rehash != "" {
			u.PasswordHash = rehash
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return storeErr("user", err)
		}
		out = u
		return nil
	})
	return out, err
}

// migrate runs the login script for a user of an import-mode connection who
// is not in the store yet and, on success, stores them (migrated) with a
// hash of the password that just worked.
func (s *Service) migrate(ctx context.Context, conn Connection, email, username, password string) (policy.User, error) {
	res, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionLogin, Email: email, Username: username, Password: password})
	if err != nil {
		return policy.User{}, s.loginScriptErr(err)
	}
	// The script found a user the lookup by email or username missed (a
	// username typed in another case, a concurrent migration): once
	// migrated, the service's hash is the truth, not the custom
	// database's (the password may have changed here since).
	id := policy.UserIDFor(conn.Name, res.Profile.UserID)
	switch held, err := s.store.UserByID(ctx, id); {
	case err == nil && held.PasswordHash != "":
		if ok, verr := s.hasher.Verify(held.PasswordHash, password); verr != nil || !ok {
			return policy.User{}, ErrInvalidCredentials
		}
	case err != nil && !errors.Is(err, ErrNotFound):
		return policy.User{}, storeErr("user", err)
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return policy.User{}, storeErr("password", err)
	}
	var out policy.User
	err = s.store.WithTx(ctx, func(tx Queries) error {
		existing, err := tx.UserByIDForUpdate(ctx, id)
		var prev *policy.User
		switch {
		case err == nil:
			prev = &existing // a concurrent login migrated them first
		case !errors.Is(err, ErrNotFound):
			return storeErr("user", err)
		}
		u := policy.ApplyLogin(prev, *res.Profile, conn.Connection, clientFrom(ctx).IP, s.now())
		u.Migrated = true
		if prev == nil {
			u.PasswordHash = hash
			if err := tx.InsertUser(ctx, u); err != nil {
				return storeErr("user", err)
			}
		} else if err := tx.UpdateUser(ctx, u); err != nil {
			return storeErr("user", err)
		}
		out = u
		return nil
	})
	if err != nil {
		return policy.User{}, err
	}
	if out.Blocked {
		return policy.User{}, ErrUserBlocked
	}
	return out, nil
}

// loginLegacy runs the login script (the custom database is the source of
// truth) and refreshes the cached profile from what it returned.
func (s *Service) loginLegacy(ctx context.Context, conn Connection, email, username, password string) (policy.User, error) {
	res, err := s.runScript(ctx, conn, ScriptCall{Action: policy.ActionLogin, Email: email, Username: username, Password: password})
	if err != nil {
		return policy.User{}, s.loginScriptErr(err)
	}
	var out policy.User
	err = s.store.WithTx(ctx, func(tx Queries) error {
		id := policy.UserIDFor(conn.Name, res.Profile.UserID)
		existing, err := tx.UserByIDForUpdate(ctx, id)
		var prev *policy.User
		switch {
		case err == nil:
			prev = &existing
		case !errors.Is(err, ErrNotFound):
			return storeErr("user", err)
		}
		u := policy.ApplyLogin(prev, *res.Profile, conn.Connection, clientFrom(ctx).IP, s.now())
		if prev != nil && prev.Blocked {
			out = u
			return ErrUserBlocked // nothing is refreshed for a blocked user
		}
		if prev == nil {
			err = tx.InsertUser(ctx, u)
		} else {
			err = tx.UpdateUser(ctx, u)
		}
		if err != nil {
			if errors.Is(err, ErrConflict) {
				return &Error{Code: CodeScriptError, Message: "the login script returned an email that another user of this connection already has", Err: err}
			}
			return storeErr("user", err)
		}
		out = u
		return nil
	})
	return out, err
}

func (s *Service) loginScriptErr(err error) error {
	switch {
	case errors.Is(err, ErrScriptUserNotFound), errors.Is(err, ErrScriptWrongCredentials):
		// The sandbox already did a password comparison at the legacy
		// hashes' cost when the script skipped one (unknown email), so both
		// answers take as long.
		return ErrInvalidCredentials
	case errors.Is(err, ErrScriptBlocked):
		// The script checked the password first (the SDK's contract): the
		// account is disabled in the custom database.
		return ErrUserBlocked
	case errors.Is(err, ErrScriptUnsupported):
		return &Error{Code: CodeScriptError, Message: "the connection's script does not export login", Err: err}
	}
	return err
}

func (s *Service) resetFailures(ctx context.Context, u policy.User) {
	if err := s.store.ResetLoginFailures(ctx, u.Connection+"|"+attemptFold(u.Email), ""); err != nil {
		s.log.ErrorContext(ctx, "reset login failures", "err", err)
	}
	if u.Username != "" {
		if err := s.store.ResetLoginFailures(ctx, u.Connection+"|username:"+attemptFold(u.Username), ""); err != nil {
			s.log.ErrorContext(ctx, "reset login failures", "err", err)
		}
	}
}
