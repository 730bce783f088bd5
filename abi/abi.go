// Package abi is the contract between the Profiled sandbox (the host,
// internal/sandbox in this repository) and a custom-database action script
// (the guest, built with package sdk or any other WASI toolchain). Both
// sides import it, so it must stay dependency-free: it imports only the
// standard library and never anything of this module. The normative
// description is internal/sandbox/ABI.md in the repository; the names and
// numbers here are the ones that document uses.
//
// A script written in Go uses package sdk and never needs this package
// directly. Read on to write a script in another language (any toolchain
// that emits a WASI reactor module), or a tool that inspects modules.
//
// The ABI in one paragraph: a script is a WASI reactor module (it exports
// _initialize) that exports the marker function profiled_abi_v1 and one
// function per supported action (login, get_user, ...), each of type
// () -> i32 returning a Status. Inside an action the guest pulls its arguments
// with call_args + reply_read, calls host functions of the import module
// "profiled" (db_query, bcrypt_compare, ...), pushes its result with
// result_set and returns. The guest owns all of its memory: the host only
// reads from and writes into buffers the guest names by (pointer, length).
// Data crosses as a small length-prefixed binary value encoding, not JSON:
// the Tag constants give its bytes, the Append functions write it and a
// Decoder reads it (see the example).
package abi

// Version is the ABI version; the guest declares it by exporting a function
// named VersionExport.
const Version = 1

// Names of the module's contract.
const (
	// ImportModule is the import module name of every host function.
	ImportModule = "profiled"
	// VersionExport is the marker export (a function () -> ()) a module
	// built against this ABI carries.
	VersionExport = "profiled_abi_v1"
	// InitializeExport is the WASI reactor initializer the host runs once per
	// instance before any action.
	InitializeExport = "_initialize"
	// MemoryExport is the guest's linear memory.
	MemoryExport = "memory"
)

// Action export names: one function () -> i32 per supported action.
const (
	ExportLogin          = "login"
	ExportGetUser        = "get_user"
	ExportCreate         = "create"
	ExportVerify         = "verify"
	ExportChangePassword = "change_password"
	ExportDelete         = "delete"
	ExportChangeEmail    = "change_email"
)

// Actions lists the action export names in a fixed order.
var Actions = [...]string{
	ExportLogin, ExportGetUser, ExportCreate, ExportVerify,
	ExportChangePassword, ExportDelete, ExportChangeEmail,
}

// Host function names (import module ImportModule). Signatures are in
// HostFuncs and documented in sandbox/ABI.md.
const (
	FnCallArgs        = "call_args"
	FnReplyRead       = "reply_read"
	FnResultSet       = "result_set"
	FnDBQuery         = "db_query"
	FnDBExec          = "db_exec"
	FnBcryptHash      = "bcrypt_hash"
	FnBcryptCompare   = "bcrypt_compare"
	FnArgon2idHash    = "argon2id_hash"
	FnArgon2idCompare = "argon2id_compare"
	FnConfigGet       = "config_get"
	FnLog             = "log"
	FnDBBegin         = "db_begin"
	FnDBCommit        = "db_commit"
	FnDBRollback      = "db_rollback"
	FnPasswordVerify  = "password_verify"
	FnHashCompute     = "hash_compute"
)

// HostFunc describes one host function's WebAssembly signature: the number
// of i32 parameters; every host function returns exactly one i32.
type HostFunc struct {
	Name   string
	Params int
}

// HostFuncs lists every host function the host provides. All parameters and
// results are i32.
var HostFuncs = [...]HostFunc{
	{FnCallArgs, 0},
	{FnReplyRead, 2},
	{FnResultSet, 2},
	{FnDBQuery, 2},
	{FnDBExec, 2},
	{FnBcryptHash, 3},
	{FnBcryptCompare, 4},
	{FnArgon2idHash, 5},
	{FnArgon2idCompare, 4},
	{FnConfigGet, 2},
	{FnLog, 2},
	{FnDBBegin, 0},
	{FnDBCommit, 0},
	{FnDBRollback, 0},
	{FnPasswordVerify, 4},
	{FnHashCompute, 2},
}

