package sandbox

import (
	"context"
	"errors"
	"time"
)

// Outcome errors of Module.Run. Sentinels match with errors.Is; the two
// message types with errors.As.
var (
	// ErrUnsupported: the connection's module does not export the action.
	ErrUnsupported = errors.New("sandbox: the connection's script does not support this action")
	// ErrWrongCredentials: login found no such user or the password does not
	// match (the script does not say which).
	ErrWrongCredentials = errors.New("sandbox: wrong email or password")
	// ErrUserNotFound: get_user found nobody; verify, change_password and
	// change_email found nobody to update. For login, callers treat it like
	// ErrWrongCredentials.
	ErrUserNotFound = errors.New("sandbox: user not found")
	// ErrUserExists: create (or change_email) found the user already there.
	ErrUserExists = errors.New("sandbox: user already exists")
	// ErrBlocked: login found the user and the password matched, but the
	// account is disabled in the custom database (abi.StatusBlocked).
	ErrBlocked = errors.New("sandbox: user blocked")
	// ErrTimeout: the call passed its deadline (the connection's timeout or
	// the caller's deadline, whichever came first); the script was stopped.
	// Errors wrapping it also match context.DeadlineExceeded.
	ErrTimeout = errors.New("sandbox: script timed out")
	// ErrDatabaseUnavailable: the host could not reach the custom database
	// (connection refused, unknown host, bad credentials, unknown database)
	// and the script did not succeed anyway.
	ErrDatabaseUnavailable = errors.New("sandbox: custom database unavailable")
	// ErrClosed: the module or the runtime was closed (the connection's
	// script was replaced or forgotten while the call waited).
	ErrClosed = errors.New("sandbox: closed")
)

// ValidationError: the script says the input is invalid (sdk.Validation).
// Message comes from the script (the call's passwords masked).
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return "invalid input: " + e.Message }

// ScriptError: the script failed (a returned error, a panic, a trap, the
// memory limit, a host-call/row/byte cap, a malformed or oversized result, a
// profile without an id, a module that is not a valid script). Message says
// which; it never contains the call's passwords.
type ScriptError struct{ Message string }

func (e *ScriptError) Error() string { return "script error: " + e.Message }

func scriptErr(msg string) error { return &ScriptError{Message: msg} }

// timeoutError is ErrTimeout, also matching context.DeadlineExceeded.
type timeoutError struct {
	after time.Duration // the connection's timeout (0: the caller's deadline)
	why   string        // what the call was waiting for, if not the script
}

func (e *timeoutError) Error() string {
	msg := "sandbox: script timed out"
	if e.why != "" {
		msg += " (" + e.why + ")"
	}
	if e.after > 0 {
		msg += " (deadline " + e.after.String() + ")"
	}
	return msg
}

func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// unavailableError is ErrDatabaseUnavailable with the (redacted) cause.
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string {
	return "sandbox: custom database unavailable: " + e.msg
}

func (e *unavailableError) Is(target error) bool { return target == ErrDatabaseUnavailable }
