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

// AuthRequestRecord is a stored browser sign-in in progress (the OpenID
// Provider's authorization request, kept as opaque JSON).
type AuthRequestRecord struct {
	ID        string
	ClientID  string
	CodeHash  string // "" until a code is issued
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LoginSession is a hosted-page sign-in that lets the same browser sign in
// to other applications without a password (SSO).
type LoginSession struct {
	ID              string // SHA-256 (hex) of the cookie value
	UserID          string
	Connection      string
	AuthenticatedAt time.Time
	ExpiresAt       time.Time
	// Credential fingerprints the user's password hash at sign-in.
	Credential string
}

// Grant is an application a user has authorized (Authorized Applications).
type Grant struct {
	ID        string
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Device is one refresh-token family: a user's sign-in on one application
// from one user agent, and every token rotated from it.
type Device struct {
	ID        string
	UserID    string
	ClientID  string
	Name      string // from the user agent
	IP        string // at sign-in
	UserAgent string
	Scopes    []string
	Audience  []string
	AuthTime  time.Time
	// Credential fingerprints the user's password hash at sign-in: when it
	// changes (the password changed) the family is revoked.
	Credential string
	CreatedAt  time.Time
	LastUsedAt time.Time
	LastIP     string
	ExpiresAt  time.Time // absolute lifetime
}

// RefreshTokenRecord is a stored refresh token (its hash only).
type RefreshTokenRecord struct {
	Hash          string
	DeviceID      string
	CreatedAt     time.Time
	IdleExpiresAt time.Time
	RotatedAt     *time.Time
}

// Defaults of the OpenID Provider's own lifetimes.
const (
	AuthRequestTTL  = 10 * time.Minute
	LoginSessionTTL = 24 * time.Hour
	maxDeviceName   = 255
)

// Event types of applications (User.logs).
const (
	EventTokenExchange     = "token_exchange"
	EventTokenExchangeFail = "token_exchange_failed"
	EventRefresh           = "refresh_token_exchange"
	EventRefreshFailed     = "refresh_token_exchange_failed"
	EventRefreshReuse      = "refresh_token_reuse_detected"
	EventRefreshRevoked    = "refresh_token_revoked"
	EventDeviceUnlinked    = "device_unlinked"
	EventGrantRevoked      = "grant_revoked"
	EventLogout            = "logout"
	EventClientCredentials = "client_credentials_exchange"
	EventHostedLogin       = "hosted_login"
)

// ErrInvalidGrant is an authorization code or refresh token that is
// unknown, expired, revoked or not the caller's: the same answer for all.
var ErrInvalidGrant = &Error{Code: CodeInvalidCredentials, Message: "invalid grant"}

// RecordApplicationEvent records an event of user on application app in
// User.logs (the application is named in the detail).
func (s *Service) RecordApplicationEvent(ctx context.Context, typ, userID string, app Application, err error, detail string) {
	d := "application: " + app.Name + " (" + app.ID + ")"
	if detail != "" {
		d += "; " + detail
	}
	s.record(ctx, typ, userID, "", err, d)
}

// ---- authorization requests ----

// SaveAuthRequest stores a new sign-in request.
func (s *Service) SaveAuthRequest(ctx context.Context, r AuthRequestRecord) error {
	a, err := s.apps()
	if err != nil {
		return err
	}
	now := s.now()
	r.CreatedAt, r.ExpiresAt = now, now.Add(AuthRequestTTL)
	return storeErr("sign-in request", a.InsertAuthRequest(ctx, r))
}

// AuthRequest returns a pending sign-in request (NOT_FOUND when unknown or
// expired).
func (s *Service) AuthRequest(ctx context.Context, id string) (AuthRequestRecord, error) {
	a, err := s.apps()
	if err != nil {
		return AuthRequestRecord{}, err
	}
	if len(id) > 128 {
		return AuthRequestRecord{}, storeErr("sign-in request", ErrNotFound)
	}
	r, err := a.AuthRequestByID(ctx, id)
	if err == nil && !s.now().Before(r.ExpiresAt) {
		err = ErrNotFound
	}
	return r, storeErr("sign-in request", err)
}

// AuthRequestByCode returns the sign-in request an authorization code was
// issued for (NOT_FOUND when unknown, used or expired).
func (s *Service) AuthRequestByCode(ctx context.Context, code string) (AuthRequestRecord, error) {
	a, err := s.apps()
	if err != nil {
		return AuthRequestRecord{}, err
	}
	r, err := a.AuthRequestByCodeHash(ctx, hashSecret(code))
	if err == nil && !s.now().Before(r.ExpiresAt) {
		err = ErrNotFound
	}
	return r, storeErr("authorization code", err)
}

// UpdateAuthRequest stores a request's new data and code (hashed here).
func (s *Service) UpdateAuthRequest(ctx context.Context, r AuthRequestRecord, code string) error {
	a, err := s.apps()
	if err != nil {
		return err
	}
	if code != "" {
		r.CodeHash = hashSecret(code)
	}
	return storeErr("sign-in request", a.UpdateAuthRequest(ctx, r))
}

// DeleteAuthRequest forgets a sign-in request (its code can no longer be
// exchanged).
func (s *Service) DeleteAuthRequest(ctx context.Context, id string) error {
	a, err := s.apps()
	if err != nil {
		return err
	}
	err = a.DeleteAuthRequest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	return storeErr("sign-in request", err)
}

// ---- login sessions ----

// StartLoginSession opens a login session for u and returns the cookie
// value (kept only hashed).
func (s *Service) StartLoginSession(ctx context.Context, u policy.User) (string, error) {
	a, err := s.apps()
	if err != nil {
		return "", err
	}
	tok, err := randomToken(32)
	if err != nil {
		return "", storeErr("login session", err)
	}
	now := s.now()
	ls := LoginSession{ID: hashSecret(tok), UserID: u.ID, Connection: u.Connection, AuthenticatedAt: now, ExpiresAt: now.Add(LoginSessionTTL), Credential: credentialOf(u)}
	if err := a.InsertLoginSession(ctx, ls); err != nil {
		return "", storeErr("login session", err)
	}
	return tok, nil
}

// LoginSessionUser returns the user of a login session cookie: NOT_FOUND
// when the session is unknown or expired, its user deleted or blocked.
func (s *Service) LoginSessionUser(ctx context.Context, cookie string) (policy.User, LoginSession, error) {
	a, err := s.apps()
	if err != nil {
		return policy.User{}, LoginSession{}, err
	}
	if cookie == "" || len(cookie) > 128 {
		return policy.User{}, LoginSession{}, storeErr("login session", ErrNotFound)
	}
	ls, err := a.LoginSessionByID(ctx, hashSecret(cookie))
	if err != nil {
		return policy.User{}, LoginSession{}, storeErr("login session", err)
	}
	if !s.now().Before(ls.ExpiresAt) {
		_ = a.DeleteLoginSession(ctx, ls.ID)
		return policy.User{}, LoginSession{}, storeErr("login session", ErrNotFound)
	}
	u, err := s.store.UserByID(ctx, ls.UserID)
	if err != nil || u.Blocked || credentialOf(u) != ls.Credential {
		_ = a.DeleteLoginSession(ctx, ls.ID)
		return policy.User{}, LoginSession{}, storeErr("login session", ErrNotFound)
	}
	return u, ls, nil
}

// EndLoginSession ends the login session of a cookie (logout).
func (s *Service) EndLoginSession(ctx context.Context, cookie string) error {
	a, err := s.apps()
	if err != nil {
		return err
	}
	if cookie == "" || len(cookie) > 128 {
		return nil
	}
	err = a.DeleteLoginSession(ctx, hashSecret(cookie))
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	return storeErr("login session", err)
}

// ---- refresh tokens and devices ----

// NewDevice is a sign-in that gets a refresh token.
type NewDevice struct {
	App      Application
	User     policy.User
	Scopes   []string
	Audience []string
	AuthTime time.Time
	// UserAgent and IP of the browser that signed in (default: this
	// request's client, e.g. a confidential client's back end).
	UserAgent, IP string
}

// credentialOf fingerprints a user's password hash.
func credentialOf(u policy.User) string { return hashSecret("credential:" + u.PasswordHash)[:32] }

// IssueRefreshToken starts a device (token family) for a sign-in and
// returns its first refresh token. Beyond the application's MaxActive
// devices for the user, the oldest are revoked. It also records the grant
// (Authorized Applications).
func (s *Service) IssueRefreshToken(ctx context.Context, in NewDevice) (string, Device, error) {
	tok, err := randomToken(32)
	if err != nil {
		return "", Device{}, storeErr("refresh token", err)
	}
	c := clientFrom(ctx)
	if in.UserAgent != "" || in.IP != "" {
		c = Client{IP: in.IP, UserAgent: in.UserAgent}
	}
	now := s.now()
	rt := in.App.RefreshToken
	d := Device{
		UserID: in.User.ID, ClientID: in.App.ID, Name: DeviceName(c.UserAgent), IP: c.IP, UserAgent: shorten(c.UserAgent, 1024),
		Scopes: in.Scopes, Audience: in.Audience, AuthTime: in.AuthTime.UTC().Truncate(time.Microsecond), Credential: credentialOf(in.User),
		CreatedAt: now, LastUsedAt: now, LastIP: clientFrom(ctx).IP, ExpiresAt: now.Add(rt.AbsoluteLifetime),
	}
	if d.ID, err = randomToken(16); err != nil {
		return "", Device{}, storeErr("refresh token", err)
	}
	if d.AuthTime.IsZero() {
		d.AuthTime = now
	}
	var evicted []string
	err = s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
		existing, err := tx.DevicesByUserApp(ctx, in.User.ID, in.App.ID) // oldest first
		if err != nil {
			return storeErr("devices", err)
		}
		max := rt.MaxActive
		if max <= 0 {
			max = DefaultMaxActiveDevices
		}
		var drop []string
		active := existing[:0:0]
		for _, e := range existing {
			if !now.Before(e.ExpiresAt) || rt.IdleLifetime > 0 && !now.Before(e.LastUsedAt.Add(rt.IdleLifetime)) {
				// Dead already (absolute or idle lifetime): not counted.
				drop = append(drop, e.ID)
			} else {
				active = append(active, e)
			}
		}
		for i := 0; len(active)-i >= max; i++ {
			drop = append(drop, active[i].ID)
			evicted = append(evicted, active[i].ID)
		}
		if len(drop) > 0 {
			if _, err := tx.DeleteDevices(ctx, drop); err != nil {
				return storeErr("devices", err)
			}
		}
		if err := tx.InsertDevice(ctx, d); err != nil {
			return storeErr("device", err)
		}
		if err := tx.InsertRefreshToken(ctx, RefreshTokenRecord{
			Hash: hashSecret(tok), DeviceID: d.ID, CreatedAt: now, IdleExpiresAt: minTime(now.Add(rt.IdleLifetime), d.ExpiresAt),
		}); err != nil {
			return storeErr("refresh token", err)
		}
		gid, err := randomToken(16)
		if err != nil {
			return storeErr("grant", err)
		}
		return storeErr("grant", tx.UpsertGrant(ctx, Grant{ID: gid, UserID: in.User.ID, ClientID: in.App.ID, Scopes: in.Scopes, CreatedAt: now, UpdatedAt: now}))
	})
	if err != nil {
		return "", Device{}, err
	}
	for _, id := range evicted {
		s.RecordApplicationEvent(ctx, EventRefreshRevoked, in.User.ID, in.App, nil, "device "+id+" revoked: more than "+fmt.Sprint(rt.MaxActive)+" active")
	}
	return tok, d, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// RefreshGrant is a valid refresh token's sign-in.
type RefreshGrant struct {
	App    Application
	Device Device
	User   policy.User
	Hash   string
	// Reused: the token was already rotated, within the reuse interval.
	Reused bool
}

// CheckRefreshToken validates a refresh token (the caller then checks
// that RefreshGrant.App is the client that presented it). Unknown,
// expired and revoked tokens all give
// ErrInvalidGrant. A rotated token presented after the reuse interval
// revokes its whole family (reuse detection). A token whose user was
// deleted, blocked or changed password revokes all of that user's
// devices.
func (s *Service) CheckRefreshToken(ctx context.Context, token string) (RefreshGrant, error) {
	a, err := s.apps()
	if err != nil {
		return RefreshGrant{}, err
	}
	if token == "" || len(token) > 128 {
		return RefreshGrant{}, ErrInvalidGrant
	}
	h := hashSecret(token)
	rec, err := a.RefreshTokenByHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return RefreshGrant{}, ErrInvalidGrant
	} else if err != nil {
		return RefreshGrant{}, storeErr("refresh token", err)
	}
	d, err := a.DeviceByID(ctx, rec.DeviceID)
	if errors.Is(err, ErrNotFound) {
		return RefreshGrant{}, ErrInvalidGrant
	} else if err != nil {
		return RefreshGrant{}, storeErr("device", err)
	}
	app, err := a.ApplicationByID(ctx, d.ClientID)
	if errors.Is(err, ErrNotFound) {
		return RefreshGrant{}, ErrInvalidGrant
	} else if err != nil {
		return RefreshGrant{}, storeErr("application", err)
	}
	now := s.now()
	out := RefreshGrant{Device: d, Hash: h, App: app}
	if rec.RotatedAt != nil {
		leeway := app.RefreshToken.ReuseInterval
		if !app.RefreshToken.Rotation || leeway <= 0 || now.Sub(*rec.RotatedAt) > leeway {
			_, _ = a.DeleteDevices(ctx, []string{d.ID})
			s.RecordApplicationEvent(ctx, EventRefreshReuse, d.UserID, app, nil, "device "+d.ID+" revoked")
			return RefreshGrant{}, ErrInvalidGrant
		}
		out.Reused = true
	}
	if !now.Before(d.ExpiresAt) || !now.Before(rec.IdleExpiresAt) {
		if !now.Before(d.ExpiresAt) {
			_, _ = a.DeleteDevices(ctx, []string{d.ID})
		}
		return RefreshGrant{}, ErrInvalidGrant
	}
	u, err := s.store.UserByID(ctx, d.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		_, _ = s.revokeUserDevices(ctx, d.UserID, "")
		return RefreshGrant{}, ErrInvalidGrant
	case err != nil:
		return RefreshGrant{}, storeErr("user", err)
	case u.Blocked, credentialOf(u) != d.Credential:
		why := "user blocked"
		if !u.Blocked {
			why = "password changed"
		}
		if n, _ := s.revokeUserDevices(ctx, d.UserID, ""); n > 0 {
			s.RecordApplicationEvent(ctx, EventRefreshRevoked, d.UserID, app, nil, fmt.Sprintf("%d device(s) revoked: %s", n, why))
		}
		return RefreshGrant{}, ErrInvalidGrant
	}
	if !app.AllowsConnection(u.Connection) {
		return RefreshGrant{}, ErrInvalidGrant
	}
	out.User = u
	return out, nil
}

