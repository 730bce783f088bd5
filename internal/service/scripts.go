package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/profiled/profiled/internal/policy"
)

// runScript runs one action with the connection's deadline.
func (s *Service) runScript(ctx context.Context, conn Connection, call ScriptCall) (ScriptResult, error) {
	if s.scripts == nil || conn.ScriptSHA256 == "" {
		return ScriptResult{}, &Error{Code: CodeConnectionUnavailable, Message: fmt.Sprintf("connection %q has no script module", conn.Name)}
	}
	if !conn.Actions[call.Action] {
		return ScriptResult{}, fmt.Errorf("%s: %w", call.Action, ErrScriptUnsupported)
	}
	if conn.DatabaseURL == "" {
		return ScriptResult{}, s.scriptFailure(ctx, conn, call.Action, &Error{Code: CodeConnectionUnavailable, Message: fmt.Sprintf("connection %q has no databaseURL: set the database its scripts query (updateConnection)", conn.Name)})
	}
	// Checked at every call too: a link or a DNS name may have changed
	// since the URL was stored.
	if err := s.checkCustomDBURL(ctx, conn.DatabaseURL); err != nil {
		return ScriptResult{}, s.scriptFailure(ctx, conn, call.Action, &Error{Code: CodeConnectionUnavailable, Message: fmt.Sprintf("connection %q: its databaseURL is refused by this server", conn.Name), Err: err})
	}
	ctx, cancel := context.WithTimeout(ctx, ScriptTimeout(conn))
	defer cancel()
	res, err := s.scripts.Run(ctx, conn, call)
	if err == nil && (call.Action == policy.ActionLogin || call.Action == policy.ActionGetUser) && res.Profile == nil {
		err = &Error{Code: CodeScriptError, Message: fmt.Sprintf("the %s script returned no profile", call.Action)}
	}
	if err != nil {
		return res, s.scriptFailure(ctx, conn, call.Action, err)
	}
	return res, nil
}

// scriptFailure logs a failed script call's cause under a new error ID and
// returns the error carrying that ID; the script's answers (wrong
// password, no such user, user exists) are not failures and pass as they
// are. The log line never holds the call's input (passwords).
func (s *Service) scriptFailure(ctx context.Context, conn Connection, action policy.Action, err error) error {
	if errors.Is(err, ErrScriptWrongCredentials) || errors.Is(err, ErrScriptUserNotFound) || errors.Is(err, ErrScriptUserExists) ||
		errors.Is(err, ErrScriptUnsupported) || errors.Is(err, ErrScriptBlocked) || errors.Is(err, ErrScriptValidation) {
		return err
	}
	id := randomHex(8)
	s.log.WarnContext(ctx, "script failed", "error_id", id, "connection", conn.Name, "action", string(action), "err", err)
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.ID = id
		if c.Err == nil {
			c.Err = errors.New(e.Message)
		}
		return &c
	}
	return &Error{Code: CodeScriptError, Message: "the connection's script failed", Err: err, ID: id}
}
