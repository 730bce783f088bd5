// Package oidc makes Profiled an OpenID Provider: discovery, /authorize
// (authorization code with PKCE), /oauth/token (authorization_code,
// refresh_token, client_credentials and, where an application enables it,
// password), /userinfo, /oauth/revoke, /v2/logout and the hosted sign-in
// pages, built on the certified github.com/zitadel/oidc/v3 op package over
// the service's store. Tokens are signed with the service's own keys
// (internal/auth), published at /.well-known/jwks.json.
//
// CORS: the token, userinfo and revocation endpoints answer browsers of an
// application's allowed web origins once the server's CORS allow-list is
// given AllowedOrigin (see there); this package sets no CORS header itself.
package oidc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/service"
)

// Paths of the OpenID Provider (Auth0's where it has one).
const (
	DiscoveryPath  = "/.well-known/openid-configuration"
	AuthorizePath  = "/authorize"
	TokenPath      = "/oauth/token"
	UserinfoPath   = "/userinfo"
	RevokePath     = "/oauth/revoke"
	EndSessionPath = "/v2/logout"
	JWKSPath       = "/.well-known/jwks.json"
	LoginPath      = "/login"
	SignupPath     = "/signup"
	LogoutPath     = "/logout"
	StylePath      = "/login/style.css"
)

// maxFormBytes bounds the body of a token, revocation or sign-in request.
const maxFormBytes = 64 << 10

// AccessDecision decides the audience of the access token an application
// asks for a user (requested is the "audience" parameter of /authorize,
// "" when none). It is the hook for APIs and roles: return the audiences
// (the Profiled API, an API's identifier, the application) or an error
// (an *oidc.Error from github.com/zitadel/oidc/v3/pkg/oidc is shown to the
// client). Nil: only the Profiled API (the default) is accepted.
type AccessDecision func(ctx context.Context, app service.Application, requested string) ([]string, error)

// Config configures the provider.
type Config struct {
	// Issuer is the provider's public URL (https://id.example.com), the iss
	// of its tokens. http is accepted only for loopback hosts or with
	// Insecure.
	Issuer   string
	Insecure bool
	Service  *service.Service
	Keyring  *auth.Keyring
	Logger   *slog.Logger
	Decide   AccessDecision
}

// Provider is the OpenID Provider with its hosted pages.
type Provider struct {
	cfg     Config
	op      *op.Provider
	storage *storage
	secure  bool
}

// New builds the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Service == nil || cfg.Keyring == nil {
		return nil, errors.New("oidc: a service and a keyring are required")
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("oidc: the issuer must be an absolute http(s) URL without query or fragment")
	}
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st := &storage{svc: cfg.Service, keyring: cfg.Keyring, decide: cfg.Decide, apiAud: cfg.Keyring.Config().Audience}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(strings.TrimPrefix(AuthorizePath, "/")), op.NewEndpoint(strings.TrimPrefix(TokenPath, "/")),
			op.NewEndpoint(strings.TrimPrefix(UserinfoPath, "/")), op.NewEndpoint(strings.TrimPrefix(RevokePath, "/")),
			op.NewEndpoint(strings.TrimPrefix(EndSessionPath, "/")), op.NewEndpoint(strings.TrimPrefix(JWKSPath, "/"))),
		op.WithCORSOptions(nil), // the server's allow-list decides (see package doc)
	}
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(&op.Config{
		CryptoKey:                key, // the library's opaque tokens: not used (access tokens are JWTs)
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{"openid", "profile", "email", "offline_access"},
		DefaultLogoutRedirectURI: LogoutPath,
	}, st, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, op: p, storage: st, secure: u.Scheme == "https"}, nil
}

// Routes are the handlers to mount on the server's mux, by pattern. The
// JWKS path is not among them: the server already serves the keyring's.
func (p *Provider) Routes() map[string]http.Handler {
	opH := p.wrap(p.op)
	return map[string]http.Handler{
		DiscoveryPath:       opH,
		AuthorizePath:       opH,
		AuthorizePath + "/": opH, // the callback after sign-in
		TokenPath:           p.wrap(http.HandlerFunc(p.token)),
		UserinfoPath:        opH,
		RevokePath:          opH,
		EndSessionPath:      p.wrap(http.HandlerFunc(p.endSession)),
		LoginPath:           p.wrap(http.HandlerFunc(p.login)),
		SignupPath:          p.wrap(http.HandlerFunc(p.signup)),
		LogoutPath:          p.wrap(http.HandlerFunc(p.logout)),
		"GET " + StylePath:  http.HandlerFunc(serveStyle),
	}
}

type requestInfo struct {
	audience      string
	ip, userAgent string
}

// browserFrom is the user agent and address of the request.
func browserFrom(ctx context.Context) (userAgent, ip string) {
	ri := requestFrom(ctx)
	return ri.userAgent, ri.ip
}

type requestKey struct{}

func requestFrom(ctx context.Context) requestInfo {
	ri, _ := ctx.Value(requestKey{}).(requestInfo)
	return ri
}

// wrap bounds bodies and hands the client's address, user agent and the
// request's audience parameter to the service and storage.
func (p *Provider) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		ip, ua := auth.ClientFrom(r.Context())
		ctx := service.WithClient(r.Context(), service.Client{IP: ip, UserAgent: ua})
		ctx = context.WithValue(ctx, requestKey{}, requestInfo{audience: r.URL.Query().Get("audience"), ip: ip, userAgent: ua})
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// token handles the password grant itself (the library has none) and
// hands every other grant to the library.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
			return
		}
		if r.PostForm.Get("grant_type") == "password" {
			p.passwordGrant(w, r)
			return
		}
	}
	p.op.ServeHTTP(w, r)
}

func tokenError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// endSession ends the browser's login session, then lets the library
// validate the request and redirect (to an allowed logout URL only).
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	p.endLoginSession(w, r)
	p.op.ServeHTTP(w, r)
}