// RotateRefreshToken finishes a refresh exchange: with rotation on, the
// used token is retired and a new one returned (a concurrent exchange of
// the same token counts as reuse); with rotation off, the same token is
// returned with its idle lifetime renewed.
func (s *Service) RotateRefreshToken(ctx context.Context, app Application, g RefreshGrant, current string) (string, error) {
	now := s.now()
	c := clientFrom(ctx)
	rt := app.RefreshToken
	idle := minTime(now.Add(rt.IdleLifetime), g.Device.ExpiresAt)
	if !rt.Rotation {
		err := s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
			if err := tx.RefreshTokenIdle(ctx, g.Hash, idle); err != nil {
				return storeErr("refresh token", err)
			}
			return storeErr("device", tx.TouchDevice(ctx, g.Device.ID, now, c.IP))
		})
		if err != nil {
			return "", err
		}
		s.RecordApplicationEvent(ctx, EventRefresh, g.User.ID, app, nil, "device "+g.Device.ID)
		return current, nil
	}
	tok, err := randomToken(32)
	if err != nil {
		return "", storeErr("refresh token", err)
	}
	reuse := false
	err = s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
		ok, err := tx.RotateRefreshToken(ctx, g.Hash, now)
		if err != nil {
			return storeErr("refresh token", err)
		}
		if !ok && !g.Reused {
			// Another exchange of this token got there first.
			reuse = true
			_, err := tx.DeleteDevices(ctx, []string{g.Device.ID})
			return storeErr("device", err)
		}
		if err := tx.InsertRefreshToken(ctx, RefreshTokenRecord{Hash: hashSecret(tok), DeviceID: g.Device.ID, CreatedAt: now, IdleExpiresAt: idle}); err != nil {
			return storeErr("refresh token", err)
		}
		return storeErr("device", tx.TouchDevice(ctx, g.Device.ID, now, c.IP))
	})
	if err != nil {
		return "", err
	}
	if reuse {
		s.RecordApplicationEvent(ctx, EventRefreshReuse, g.User.ID, app, nil, "device "+g.Device.ID+" revoked")
		return "", ErrInvalidGrant
	}
	s.RecordApplicationEvent(ctx, EventRefresh, g.User.ID, app, nil, "device "+g.Device.ID)
	return tok, nil
}

