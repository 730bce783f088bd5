package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// Roles and permissions: APIs (resource servers), roles, and their
// assignment to users. Every mutation is one transaction; assignments are
// recorded as events of the user (User.logs) naming who made them.

// APIInput creates an API.
type APIInput struct {
	Identifier         string
	Name               string
	Permissions        []policy.APIPermission
	EnforceRBAC        bool
	PermissionsInToken bool
}

// APIPatch changes an API; nil fields are left as they are. Permissions,
// when set, is the complete new list (omitted ones are removed, from every
// role and user too).
type APIPatch struct {
	Name               *string
	Permissions        *[]policy.APIPermission
	EnforceRBAC        *bool
	PermissionsInToken *bool
}

func (s *Service) rbacLimits() policy.RBACLimits { return s.cfg.RBACLimits.WithDefaults() }

func rbacErr(what string, err error) error {
	if errors.Is(err, ErrConflict) {
		return &Error{Code: CodeBadUserInput, Field: "name", Message: what + " already exists", Err: err}
	}
	return storeErr(what, err)
}

// APIs lists the APIs to caller (policy.OpReadAPIs).
func (s *Service) APIs(ctx context.Context, caller policy.Caller) ([]policy.API, error) {
	if err := policy.Authorize(caller, policy.OpReadAPIs); err != nil {
		return nil, err
	}
	as, err := s.store.APIs(ctx)
	return as, storeErr("API", err)
}

// API returns the API with this identifier to caller (policy.OpReadAPIs).
func (s *Service) API(ctx context.Context, caller policy.Caller, identifier string) (policy.API, error) {
	if err := policy.Authorize(caller, policy.OpReadAPIs); err != nil {
		return policy.API{}, err
	}
	return s.api(ctx, identifier)
}

// api is API once the caller is authorized.
func (s *Service) api(ctx context.Context, identifier string) (policy.API, error) {
	a, err := s.store.APIByIdentifier(ctx, identifier)
	return a, storeErr("API", err)
}

// CreateAPI creates an API on behalf of caller (policy.OpCreateAPI).
func (s *Service) CreateAPI(ctx context.Context, caller policy.Caller, in APIInput) (policy.API, error) {
	if err := policy.Authorize(caller, policy.OpCreateAPI); err != nil {
		return policy.API{}, err
	}
	now := s.now()
	a := policy.API{ID: "api_" + randomHex(12), Identifier: in.Identifier, Name: in.Name, Permissions: in.Permissions,
		EnforceRBAC: in.EnforceRBAC, PermissionsInToken: in.PermissionsInToken, CreatedAt: now, UpdatedAt: now}
	a, err := policy.ValidateAPI(a, s.rbacLimits(), s.cfg.ReservedAudiences)
	if err != nil {
		return policy.API{}, err
	}
	err = s.store.WithTx(ctx, func(tx Queries) error {
		if err := tx.InsertAPI(ctx, a); err != nil {
			if errors.Is(err, ErrConflict) {
				return &Error{Code: CodeBadUserInput, Field: policy.FieldIdentifier, Message: fmt.Sprintf("an API with the identifier %q already exists", a.Identifier), Err: err}
			}
			return storeErr("API", err)
		}
		return nil
	})
	if err != nil {
		return policy.API{}, err
	}
	return s.api(ctx, a.Identifier)
}

// UpdateAPI changes an API's name, permissions or settings (its identifier
// is immutable), on behalf of caller (policy.OpUpdateAPI).
func (s *Service) UpdateAPI(ctx context.Context, caller policy.Caller, identifier string, p APIPatch) (policy.API, error) {
	if err := policy.Authorize(caller, policy.OpUpdateAPI); err != nil {
		return policy.API{}, err
	}
	err := s.store.WithTx(ctx, func(tx Queries) error {
		a, err := tx.APIByIdentifierForUpdate(ctx, identifier)
		if err != nil {
			return storeErr("API", err)
		}
		if p.Name != nil {
			a.Name = *p.Name
		}
		if p.Permissions != nil {
			a.Permissions = *p.Permissions
		}
		if p.EnforceRBAC != nil {
			a.EnforceRBAC = *p.EnforceRBAC
		}
		if p.PermissionsInToken != nil {
			a.PermissionsInToken = *p.PermissionsInToken
		}
		if a, err = policy.ValidateAPI(a, s.rbacLimits(), s.cfg.ReservedAudiences); err != nil {
			return err
		}
		a.UpdatedAt = s.now()
		return storeErr("API", tx.UpdateAPI(ctx, a))
	})
	if err != nil {
		return policy.API{}, err
	}
	return s.api(ctx, identifier)
}

