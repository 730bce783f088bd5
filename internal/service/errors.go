package service

import (
	"errors"
	"fmt"
)

// Code is a stable error code of the API contract (extensions.code).
type Code string

// The codes the service produces itself; the policy's refusals carry
// their own (FIELD_NOT_UPDATABLE, FORBIDDEN, BAD_USER_INPUT).
const (
	CodeUnauthenticated       Code = "UNAUTHENTICATED"
	CodeForbidden             Code = "FORBIDDEN"
	CodeNotFound              Code = "NOT_FOUND"
	CodeBadUserInput          Code = "BAD_USER_INPUT"
	CodeFieldNotUpdatable     Code = "FIELD_NOT_UPDATABLE"
	CodeInvalidCredentials    Code = "INVALID_CREDENTIALS"
	CodeUserBlocked           Code = "USER_BLOCKED"
	CodeUserExists            Code = "USER_EXISTS"
	CodeScriptError           Code = "SCRIPT_ERROR"
	CodeScriptTimeout         Code = "SCRIPT_TIMEOUT"
	CodeConnectionUnavailable Code = "CONNECTION_UNAVAILABLE"
	CodeTooManyAttempts       Code = "TOO_MANY_ATTEMPTS"
	CodeInternal              Code = "INTERNAL"
)

// Error is a typed service error: a stable code, a message safe to show the
// client, the field it concerns (if any) and the internal cause (logged,
// never shown).
type Error struct {
	Code    Code
	Field   string
	Message string
	Err     error
	// ID, when set, names this failure in the server's log, where its
	// cause is (a script's failure: the API shows its message only to
	// callers who may see the script's output, the ID to everyone).
	ID string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Errors callers compare against with errors.Is (the same *Error values are
// returned, so identity comparison works).
var (
	ErrInvalidCredentials = &Error{Code: CodeInvalidCredentials, Message: "wrong email or password"}
	ErrUserBlocked        = &Error{Code: CodeUserBlocked, Message: "the user is blocked"}
	ErrTooManyAttempts    = &Error{Code: CodeTooManyAttempts, Message: "too many failed login attempts; try again later"}
)

// CodeOf returns the code of err when it is (or wraps) a *Error.
func CodeOf(err error) (Code, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return "", false
}
