package policy

import "strings"

// Management operations: each admin use case of the service takes the
// caller as a parameter and, before it reads or writes anything, asks
// Authorize for its Op. Which scopes an operation needs is written here,
// once (opScopes), for every way in (GraphQL, the export download, the CLI
// with its operator caller); the transports only authenticate the caller.
// The reads whose use cases do not take the caller (user, users,
// connections, stats, applications...) have rows here too: their GraphQL
// resolvers ask Authorize for them before calling the service.
//
// Decisions that depend on the data (CanManageUsersOf on the target
// connection, CanGrantAdminScopes and CanAddAdminScopes on a connection's
// adminScopes, the management scopes an application may be given) are
// asked by the use case once it has read that data.

// Op is a management operation: an admin use case of the service.
type Op string

// The management operations.
const (
	OpCreateConnection Op = "createConnection"
	// OpUpdateConnection is updateConnection and setConnectionScript.
	OpUpdateConnection Op = "updateConnection"
	OpImportUsers      Op = "importUsers"
	// OpImportUpsertUsers is an import that updates existing users too.
	OpImportUpsertUsers Op = "importUsers(upsert)"
	OpExportUsers       Op = "exportUsers"
	// OpExportPasswordHashes is an export listing password_hash: hashes
	// leave only for a move to another store, which takes a caller allowed
	// to create and overwrite users.
	OpExportPasswordHashes Op = "exportUsers(password_hash)"
	// OpReadJobs is reading an import or export job, waiting for one, and
	// downloading a completed export's file.
	OpReadJobs Op = "job"

	OpCreateUser Op = "createUser"
	// OpChangePassword is changePassword and resetPassword (the update
	// policy then decides on the user, as for updateUser).
	OpChangePassword    Op = "changePassword"
	OpMarkEmailVerified Op = "markEmailVerified"
	OpDeleteUser        Op = "deleteUser"
	// OpAssignRoles is assignRoles, removeRoles, assignPermissions and
	// removePermissions: changing what a user may do at APIs.
	OpAssignRoles Op = "assignRoles"

	// OpReadAPIs is reading the APIs (apis, api).
	OpReadAPIs  Op = "apis"
	OpCreateAPI Op = "createApi"
	OpUpdateAPI Op = "updateApi"
	OpDeleteAPI Op = "deleteApi"

	// OpReadRoles is reading the roles (roles, role).
	OpReadRoles Op = "roles"
	// OpReadRoleUsers is reading the users holding a role (Role.users).
	OpReadRoleUsers Op = "Role.users"
	// OpReadUserRoles is reading a user's roles and effective permissions
	// (User.roles, User.permissions).
	OpReadUserRoles Op = "User.roles"
	OpCreateRole    Op = "createRole"
	// OpUpdateRole is updateRole, addRolePermissions and
	// removeRolePermissions.
	OpUpdateRole Op = "updateRole"
	OpDeleteRole Op = "deleteRole"

	// The management reads. Each GraphQL read resolver authorizes its
	// caller with one of these rows before it reads anything; the scopes
	// are those of the contract (read:users for users, read:connections
	// for connections, read:clients for applications).

	// OpReadUser is reading one user (user).
	OpReadUser Op = "user"
	// OpReadUsers is listing and searching users (users, usersByEmail).
	OpReadUsers Op = "users"
	// OpReadUserLogs is reading a user's events (User.logs).
	OpReadUserLogs Op = "User.logs"
	// OpReadFieldRules is reading which of a user's fields may change
	// and why (User.fieldRules, the dashboard's user page).
	OpReadFieldRules Op = "User.fieldRules"
	// OpReadStats is the dashboard's counts (stats).
	OpReadStats Op = "stats"
	// OpReadConnections is reading connections (connection, connections).
	OpReadConnections Op = "connections"
	// OpTryConnectionScript is running a connection's script with test
	// input (tryConnectionScript): it stores nothing but reaches the
	// custom database, so it needs what changing the script needs.
	OpTryConnectionScript Op = "tryConnectionScript"
	// OpReadApplications is reading applications (applications,
	// application).
	OpReadApplications Op = "applications"
	// OpRevokeUserApps is unlinkDevice and revokeGrant: an admin ending a
	// user's device session or application grant.
	OpRevokeUserApps Op = "unlinkDevice"

	OpCreateApplication Op = "createApplication"
	// OpUpdateApplication is updateApplication and rotateApplicationSecret.
	OpUpdateApplication Op = "updateApplication"
	OpDeleteApplication Op = "deleteApplication"
)

// opScopes is every management operation and the scopes it needs.
var opScopes = map[Op][]Scope{
	OpCreateConnection:     {ScopeCreateConnections},
	OpUpdateConnection:     {ScopeUpdateConnections},
	OpImportUsers:          {ScopeCreateUsers},
	OpImportUpsertUsers:    {ScopeCreateUsers, ScopeUpdateUsers},
	OpExportUsers:          {ScopeReadUsers},
	OpExportPasswordHashes: {ScopeReadUsers, ScopeCreateUsers, ScopeUpdateUsers},
	OpReadJobs:             {ScopeReadUsers},

	OpCreateUser:        {ScopeCreateUsers},
	OpChangePassword:    {ScopeUpdateUsers},
	OpMarkEmailVerified: {ScopeUpdateUsers},
	OpDeleteUser:        {ScopeDeleteUsers},
	OpAssignRoles:       {ScopeUpdateUsers},

	OpReadAPIs:  {ScopeReadResourceServers},
	OpCreateAPI: {ScopeCreateResourceServers},
	OpUpdateAPI: {ScopeUpdateResourceServers},
	OpDeleteAPI: {ScopeDeleteResourceServers},

	OpReadRoles:     {ScopeReadRoles},
	OpReadRoleUsers: {ScopeReadRoles, ScopeReadUsers},
	OpReadUserRoles: {ScopeReadUsers, ScopeReadRoles},
	OpCreateRole:    {ScopeCreateRoles},
	OpUpdateRole:    {ScopeUpdateRoles},
	OpDeleteRole:    {ScopeDeleteRoles},

	OpReadUser:            {ScopeReadUsers},
	OpReadUsers:           {ScopeReadUsers},
	OpReadUserLogs:        {ScopeReadUsers},
	OpReadFieldRules:      {ScopeReadUsers},
	OpReadStats:           {ScopeReadUsers},
	OpReadConnections:     {ScopeReadConnections},
	OpTryConnectionScript: {ScopeUpdateConnections},
	OpReadApplications:    {ScopeReadClients},
	OpRevokeUserApps:      {ScopeUpdateUsers},

	OpCreateApplication: {ScopeCreateClients},
	OpUpdateApplication: {ScopeUpdateClients},
	OpDeleteApplication: {ScopeDeleteClients},
}

// OpScopes returns the scopes op needs (a copy); ok is false for an
// unknown operation.
func OpScopes(op Op) (scopes []Scope, ok bool) {
	s, ok := opScopes[op]
	return append([]Scope(nil), s...), ok
}

// Authorize decides whether caller may run the management operation op
// (CanCall with op's scopes). An unknown operation is refused: a use case
// whose operation is missing from the table fails closed.
func Authorize(caller Caller, op Op) error {
	scopes, ok := opScopes[op]
	if !ok {
		return refuse(ReasonForbidden, "", "unknown management operation %q", op)
	}
	return CanCall(caller, scopes...)
}

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
