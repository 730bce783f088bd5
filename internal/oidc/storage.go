package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// storage is op.Storage over Profiled's service: every state the OpenID
// Provider keeps (sign-in requests, codes, refresh tokens) lives in the
// service's store, so any number of processes can serve it.
type storage struct {
	svc     *service.Service
	keyring *auth.Keyring
	decide  AccessDecision
	apiAud  string
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.ClientCredentialsStorage       = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

// authRequest is a stored sign-in request (op.AuthRequest), kept as JSON.
type authRequest struct {
	ID            string                    `json:"id"`
	ClientID      string                    `json:"clientId"`
	RedirectURI   string                    `json:"redirectUri"`
	Scopes        []string                  `json:"scopes"`
	State         string                    `json:"state"`
	Nonce         string                    `json:"nonce"`
	ResponseType  zoidc.ResponseType        `json:"responseType"`
	ResponseMode  zoidc.ResponseMode        `json:"responseMode"`
	CodeChallenge string                    `json:"codeChallenge"`
	CodeMethod    zoidc.CodeChallengeMethod `json:"codeMethod"`
	Prompt        []string                  `json:"prompt"`
	MaxAge        *uint                     `json:"maxAge"`
	Audience      []string                  `json:"audience"`
	UserID        string                    `json:"userId"`
	AuthTime      time.Time                 `json:"authTime"`
	AMR           []string                  `json:"amr"`
	UserAgent     string                    `json:"userAgent"`
	IP            string                    `json:"ip"`
	IsDone        bool                      `json:"done"`
}

func (a *authRequest) GetID() string         { return a.ID }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAMR() []string      { return a.AMR }
func (a *authRequest) GetAudience() []string { return a.Audience }
func (a *authRequest) GetAuthTime() time.Time {
	return a.AuthTime
}
func (a *authRequest) GetClientID() string { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *zoidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &zoidc.CodeChallenge{Challenge: a.CodeChallenge, Method: a.CodeMethod}
}
func (a *authRequest) GetNonce() string                    { return a.Nonce }
func (a *authRequest) GetRedirectURI() string              { return a.RedirectURI }
func (a *authRequest) GetResponseType() zoidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() zoidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                 { return a.Scopes }
func (a *authRequest) GetState() string                    { return a.State }
func (a *authRequest) GetSubject() string                  { return a.UserID }
func (a *authRequest) Done() bool                          { return a.IsDone }

// refreshRequest is a valid refresh token's sign-in (op.RefreshTokenRequest).
type refreshRequest struct {
	grant  service.RefreshGrant
	scopes []string
}

func (r *refreshRequest) GetAMR() []string                 { return []string{"pwd"} }
func (r *refreshRequest) GetAudience() []string            { return r.grant.Device.Audience }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.grant.Device.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.grant.Device.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.grant.Device.UserID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// clientCredentialsRequest is a machine-to-machine token request.
type clientCredentialsRequest struct {
	app    service.Application
	scopes []policy.Scope
	aud    string
}

func (c *clientCredentialsRequest) GetSubject() string    { return service.ClientSubject(c.app.ID) }
func (c *clientCredentialsRequest) GetAudience() []string { return []string{c.aud} }
func (c *clientCredentialsRequest) GetScopes() []string {
	out := make([]string, len(c.scopes))
	for i, s := range c.scopes {
		out[i] = string(s)
	}
	return out
}

// oidcErr turns a service error into the library's error (its description
// is shown to the client: only the safe message).
func oidcErr(err error) error {
	var se *service.Error
	if errors.As(err, &se) {
		switch se.Code {
		case service.CodeNotFound, service.CodeInvalidCredentials:
			return zoidc.ErrInvalidGrant().WithParent(err)
		case service.CodeForbidden, service.CodeBadUserInput:
			return zoidc.ErrInvalidRequest().WithDescription("%s", se.Message).WithParent(err)
		}
	}
	return zoidc.ErrServerError().WithParent(err)
}

// ---- sign-in requests ----

func (s *storage) CreateAuthRequest(ctx context.Context, req *zoidc.AuthRequest, userID string) (op.AuthRequest, error) {
	app, err := s.svc.Application(ctx, req.ClientID)
	if err != nil {
		return nil, oidcErr(err)
	}
	if !app.HasGrant(service.GrantAuthorizationCode) {
		return nil, zoidc.ErrUnauthorizedClient().WithDescription("the application does not use the authorization_code grant")
	}
	// PKCE: S256 only; required for public clients.
	if req.CodeChallenge != "" && req.CodeChallengeMethod != zoidc.CodeChallengeMethodS256 {
		return nil, zoidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if req.CodeChallenge == "" && !app.Confidential() {
		return nil, zoidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if req.ResponseType != zoidc.ResponseTypeCode {
		return nil, zoidc.ErrInvalidRequest().WithDescription("response_type must be code")
	}
	requested := requestFrom(ctx).audience
	aud, err := s.audience(ctx, app, requested)
	if err != nil {
		return nil, err
	}
	id, err := randomID()
	if err != nil {
		return nil, zoidc.ErrServerError().WithParent(err)
	}
	ar := &authRequest{
		ID: id, ClientID: app.ID, RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State, Nonce: req.Nonce,
		ResponseType: req.ResponseType, ResponseMode: req.ResponseMode, CodeChallenge: req.CodeChallenge, CodeMethod: req.CodeChallengeMethod,
		Prompt: req.Prompt, MaxAge: req.MaxAge, Audience: aud, UserID: userID,
	}
	data, err := json.Marshal(ar)
	if err != nil {
		return nil, zoidc.ErrServerError().WithParent(err)
	}
	if err := s.svc.SaveAuthRequest(ctx, service.AuthRequestRecord{ID: id, ClientID: app.ID, Data: data}); err != nil {
		return nil, oidcErr(err)
	}
	return ar, nil
}

// audience decides the audience of the application's user tokens: the
// Profiled API (and the application) unless AccessDecision says otherwise.
func (s *storage) audience(ctx context.Context, app service.Application, requested string) ([]string, error) {
	if s.decide != nil {
		return s.decide(ctx, app, requested)
	}
	if requested != "" && requested != s.apiAud {
		return nil, zoidc.ErrInvalidRequest().WithDescription("unknown audience")
	}
	return []string{s.apiAud, app.ID}, nil
}

func decodeAuthRequest(rec service.AuthRequestRecord) (*authRequest, error) {
	var ar authRequest
	if err := json.Unmarshal(rec.Data, &ar); err != nil {
		return nil, zoidc.ErrServerError().WithParent(fmt.Errorf("sign-in request %s: %w", rec.ID, err))
	}
	return &ar, nil
}

func (s *storage) loadAuthRequest(ctx context.Context, id string) (*authRequest, service.AuthRequestRecord, error) {
	rec, err := s.svc.AuthRequest(ctx, id)
	if err != nil {
		return nil, rec, err
	}
	ar, err := decodeAuthRequest(rec)
	return ar, rec, err
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	ar, _, err := s.loadAuthRequest(ctx, id)
	if err != nil {
		return nil, oidcErr(err)
	}
	return ar, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	rec, err := s.svc.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, oidcErr(err)
	}
	ar, err := decodeAuthRequest(rec)
	if err != nil {
		return nil, err
	}
	if !ar.IsDone {
		return nil, zoidc.ErrInvalidGrant()
	}
	return ar, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	ar, rec, err := s.loadAuthRequest(ctx, id)
	if err != nil {
		return oidcErr(err)
	}
	if !ar.IsDone {
		return zoidc.ErrInvalidRequest().WithDescription("the sign-in is not complete")
	}
	return s.svc.UpdateAuthRequest(ctx, rec, code)
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.svc.DeleteAuthRequest(ctx, id)
}

// completeAuthRequest marks a sign-in request done for user.
func (s *storage) completeAuthRequest(ctx context.Context, id string, u policy.User, authTime time.Time) error {
	ar, rec, err := s.loadAuthRequest(ctx, id)
	if err != nil {
		return err
	}
	ar.UserID, ar.AuthTime, ar.AMR, ar.IsDone = u.ID, authTime, []string{"pwd"}, true
	ar.UserAgent, ar.IP = browserFrom(ctx)
	if rec.Data, err = json.Marshal(ar); err != nil {
		return err
	}
	return s.svc.UpdateAuthRequest(ctx, rec, "")
}

// ---- tokens ----

func (s *storage) appOf(ctx context.Context, clientID string) (service.Application, error) {
	app, err := s.svc.Application(ctx, clientID)
	if err != nil {
		return app, oidcErr(err)
	}
	return app, nil
}

func (s *storage) CreateAccessToken(ctx context.Context, request op.TokenRequest) (string, time.Time, error) {
	id, err := randomID()
	if err != nil {
		return "", time.Time{}, err
	}
	now := time.Now().UTC()
	switch r := request.(type) {
	case *authRequest:
		app, err := s.appOf(ctx, r.ClientID)
		if err != nil {
			return "", time.Time{}, err
		}
		if _, err := s.svc.UserByIDForToken(ctx, r.UserID); err != nil {
			return "", time.Time{}, oidcErr(err)
		}
		if err := s.svc.RecordGrant(ctx, app, r.UserID, r.Scopes); err != nil {
			return "", time.Time{}, oidcErr(err)
		}
		s.svc.RecordApplicationEvent(ctx, service.EventTokenExchange, r.UserID, app, nil, "authorization code")
		return id, now.Add(app.AccessTokenTTL), nil
	case *clientCredentialsRequest:
		s.svc.RecordApplicationEvent(ctx, service.EventClientCredentials, "", r.app, nil, "scopes: "+strings.Join(r.GetScopes(), " "))
		return id, now.Add(r.app.AccessTokenTTL), nil
	case *passwordRequest:
		return id, now.Add(r.app.AccessTokenTTL), nil
	}
	return "", time.Time{}, zoidc.ErrUnsupportedGrantType()
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, request op.TokenRequest, current string) (string, string, time.Time, error) {
	id, err := randomID()
	if err != nil {
		return "", "", time.Time{}, err
	}
	now := time.Now().UTC()
	switch r := request.(type) {
	case *authRequest:
		app, err := s.appOf(ctx, r.ClientID)
		if err != nil {
			return "", "", time.Time{}, err
		}
		u, err := s.svc.UserByIDForToken(ctx, r.UserID)
		if err != nil {
			return "", "", time.Time{}, oidcErr(err)
		}
		tok, _, err := s.svc.IssueRefreshToken(ctx, service.NewDevice{App: app, User: u, Scopes: r.Scopes, Audience: r.Audience, AuthTime: r.AuthTime,
			UserAgent: r.UserAgent, IP: r.IP})
		if err != nil {
			return "", "", time.Time{}, oidcErr(err)
		}
		s.svc.RecordApplicationEvent(ctx, service.EventTokenExchange, r.UserID, app, nil, "authorization code, refresh token issued")
		return id, tok, now.Add(app.AccessTokenTTL), nil
	case *refreshRequest:
		tok, err := s.svc.RotateRefreshToken(ctx, r.grant.App, r.grant, current)
		if err != nil {
			return "", "", time.Time{}, oidcErr(err)
		}
		return id, tok, now.Add(r.grant.App.AccessTokenTTL), nil
	}
	return "", "", time.Time{}, zoidc.ErrUnsupportedGrantType()
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	g, err := s.svc.CheckRefreshToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return &refreshRequest{grant: g, scopes: g.Device.Scopes}, nil
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if userID == "" {
		return nil
	}
	app, err := s.svc.Application(ctx, clientID)
	if err != nil {
		app = service.Application{ID: clientID}
	}
	s.svc.RecordApplicationEvent(ctx, service.EventLogout, userID, app, nil, "")
	return nil
}

// GetRefreshTokenInfo tells the revocation endpoint which tokens are our
// refresh tokens, and gives them back unchanged (as the "token ID"), so
// that RevokeToken receives them as they are. For any other string it
// returns op.ErrInvalidRefreshToken, and the library then tries to read the
// string as one of its own opaque access tokens: it decrypts it with
// AES-CFB, which authenticates nothing, and takes a result holding exactly
// one ':' for "tokenID:subject". A random refresh token (32 bytes) decrypts
// to such garbage about once in 17, and RevokeToken would then get the
// garbage: the endpoint answered 200 and the token stayed valid. That is
// why the token must be recognized here (TestOIDCRevocationAlwaysRevokes).
// Whose token it is (clientID) is RevokeToken's check.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	userID, err := s.svc.RefreshTokenUser(ctx, token)
	if errors.Is(err, service.ErrInvalidGrant) {
		return "", "", op.ErrInvalidRefreshToken
	} else if err != nil {
		return "", "", err
	}
	return userID, token, nil
}

func (s *storage) RevokeToken(ctx context.Context, token, userID, clientID string) *zoidc.Error {
	app, err := s.svc.Application(ctx, clientID)
	if err != nil {
		return zoidc.ErrInvalidClient()
	}
	if err := s.svc.RevokeRefreshToken(ctx, app, token); err != nil {
		return zoidc.ErrServerError()
	}
	return nil
}

// ---- keys ----

// The keyring's keys, each with its one algorithm: RS256, ES256 or EdDSA
// (auth.Algorithm values are the JOSE names go-jose uses).

type signingKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key any
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.kid }

type publicKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key any
}

func (k publicKey) ID() string                         { return k.kid }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	kid, alg, key := s.keyring.SigningKey()
	return signingKey{kid: kid, alg: jose.SignatureAlgorithm(alg), key: key}, nil
}

// SignatureAlgorithms: discovery's id_token_signing_alg_values_supported.
// The signing key's algorithm comes first, then every other one a key may
// have (auth.Algorithms), not only those of the keys loaded now: a relying
// party that read discovery once (go-oidc does, at start) must keep
// accepting ID tokens after `profiled keys rotate --alg` moves to another
// algorithm. Which key verifies a token, and so its one algorithm, is
// still the JWKS entry its kid names.
func (s *storage) SignatureAlgorithms(ctx context.Context) ([]jose.SignatureAlgorithm, error) {
	_, signAlg, _ := s.keyring.SigningKey()
	out := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(signAlg)}
	for _, a := range auth.Algorithms {
		if a != signAlg {
			out = append(out, jose.SignatureAlgorithm(a))
		}
	}
	return out, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	pub := s.keyring.PublicKeys() // ordered by kid
	out := make([]op.Key, 0, len(pub))
	for _, k := range pub {
		out = append(out, publicKey{kid: k.KID, alg: jose.SignatureAlgorithm(k.Alg), key: k.Key})
	}
	return out, nil
}

