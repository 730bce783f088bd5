package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/graph/model"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// callerOf returns the authenticated caller (UNAUTHENTICATED without a
// valid token), for a use case that takes the caller and decides what it
// may do itself (through the policy core's Can* decisions): the resolver
// only passes it on.
func callerOf(ctx context.Context) (policy.Caller, error) {
	return auth.CallerFrom(ctx)
}

// authorize returns the caller when policy.Authorize lets it run the
// management operation op (the table every management use case asks):
// UNAUTHENTICATED without a valid token, FORBIDDEN for a user token or a
// management token lacking one of op's scopes. It is for the reads whose
// use cases do not take the caller; the others pass callerOf's caller and
// the service asks the same table.
func authorize(ctx context.Context, op policy.Op) (policy.Caller, error) {
	c, err := auth.CallerFrom(ctx)
	if err != nil {
		return policy.Caller{}, err
	}
	if err := policy.Authorize(c, op); err != nil {
		return policy.Caller{}, err
	}
	return c, nil
}

// managementAny returns the caller of a management token holding at least
// one of the scopes (for the decisions that are not one operation's: who
// may read appMetadata, who may call updateUser at all before the update
// policy decides field by field).
func managementAny(ctx context.Context, scopes ...policy.Scope) (policy.Caller, error) {
	c, err := auth.CallerFrom(ctx)
	if err != nil {
		return policy.Caller{}, err
	}
	if err := policy.CanCall(c); err != nil {
		return policy.Caller{}, err
	}
	for _, s := range scopes {
		if c.Has(s) {
			return c, nil
		}
	}
	return policy.Caller{}, forbidden(scopes, "one of ")
}

// self returns the caller of a user (self-service) token holding scope.
func self(ctx context.Context, scope policy.Scope) (policy.Caller, error) {
	c, err := auth.CallerFrom(ctx)
	if err != nil {
		return policy.Caller{}, err
	}
	if !c.Self {
		return policy.Caller{}, &service.Error{Code: service.CodeForbidden, Message: "this operation needs a user token (from login)"}
	}
	return c, requireScopes(c, scope)
}

func requireScopes(c policy.Caller, scopes ...policy.Scope) error {
	for _, s := range scopes {
		if !c.Has(s) {
			return forbidden(scopes, "")
		}
	}
	return nil
}

func forbidden(scopes []policy.Scope, prefix string) error {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return &service.Error{Code: service.CodeForbidden, Message: fmt.Sprintf("this operation needs the scope %s%s", prefix, strings.Join(names, " "))}
}

// appMetadataGuard lets management callers that read or write users read
// appMetadata (nil); user tokens never do (a function returning the
// field's error, a fresh one per read).
func appMetadataGuard(ctx context.Context) func() error {
	if _, err := managementAny(ctx, policy.ScopeReadUsers, policy.ScopeUpdateUsers, policy.ScopeCreateUsers, policy.ScopeUpdateUsersAppMetadata); err == nil {
		return nil
	}
	return appMetadataDenied
}

func appMetadataDenied() error {
	return &service.Error{Code: service.CodeForbidden, Field: policy.FieldAppMetadata, Message: "appMetadata is readable with a management token only"}
}

// userView is the GraphQL view of u for the operation's caller.
func userView(ctx context.Context, u policy.User) *model.User {
	return &model.User{U: u, AppMetadataDenied: appMetadataGuard(ctx)}
}

// userViews is userView of each user, the caller's rights decided once.
func userViews(ctx context.Context, us []policy.User) []model.User {
	out := make([]model.User, len(us))
	denied := appMetadataGuard(ctx)
	for i, u := range us {
		out[i] = model.User{U: u, AppMetadataDenied: denied}
	}
	return out
}