// DeleteAPI deletes an API, its permissions and their assignments, on
// behalf of caller (policy.OpDeleteAPI).
func (s *Service) DeleteAPI(ctx context.Context, caller policy.Caller, identifier string) error {
	if err := policy.Authorize(caller, policy.OpDeleteAPI); err != nil {
		return err
	}
	return s.store.WithTx(ctx, func(tx Queries) error {
		a, err := tx.APIByIdentifierForUpdate(ctx, identifier)
		if err != nil {
			return storeErr("API", err)
		}
		return storeErr("API", tx.DeleteAPI(ctx, a.ID))
	})
}

// Roles lists a page of roles by name to caller (policy.OpReadRoles).
func (s *Service) Roles(ctx context.Context, caller policy.Caller, p ListRolesParams) ([]policy.Role, error) {
	if err := policy.Authorize(caller, policy.OpReadRoles); err != nil {
		return nil, err
	}
	rs, err := s.store.Roles(ctx, p)
	return rs, storeErr("role", err)
}

// Role returns a role with its permissions to caller
// (policy.OpReadRoles).
func (s *Service) Role(ctx context.Context, caller policy.Caller, id string) (policy.Role, error) {
	if err := policy.Authorize(caller, policy.OpReadRoles); err != nil {
		return policy.Role{}, err
	}
	return s.role(ctx, id)
}

// role is Role once the caller is authorized.
func (s *Service) role(ctx context.Context, id string) (policy.Role, error) {
	r, err := s.store.RoleByID(ctx, id)
	return r, storeErr("role", err)
}

// RoleUsers lists a page of the users holding a role, and their number,
// to caller (policy.OpReadRoleUsers).
func (s *Service) RoleUsers(ctx context.Context, caller policy.Caller, roleID, after string, limit int) ([]policy.User, int, error) {
	if err := policy.Authorize(caller, policy.OpReadRoleUsers); err != nil {
		return nil, 0, err
	}
	us, n, err := s.store.RoleUsers(ctx, roleID, after, limit)
	return us, n, storeErr("role", err)
}

// checkPermissions refuses permissions no API defines.
func checkPermissions(ctx context.Context, tx Queries, ps []policy.Permission) error {
	var ids []string
	for _, p := range ps {
		if !slices.Contains(ids, p.API) {
			ids = append(ids, p.API)
		}
	}
	apis, err := tx.APIsByIdentifiers(ctx, ids)
	if err != nil {
		return storeErr("API", err)
	}
	return policy.UnknownPermissions(ps, apis)
}

// tooMany refuses a request naming more items than the limit could ever
// hold, before any work that grows with their number.
func tooMany(limit string, n, max int, what string) error {
	if n <= max {
		return nil
	}
	return policy.CheckLimit(limit, n, max, what+" named in one request")
}