// ---- clients ----

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	app, err := s.svc.Application(ctx, clientID)
	if err != nil {
		if service.IsAppNotFound(err) {
			return nil, errors.New("unknown client")
		}
		return nil, zoidc.ErrServerError().WithParent(err)
	}
	return &client{app: app}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	if _, err := s.svc.AuthenticateApplication(ctx, clientID, secret); err != nil {
		if code, _ := service.CodeOf(err); code == service.CodeInvalidCredentials {
			return errors.New("invalid client credentials")
		}
		return zoidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) ClientCredentials(ctx context.Context, clientID, secret string) (op.Client, error) {
	app, err := s.svc.AuthenticateApplication(ctx, clientID, secret)
	if err != nil {
		if code, _ := service.CodeOf(err); code == service.CodeInvalidCredentials {
			return nil, errors.New("invalid client credentials")
		}
		return nil, zoidc.ErrServerError().WithParent(err)
	}
	return &client{app: app}, nil
}

func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	app, err := s.svc.Application(ctx, clientID)
	if err != nil {
		return nil, oidcErr(err)
	}
	granted, err := service.M2MScopes(app, scopes)
	if err != nil {
		return nil, zoidc.ErrInvalidScope().WithDescription("%s", err.Error())
	}
	return &clientCredentialsRequest{app: app, scopes: granted, aud: s.apiAud}, nil
}

