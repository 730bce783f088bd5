package db

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/service"
)

// The store of the OpenID Provider: applications, sign-in requests, login
// sessions, grants, devices and refresh tokens (service.ApplicationQueries).

var _ service.ApplicationQueries = (*queries)(nil)

// ---- applications ----

const appColumns = `id, name, type, secret_hash, settings, created_at, updated_at`

type appRow struct {
	ID         string `db:"id"`
	Name       string `db:"name"`
	Type       string `db:"type"`
	SecretHash string `db:"secret_hash"`
	Settings   string `db:"settings"`
	CreatedAt  dbTime `db:"created_at"`
	UpdatedAt  dbTime `db:"updated_at"`
}

func (r appRow) app() (service.Application, error) {
	a := service.Application{ID: r.ID, Name: r.Name, Type: service.ApplicationType(r.Type), SecretHash: r.SecretHash,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time}
	if err := json.Unmarshal([]byte(r.Settings), &a.ApplicationSettings); err != nil {
		return service.Application{}, fmt.Errorf("db: application %q: unreadable settings: %w", r.ID, err)
	}
	return a, nil
}

func appValues(a service.Application) ([]any, error) {
	settings, err := json.Marshal(a.ApplicationSettings)
	if err != nil {
		return nil, fmt.Errorf("db: application %q: encode settings: %w", a.ID, err)
	}
	return []any{a.ID, a.Name, string(a.Type), a.SecretHash, string(settings), dbTime{a.CreatedAt}, dbTime{a.UpdatedAt}}, nil
}

func (q *queries) ApplicationByID(ctx context.Context, id string) (service.Application, error) {
	var r appRow
	if err := q.r.get(ctx, &r, `SELECT `+appColumns+` FROM applications WHERE id = ?`, id); err != nil {
		return service.Application{}, translate(err, fmt.Sprintf("application %q", id), "applications")
	}
	return r.app()
}

