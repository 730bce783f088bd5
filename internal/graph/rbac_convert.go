package graph

import (
	"context"
	"strconv"

	"github.com/profiled/profiled/internal/graph/model"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// Cursor prefixes of the RBAC pages (opaque to clients, like the others).
const (
	roleCursorPrefix     = "r:"
	roleUserCursorPrefix = "ru:"
	permCursorPrefix     = "p:"
)

func apiView(a policy.API) *model.API {
	ps := make([]model.APIPermission, len(a.Permissions))
	for i, p := range a.Permissions {
		ps[i] = model.APIPermission{Name: p.Name, Description: p.Description}
	}
	return &model.API{ID: a.ID, Identifier: a.Identifier, Name: a.Name, Permissions: ps, EnforceRbac: a.EnforceRBAC,
		PermissionsInToken: a.PermissionsInToken, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func permissionViews(ps []policy.Permission) []model.Permission {
	out := make([]model.Permission, len(ps))
	for i, p := range ps {
		out[i] = model.Permission{API: p.API, Name: p.Name}
	}
	return out
}

func roleView(r policy.Role) *model.Role {
	return &model.Role{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: permissionViews(r.Permissions),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func roleViews(rs []policy.Role) []model.Role {
	out := make([]model.Role, len(rs))
	for i, r := range rs {
		out[i] = *roleView(r)
	}
	return out
}

func permissionInputs(in []model.PermissionInput) []policy.Permission {
	out := make([]policy.Permission, len(in))
	for i, p := range in {
		out[i] = policy.Permission{API: p.API, Name: p.Name}
	}
	return out
}

func apiPermissionInputs(in []model.APIPermissionInput) []policy.APIPermission {
	out := make([]policy.APIPermission, len(in))
	for i, p := range in {
		out[i] = policy.APIPermission{Name: p.Name, Description: deref(p.Description)}
	}
	return out
}

func userPermissionView(p policy.EffectivePermission) model.UserPermission {
	out := model.UserPermission{API: p.API, Name: p.Name, Sources: make([]model.PermissionSource, len(p.Sources))}
	for i, s := range p.Sources {
		src := model.PermissionSource{Direct: s.Direct()}
		if !src.Direct {
			id, name := s.RoleID, s.RoleName
			src.RoleID, src.RoleName = &id, &name
		}
		out.Sources[i] = src
	}
	return out
}

// pageSize checks a `first` argument: def when nil, BAD_USER_INPUT outside
// 1..max.
func pageSize(first *int, def, max int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 1 || *first > max {
		return 0, &service.Error{Code: service.CodeBadUserInput, Field: "first", Message: "first must be between 1 and " + strconv.Itoa(max)}
	}
	return *first, nil
}

// assign runs an assignment mutation for the caller (the service decides:
// policy.OpAssignRoles) and returns the user as it is then.
func (r *mutationResolver) assign(ctx context.Context, userID string, fn func(policy.Caller) error) (*model.User, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := fn(caller); err != nil {
		return nil, err
	}
	u, err := r.Service.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	return userView(ctx, u), nil
}