// RefreshTokenUser returns the user of a refresh token this service
// issued (current, rotated or expired), ErrInvalidGrant for any other
// string. It only reads: no reuse detection, no revocation. The revocation
// endpoint asks it first, so that a refresh token goes to
// RevokeRefreshToken as it is (see internal/oidc, GetRefreshTokenInfo).
func (s *Service) RefreshTokenUser(ctx context.Context, token string) (string, error) {
	a, err := s.apps()
	if err != nil {
		return "", err
	}
	if token == "" || len(token) > 128 {
		return "", ErrInvalidGrant
	}
	rec, err := a.RefreshTokenByHash(ctx, hashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return "", ErrInvalidGrant
	} else if err != nil {
		return "", storeErr("refresh token", err)
	}
	d, err := a.DeviceByID(ctx, rec.DeviceID)
	if errors.Is(err, ErrNotFound) {
		return "", ErrInvalidGrant
	} else if err != nil {
		return "", storeErr("device", err)
	}
	return d.UserID, nil
}

// RevokeRefreshToken revokes the family of a refresh token presented by
// app (the revocation endpoint). Unknown tokens are not an error.
func (s *Service) RevokeRefreshToken(ctx context.Context, app Application, token string) error {
	a, err := s.apps()
	if err != nil {
		return err
	}
	if token == "" || len(token) > 128 {
		return nil
	}
	rec, err := a.RefreshTokenByHash(ctx, hashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return storeErr("refresh token", err)
	}
	d, err := a.DeviceByID(ctx, rec.DeviceID)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return storeErr("device", err)
	}
	if d.ClientID != app.ID {
		return nil // RFC 7009: not this client's token; nothing to say
	}
	if _, err := a.DeleteDevices(ctx, []string{d.ID}); err != nil {
		return storeErr("device", err)
	}
	s.RecordApplicationEvent(ctx, EventRefreshRevoked, d.UserID, app, nil, "device "+d.ID+" revoked by the application")
	return nil
}

