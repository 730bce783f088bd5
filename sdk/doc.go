// Package sdk is the Go guest SDK for Profiled custom-database action
// scripts: the code a customer writes, compiles to WebAssembly with
// `profiled script build` and uploads to a custom-database connection.
//
// A script is a package main that exports one function per action it
// supports and hands each to the matching typed adapter:
//
//	package main
//
//	import "github.com/profiled/profiled/sdk"
//
//	//go:wasmexport login
//	func login() int32 { return sdk.Login(loginUser) }
//
//	func loginUser(email, password string) (*sdk.Profile, error) {
//		var p sdk.Profile
//		var hash string
//		err := sdk.QueryRow("SELECT id, email, password FROM users WHERE email = ?", email).
//			Scan(&p.UserID, &p.Email, &hash)
//		if err == sdk.ErrNoRows {
//			return nil, sdk.ErrWrongCredentials
//		}
//		...
//	}
//
//	func main() {}
//
// The seven adapters are Login, GetUser, Create, Verify, ChangePassword,
// Delete and ChangeEmail; an action whose export is missing is reported as
// unsupported by the service. The //go:wasmexport line is what makes an
// action exist, which is why it is written in the script and not hidden in
// the SDK.
//
// # What a script can reach
//
// Only what the host grants: the connection's database through Query,
// QueryRow and Exec (positional `?` parameters only), password hashing
// through BcryptHash/BcryptCompare and Argon2idHash/Argon2idCompare (run
// natively by the host, about twice as fast as in WebAssembly and not
// counted as guest CPU), the connection's read-only configuration through
// Config, and Log. There is no filesystem, no network, no environment; the
// clock and crypto/rand are real. Each call has a deadline (20 s by default),
// a cap on database and hashing calls, on rows and on bytes.
//
// # Module-global state
//
// An instance of the module is reused for many calls of the same connection
// (never of another connection), so package-level variables may survive from
// one call to the next, like Auth0's `global` object. Use that for caches of
// things that are not about a user (a parsed configuration value, a
// compiled regexp); never keep user data (emails, passwords, profiles) in
// globals. Instances are discarded at any time (after an error, a timeout, a
// restart), so never rely on such state either.
//
// # Errors
//
// Return ErrWrongCredentials, ErrUserNotFound, ErrUserExists or ErrBlocked
// (possibly wrapped) for those outcomes, Validation("...") when the input is
// invalid: its message is shown to the end user as it is (write it for
// them: "the password needs a digit", "that username is taken"). Any other
// error is a failure: the service logs its message under an error id and
// shows it only to the connection's administrators; anonymous callers get a
// fixed message and the id. A panic is recovered and reported as a script error;
// the instance is then discarded.
//
// # Building, testing and uploading
//
// A script lives in its own folder and module; `profiled script init DIR
// --template mysql` (or django, wordpress) writes one from a template (see
// package templates) with this SDK vendored beside it, so go vet and
// editors work offline. Then:
//
//	profiled script test DIR --db mysql://root@127.0.0.1:3306/   # or --db sqlite:
//	profiled script build DIR -o script.wasm
//
// `script test` runs the steps of DIR/script_test.json (action calls and
// their expected outcomes, SQL checks) in the same sandbox, with the same
// host functions and limits, as the server, against a fresh database.
// Outside the sandbox every host function fails (see the handler example),
// so that, not `go test`, is how a script is tested. Upload the module with
// the setConnectionScript mutation on a CUSTOM_DATABASE connection whose
// databaseURL names the script's database. The service's docs/scripts.md
// covers the whole workflow.
package sdk

import (
	"errors"

	"github.com/profiled/profiled/abi"
)

// Outcome errors an action handler returns.
var (
	// ErrWrongCredentials: the email is unknown or the password does not
	// match (login). Do not tell the two apart.
	ErrWrongCredentials = errors.New("wrong email or password")
	// ErrUserNotFound: no such user (get_user, and verify, change_password,
	// change_email when nothing was updated).
	ErrUserNotFound = errors.New("user not found")
	// ErrUserExists: the user already exists (create, change_email).
	ErrUserExists = errors.New("user already exists")
	// ErrBlocked: login only, and only once the password matched: the
	// account exists but is disabled (Django's is_active = 0, WordPress's
	// spam or deleted flags). The caller gets USER_BLOCKED. Returning it
	// before checking the password would tell anyone which accounts exist.
	ErrBlocked = errors.New("user blocked")
)

// Errors of the host functions. A *HostError matches these with errors.Is.
var (
	// ErrNoRows: QueryRow found no row.
	ErrNoRows = errors.New("sdk: no rows in result set")
	// ErrDuplicate: the statement violated a unique constraint.
	ErrDuplicate = errors.New("sdk: duplicate key")
	// ErrDatabaseUnavailable: the database cannot be reached. The call fails
	// with "database unavailable" unless the handler succeeds anyway.
	ErrDatabaseUnavailable = errors.New("sdk: database unavailable")
	// ErrLimit: a per-call limit was hit (database/hashing calls, rows,
	// bytes). The call fails whatever the handler returns.
	ErrLimit = errors.New("sdk: sandbox limit reached")
	// ErrTimeout: the call's deadline passed.
	ErrTimeout = errors.New("sdk: deadline exceeded")
	// ErrDenied: the host refused (e.g. a bcrypt cost over 14).
	ErrDenied = errors.New("sdk: refused by the sandbox")
	// ErrNotInCall: a host function was used outside an action (in init or
	// a package-level variable initializer) or outside the sandbox.
	ErrNotInCall = errors.New("sdk: not inside an action call")
)

// ValidationError says the input is invalid; Message is shown to the user.
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

// Validation returns a *ValidationError with message msg.
func Validation(msg string) error { return &ValidationError{Message: msg} }

// HostError is a failure reported by a host function.
type HostError struct {
	Errno   abi.Errno
	Message string
}

func (e *HostError) Error() string {
	if e.Message == "" {
		return "sdk: " + e.Errno.String()
	}
	return "sdk: " + e.Errno.String() + ": " + e.Message
}

// Is makes errors.Is(err, ErrDuplicate) and friends work.
func (e *HostError) Is(target error) bool {
	switch target {
	case ErrDuplicate:
		return e.Errno == abi.ErrnoDuplicate
	case ErrDatabaseUnavailable:
		return e.Errno == abi.ErrnoUnavailable
	case ErrLimit:
		return e.Errno == abi.ErrnoLimit
	case ErrTimeout:
		return e.Errno == abi.ErrnoTimeout
	case ErrDenied:
		return e.Errno == abi.ErrnoDenied
	case ErrNotInCall:
		return e.Errno == abi.ErrnoNoCall
	}
	return false
}
