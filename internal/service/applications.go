package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// ApplicationType is the kind of an application (OAuth client).
type ApplicationType string

// Application types. Single-page and native applications are public
// clients (no secret; PKCE required); regular web and machine-to-machine
// applications are confidential (a secret authenticates them).
const (
	AppSPA        ApplicationType = "SPA"
	AppRegularWeb ApplicationType = "REGULAR_WEB"
	AppNative     ApplicationType = "NATIVE"
	AppM2M        ApplicationType = "M2M"
)

// Grant types an application may enable.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
)

// Limits and defaults of application settings.
const (
	MaxApplicationNameBytes = 255
	MaxApplicationURLs      = 100
	MaxApplicationURLBytes  = 2048
	// Token lifetimes are 1 s to 365.25 days (Auth0's bounds).
	MinTokenLifetime        = time.Second
	MaxTokenLifetime        = 31557600 * time.Second
	DefaultAccessTokenTTL   = time.Hour
	DefaultIDTokenTTL       = time.Hour
	DefaultRefreshAbsolute  = 30 * 24 * time.Hour
	DefaultRefreshIdle      = 15 * 24 * time.Hour
	MaxRefreshReuseInterval = time.Hour
	DefaultMaxActiveDevices = 200
	MaxMaxActiveDevices     = 1000
	applicationSecretBytes  = 32
	applicationIDBytes      = 16
)

// RefreshTokenSettings say how an application's refresh tokens behave.
type RefreshTokenSettings struct {
	// Rotation: each exchange returns a new token and retires the one
	// used; a retired token used again revokes its whole family (device).
	Rotation bool `json:"rotation"`
	// ReuseInterval is how long a just-rotated token may still be
	// exchanged (network retries) before its reuse counts as theft.
	ReuseInterval time.Duration `json:"reuseInterval"`
	// AbsoluteLifetime bounds a family from its sign-in; IdleLifetime
	// bounds the time between two exchanges.
	AbsoluteLifetime time.Duration `json:"absoluteLifetime"`
	IdleLifetime     time.Duration `json:"idleLifetime"`
	// MaxActive is how many devices (active token families) one user may
	// hold on the application; the oldest is revoked beyond it.
	MaxActive int `json:"maxActive"`
}