func (q *queries) Applications(ctx context.Context) ([]service.Application, error) {
	var rows []appRow
	if err := q.r.sel(ctx, &rows, `SELECT `+appColumns+` FROM applications ORDER BY name, id`); err != nil {
		return nil, translate(err, "list applications", "applications")
	}
	out := make([]service.Application, 0, len(rows))
	for _, r := range rows {
		a, err := r.app()
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (q *queries) InsertApplication(ctx context.Context, a service.Application) error {
	v, err := appValues(a)
	if err != nil {
		return err
	}
	_, err = q.w.exec(ctx, `INSERT INTO applications (`+appColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`, v...)
	return translate(err, fmt.Sprintf("insert application %q", a.ID), "applications")
}

func (q *queries) UpdateApplication(ctx context.Context, a service.Application) error {
	v, err := appValues(a)
	if err != nil {
		return err
	}
	res, err := q.w.exec(ctx, `UPDATE applications SET name = ?, type = ?, secret_hash = ?, settings = ?, created_at = ?, updated_at = ? WHERE id = ?`,
		append(v[1:], a.ID)...)
	return affectedOne(res, err, fmt.Sprintf("update application %q", a.ID), "applications")
}

// DeleteApplication deletes the application with its grants, devices,
// refresh tokens and pending sign-ins.
func (q *queries) DeleteApplication(ctx context.Context, id string) error {
	for _, st := range []string{
		`DELETE FROM refresh_tokens WHERE device_id IN (SELECT id FROM devices WHERE client_id = ?)`,
		`DELETE FROM devices WHERE client_id = ?`,
		`DELETE FROM oauth_grants WHERE client_id = ?`,
		`DELETE FROM oidc_auth_requests WHERE client_id = ?`,
	} {
		if _, err := q.w.exec(ctx, st, id); err != nil {
			return translate(err, fmt.Sprintf("delete application %q", id), "applications")
		}
	}
	res, err := q.w.exec(ctx, `DELETE FROM applications WHERE id = ?`, id)
	return affectedOne(res, err, fmt.Sprintf("delete application %q", id), "applications")
}

// ---- authorization requests ----

type authReqRow struct {
	ID        string  `db:"id"`
	ClientID  string  `db:"client_id"`
	CodeHash  *string `db:"code_hash"`
	Data      string  `db:"data"`
	CreatedAt dbTime  `db:"created_at"`
	ExpiresAt dbTime  `db:"expires_at"`
}

const authReqColumns = `id, client_id, code_hash, data, created_at, expires_at`

func (r authReqRow) rec() service.AuthRequestRecord {
	out := service.AuthRequestRecord{ID: r.ID, ClientID: r.ClientID, Data: []byte(r.Data), CreatedAt: r.CreatedAt.Time, ExpiresAt: r.ExpiresAt.Time}
	if r.CodeHash != nil {
		out.CodeHash = *r.CodeHash
	}
	return out
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (q *queries) InsertAuthRequest(ctx context.Context, r service.AuthRequestRecord) error {
	_, err := q.w.exec(ctx, `INSERT INTO oidc_auth_requests (`+authReqColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.ClientID, nullString(r.CodeHash), string(r.Data), dbTime{r.CreatedAt}, dbTime{r.ExpiresAt})
	return translate(err, "insert sign-in request", "oidc_auth_requests")
}

func (q *queries) AuthRequestByID(ctx context.Context, id string) (service.AuthRequestRecord, error) {
	var r authReqRow
	if err := q.r.get(ctx, &r, `SELECT `+authReqColumns+` FROM oidc_auth_requests WHERE id = ?`, id); err != nil {
		return service.AuthRequestRecord{}, translate(err, "sign-in request", "oidc_auth_requests")
	}
	return r.rec(), nil
}

func (q *queries) AuthRequestByCodeHash(ctx context.Context, codeHash string) (service.AuthRequestRecord, error) {
	var r authReqRow
	if err := q.r.get(ctx, &r, `SELECT `+authReqColumns+` FROM oidc_auth_requests WHERE code_hash = ?`, codeHash); err != nil {
		return service.AuthRequestRecord{}, translate(err, "sign-in request by code", "oidc_auth_requests")
	}
	return r.rec(), nil
}

func (q *queries) UpdateAuthRequest(ctx context.Context, r service.AuthRequestRecord) error {
	res, err := q.w.exec(ctx, `UPDATE oidc_auth_requests SET code_hash = ?, data = ? WHERE id = ?`, nullString(r.CodeHash), string(r.Data), r.ID)
	return affectedOne(res, err, "update sign-in request", "oidc_auth_requests")
}

func (q *queries) DeleteAuthRequest(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, `DELETE FROM oidc_auth_requests WHERE id = ?`, id)
	return affectedOne(res, err, "delete sign-in request", "oidc_auth_requests")
}

func (q *queries) DeleteAuthRequestsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.w.exec(ctx, `DELETE FROM oidc_auth_requests WHERE expires_at < ?`, dbTime{t})
	if err != nil {
		return 0, translate(err, "delete expired sign-in requests", "oidc_auth_requests")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ---- login sessions ----

type loginSessionRow struct {
	ID              string `db:"id"`
	UserID          string `db:"user_id"`
	Connection      string `db:"connection"`
	AuthenticatedAt dbTime `db:"authenticated_at"`
	ExpiresAt       dbTime `db:"expires_at"`
	Credential      string `db:"credential"`
}

func (q *queries) InsertLoginSession(ctx context.Context, ls service.LoginSession) error {
	_, err := q.w.exec(ctx, `INSERT INTO login_sessions (id, user_id, connection, authenticated_at, expires_at, credential) VALUES (?, ?, ?, ?, ?, ?)`,
		ls.ID, ls.UserID, ls.Connection, dbTime{ls.AuthenticatedAt}, dbTime{ls.ExpiresAt}, ls.Credential)
	return translate(err, "insert login session", "login_sessions")
}

func (q *queries) LoginSessionByID(ctx context.Context, id string) (service.LoginSession, error) {
	var r loginSessionRow
	if err := q.r.get(ctx, &r, `SELECT id, user_id, connection, authenticated_at, expires_at, credential FROM login_sessions WHERE id = ?`, id); err != nil {
		return service.LoginSession{}, translate(err, "login session", "login_sessions")
	}
	return service.LoginSession{ID: r.ID, UserID: r.UserID, Connection: r.Connection, AuthenticatedAt: r.AuthenticatedAt.Time, ExpiresAt: r.ExpiresAt.Time, Credential: r.Credential}, nil
}

// DeleteLoginSessionsBefore deletes the sessions that expired before t.
func (q *queries) DeleteLoginSessionsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.w.exec(ctx, `DELETE FROM login_sessions WHERE expires_at < ?`, dbTime{t})
	if err != nil {
		return 0, translate(err, "delete expired login sessions", "login_sessions")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func (q *queries) DeleteLoginSession(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, `DELETE FROM login_sessions WHERE id = ?`, id)
	return affectedOne(res, err, "delete login session", "login_sessions")
}

// ---- grants ----

type grantRow struct {
	ID        string `db:"id"`
	UserID    string `db:"user_id"`
	ClientID  string `db:"client_id"`
	Scopes    string `db:"scopes"`
	CreatedAt dbTime `db:"created_at"`
	UpdatedAt dbTime `db:"updated_at"`
}

const grantColumns = `id, user_id, client_id, scopes, created_at, updated_at`

func (r grantRow) grant() service.Grant {
	return service.Grant{ID: r.ID, UserID: r.UserID, ClientID: r.ClientID, Scopes: strings.Fields(r.Scopes), CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time}
}

// UpsertGrant records that the user authorized the application: a new row,
// or the existing one's scopes and updated_at replaced (its id kept).
func (q *queries) UpsertGrant(ctx context.Context, g service.Grant) error {
	st := `INSERT INTO oauth_grants (` + grantColumns + `) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`
	if q.dialect == DialectMySQL {
		st = `INSERT INTO oauth_grants (` + grantColumns + `) VALUES (?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE scopes = VALUES(scopes), updated_at = VALUES(updated_at)`
	}
	_, err := q.w.exec(ctx, st, g.ID, g.UserID, g.ClientID, strings.Join(g.Scopes, " "), dbTime{g.CreatedAt}, dbTime{g.UpdatedAt})
	return translate(err, "record grant", "oauth_grants")
}

func (q *queries) GrantsByUser(ctx context.Context, userID string) ([]service.Grant, error) {
	var rows []grantRow
	if err := q.r.sel(ctx, &rows, `SELECT `+grantColumns+` FROM oauth_grants WHERE user_id = ? ORDER BY created_at, id`, userID); err != nil {
		return nil, translate(err, "grants", "oauth_grants")
	}
	out := make([]service.Grant, len(rows))
	for i, r := range rows {
		out[i] = r.grant()
	}
	return out, nil
}

func (q *queries) GrantByID(ctx context.Context, id string) (service.Grant, error) {
	var r grantRow
	if err := q.r.get(ctx, &r, `SELECT `+grantColumns+` FROM oauth_grants WHERE id = ?`, id); err != nil {
		return service.Grant{}, translate(err, "grant", "oauth_grants")
	}
	return r.grant(), nil
}

func (q *queries) DeleteGrant(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, `DELETE FROM oauth_grants WHERE id = ?`, id)
	return affectedOne(res, err, "delete grant", "oauth_grants")
}

// ---- devices and refresh tokens ----

const deviceColumns = `id, user_id, client_id, name, ip, user_agent, scopes, audience, auth_time, credential, created_at, last_used_at, last_ip, expires_at`

type deviceRow struct {
	ID         string `db:"id"`
	UserID     string `db:"user_id"`
	ClientID   string `db:"client_id"`
	Name       string `db:"name"`
	IP         string `db:"ip"`
	UserAgent  string `db:"user_agent"`
	Scopes     string `db:"scopes"`
	Audience   string `db:"audience"`
	AuthTime   dbTime `db:"auth_time"`
	Credential string `db:"credential"`
	CreatedAt  dbTime `db:"created_at"`
	LastUsedAt dbTime `db:"last_used_at"`
	LastIP     string `db:"last_ip"`
	ExpiresAt  dbTime `db:"expires_at"`
}

func (r deviceRow) device() service.Device {
	return service.Device{ID: r.ID, UserID: r.UserID, ClientID: r.ClientID, Name: r.Name, IP: r.IP, UserAgent: r.UserAgent,
		Scopes: strings.Fields(r.Scopes), Audience: strings.Fields(r.Audience), AuthTime: r.AuthTime.Time, Credential: r.Credential,
		CreatedAt: r.CreatedAt.Time, LastUsedAt: r.LastUsedAt.Time, LastIP: r.LastIP, ExpiresAt: r.ExpiresAt.Time}
}

func (q *queries) InsertDevice(ctx context.Context, d service.Device) error {
	_, err := q.w.exec(ctx, `INSERT INTO devices (`+deviceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.UserID, d.ClientID, d.Name, d.IP, d.UserAgent, strings.Join(d.Scopes, " "), strings.Join(d.Audience, " "),
		dbTime{d.AuthTime}, d.Credential, dbTime{d.CreatedAt}, dbTime{d.LastUsedAt}, d.LastIP, dbTime{d.ExpiresAt})
	return translate(err, "insert device", "devices")
}

func (q *queries) DeviceByID(ctx context.Context, id string) (service.Device, error) {
	var r deviceRow
	if err := q.r.get(ctx, &r, `SELECT `+deviceColumns+` FROM devices WHERE id = ?`, id); err != nil {
		return service.Device{}, translate(err, "device", "devices")
	}
	return r.device(), nil
}

func (q *queries) selectDevices(ctx context.Context, query string, args ...any) ([]service.Device, error) {
	var rows []deviceRow
	if err := q.w.sel(ctx, &rows, query, args...); err != nil {
		return nil, translate(err, "devices", "devices")
	}
	out := make([]service.Device, len(rows))
	for i, r := range rows {
		out[i] = r.device()
	}
	return out, nil
}

func (q *queries) DevicesByUser(ctx context.Context, userID string) ([]service.Device, error) {
	return q.selectDevices(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = ? ORDER BY created_at, id`, userID)
}

// DevicesByUserApp lists oldest first; in a transaction on MySQL the rows
// are locked, so two sign-ins of one user on one application count in turn.
func (q *queries) DevicesByUserApp(ctx context.Context, userID, clientID string) ([]service.Device, error) {
	st := `SELECT ` + deviceColumns + ` FROM devices WHERE user_id = ? AND client_id = ? ORDER BY created_at, id`
	if q.dialect == DialectMySQL {
		st += ` FOR UPDATE`
	}
	return q.selectDevices(ctx, st, userID, clientID)
}

func (q *queries) TouchDevice(ctx context.Context, id string, at time.Time, ip string) error {
	res, err := q.w.exec(ctx, `UPDATE devices SET last_used_at = ?, last_ip = ? WHERE id = ?`, dbTime{at}, ip, id)
	return affectedOne(res, err, "touch device", "devices")
}

func (q *queries) DeleteDevices(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	if _, err := q.w.exec(ctx, `DELETE FROM refresh_tokens WHERE device_id IN (`+marks+`)`, args...); err != nil {
		return 0, translate(err, "delete refresh tokens", "refresh_tokens")
	}
	res, err := q.w.exec(ctx, `DELETE FROM devices WHERE id IN (`+marks+`)`, args...)
	if err != nil {
		return 0, translate(err, "delete devices", "devices")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

type refreshRow struct {
	Hash          string   `db:"hash"`
	DeviceID      string   `db:"device_id"`
	CreatedAt     dbTime   `db:"created_at"`
	IdleExpiresAt dbTime   `db:"idle_expires_at"`
	RotatedAt     nullTime `db:"rotated_at"`
}

func (q *queries) InsertRefreshToken(ctx context.Context, t service.RefreshTokenRecord) error {
	_, err := q.w.exec(ctx, `INSERT INTO refresh_tokens (hash, device_id, created_at, idle_expires_at, rotated_at) VALUES (?, ?, ?, ?, ?)`,
		t.Hash, t.DeviceID, dbTime{t.CreatedAt}, dbTime{t.IdleExpiresAt}, newNullTime(t.RotatedAt))
	return translate(err, "insert refresh token", "refresh_tokens")
}

func (q *queries) RefreshTokenByHash(ctx context.Context, hash string) (service.RefreshTokenRecord, error) {
	var r refreshRow
	if err := q.r.get(ctx, &r, `SELECT hash, device_id, created_at, idle_expires_at, rotated_at FROM refresh_tokens WHERE hash = ?`, hash); err != nil {
		return service.RefreshTokenRecord{}, translate(err, "refresh token", "refresh_tokens")
	}
	return service.RefreshTokenRecord{Hash: r.Hash, DeviceID: r.DeviceID, CreatedAt: r.CreatedAt.Time, IdleExpiresAt: r.IdleExpiresAt.Time, RotatedAt: r.RotatedAt.ptr()}, nil
}

func (q *queries) RotateRefreshToken(ctx context.Context, hash string, t time.Time) (bool, error) {
	res, err := q.w.exec(ctx, `UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ? AND rotated_at IS NULL`, dbTime{t}, hash)
	if err != nil {
		return false, translate(err, "rotate refresh token", "refresh_tokens")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, translate(err, "rotate refresh token", "refresh_tokens")
	}
	return n == 1, nil
}

func (q *queries) RefreshTokenIdle(ctx context.Context, hash string, idleExpiresAt time.Time) error {
	_, err := q.w.exec(ctx, `UPDATE refresh_tokens SET idle_expires_at = ? WHERE hash = ?`, dbTime{idleExpiresAt}, hash)
	return translate(err, "renew refresh token", "refresh_tokens")
}