// ---- claims ----

func (s *storage) SetUserinfoFromScopes(ctx context.Context, ui *zoidc.UserInfo, userID, clientID string, scopes []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	u, err := s.svc.UserByIDForToken(ctx, req.GetSubject())
	if err != nil {
		return oidcErr(err)
	}
	setUserinfo(ui, u, scopes)
	ui.AppendClaims("token_use", auth.TokenUseID)
	return nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, origin string) error {
	u, err := s.svc.UserByIDForToken(ctx, subject)
	if err != nil {
		return oidcErr(err)
	}
	setUserinfo(ui, u, []string{zoidc.ScopeOpenID, zoidc.ScopeProfile, zoidc.ScopeEmail})
	return nil
}

// setUserinfo puts the claims today's ID token carries, by scope.
func setUserinfo(ui *zoidc.UserInfo, u policy.User, scopes []string) {
	ui.Subject = u.ID
	if slices.Contains(scopes, zoidc.ScopeEmail) && u.Email != "" {
		ui.Email = u.Email
		ui.EmailVerified = zoidc.Bool(u.EmailVerified)
	}
	if slices.Contains(scopes, zoidc.ScopeProfile) {
		ui.Name, ui.GivenName, ui.FamilyName, ui.Nickname, ui.Picture = u.Name, u.GivenName, u.FamilyName, u.Nickname, u.Picture
		if !u.UpdatedAt.IsZero() {
			ui.UpdatedAt = zoidc.FromTime(u.UpdatedAt)
		}
	}
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, ir *zoidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	return errors.New("introspection is not offered")
}

func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, clientID string, scopes []string) (map[string]any, error) {
	return nil, nil
}

// GetPrivateClaimsFromRequest marks access tokens as Profiled's own: a
// management token (client_credentials) with the granted scopes, or a user
// token with the self-service scopes and the OpenID scopes asked for.
func (s *storage) GetPrivateClaimsFromRequest(ctx context.Context, req op.TokenRequest, scopes []string) (map[string]any, error) {
	if cc, ok := req.(*clientCredentialsRequest); ok {
		return map[string]any{"token_use": auth.TokenUseManagement, "scope": strings.Join(cc.GetScopes(), " ")}, nil
	}
	list := make([]string, 0, len(auth.UserScopes)+len(req.GetScopes()))
	for _, sc := range req.GetScopes() {
		list = append(list, sc)
	}
	for _, sc := range auth.UserScopes {
		if !slices.Contains(list, string(sc)) {
			list = append(list, string(sc))
		}
	}
	return map[string]any{"token_use": auth.TokenUseUser, "scope": strings.Join(list, " ")}, nil
}

func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not offered")
}

func (s *storage) ValidateJWTProfileScopes(ctx context.Context, userID string, scopes []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not offered")
}

func (s *storage) Health(ctx context.Context) error { return nil }

func randomID() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
