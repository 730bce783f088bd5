package graph

import (
	"context"
	"time"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/graph/model"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

func seconds(p *int) *time.Duration {
	if p == nil {
		return nil
	}
	d := time.Duration(*p) * time.Second
	return &d
}

// applicationSpec turns the inputs into a service.ApplicationSpec; a nil
// list is "not given", an empty one clears.
func applicationSpec(name *string, redirects, origins, logouts, conns, grants, scopes []string,
	accessTTL, idTTL *int, rt *model.RefreshTokenSettingsInput) service.ApplicationSpec {
	spec := service.ApplicationSpec{
		Name: name, RedirectURIs: redirects, WebOrigins: origins, LogoutURLs: logouts, Connections: conns, GrantTypes: grants,
		SetRedirectURIs: redirects != nil, SetWebOrigins: origins != nil, SetLogoutURLs: logouts != nil,
		SetConnections: conns != nil, SetGrantTypes: grants != nil, SetManagementScopes: scopes != nil,
		AccessTokenTTL: seconds(accessTTL), IDTokenTTL: seconds(idTTL),
	}
	for _, s := range scopes {
		spec.ManagementScopes = append(spec.ManagementScopes, policy.Scope(s))
	}
	if rt != nil {
		spec.Refresh = &service.RefreshTokenSpec{Rotation: rt.Rotation, ReuseInterval: seconds(rt.ReuseInterval),
			AbsoluteLifetime: seconds(rt.AbsoluteLifetime), IdleLifetime: seconds(rt.IdleLifetime), MaxActive: rt.MaxActive}
	}
	return spec
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func applicationView(a service.Application) *model.Application {
	scopes := make([]string, len(a.ManagementScopes))
	for i, s := range a.ManagementScopes {
		scopes[i] = string(s)
	}
	rt := a.RefreshToken
	return &model.Application{
		ID: a.ID, Name: a.Name, Type: model.ApplicationType(a.Type), Confidential: a.Confidential(),
		RedirectURIs: nonNil(a.RedirectURIs), WebOrigins: nonNil(a.WebOrigins), LogoutURLs: nonNil(a.LogoutURLs),
		Connections: nonNil(a.Connections), GrantTypes: nonNil(a.GrantTypes), ManagementScopes: scopes,
		AccessTokenLifetime: int(a.AccessTokenTTL / time.Second), IDTokenLifetime: int(a.IDTokenTTL / time.Second),
		RefreshToken: &model.RefreshTokenSettings{Rotation: rt.Rotation, ReuseInterval: int(rt.ReuseInterval / time.Second),
			AbsoluteLifetime: int(rt.AbsoluteLifetime / time.Second), IdleLifetime: int(rt.IdleLifetime / time.Second), MaxActive: rt.MaxActive},
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

func withSecret(a service.Application, secret string) *model.ApplicationWithSecret {
	out := &model.ApplicationWithSecret{Application: applicationView(a)}
	if secret != "" {
		out.ClientSecret = &secret
	}
	return out
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deviceView shows a device; its application when it still exists and the
// caller may read applications or owns the device.
func (r *Resolver) deviceView(ctx context.Context, d service.Device) *model.Device {
	out := &model.Device{ID: d.ID, Name: d.Name, ClientID: d.ClientID, IP: optStr(d.IP), LastIP: optStr(d.LastIP),
		UserAgent: optStr(d.UserAgent), CreatedAt: d.CreatedAt, LastUsedAt: d.LastUsedAt, ExpiresAt: d.ExpiresAt}
	if app, err := r.Service.Application(ctx, d.ClientID); err == nil {
		out.Application = applicationView(app)
	}
	return out
}

func (r *Resolver) revokeGrant(ctx context.Context, userID, id string) (*model.AuthorizedApplication, error) {
	var app service.Application
	if g, err := r.Service.AuthorizedApplications(ctx, userID); err == nil {
		for _, a := range g {
			if a.ID == id {
				app = a.Application
			}
		}
	}
	g, err := r.Service.RevokeGrant(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if app.ID == "" {
		if a, err := r.Service.Application(ctx, g.ClientID); err == nil {
			app = a
		} else {
			app = service.Application{ID: g.ClientID, Name: g.ClientID}
		}
	}
	return &model.AuthorizedApplication{ID: g.ID, Application: applicationView(app), Scopes: nonNil(g.Scopes), CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}, nil
}

// canReadUserApps: a management token with read:users, or the user's own
// token with read:current_user.
func canReadUserApps(ctx context.Context, userID string) error {
	c, err := auth.CallerFrom(ctx)
	if err != nil {
		return err
	}
	if c.Self {
		if c.Subject != userID {
			return &service.Error{Code: service.CodeForbidden, Message: "a user token reads its own user only"}
		}
		return requireScopes(c, policy.ScopeReadCurrentUser)
	}
	return requireScopes(c, policy.ScopeReadUsers)
}
