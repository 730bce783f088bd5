package service

import (
	"context"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// ListRolesParams selects a page of roles ordered by name.
type ListRolesParams struct {
	After      string // exclusive lower bound on the name; "" = from the start
	NameFilter string // case-insensitive substring of the name; "" = all
	Limit      int
}

// RBACQueries are the store's operations on APIs, roles and assignments.
// APIs are keyed by ID in the store; permissions are named by the API's
// identifier (policy.Permission.API) in and out. Writers lock what they
// count: the role (RoleByIDForUpdate) before changing its permissions, the
// user (UserByIDForUpdate) before changing its roles or permissions, every
// role (CountRolesForUpdate) before creating one, so limits hold under
// concurrent requests.
type RBACQueries interface {
	// APIs lists every API with its permissions, by identifier.
	APIs(ctx context.Context) ([]policy.API, error)
	// APIByIdentifier returns ErrNotFound when absent.
	APIByIdentifier(ctx context.Context, identifier string) (policy.API, error)
	// APIByIdentifierForUpdate also locks the API's row until the
	// transaction ends.
	APIByIdentifierForUpdate(ctx context.Context, identifier string) (policy.API, error)
	// APIsByIdentifiers returns the APIs among identifiers that exist.
	APIsByIdentifiers(ctx context.Context, identifiers []string) (map[string]policy.API, error)
	// InsertAPI stores a with its permissions; ErrConflict when its ID or
	// identifier exists.
	InsertAPI(ctx context.Context, a policy.API) error
	// UpdateAPI writes a's name, settings and UpdatedAt and makes its
	// permissions exactly a.Permissions (a permission removed is removed
	// from every role and user). ErrNotFound when absent.
	UpdateAPI(ctx context.Context, a policy.API) error
	// DeleteAPI removes the API, its permissions and their assignments.
	DeleteAPI(ctx context.Context, id string) error

	// Roles lists a page of roles with their permissions.
	Roles(ctx context.Context, p ListRolesParams) ([]policy.Role, error)
	// CountRolesForUpdate counts the roles, locking the table against
	// concurrent inserts until the transaction ends (MySQL; SQLite
	// transactions are serialized).
	CountRolesForUpdate(ctx context.Context) (int, error)
	// RoleByID and RoleByName return the role with its permissions;
	// ErrNotFound when absent.
	RoleByID(ctx context.Context, id string) (policy.Role, error)
	RoleByIDForUpdate(ctx context.Context, id string) (policy.Role, error)
	RoleByName(ctx context.Context, name string) (policy.Role, error)
	// InsertRole stores r (its Permissions are ignored); ErrConflict on a
	// taken name.
	InsertRole(ctx context.Context, r policy.Role) error
	// UpdateRole writes r's name, description and UpdatedAt; ErrConflict
	// on a taken name, ErrNotFound when absent.
	UpdateRole(ctx context.Context, r policy.Role) error
	// DeleteRole removes the role and its assignments.
	DeleteRole(ctx context.Context, id string) error
	// AddRolePermissions adds permissions the role does not have yet;
	// RemoveRolePermissions removes them (absent ones are ignored).
	AddRolePermissions(ctx context.Context, roleID string, ps []policy.Permission) error
	RemoveRolePermissions(ctx context.Context, roleID string, ps []policy.Permission) error

	// UserRoles lists the user's roles with their permissions, by name.
	UserRoles(ctx context.Context, userID string) ([]policy.Role, error)
	// AddUserRoles assigns roles the user does not hold yet.
	AddUserRoles(ctx context.Context, userID string, roleIDs []string, now time.Time) error
	RemoveUserRoles(ctx context.Context, userID string, roleIDs []string) error
	// UserDirectPermissions lists the permissions assigned to the user
	// directly, by API identifier and name.
	UserDirectPermissions(ctx context.Context, userID string) ([]policy.Permission, error)
	AddUserPermissions(ctx context.Context, userID string, ps []policy.Permission, now time.Time) error
	RemoveUserPermissions(ctx context.Context, userID string, ps []policy.Permission) error
	// UserAPIPermissions lists, once each, the names of the permissions of
	// API apiID the user holds directly or through a role: what a token
	// for that API needs, in one statement.
	UserAPIPermissions(ctx context.Context, userID, apiID string) ([]string, error)
	// RoleUsers lists a page of the role's users ordered by id (after: an
	// exclusive lower bound) and how many it has in all.
	RoleUsers(ctx context.Context, roleID, after string, limit int) ([]policy.User, int, error)
}
