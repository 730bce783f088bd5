package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// TryResult is the outcome of a trial run of a connection's script.
type TryResult struct {
	OK bool
	// Profile is the normalized profile the script returned (nil on error).
	Profile *policy.Profile
	// Attributes are the raw attributes the script returned, without
	// credential keys; the tried password never appears in them or in Logs.
	Attributes map[string]any
	Logs       []string
	Duration   time.Duration
	// ErrorCode and ErrorMessage describe a failed run: INVALID_CREDENTIALS
	// (the script refused the password), NOT_FOUND (no such user),
	// SCRIPT_ERROR (the script failed or does not export the action),
	// SCRIPT_TIMEOUT, CONNECTION_UNAVAILABLE, BAD_USER_INPUT (what the
	// script returned is not a valid profile) or INTERNAL.
	ErrorCode    Code
	ErrorMessage string
}

// TryScript runs a custom-database connection's login or get_user action
// with test input and reports what the script did. It never creates,
// changes or logs in a user, records no event and no failed attempt.
//
// Errors (as opposed to a failed run, which is a TryResult): NOT_FOUND for
// an unknown connection; BAD_USER_INPUT for a connection that is not a
// custom database, an action other than login or get_user, an invalid
// email or a login without a password.
func (s *Service) TryScript(ctx context.Context, connection string, action policy.Action, email, password string) (TryResult, error) {
	return s.TryScriptAs(ctx, connection, action, email, "", password)
}

// TryScriptAs is TryScript with a username instead of an email (exactly one
// of them; BAD_USER_INPUT otherwise): what a login by username sends the
// script, on a connection with RequiresUsername.
func (s *Service) TryScriptAs(ctx context.Context, connection string, action policy.Action, email, username, password string) (TryResult, error) {
	if (email == "") == (username == "") {
		return TryResult{}, &Error{Code: CodeBadUserInput, Field: "username", Message: "give exactly one of email and username"}
	}
	conn, err := s.store.ConnectionByName(ctx, connection)
	if err != nil {
		return TryResult{}, connectionErr(err)
	}
	if conn.Strategy != policy.StrategyCustomDatabase {
		return TryResult{}, &Error{Code: CodeBadUserInput, Field: "connection", Message: "only CUSTOM_DATABASE connections run scripts"}
	}
	if action != policy.ActionLogin && action != policy.ActionGetUser {
		return TryResult{}, &Error{Code: CodeBadUserInput, Field: "action", Message: "only login and get_user can be tried"}
	}
	if username != "" {
		if _, err := loginUsername(conn, username); err != nil {
			return TryResult{}, err
		}
	} else if email, err = policy.ValidateEmail(email); err != nil {
		return TryResult{}, err
	}
	call := ScriptCall{Action: action, Email: email, Username: username}
	if action == policy.ActionLogin {
		if password == "" {
			return TryResult{}, &Error{Code: CodeBadUserInput, Field: "password", Message: "login needs a password to try"}
		}
		call.Password = password
	}
	res, err := s.runScript(ctx, conn, call)
	out := TryResult{
		OK:         err == nil,
		Attributes: scrubAttributes(res.Attributes, password),
		Logs:       scrubLogs(res.Logs, password),
		Duration:   res.Duration,
	}
	if err == nil {
		p := *res.Profile
		p.Extra = scrubAttributes(p.Extra, password)
		p.UserMetadata = scrubAttributes(p.UserMetadata, password)
		p.AppMetadata = scrubAttributes(p.AppMetadata, password)
		out.Profile = &p
		return out, nil
	}
	out.ErrorCode, out.ErrorMessage = tryError(err, action)
	if out.ErrorCode == CodeInternal {
		s.log.ErrorContext(ctx, "try script", "connection", conn.Name, "action", string(action), "err", err)
	}
	return out, nil
}

func tryError(err error, action policy.Action) (Code, string) {
	var r *policy.Refusal
	switch {
	case errors.Is(err, ErrScriptWrongCredentials):
		return CodeInvalidCredentials, "the script refused the email and password"
	case errors.Is(err, ErrScriptUserNotFound):
		return CodeNotFound, "the script found no user with this email"
	case errors.Is(err, ErrScriptUnsupported):
		return CodeScriptError, fmt.Sprintf("the connection's script module does not export %s", action)
	case errors.As(err, &r):
		return Code(r.Reason), r.Message
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Code == CodeInternal {
			return CodeInternal, "internal error"
		}
		return e.Code, e.Message
	}
	return CodeInternal, "internal error"
}

// credentialKeys are attributes never shown, whatever the script returned.
var credentialKeys = map[string]bool{
	"password": true, "password_hash": true, "passwordHash": true,
	"access_token": true, "refresh_token": true, "id_token": true,
}

const redacted = "[redacted]"

// scrubAttributes drops credential keys and masks the tried password in
// string values (top level and nested).
func scrubAttributes(m map[string]any, password string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if credentialKeys[k] {
			continue
		}
		out[k] = scrubValue(v, password)
	}
	return out
}

func scrubValue(v any, password string) any {
	switch x := v.(type) {
	case string:
		return mask(x, password)
	case map[string]any:
		return scrubAttributes(x, password)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubValue(e, password)
		}
		return out
	}
	return v
}

func scrubLogs(lines []string, password string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = mask(l, password)
	}
	return out
}

func mask(s, password string) string {
	if password == "" {
		return s
	}
	return strings.ReplaceAll(s, password, redacted)
}

// ProfileMap is the normalized profile as a JSON object with the
// normalized profile's field names (nil when the run failed); empty fields
// are left out.
func (r TryResult) ProfileMap() map[string]any {
	p := r.Profile
	if p == nil {
		return nil
	}
	m := map[string]any{"user_id": p.UserID, "email_verified": p.EmailVerified, "phone_verified": p.PhoneVerified}
	for k, v := range map[string]string{
		"email": p.Email, "username": p.Username, "phone_number": p.PhoneNumber, "name": p.Name,
		"given_name": p.GivenName, "family_name": p.FamilyName, "nickname": p.Nickname, "picture": p.Picture,
	} {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range map[string]policy.Metadata{"user_metadata": p.UserMetadata, "app_metadata": p.AppMetadata, "profile_data": p.Extra} {
		if v != nil {
			m[k] = scrubAttributes(v, "")
		}
	}
	return m
}