// newPermissions returns the permissions of ps not in have, each once.
func newPermissions(have, ps []policy.Permission) []policy.Permission {
	var out []policy.Permission
	for _, p := range ps {
		if !slices.Contains(have, p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// CreateRole creates a role with its permissions, on behalf of caller
// (policy.OpCreateRole).
func (s *Service) CreateRole(ctx context.Context, caller policy.Caller, name, description string, perms []policy.Permission) (policy.Role, error) {
	if err := policy.Authorize(caller, policy.OpCreateRole); err != nil {
		return policy.Role{}, err
	}
	now := s.now()
	r := policy.Role{ID: "rol_" + randomHex(12), Name: name, Description: description, CreatedAt: now, UpdatedAt: now}
	if err := policy.ValidateRole(r); err != nil {
		return policy.Role{}, err
	}
	lim := s.rbacLimits()
	if err := tooMany(policy.LimitPermissionsPerRole, len(perms), lim.PermissionsPerRole, "permissions"); err != nil {
		return policy.Role{}, err
	}
	perms = newPermissions(nil, perms)
	if err := policy.CheckLimit(policy.LimitPermissionsPerRole, len(perms), lim.PermissionsPerRole, "permissions of role "+name); err != nil {
		return policy.Role{}, err
	}
	err := s.store.WithTx(ctx, func(tx Queries) error {
		n, err := tx.CountRolesForUpdate(ctx)
		if err != nil {
			return storeErr("role", err)
		}
		if err := policy.CheckLimit(policy.LimitRoles, n+1, lim.Roles, "the number of roles"); err != nil {
			return err
		}
		if err := checkPermissions(ctx, tx, perms); err != nil {
			return err
		}
		if err := tx.InsertRole(ctx, r); err != nil {
			if errors.Is(err, ErrConflict) {
				return &Error{Code: CodeBadUserInput, Field: policy.FieldName, Message: fmt.Sprintf("a role named %q already exists", name), Err: err}
			}
			return storeErr("role", err)
		}
		return storeErr("role", tx.AddRolePermissions(ctx, r.ID, perms))
	})
	if err != nil {
		return policy.Role{}, err
	}
	return s.role(ctx, r.ID)
}

// UpdateRole renames a role or changes its description (nil: unchanged),
// on behalf of caller (policy.OpUpdateRole).
func (s *Service) UpdateRole(ctx context.Context, caller policy.Caller, id string, name, description *string) (policy.Role, error) {
	if err := policy.Authorize(caller, policy.OpUpdateRole); err != nil {
		return policy.Role{}, err
	}
	err := s.store.WithTx(ctx, func(tx Queries) error {
		r, err := tx.RoleByIDForUpdate(ctx, id)
		if err != nil {
			return storeErr("role", err)
		}
		if name != nil {
			r.Name = *name
		}
		if description != nil {
			r.Description = *description
		}
		if err := policy.ValidateRole(r); err != nil {
			return err
		}
		r.UpdatedAt = s.now()
		if err := tx.UpdateRole(ctx, r); err != nil {
			if errors.Is(err, ErrConflict) {
				return &Error{Code: CodeBadUserInput, Field: policy.FieldName, Message: fmt.Sprintf("a role named %q already exists", r.Name), Err: err}
			}
			return storeErr("role", err)
		}
		return nil
	})
	if err != nil {
		return policy.Role{}, err
	}
	return s.role(ctx, id)
}

// DeleteRole deletes a role; its users lose it (their next token shows
// it). On behalf of caller (policy.OpDeleteRole).
func (s *Service) DeleteRole(ctx context.Context, caller policy.Caller, id string) error {
	if err := policy.Authorize(caller, policy.OpDeleteRole); err != nil {
		return err
	}
	return s.store.WithTx(ctx, func(tx Queries) error {
		if _, err := tx.RoleByIDForUpdate(ctx, id); err != nil {
			return storeErr("role", err)
		}
		return storeErr("role", tx.DeleteRole(ctx, id))
	})
}

// AddRolePermissions adds permissions to a role (ones it has are
// ignored), on behalf of caller (policy.OpUpdateRole).
func (s *Service) AddRolePermissions(ctx context.Context, caller policy.Caller, id string, perms []policy.Permission) (policy.Role, error) {
	if err := policy.Authorize(caller, policy.OpUpdateRole); err != nil {
		return policy.Role{}, err
	}
	if err := tooMany(policy.LimitPermissionsPerRole, len(perms), s.rbacLimits().PermissionsPerRole, "permissions"); err != nil {
		return policy.Role{}, err
	}
	err := s.store.WithTx(ctx, func(tx Queries) error {
		r, err := tx.RoleByIDForUpdate(ctx, id)
		if err != nil {
			return storeErr("role", err)
		}
		add := newPermissions(r.Permissions, perms)
		if err := policy.CheckLimit(policy.LimitPermissionsPerRole, len(r.Permissions)+len(add), s.rbacLimits().PermissionsPerRole, "permissions of role "+r.Name); err != nil {
			return err
		}
		if err := checkPermissions(ctx, tx, add); err != nil {
			return err
		}
		return storeErr("role", tx.AddRolePermissions(ctx, id, add))
	})
	if err != nil {
		return policy.Role{}, err
	}
	return s.role(ctx, id)
}

// RemoveRolePermissions removes permissions from a role, on behalf of
// caller (policy.OpUpdateRole).
func (s *Service) RemoveRolePermissions(ctx context.Context, caller policy.Caller, id string, perms []policy.Permission) (policy.Role, error) {
	if err := policy.Authorize(caller, policy.OpUpdateRole); err != nil {
		return policy.Role{}, err
	}
	if err := tooMany(policy.LimitPermissionsPerRole, len(perms), s.rbacLimits().PermissionsPerRole, "permissions"); err != nil {
		return policy.Role{}, err
	}
	err := s.store.WithTx(ctx, func(tx Queries) error {
		if _, err := tx.RoleByIDForUpdate(ctx, id); err != nil {
			return storeErr("role", err)
		}
		return storeErr("role", tx.RemoveRolePermissions(ctx, id, perms))
	})
	if err != nil {
		return policy.Role{}, err
	}
	return s.role(ctx, id)
}

// UserRoles lists a user's roles, by name, to caller
// (policy.OpReadUserRoles).
func (s *Service) UserRoles(ctx context.Context, caller policy.Caller, userID string) ([]policy.Role, error) {
	if err := policy.Authorize(caller, policy.OpReadUserRoles); err != nil {
		return nil, err
	}
	rs, err := s.store.UserRoles(ctx, userID)
	return rs, storeErr("user", err)
}

// UserPermissions lists a user's effective permissions with their
// sources, to caller (policy.OpReadUserRoles).
func (s *Service) UserPermissions(ctx context.Context, caller policy.Caller, userID string) ([]policy.EffectivePermission, error) {
	if err := policy.Authorize(caller, policy.OpReadUserRoles); err != nil {
		return nil, err
	}
	direct, err := s.store.UserDirectPermissions(ctx, userID)
	if err != nil {
		return nil, storeErr("user", err)
	}
	roles, err := s.store.UserRoles(ctx, userID)
	if err != nil {
		return nil, storeErr("user", err)
	}
	return policy.EffectivePermissions(direct, roles), nil
}

// maxDetail bounds an event's detail.
const maxDetail = 2000

func cut(s string) string {
	if len(s) <= maxDetail {
		return s
	}
	for n := maxDetail; n > 0; n-- {
		if s[n]&0xC0 != 0x80 {
			return s[:n] + "…"
		}
	}
	return ""
}

// assignment runs fn on the locked user in one transaction, and records
// its event there (type typ; detail "what, by <caller>").
func (s *Service) assignment(ctx context.Context, caller policy.Caller, userID, typ string, fn func(tx Queries, u policy.User) (string, error)) error {
	return s.store.WithTx(ctx, func(tx Queries) error {
		u, err := tx.UserByIDForUpdate(ctx, userID)
		if err != nil {
			return storeErr("user", err)
		}
		// As for every management write on a user of an admin connection:
		// its scopes are needed too.
		c, err := tx.ConnectionByName(ctx, u.Connection)
		if err != nil {
			return storeErr("connection", err)
		}
		if err := policy.CanManageUsersOf(caller, c.Connection); err != nil {
			return err
		}
		what, err := fn(tx, u)
		if err != nil || what == "" {
			return err
		}
		return tx.InsertEvent(ctx, s.event(ctx, typ, u.ID, u.Connection, nil, cut(what+", by "+caller.Subject)))
	})
}

func roleNames(rs []policy.Role) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// AssignRoles gives a user roles (ones it holds are ignored), at most
// RBACLimits.RolesPerUser in all. caller needs update:users
// (policy.OpAssignRoles), as for the three other assignment use cases.
func (s *Service) AssignRoles(ctx context.Context, caller policy.Caller, userID string, roleIDs []string) error {
	if err := policy.Authorize(caller, policy.OpAssignRoles); err != nil {
		return err
	}
	if err := tooMany(policy.LimitRolesPerUser, len(roleIDs), s.rbacLimits().RolesPerUser, "roles"); err != nil {
		return err
	}
	return s.assignment(ctx, caller, userID, "assign_roles", func(tx Queries, u policy.User) (string, error) {
		have, err := tx.UserRoles(ctx, u.ID)
		if err != nil {
			return "", storeErr("user", err)
		}
		var add []policy.Role
		for _, id := range roleIDs {
			if slices.ContainsFunc(have, func(r policy.Role) bool { return r.ID == id }) ||
				slices.ContainsFunc(add, func(r policy.Role) bool { return r.ID == id }) {
				continue
			}
			r, err := tx.RoleByID(ctx, id)
			if err != nil {
				if errors.Is(err, ErrNotFound) {
					return "", &Error{Code: CodeNotFound, Field: "roles", Message: fmt.Sprintf("role %q not found", id), Err: err}
				}
				return "", storeErr("role", err)
			}
			add = append(add, r)
		}
		if err := policy.CheckLimit(policy.LimitRolesPerUser, len(have)+len(add), s.rbacLimits().RolesPerUser, "the roles of user "+u.ID); err != nil {
			return "", err
		}
		if len(add) == 0 {
			return "", nil
		}
		ids := make([]string, len(add))
		for i, r := range add {
			ids[i] = r.ID
		}
		if err := tx.AddUserRoles(ctx, u.ID, ids, s.now()); err != nil {
			return "", storeErr("role", err)
		}
		return "roles " + roleNames(add), nil
	})
}

// RemoveRoles takes roles from a user (ones it lacks are ignored). It
// takes effect at the user's next token.
func (s *Service) RemoveRoles(ctx context.Context, caller policy.Caller, userID string, roleIDs []string) error {
	if err := policy.Authorize(caller, policy.OpAssignRoles); err != nil {
		return err
	}
	if err := tooMany(policy.LimitRolesPerUser, len(roleIDs), s.rbacLimits().RolesPerUser, "roles"); err != nil {
		return err
	}
	return s.assignment(ctx, caller, userID, "remove_roles", func(tx Queries, u policy.User) (string, error) {
		have, err := tx.UserRoles(ctx, u.ID)
		if err != nil {
			return "", storeErr("user", err)
		}
		var gone []policy.Role
		for _, r := range have {
			if slices.Contains(roleIDs, r.ID) {
				gone = append(gone, r)
			}
		}
		if len(gone) == 0 {
			return "", nil
		}
		ids := make([]string, len(gone))
		for i, r := range gone {
			ids[i] = r.ID
		}
		if err := tx.RemoveUserRoles(ctx, u.ID, ids); err != nil {
			return "", storeErr("role", err)
		}
		return "roles " + roleNames(gone), nil
	})
}

// AssignPermissions gives a user permissions directly (ones it holds
// directly are ignored), at most RBACLimits.DirectPermissionsPerUser.
func (s *Service) AssignPermissions(ctx context.Context, caller policy.Caller, userID string, perms []policy.Permission) error {
	if err := policy.Authorize(caller, policy.OpAssignRoles); err != nil {
		return err
	}
	if err := tooMany(policy.LimitDirectPermissionsPerUser, len(perms), s.rbacLimits().DirectPermissionsPerUser, "permissions"); err != nil {
		return err
	}
	return s.assignment(ctx, caller, userID, "assign_permissions", func(tx Queries, u policy.User) (string, error) {
		have, err := tx.UserDirectPermissions(ctx, u.ID)
		if err != nil {
			return "", storeErr("user", err)
		}
		add := newPermissions(have, perms)
		if err := policy.CheckLimit(policy.LimitDirectPermissionsPerUser, len(have)+len(add), s.rbacLimits().DirectPermissionsPerUser, "the direct permissions of user "+u.ID); err != nil {
			return "", err
		}
		if err := checkPermissions(ctx, tx, add); err != nil {
			return "", err
		}
		if len(add) == 0 {
			return "", nil
		}
		if err := tx.AddUserPermissions(ctx, u.ID, add, s.now()); err != nil {
			return "", storeErr("permission", err)
		}
		return "permissions " + policy.Describe(add), nil
	})
}

// RemovePermissions takes direct permissions from a user (those it holds
// through a role stay until the role goes).
func (s *Service) RemovePermissions(ctx context.Context, caller policy.Caller, userID string, perms []policy.Permission) error {
	if err := policy.Authorize(caller, policy.OpAssignRoles); err != nil {
		return err
	}
	if err := tooMany(policy.LimitDirectPermissionsPerUser, len(perms), s.rbacLimits().DirectPermissionsPerUser, "permissions"); err != nil {
		return err
	}
	return s.assignment(ctx, caller, userID, "remove_permissions", func(tx Queries, u policy.User) (string, error) {
		have, err := tx.UserDirectPermissions(ctx, u.ID)
		if err != nil {
			return "", storeErr("user", err)
		}
		var gone []policy.Permission
		for _, p := range have {
			if slices.Contains(perms, p) {
				gone = append(gone, p)
			}
		}
		if len(gone) == 0 {
			return "", nil
		}
		if err := tx.RemoveUserPermissions(ctx, u.ID, gone); err != nil {
			return "", storeErr("permission", err)
		}
		return "permissions " + policy.Describe(gone), nil
	})
}

// TokenRequest asks for an access token for an API: its audience (the
// API's identifier; "" = this service's own self-service token) and the
// scopes requested.
type TokenRequest struct {
	Audience string
	Scopes   []string
	// IDToken asks for AuthResult.IDToken too (the login mutation sets it
	// when its selection has idToken).
	IDToken bool
	// NoTokens: authenticate only, sign nothing (the OpenID Provider,
	// which makes its own tokens). AuthResult then has only User.
	NoTokens bool
}

// APIGrant decides what an access token for the API audience carries for
// user userID who asked for scopes requested: the API's settings and the
// user's permissions for it, now (a role removed a moment ago is gone),
// through policy.DecideAPIToken. Every token endpoint — login and the
// OpenID Provider — calls it. NOT_FOUND-like BAD_USER_INPUT (field
// "audience") when no API has that identifier.
func (s *Service) APIGrant(ctx context.Context, userID string, api policy.API, requested []string) (policy.APITokenGrant, error) {
	held, err := s.store.UserAPIPermissions(ctx, userID, api.ID)
	if err != nil {
		return policy.APITokenGrant{}, storeErr("permission", err)
	}
	ps := make([]policy.Permission, len(held))
	for i, n := range held {
		ps[i] = policy.Permission{API: api.Identifier, Name: n}
	}
	return policy.DecideAPIToken(api, requested, ps), nil
}

// AudienceAPI returns the API a token request names; BAD_USER_INPUT
// (field "audience") when none has that identifier.
func (s *Service) AudienceAPI(ctx context.Context, audience string) (policy.API, error) {
	var a policy.API
	err := ErrNotFound
	if len(audience) <= 600 {
		a, err = s.store.APIByIdentifier(ctx, audience)
	}
	if errors.Is(err, ErrNotFound) {
		return policy.API{}, &Error{Code: CodeBadUserInput, Field: "audience", Message: fmt.Sprintf("no API has the identifier %q", truncateRunes(audience, 64))}
	}
	return a, storeErr("API", err)
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// IssuedAPIToken is an access token for an API.
type IssuedAPIToken struct {
	Token     string
	ExpiresIn time.Duration
	Grant     policy.APITokenGrant
}