// Application is an OAuth client of the OpenID Provider.
type Application struct {
	ID   string // the client_id
	Name string
	Type ApplicationType
	// SecretHash is the SHA-256 (hex) of a confidential client's secret;
	// the secret itself is shown once and never kept.
	SecretHash string
	ApplicationSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ApplicationSettings are an application's editable settings (stored as
// one JSON document).
type ApplicationSettings struct {
	RedirectURIs     []string             `json:"redirectURIs"`
	WebOrigins       []string             `json:"webOrigins"`
	LogoutURLs       []string             `json:"logoutURLs"`
	Connections      []string             `json:"connections"`
	GrantTypes       []string             `json:"grantTypes"`
	ManagementScopes []policy.Scope       `json:"managementScopes"`
	AccessTokenTTL   time.Duration        `json:"accessTokenTTL"`
	IDTokenTTL       time.Duration        `json:"idTokenTTL"`
	RefreshToken     RefreshTokenSettings `json:"refreshToken"`
}

// Confidential reports whether the application authenticates with a secret.
func (a Application) Confidential() bool { return a.Type == AppRegularWeb || a.Type == AppM2M }

// HasGrant reports whether the application enabled grant type g.
func (a Application) HasGrant(g string) bool { return slices.Contains(a.GrantTypes, g) }

// AllowsConnection reports whether the application's users may sign in
// through connection (an empty list allows every connection).
func (a Application) AllowsConnection(connection string) bool {
	return len(a.Connections) == 0 || slices.Contains(a.Connections, connection)
}

// ApplicationSpec is what createApplication / updateApplication ask; nil
// fields are left as they are (on create: defaults).
type ApplicationSpec struct {
	Name             *string
	Type             ApplicationType // create only
	RedirectURIs     []string
	WebOrigins       []string
	LogoutURLs       []string
	Connections      []string
	GrantTypes       []string
	ManagementScopes []policy.Scope
	AccessTokenTTL   *time.Duration
	IDTokenTTL       *time.Duration
	Refresh          *RefreshTokenSpec
	// Set says which list fields were given (a nil slice is "clear" when
	// set, "keep" otherwise).
	SetRedirectURIs, SetWebOrigins, SetLogoutURLs, SetConnections, SetGrantTypes, SetManagementScopes bool
}

// RefreshTokenSpec changes refresh-token settings; nil fields are kept.
type RefreshTokenSpec struct {
	Rotation         *bool
	ReuseInterval    *time.Duration
	AbsoluteLifetime *time.Duration
	IdleLifetime     *time.Duration
	MaxActive        *int
}

// ApplicationQueries are the store operations on applications, grants,
// devices, refresh tokens, sign-in requests and login sessions. The store
// (and its transactions) implement them beside Queries.
type ApplicationQueries interface {
	ApplicationByID(ctx context.Context, id string) (Application, error)
	Applications(ctx context.Context) ([]Application, error)
	InsertApplication(ctx context.Context, a Application) error
	UpdateApplication(ctx context.Context, a Application) error
	DeleteApplication(ctx context.Context, id string) error

	InsertAuthRequest(ctx context.Context, r AuthRequestRecord) error
	AuthRequestByID(ctx context.Context, id string) (AuthRequestRecord, error)
	AuthRequestByCodeHash(ctx context.Context, codeHash string) (AuthRequestRecord, error)
	UpdateAuthRequest(ctx context.Context, r AuthRequestRecord) error
	DeleteAuthRequest(ctx context.Context, id string) error
	DeleteAuthRequestsBefore(ctx context.Context, t time.Time) (int64, error)

	InsertLoginSession(ctx context.Context, ls LoginSession) error
	LoginSessionByID(ctx context.Context, id string) (LoginSession, error)
	DeleteLoginSession(ctx context.Context, id string) error
	DeleteLoginSessionsBefore(ctx context.Context, t time.Time) (int64, error)

	UpsertGrant(ctx context.Context, g Grant) error
	GrantsByUser(ctx context.Context, userID string) ([]Grant, error)
	GrantByID(ctx context.Context, id string) (Grant, error)
	DeleteGrant(ctx context.Context, id string) error

	InsertDevice(ctx context.Context, d Device) error
	DeviceByID(ctx context.Context, id string) (Device, error)
	DevicesByUser(ctx context.Context, userID string) ([]Device, error)
	DevicesByUserApp(ctx context.Context, userID, clientID string) ([]Device, error)
	TouchDevice(ctx context.Context, id string, at time.Time, ip string) error
	// DeleteDevices deletes devices and their refresh tokens; it returns
	// how many devices it deleted.
	DeleteDevices(ctx context.Context, ids []string) (int, error)

	InsertRefreshToken(ctx context.Context, t RefreshTokenRecord) error
	RefreshTokenByHash(ctx context.Context, hash string) (RefreshTokenRecord, error)
	// RotateRefreshToken marks the token rotated at t unless it already
	// was; false when it already was (a concurrent exchange won).
	RotateRefreshToken(ctx context.Context, hash string, t time.Time) (bool, error)
	// RefreshTokenIdle moves a token's idle expiry (non-rotating tokens).
	RefreshTokenIdle(ctx context.Context, hash string, idleExpiresAt time.Time) error
}

// apps returns the store's ApplicationQueries.
func (s *Service) apps() (ApplicationQueries, error) {
	a, ok := s.store.(ApplicationQueries)
	if !ok {
		return nil, &Error{Code: CodeInternal, Message: "the store does not keep applications"}
	}
	return a, nil
}

// appTx runs fn in one store transaction with the application queries.
func (s *Service) appTx(ctx context.Context, fn func(tx ApplicationQueries, q Queries) error) error {
	return s.store.WithTx(ctx, func(q Queries) error {
		tx, ok := q.(ApplicationQueries)
		if !ok {
			return &Error{Code: CodeInternal, Message: "the store does not keep applications"}
		}
		return fn(tx, q)
	})
}

func badApp(field, format string, args ...any) error {
	return &Error{Code: CodeBadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Applications lists every application, by name.
func (s *Service) Applications(ctx context.Context) ([]Application, error) {
	a, err := s.apps()
	if err != nil {
		return nil, err
	}
	out, err := a.Applications(ctx)
	return out, storeErr("applications", err)
}

// Application returns one application (NOT_FOUND when none).
func (s *Service) Application(ctx context.Context, id string) (Application, error) {
	a, err := s.apps()
	if err != nil {
		return Application{}, err
	}
	if len(id) > 128 {
		return Application{}, &Error{Code: CodeNotFound, Message: "application not found"}
	}
	app, err := a.ApplicationByID(ctx, id)
	return app, storeErr("application", err)
}

// CreateApplication creates an application. For a confidential one it
// returns its secret, which is shown this once and kept only hashed.
// caller needs create:clients (policy.OpCreateApplication), and to hold
// each management scope it grants (machine-to-machine only).
func (s *Service) CreateApplication(ctx context.Context, caller policy.Caller, spec ApplicationSpec) (Application, string, error) {
	if err := policy.Authorize(caller, policy.OpCreateApplication); err != nil {
		return Application{}, "", err
	}
	switch spec.Type {
	case AppSPA, AppRegularWeb, AppNative, AppM2M:
	default:
		return Application{}, "", badApp("type", "type must be SPA, REGULAR_WEB, NATIVE or M2M")
	}
	if spec.Name == nil {
		return Application{}, "", badApp("name", "name is required")
	}
	now := s.now()
	id, err := randomToken(applicationIDBytes)
	if err != nil {
		return Application{}, "", storeErr("application", err)
	}
	app := Application{ID: id, Type: spec.Type, CreatedAt: now, UpdatedAt: now}
	app.ApplicationSettings = defaultSettings(spec.Type)
	if err := applyApplicationSpec(&app, caller, spec); err != nil {
		return Application{}, "", err
	}
	var secret string
	if app.Confidential() {
		if secret, err = randomToken(applicationSecretBytes); err != nil {
			return Application{}, "", storeErr("application", err)
		}
		app.SecretHash = hashSecret(secret)
	}
	a, err := s.apps()
	if err != nil {
		return Application{}, "", err
	}
	if err := a.InsertApplication(ctx, app); err != nil {
		return Application{}, "", storeErr("application", err)
	}
	return app, secret, nil
}

func defaultSettings(t ApplicationType) ApplicationSettings {
	st := ApplicationSettings{
		AccessTokenTTL: DefaultAccessTokenTTL,
		IDTokenTTL:     DefaultIDTokenTTL,
		RefreshToken: RefreshTokenSettings{
			Rotation: true, AbsoluteLifetime: DefaultRefreshAbsolute, IdleLifetime: DefaultRefreshIdle,
			MaxActive: DefaultMaxActiveDevices,
		},
	}
	if t == AppM2M {
		st.GrantTypes = []string{GrantClientCredentials}
	} else {
		st.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	return st
}

// UpdateApplication changes an application's settings on behalf of caller
// (policy.OpUpdateApplication; granted management scopes as on create).
func (s *Service) UpdateApplication(ctx context.Context, caller policy.Caller, id string, spec ApplicationSpec) (Application, error) {
	if err := policy.Authorize(caller, policy.OpUpdateApplication); err != nil {
		return Application{}, err
	}
	if spec.Type != "" {
		return Application{}, badApp("type", "an application's type cannot change; create another application")
	}
	var out Application
	err := s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
		app, err := tx.ApplicationByID(ctx, id)
		if err != nil {
			return storeErr("application", err)
		}
		if err := applyApplicationSpec(&app, caller, spec); err != nil {
			return err
		}
		app.UpdatedAt = s.now()
		if err := tx.UpdateApplication(ctx, app); err != nil {
			return storeErr("application", err)
		}
		out = app
		return nil
	})
	return out, err
}

// RotateApplicationSecret gives a confidential application a new secret
// (returned this once); the old one stops working at once. On behalf of
// caller (policy.OpUpdateApplication).
func (s *Service) RotateApplicationSecret(ctx context.Context, caller policy.Caller, id string) (Application, string, error) {
	if err := policy.Authorize(caller, policy.OpUpdateApplication); err != nil {
		return Application{}, "", err
	}
	var out Application
	var secret string
	err := s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
		app, err := tx.ApplicationByID(ctx, id)
		if err != nil {
			return storeErr("application", err)
		}
		if !app.Confidential() {
			return badApp("id", "%s applications are public clients and have no secret", app.Type)
		}
		if secret, err = randomToken(applicationSecretBytes); err != nil {
			return storeErr("application", err)
		}
		app.SecretHash, app.UpdatedAt = hashSecret(secret), s.now()
		if err := tx.UpdateApplication(ctx, app); err != nil {
			return storeErr("application", err)
		}
		out = app
		return nil
	})
	return out, secret, err
}