// revokeUserDevices deletes the user's devices (of one application when
// clientID is set).
func (s *Service) revokeUserDevices(ctx context.Context, userID, clientID string) (int, error) {
	n := 0
	err := s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
		ds, err := tx.DevicesByUser(ctx, userID)
		if err != nil {
			return storeErr("devices", err)
		}
		var ids []string
		for _, d := range ds {
			if clientID == "" || d.ClientID == clientID {
				ids = append(ids, d.ID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		n, err = tx.DeleteDevices(ctx, ids)
		return storeErr("devices", err)
	})
	return n, err
}

// RevokeUserTokens revokes every refresh token and login session of a
// user; the management paths that block or delete a user or change a
// password may call it (CheckRefreshToken catches them anyway).
func (s *Service) RevokeUserTokens(ctx context.Context, userID string) error {
	_, err := s.revokeUserDevices(ctx, userID, "")
	return err
}

// Devices lists a user's active devices, newest first. Devices whose
// tokens can no longer be used (expired, or the user blocked or their
// password changed since) are revoked on the way, so the list shows what
// still works.
func (s *Service) Devices(ctx context.Context, userID string) ([]Device, error) {
	a, err := s.apps()
	if err != nil {
		return nil, err
	}
	ds, err := a.DevicesByUser(ctx, userID)
	if err != nil {
		return nil, storeErr("devices", err)
	}
	if len(ds) == 0 {
		return []Device{}, nil
	}
	u, uerr := s.store.UserByID(ctx, userID)
	if uerr != nil && !errors.Is(uerr, ErrNotFound) {
		return nil, storeErr("user", uerr)
	}
	now := s.now()
	out := ds[:0:0]
	var dead []string
	for _, d := range ds {
		if uerr != nil || u.Blocked || d.Credential != credentialOf(u) {
			dead = append(dead, d.ID)
		} else if now.Before(d.ExpiresAt) {
			out = append(out, d)
		}
	}
	if len(dead) > 0 {
		if _, err := a.DeleteDevices(ctx, dead); err != nil {
			return nil, storeErr("devices", err)
		}
	}
	slices.SortFunc(out, func(a, b Device) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// UnlinkDevice revokes a device's refresh tokens. userID, when set (self
// service), must own the device; another user's device is NOT_FOUND.
func (s *Service) UnlinkDevice(ctx context.Context, userID, deviceID string) (Device, error) {
	var d Device
	var app Application
	err := s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
		var err error
		if len(deviceID) > 128 {
			return storeErr("device", ErrNotFound)
		}
		d, err = tx.DeviceByID(ctx, deviceID)
		if err != nil {
			return storeErr("device", err)
		}
		if userID != "" && d.UserID != userID {
			return storeErr("device", ErrNotFound)
		}
		if app, err = tx.ApplicationByID(ctx, d.ClientID); err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr("application", err)
		}
		_, err = tx.DeleteDevices(ctx, []string{d.ID})
		return storeErr("device", err)
	})
	if err != nil {
		return Device{}, err
	}
	if app.ID == "" {
		app.ID = d.ClientID
	}
	s.RecordApplicationEvent(ctx, EventDeviceUnlinked, d.UserID, app, nil, "device "+d.ID+" ("+d.Name+")")
	return d, nil
}