// Status is what an action export returns.
type Status int32

// Action statuses. For StatusValidation, StatusError and StatusPanic the
// result (result_set) is a UTF-8 message; for StatusOK it is empty or one
// encoded map (a profile); for the others it is ignored.
//
// StatusValidation's message is meant for the end user (a password policy,
// a username taken): the service shows it as it is. StatusError's message
// is for the connection's administrators only (it may quote the database).
// StatusBlocked is for login only, and only after the password matched: the
// account exists but is disabled (the caller gets USER_BLOCKED).
const (
	StatusOK               Status = 0
	StatusWrongCredentials Status = 1
	StatusUserNotFound     Status = 2
	StatusUserExists       Status = 3
	StatusValidation       Status = 4
	StatusError            Status = 5
	StatusPanic            Status = 6
	StatusBlocked          Status = 7
)

// Errno is a host function failure; a host function returns -Errno.
// Except for ErrnoNoCall and ErrnoInval, the reply (reply_read) then holds a
// UTF-8 message.
type Errno int32

// Host function error numbers.
const (
	// ErrnoInval: a malformed request, an out-of-range pointer, a bad value.
	ErrnoInval Errno = 1
	// ErrnoNoCall: called outside an action (e.g. from _initialize).
	ErrnoNoCall Errno = 2
	// ErrnoLimit: a per-call limit was hit (host calls, rows, bytes). The
	// call fails with a script error whatever the guest does next.
	ErrnoLimit Errno = 3
	// ErrnoDB: the database refused the statement (syntax, constraint other
	// than uniqueness, ...).
	ErrnoDB Errno = 4
	// ErrnoDuplicate: a unique constraint was violated.
	ErrnoDuplicate Errno = 5
	// ErrnoUnavailable: the database cannot be reached (refused, unknown
	// host, bad credentials). The call fails with "database unavailable"
	// unless the guest returns StatusOK.
	ErrnoUnavailable Errno = 6
	// ErrnoTimeout: the call's deadline passed (the query was cancelled).
	ErrnoTimeout Errno = 7
	// ErrnoDenied: refused by policy (e.g. a bcrypt cost over 14).
	ErrnoDenied Errno = 8
	// ErrnoMismatch: a password does not match its hash.
	ErrnoMismatch Errno = 9
	// ErrnoNotFound: no such configuration key.
	ErrnoNotFound Errno = 10
)

var errnoNames = [...]string{
	ErrnoInval: "invalid argument", ErrnoNoCall: "not inside an action call",
	ErrnoLimit: "limit reached", ErrnoDB: "database error",
	ErrnoDuplicate: "duplicate key", ErrnoUnavailable: "database unavailable",
	ErrnoTimeout: "deadline exceeded", ErrnoDenied: "refused",
	ErrnoMismatch: "password mismatch", ErrnoNotFound: "not found",
}

// String names the errno.
func (e Errno) String() string {
	if e > 0 && int(e) < len(errnoNames) && errnoNames[e] != "" {
		return errnoNames[e]
	}
	return "errno " + itoa(int64(e))
}

// Limits the host enforces whatever the configuration (documented in ABI.md).
const (
	// MaxBcryptCost is the highest bcrypt cost the host hashes or verifies
	// (a cost-14 compare takes about 1 s on one core; 15 doubles it, and a
	// hash cannot be interrupted at the deadline).
	MaxBcryptCost = 14
	// MinBcryptCost is bcrypt's own minimum.
	MinBcryptCost = 4
	// MaxArgon2MemoryKiB is the highest argon2id memory parameter (1 GiB);
	// the host also refuses more than the script's own memory limit
	// (64 MiB by default).
	MaxArgon2MemoryKiB = 1 << 20
	// MaxArgon2Time is the highest argon2id time (iterations) parameter.
	MaxArgon2Time = 10
	// MaxArgon2Threads is the highest argon2id parallelism parameter.
	MaxArgon2Threads = 16
)

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