// DeleteApplication deletes an application with its grants, devices and
// refresh tokens, on behalf of caller (policy.OpDeleteApplication).
func (s *Service) DeleteApplication(ctx context.Context, caller policy.Caller, id string) error {
	if err := policy.Authorize(caller, policy.OpDeleteApplication); err != nil {
		return err
	}
	return s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
		if _, err := tx.ApplicationByID(ctx, id); err != nil {
			return storeErr("application", err)
		}
		if err := tx.DeleteApplication(ctx, id); err != nil {
			return storeErr("application", err)
		}
		return nil
	})
}

// AuthenticateApplication checks a confidential client's secret in
// constant time. Unknown application and wrong secret give the same
// INVALID_CREDENTIALS.
func (s *Service) AuthenticateApplication(ctx context.Context, id, secret string) (Application, error) {
	app, err := s.Application(ctx, id)
	if err != nil {
		if code, _ := CodeOf(err); code == CodeNotFound {
			return Application{}, ErrInvalidCredentials
		}
		return Application{}, err
	}
	if !app.Confidential() || app.SecretHash == "" ||
		subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(app.SecretHash)) != 1 {
		return Application{}, ErrInvalidCredentials
	}
	return app, nil
}

func applyApplicationSpec(app *Application, caller policy.Caller, spec ApplicationSpec) error {
	if spec.Name != nil {
		n := strings.TrimSpace(*spec.Name)
		if n == "" || len(n) > MaxApplicationNameBytes || strings.ContainsAny(n, "<>") || strings.ContainsFunc(n, isControl) {
			return badApp("name", "name must be 1 to %d bytes without control characters, < or >", MaxApplicationNameBytes)
		}
		app.Name = n
	}
	var err error
	if spec.SetRedirectURIs {
		if app.RedirectURIs, err = validateURLs("redirectURIs", spec.RedirectURIs, false); err != nil {
			return err
		}
	}
	if spec.SetLogoutURLs {
		if app.LogoutURLs, err = validateURLs("logoutURLs", spec.LogoutURLs, false); err != nil {
			return err
		}
	}
	if spec.SetWebOrigins {
		if app.WebOrigins, err = validateURLs("webOrigins", spec.WebOrigins, true); err != nil {
			return err
		}
	}
	if spec.SetConnections {
		if len(spec.Connections) > MaxApplicationURLs {
			return badApp("connections", "at most %d connections", MaxApplicationURLs)
		}
		app.Connections = dedupe(spec.Connections)
	}
	if spec.SetGrantTypes {
		gs := dedupe(spec.GrantTypes)
		for _, g := range gs {
			ok := false
			switch g {
			case GrantAuthorizationCode, GrantRefreshToken, GrantPassword:
				ok = app.Type != AppM2M
			case GrantClientCredentials:
				ok = app.Type == AppM2M
			}
			if !ok {
				return badApp("grantTypes", "grant type %q is not available to %s applications", shorten(g, 64), app.Type)
			}
		}
		app.GrantTypes = gs
	}
	if spec.SetManagementScopes {
		if app.Type != AppM2M && len(spec.ManagementScopes) > 0 {
			return badApp("managementScopes", "only M2M applications are granted management scopes")
		}
		scopes := make([]policy.Scope, 0, len(spec.ManagementScopes))
		for _, sc := range dedupe(spec.ManagementScopes) {
			if !policy.IsManagementScope(sc) {
				return badApp("managementScopes", "%q is not a management scope", shorten(string(sc), 64))
			}
			if caller.Self || !caller.Has(sc) {
				return &Error{Code: CodeForbidden, Field: "managementScopes",
					Message: fmt.Sprintf("granting %s to an application needs a token that holds it", sc)}
			}
			scopes = append(scopes, sc)
		}
		app.ManagementScopes = scopes
	}
	lifetime := func(field string, d *time.Duration, dst *time.Duration) error {
		if d == nil {
			return nil
		}
		if *d < MinTokenLifetime || *d > MaxTokenLifetime {
			return badApp(field, "%s must be between 1 and 31557600 seconds", field)
		}
		*dst = *d
		return nil
	}
	if err := lifetime("accessTokenLifetime", spec.AccessTokenTTL, &app.AccessTokenTTL); err != nil {
		return err
	}
	if err := lifetime("idTokenLifetime", spec.IDTokenTTL, &app.IDTokenTTL); err != nil {
		return err
	}
	if r := spec.Refresh; r != nil {
		rt := &app.RefreshToken
		if r.Rotation != nil {
			rt.Rotation = *r.Rotation
		}
		if r.ReuseInterval != nil {
			if *r.ReuseInterval < 0 || *r.ReuseInterval > MaxRefreshReuseInterval {
				return badApp("refreshToken.reuseInterval", "reuseInterval must be between 0 and 3600 seconds")
			}
			rt.ReuseInterval = *r.ReuseInterval
		}
		if err := lifetime("refreshToken.absoluteLifetime", r.AbsoluteLifetime, &rt.AbsoluteLifetime); err != nil {
			return err
		}
		if err := lifetime("refreshToken.idleLifetime", r.IdleLifetime, &rt.IdleLifetime); err != nil {
			return err
		}
		if r.MaxActive != nil {
			if *r.MaxActive < 1 || *r.MaxActive > MaxMaxActiveDevices {
				return badApp("refreshToken.maxActive", "maxActive must be between 1 and %d", MaxMaxActiveDevices)
			}
			rt.MaxActive = *r.MaxActive
		}
	}
	if app.RefreshToken.IdleLifetime > app.RefreshToken.AbsoluteLifetime {
		return badApp("refreshToken.idleLifetime", "idleLifetime cannot exceed absoluteLifetime")
	}
	if app.Type == AppSPA && !app.RefreshToken.Rotation {
		return badApp("refreshToken.rotation", "single-page applications always rotate refresh tokens")
	}
	if app.HasGrant(GrantAuthorizationCode) && len(app.RedirectURIs) == 0 && spec.SetRedirectURIs {
		return badApp("redirectURIs", "an application with the authorization_code grant needs at least one redirect URI")
	}
	return nil
}