// AuthorizedApplication is a grant with its application.
type AuthorizedApplication struct {
	Grant
	Application Application // zero when the application was deleted
}

// AuthorizedApplications lists the applications a user has authorized.
func (s *Service) AuthorizedApplications(ctx context.Context, userID string) ([]AuthorizedApplication, error) {
	a, err := s.apps()
	if err != nil {
		return nil, err
	}
	gs, err := a.GrantsByUser(ctx, userID)
	if err != nil {
		return nil, storeErr("grants", err)
	}
	out := make([]AuthorizedApplication, 0, len(gs))
	for _, g := range gs {
		app, err := a.ApplicationByID(ctx, g.ClientID)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return nil, storeErr("application", err)
		}
		out = append(out, AuthorizedApplication{Grant: g, Application: app})
	}
	return out, nil
}

// RevokeGrant deletes a grant and revokes the user's devices on its
// application. userID, when set (self service), must own the grant.
func (s *Service) RevokeGrant(ctx context.Context, userID, grantID string) (Grant, error) {
	var g Grant
	var app Application
	err := s.appTx(ctx, func(tx ApplicationQueries, _ Queries) error {
		var err error
		if len(grantID) > 128 {
			return storeErr("grant", ErrNotFound)
		}
		if g, err = tx.GrantByID(ctx, grantID); err != nil {
			return storeErr("grant", err)
		}
		if userID != "" && g.UserID != userID {
			return storeErr("grant", ErrNotFound)
		}
		if app, err = tx.ApplicationByID(ctx, g.ClientID); err != nil && !errors.Is(err, ErrNotFound) {
			return storeErr("application", err)
		}
		ds, err := tx.DevicesByUserApp(ctx, g.UserID, g.ClientID)
		if err != nil {
			return storeErr("devices", err)
		}
		ids := make([]string, len(ds))
		for i, d := range ds {
			ids[i] = d.ID
		}
		if len(ids) > 0 {
			if _, err := tx.DeleteDevices(ctx, ids); err != nil {
				return storeErr("devices", err)
			}
		}
		return storeErr("grant", tx.DeleteGrant(ctx, g.ID))
	})
	if err != nil {
		return Grant{}, err
	}
	if app.ID == "" {
		app.ID = g.ClientID
	}
	s.RecordApplicationEvent(ctx, EventGrantRevoked, g.UserID, app, nil, "")
	return g, nil
}

