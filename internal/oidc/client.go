package oidc

import (
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/profiled/profiled/internal/service"
)

// client is an application as the library sees it.
type client struct {
	app service.Application
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.app.ID }
func (c *client) RedirectURIs() []string           { return c.app.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.app.LogoutURLs }

func (c *client) ApplicationType() op.ApplicationType {
	switch c.app.Type {
	case service.AppSPA:
		return op.ApplicationTypeUserAgent
	case service.AppNative:
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() zoidc.AuthMethod {
	if c.app.Confidential() {
		return zoidc.AuthMethodBasic
	}
	return zoidc.AuthMethodNone
}

func (c *client) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []zoidc.GrantType {
	var out []zoidc.GrantType
	for _, g := range c.app.GrantTypes {
		switch g {
		case service.GrantAuthorizationCode:
			out = append(out, zoidc.GrantTypeCode)
		case service.GrantRefreshToken:
			out = append(out, zoidc.GrantTypeRefreshToken)
		case service.GrantClientCredentials:
			out = append(out, zoidc.GrantTypeClientCredentials)
		}
	}
	return out
}

// LoginURL is the hosted sign-in page for a sign-in request.
func (c *client) LoginURL(id string) string { return LoginPath + "?authRequestID=" + id }

func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return c.app.IDTokenTTL }

// DevMode only lifts the library's https requirement on an exactly
// registered redirect URI; the service accepts http redirect and logout
// URLs for loopback hosts only, so this allows local development servers
// (an SPA on http://localhost:3000) and nothing else.
func (c *client) DevMode() bool { return true }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed: no scope beyond the OpenID ones (openid, profile,
// email, offline_access) reaches a user's token.
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion: the ID token carries the profile claims
// (as the login mutation's does), not only /userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