// validateURLs checks absolute http(s) URLs (custom schemes allowed for
// redirect URIs of native apps are also accepted), without fragments or
// wildcards; origins must be scheme://host[:port] only.
func validateURLs(field string, in []string, origins bool) ([]string, error) {
	if len(in) > MaxApplicationURLs {
		return nil, badApp(field, "at most %d entries", MaxApplicationURLs)
	}
	out := make([]string, 0, len(in))
	for _, raw := range dedupe(in) {
		if len(raw) > MaxApplicationURLBytes || strings.ContainsFunc(raw, isControl) || strings.Contains(raw, "*") {
			return nil, badApp(field, "%q is not an allowed URL (no wildcards, at most %d bytes)", shorten(raw, 64), MaxApplicationURLBytes)
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Fragment != "" || u.User != nil {
			return nil, badApp(field, "%q is not an absolute URL without fragment or user info", shorten(raw, 64))
		}
		web := u.Scheme == "http" || u.Scheme == "https"
		if web && u.Host == "" {
			return nil, badApp(field, "%q has no host", shorten(raw, 64))
		}
		if origins && (!web || (u.Path != "" && u.Path != "/") || u.RawQuery != "") {
			return nil, badApp(field, "%q is not an origin (scheme://host[:port])", shorten(raw, 64))
		}
		if !web && (u.Scheme == "javascript" || u.Scheme == "data" || u.Scheme == "file" || u.Scheme == "vbscript") {
			return nil, badApp(field, "%q uses a forbidden scheme", shorten(raw, 64))
		}
		if u.Scheme == "http" && !origins && !isLoopback(u.Hostname()) {
			return nil, badApp(field, "%q: http is allowed for loopback hosts only (localhost, 127.0.0.1, [::1]); use https", shorten(raw, 64))
		}
		if origins {
			raw = u.Scheme + "://" + u.Host
		}
		out = append(out, raw)
	}
	return out, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || host == "127.0.0.1" || strings.HasPrefix(host, "127.")
}

func dedupe[T comparable](in []T) []T {
	out := make([]T, 0, len(in))
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashSecret is the SHA-256 (hex) of a high-entropy secret or token (not a
// password: these are 256 random bits, so a fast hash is the right one).
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// HashSecret exposes hashSecret to the OpenID Provider (codes).
func HashSecret(s string) string { return hashSecret(s) }

// IsAppNotFound reports whether err says there is no such application.
func IsAppNotFound(err error) bool {
	code, _ := CodeOf(err)
	return code == CodeNotFound || errors.Is(err, ErrNotFound)
}

// WebOrigins lists the allowed web origins of every application (the
// server's CORS allow-list takes them, server.AppOrigins).
func (s *Service) WebOrigins(ctx context.Context) ([]string, error) {
	apps, err := s.Applications(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range apps {
		out = append(out, a.WebOrigins...)
	}
	return out, nil
}