// ---- machine to machine ----

// ClientSubject is the subject of a management token issued to a
// machine-to-machine application by the client_credentials grant.
func ClientSubject(clientID string) string { return clientSubjectPrefix + clientID }

const clientSubjectPrefix = "client:"

// M2MScopes decides the management scopes of a client_credentials token:
// those requested (all granted when none are) that the application is
// granted; a requested scope it is not granted is refused.
func M2MScopes(app Application, requested []string) ([]policy.Scope, error) {
	if app.Type != AppM2M || !app.HasGrant(GrantClientCredentials) {
		return nil, &Error{Code: CodeForbidden, Message: "the application may not use the client_credentials grant"}
	}
	if len(requested) == 0 {
		return slices.Clone(app.ManagementScopes), nil
	}
	var out []policy.Scope
	for _, r := range requested {
		if !slices.Contains(app.ManagementScopes, policy.Scope(r)) {
			return nil, &Error{Code: CodeForbidden, Message: fmt.Sprintf("the application is not granted %s", shorten(r, 64))}
		}
		if !slices.Contains(out, policy.Scope(r)) {
			out = append(out, policy.Scope(r))
		}
	}
	return out, nil
}

// recheckClientCaller makes a client_credentials token die with its
// application or with the scopes it is no longer granted.
func (s *Service) recheckClientCaller(ctx context.Context, clientID string, c policy.Caller) error {
	a, err := s.apps()
	if err != nil {
		return err
	}
	app, err := a.ApplicationByID(ctx, clientID)
	switch {
	case errors.Is(err, ErrNotFound):
		return revoked("its application no longer exists")
	case err != nil:
		return fmt.Errorf("recheck a management token: %w", err)
	}
	for sc, on := range c.Scopes {
		if on && !slices.Contains(app.ManagementScopes, sc) {
			return revoked(fmt.Sprintf("application %q is no longer granted %s", app.Name, sc))
		}
	}
	return nil
}

