package oidc

import (
	"net/http"
	"slices"
	"strings"
	"time"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// passwordRequest is a Resource Owner Password grant (op.TokenRequest and
// op.IDTokenRequest).
type passwordRequest struct {
	app      service.Application
	user     policy.User
	scopes   []string
	audience []string
	authTime time.Time
}

func (r *passwordRequest) GetAMR() []string       { return []string{"pwd"} }
func (r *passwordRequest) GetAudience() []string  { return r.audience }
func (r *passwordRequest) GetAuthTime() time.Time { return r.authTime }
func (r *passwordRequest) GetClientID() string    { return r.app.ID }
func (r *passwordRequest) GetScopes() []string    { return r.scopes }
func (r *passwordRequest) GetSubject() string     { return r.user.ID }

// passwordGrant: only for an application that enables it; the whole login
// path (scripts, migration, brute force, blocked users) runs through the
// service. The connection is the "realm" parameter, or the application's
// only connection. No refresh token is issued.
func (p *Provider) passwordGrant(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	var app service.Application
	var err error
	if secret != "" {
		app, err = p.cfg.Service.AuthenticateApplication(ctx, clientID, secret)
	} else {
		app, err = p.cfg.Service.Application(ctx, clientID)
		if err == nil && app.Confidential() {
			err = service.ErrInvalidCredentials
		}
	}
	if err != nil {
		if code, _ := service.CodeOf(err); code == service.CodeInvalidCredentials || code == service.CodeNotFound {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		p.cfg.Logger.ErrorContext(ctx, "password grant client", "err", err)
		tokenError(w, http.StatusInternalServerError, "server_error", "try again later")
		return
	}
	if !app.HasGrant(service.GrantPassword) {
		tokenError(w, http.StatusBadRequest, "unauthorized_client", "the application does not use the password grant")
		return
	}
	realm := r.PostForm.Get("realm")
	if realm == "" && len(app.Connections) == 1 {
		realm = app.Connections[0]
	}
	if realm == "" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "realm (the connection) is required")
		return
	}
	if !app.AllowsConnection(realm) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "wrong email or password")
		return
	}
	aud, err := p.storage.audience(ctx, app, r.PostForm.Get("audience"))
	if err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "unknown audience")
		return
	}
	// The grant's username is an email, or (without '@', on a connection
	// with requiresUsername) a username, as at Auth0.
	login := service.LoginRequest{Connection: realm, Password: r.PostForm.Get("password"), Token: service.TokenRequest{NoTokens: true}}
	if id := r.PostForm.Get("username"); strings.Contains(id, "@") {
		login.Email = id
	} else {
		login.Username = id
	}
	res, err := p.cfg.Service.LoginWith(ctx, login)
	user := res.User
	if err != nil {
		code, _ := service.CodeOf(err)
		switch code {
		case service.CodeInvalidCredentials, service.CodeUserBlocked, service.CodeTooManyAttempts:
			tokenError(w, http.StatusBadRequest, "invalid_grant", loginMessage(err))
		case service.CodeBadUserInput:
			tokenError(w, http.StatusBadRequest, "invalid_request", "username must be an email address, or a username on a connection that requires usernames")
		default:
			tokenError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later")
		}
		return
	}
	var scopes []string
	for _, s := range strings.Fields(r.PostForm.Get("scope")) {
		if slices.Contains([]string{"openid", "profile", "email"}, s) && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	req := &passwordRequest{app: app, user: user, scopes: scopes, audience: aud, authTime: time.Now()}
	ctx = op.ContextWithIssuer(ctx, p.cfg.Issuer)
	var resp *zoidc.AccessTokenResponse
	if slices.Contains(scopes, "openid") {
		resp, err = op.CreateTokenResponse(ctx, req, &client{app: app}, p.op, true, "", "")
	} else {
		// Without the openid scope this is plain OAuth 2.0: no ID token
		// (OpenID Connect Core §3.1.2.1), so none is signed.
		c := &client{app: app}
		var at string
		var validity time.Duration
		if at, _, validity, err = op.CreateAccessToken(ctx, req, c.AccessTokenType(), p.op, c, ""); err == nil {
			resp = &zoidc.AccessTokenResponse{AccessToken: at, TokenType: zoidc.BearerToken,
				ExpiresIn: uint64(validity.Seconds()), Scope: req.GetScopes()}
		}
	}
	if err != nil {
		p.cfg.Logger.ErrorContext(ctx, "password grant tokens", "err", err)
		tokenError(w, http.StatusInternalServerError, "server_error", "try again later")
		return
	}
	p.cfg.Service.RecordApplicationEvent(ctx, service.EventTokenExchange, user.ID, app, nil, "password grant")
	w.Header().Set("Cache-Control", "no-store")
	httphelper.MarshalJSON(w, resp)
}
