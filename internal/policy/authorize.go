package policy

import "strings"

// Management operations: each admin use case of the service takes the
// caller as a parameter and asks one of the decisions below before it
// reads or writes anything. Which scopes an operation needs is decided
// here, once, for every way in (GraphQL, the export download, the CLI with
// its operator caller); the transport only authenticates the caller.
//
// Decisions that depend on the data (CanManageUsersOf on the target
// connection, CanGrantAdminScopes and CanAddAdminScopes on a connection's
// adminScopes) are asked by the use case once it has read that data.

// CanCall decides whether caller may run a management operation that
// needs every scope in scopes. A user (self-service) token never may,
// whatever its scopes; a management token must hold each one. Refused with
// ReasonForbidden (no field), naming the scopes the operation needs.
func CanCall(caller Caller, scopes ...Scope) error {
	if caller.Self {
		return refuse(ReasonForbidden, "", "a user token cannot call management operations")
	}
	for _, s := range scopes {
		if !caller.Has(s) {
			names := make([]string, len(scopes))
			for i, s := range scopes {
				names[i] = string(s)
			}
			return refuse(ReasonForbidden, "", "this operation needs the scope %s", strings.Join(names, " "))
		}
	}
	return nil
}

// CanCreateConnection decides createConnection: create:connections. The
// adminScopes the new connection would grant are decided apart, once
// validated (CanGrantAdminScopes).
func CanCreateConnection(caller Caller) error {
	return CanCall(caller, ScopeCreateConnections)
}

// CanUpdateConnection decides updateConnection and setConnectionScript:
// update:connections. A change of adminScopes is decided apart
// (CanGrantAdminScopes, CanAddAdminScopes).
func CanUpdateConnection(caller Caller) error {
	return CanCall(caller, ScopeUpdateConnections)
}

// CanImportUsers decides starting an import: create:users, and
// update:users too when it updates existing users (upsert). Writing the
// users of a connection that grants admin scopes is decided apart, on the
// connection (CanManageUsersOf), when the import starts and in every
// batch.
func CanImportUsers(caller Caller, upsert bool) error {
	if upsert {
		return CanCall(caller, ScopeCreateUsers, ScopeUpdateUsers)
	}
	return CanCall(caller, ScopeCreateUsers)
}

// CanExportUsers decides starting an export: read:users; with the
// password hashes, create:users and update:users too (hashes leave only
// for a move to another store, which takes a caller allowed to create and
// overwrite users).
func CanExportUsers(caller Caller, passwordHashes bool) error {
	if passwordHashes {
		return CanCall(caller, ScopeReadUsers, ScopeCreateUsers, ScopeUpdateUsers)
	}
	return CanCall(caller, ScopeReadUsers)
}

// CanReadJobs decides reading an import or export job, and downloading a
// completed export's file: read:users.
func CanReadJobs(caller Caller) error {
	return CanCall(caller, ScopeReadUsers)
}