// DeviceName names a device from its user agent ("Chrome on Linux").
func DeviceName(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chrome"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client", "Go HTTP client"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	osName := ""
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			osName = o.name
			break
		}
	}
	switch {
	case browser != "" && osName != "":
		return browser + " on " + osName
	case browser != "":
		return browser
	case osName != "":
		return osName
	}
	return shorten(strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, ua), 64)
}

// UserByIDForToken returns a user tokens may be issued for: NOT_FOUND when
// the user does not exist or is blocked.
func (s *Service) UserByIDForToken(ctx context.Context, id string) (policy.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if err == nil && u.Blocked {
		err = ErrNotFound
	}
	return u, storeErr("user", err)
}

// PurgeOIDC deletes expired sign-in requests and login sessions.
func (s *Service) PurgeOIDC(ctx context.Context) (int64, error) {
	a, err := s.apps()
	if err != nil {
		return 0, err
	}
	now := s.now()
	n, err := a.DeleteAuthRequestsBefore(ctx, now)
	if err != nil {
		return n, storeErr("sign-in requests", err)
	}
	m, err := a.DeleteLoginSessionsBefore(ctx, now)
	return n + m, storeErr("login sessions", err)
}

// RecordGrant records that user authorized app with scopes (Authorized
// Applications), at a sign-in that issues no refresh token.
func (s *Service) RecordGrant(ctx context.Context, app Application, userID string, scopes []string) error {
	a, err := s.apps()
	if err != nil {
		return err
	}
	id, err := randomToken(16)
	if err != nil {
		return storeErr("grant", err)
	}
	now := s.now()
	return storeErr("grant", a.UpsertGrant(ctx, Grant{ID: id, UserID: userID, ClientID: app.ID, Scopes: scopes, CreatedAt: now, UpdatedAt: now}))
}
