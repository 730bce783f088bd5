package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// Page sizes for ListUsers and EventsByUser: a Limit <= 0 means
// DefaultPageSize; a Limit above MaxPageSize is cut to it.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// queries implements service.Queries on a pool (DB) or a transaction.
type queries struct {
	dialect string
	w       runner // writes and locking reads
	r       runner // plain reads
	// sealer seals secrets on write and opens them on read (nil: written
	// in plain text; sealed values then fail to read). See seal.go.
	sealer *Sealer
	// load is the DB's LOAD DATA switch for import batches (MySQL only;
	// bulkload.go).
	load *loadState
}

var _ service.Queries = (*queries)(nil)

func pageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// sqliteQueries are the statements prepared at Open on SQLite's write pool
// (which runs the transactions).
var sqliteQueries = []string{
	qUserByID, qUserByConnectionEmail, qUsersByEmail, qListUsers, qCountUsers,
	qInsertUser, qUpdateUser, qDeleteUser, qUserMetadataByID,
	qConnectionByName, qConnections, qConnectionScript, qInsertConnection, qUpdateConnection, qUpdateConnectionKeepScript,
	qSigningKeys, qInsertSigningKey,
	qInsertEvent, qEventsByUser, qEventsByUserBefore, qDeleteEventsBefore,
	qRecordLoginFailureSQLite, qLoginFailures, qResetLoginFailures, qResetLoginFailuresAllIP, qForgiveLoginFailure,
}

// ---- users ----

const userColumns = `id, connection, email, email_verified, username, phone_number, phone_verified,
	name, given_name, family_name, nickname, picture, blocked, user_metadata, app_metadata,
	identities, migrated, password_hash, created_at, updated_at, last_login, last_ip, logins_count`

const (
	qUserByID              = `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	qUserByIDForUpdate     = qUserByID + ` FOR UPDATE` // MySQL; SQLite locked at BEGIN
	qUserByConnectionEmail = `SELECT ` + userColumns + ` FROM users WHERE connection = ? AND email = ?`
	qUsersByEmail          = `SELECT ` + userColumns + ` FROM users WHERE email = ? ORDER BY id`
	qListUsers             = `SELECT ` + userColumns + ` FROM users WHERE id > ? ORDER BY id LIMIT ?`
	qCountUsers            = `SELECT COUNT(*) FROM users`
	qInsertUser            = `INSERT INTO users (` + userColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateUser = `UPDATE users SET connection = ?, email = ?, email_verified = ?, username = ?,
	phone_number = ?, phone_verified = ?, name = ?, given_name = ?, family_name = ?, nickname = ?,
	picture = ?, blocked = ?, user_metadata = ?, app_metadata = ?, identities = ?, migrated = ?,
	password_hash = ?, created_at = ?, updated_at = ?, last_login = ?, last_ip = ?, logins_count = ?
	WHERE id = ?`
	qDeleteUser = `DELETE FROM users WHERE id = ?`
)

type userRow struct {
	ID            string         `db:"id"`
	Connection    string         `db:"connection"`
	Email         sql.NullString `db:"email"`
	EmailVerified bool           `db:"email_verified"`
	Username      sql.NullString `db:"username"`
	PhoneNumber   string         `db:"phone_number"`
	PhoneVerified bool           `db:"phone_verified"`
	Name          string         `db:"name"`
	GivenName     string         `db:"given_name"`
	FamilyName    string         `db:"family_name"`
	Nickname      string         `db:"nickname"`
	Picture       string         `db:"picture"`
	Blocked       bool           `db:"blocked"`
	UserMetadata  string         `db:"user_metadata"`
	AppMetadata   string         `db:"app_metadata"`
	Identities    string         `db:"identities"`
	Migrated      bool           `db:"migrated"`
	PasswordHash  string         `db:"password_hash"`
	CreatedAt     dbTime         `db:"created_at"`
	UpdatedAt     dbTime         `db:"updated_at"`
	LastLogin     nullTime       `db:"last_login"`
	LastIP        string         `db:"last_ip"`
	LoginsCount   int64          `db:"logins_count"`
}

func (r *userRow) user() (policy.User, error) {
	um, err := decodeObject(r.UserMetadata)
	if err != nil {
		return policy.User{}, fmt.Errorf("db: user %q: stored user_metadata is not a JSON object", r.ID)
	}
	am, err := decodeObject(r.AppMetadata)
	if err != nil {
		return policy.User{}, fmt.Errorf("db: user %q: stored app_metadata is not a JSON object", r.ID)
	}
	ids, err := decodeIdentities(r.Identities)
	if err != nil {
		return policy.User{}, fmt.Errorf("db: user %q: stored identities are not a JSON list", r.ID)
	}
	return policy.User{
		ID:            r.ID,
		Connection:    r.Connection,
		Email:         r.Email.String,
		EmailVerified: r.EmailVerified,
		Username:      r.Username.String,
		PhoneNumber:   r.PhoneNumber,
		PhoneVerified: r.PhoneVerified,
		Name:          r.Name,
		GivenName:     r.GivenName,
		FamilyName:    r.FamilyName,
		Nickname:      r.Nickname,
		Picture:       r.Picture,
		Blocked:       r.Blocked,
		UserMetadata:  um,
		AppMetadata:   am,
		Identities:    ids,
		Migrated:      r.Migrated,
		PasswordHash:  r.PasswordHash,
		CreatedAt:     r.CreatedAt.Time,
		UpdatedAt:     r.UpdatedAt.Time,
		LastLogin:     r.LastLogin.ptr(),
		LastIP:        r.LastIP,
		LoginsCount:   r.LoginsCount,
	}, nil
}

// userValues returns u's columns after id, in userColumns order, and its
// encoded metadata objects (also among the columns), which the term index
// reads. The email is lower-cased; an empty email or username is NULL.
func userValues(u policy.User) (vals []any, um, am string, err error) {
	if um, err = encodeObject(u.UserMetadata); err != nil {
		return nil, "", "", errors.New("user_metadata is not JSON-encodable")
	}
	if am, err = encodeObject(u.AppMetadata); err != nil {
		return nil, "", "", errors.New("app_metadata is not JSON-encodable")
	}
	ids, err := encodeIdentities(u.Identities)
	if err != nil {
		return nil, "", "", errors.New("identities are not JSON-encodable")
	}
	return []any{
		u.Connection, nullIfEmpty(strings.ToLower(u.Email)), u.EmailVerified, nullIfEmpty(u.Username),
		u.PhoneNumber, u.PhoneVerified, u.Name, u.GivenName, u.FamilyName, u.Nickname,
		u.Picture, u.Blocked, um, am, ids, u.Migrated,
		u.PasswordHash, dbTime{u.CreatedAt}, dbTime{u.UpdatedAt}, newNullTime(u.LastLogin), u.LastIP, u.LoginsCount,
	}, um, am, nil
}

func (q *queries) getUser(ctx context.Context, x runner, op, query string, args ...any) (policy.User, error) {
	var row userRow
	if err := x.get(ctx, &row, query, args...); err != nil {
		return policy.User{}, translate(err, op, "users")
	}
	return row.user()
}

func (q *queries) selectUsers(ctx context.Context, op, query string, args ...any) ([]policy.User, error) {
	var rows []userRow
	if err := q.r.sel(ctx, &rows, query, args...); err != nil {
		return nil, translate(err, op, "users")
	}
	users := make([]policy.User, 0, len(rows))
	for i := range rows {
		u, err := rows[i].user()
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

func (q *queries) UserByID(ctx context.Context, id string) (policy.User, error) {
	return q.getUser(ctx, q.r, fmt.Sprintf("user %q", id), qUserByID, id)
}

func (q *queries) UserByIDForUpdate(ctx context.Context, id string) (policy.User, error) {
	query := qUserByID
	if q.dialect == DialectMySQL {
		query = qUserByIDForUpdate
	}
	return q.getUser(ctx, q.w, fmt.Sprintf("user %q for update", id), query, id)
}

func (q *queries) UserByConnectionEmail(ctx context.Context, connection, email string) (policy.User, error) {
	// The email is left out of the message (personal data in logs).
	return q.getUser(ctx, q.r, fmt.Sprintf("user of connection %q by email", connection), qUserByConnectionEmail, connection, email)
}

func (q *queries) UsersByEmail(ctx context.Context, email string) ([]policy.User, error) {
	return q.selectUsers(ctx, "users by email", qUsersByEmail, email)
}

func (q *queries) ListUsers(ctx context.Context, p service.ListUsersParams) ([]policy.User, error) {
	return q.selectUsers(ctx, "list users", qListUsers, p.After, pageSize(p.Limit))
}

func (q *queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := q.r.get(ctx, &n, qCountUsers); err != nil {
		return 0, translate(err, "count users", "users")
	}
	return n, nil
}

func (q *queries) InsertUser(ctx context.Context, u policy.User) error {
	op := fmt.Sprintf("insert user %q", u.ID)
	vals, um, am, err := userValues(u)
	if err != nil {
		return fmt.Errorf("db: %s: %w", op, err)
	}
	if _, err = q.w.exec(ctx, qInsertUser, append([]any{u.ID}, vals...)...); err != nil {
		return translate(err, op, "users")
	}
	return q.insertTerms(ctx, newUserTerms(nil, u, um, am))
}

func (q *queries) UpdateUser(ctx context.Context, u policy.User) error {
	op := fmt.Sprintf("update user %q", u.ID)
	vals, um, am, err := userValues(u)
	if err != nil {
		return fmt.Errorf("db: %s: %w", op, err)
	}
	if err := q.syncTerms(ctx, u, um, am); err != nil {
		return err
	}
	res, err := q.w.exec(ctx, qUpdateUser, append(vals, u.ID)...)
	return affectedOne(res, err, op, "users")
}

func (q *queries) DeleteUser(ctx context.Context, id string) error {
	if err := q.unindexUser(ctx, id); err != nil {
		return err
	}
	res, err := q.w.exec(ctx, qDeleteUser, id)
	return affectedOne(res, err, fmt.Sprintf("delete user %q", id), "users")
}

// affectedOne translates err and reports ErrNotFound when no row matched.
func affectedOne(res sql.Result, err error, op, table string) error {
	if err != nil {
		return translate(err, op, table)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return translate(err, op, table)
	}
	if n == 0 {
		return fmt.Errorf("db: %s: %w", op, service.ErrNotFound)
	}
	return nil
}

// ---- connections ----

const connectionColumns = `name, strategy, import_mode, sync_user_profile, actions, database_url,
	configuration, script, script_sha256, script_timeout_ms, created_at, updated_at, admin_scopes`

// connectionReadColumns leaves the module bytes out: connections are read
// on every login, the module (megabytes) only when a script runner needs
// to (re)build it (ConnectionScript).
const connectionReadColumns = `name, strategy, import_mode, sync_user_profile, actions, database_url,
	configuration, NULL AS script, script_sha256, script_timeout_ms, created_at, updated_at, admin_scopes`

const (
	qConnectionByName = `SELECT ` + connectionReadColumns + ` FROM connections WHERE name = ?`
	// MySQL only; SQLite transactions hold the write lock from BEGIN
	// (IMMEDIATE), so a plain read in one is already serialized.
	qConnectionByNameForUpdate = qConnectionByName + ` FOR UPDATE`
	qConnectionByNameForShare  = qConnectionByName + ` LOCK IN SHARE MODE`
	// qConnectionInUse: does the connection have a user, or a pending or
	// running import job (whose rows are not all written yet)?
	qConnectionInUse = `SELECT (EXISTS (SELECT 1 FROM users WHERE connection = ?)
	OR EXISTS (SELECT 1 FROM jobs WHERE connection = ? AND type = 'import' AND status IN ('pending', 'running'))) AS in_use`
	qConnections      = `SELECT ` + connectionReadColumns + ` FROM connections ORDER BY name`
	qConnectionScript = `SELECT script FROM connections WHERE name = ?`
	qInsertConnection = `INSERT INTO connections (` + connectionColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateConnection = `UPDATE connections SET strategy = ?, import_mode = ?, sync_user_profile = ?,
	actions = ?, database_url = ?, configuration = ?, script = ?, script_sha256 = ?,
	script_timeout_ms = ?, created_at = ?, updated_at = ?, admin_scopes = ? WHERE name = ?`
	// qUpdateConnectionKeepScript updates everything but the module bytes
	// (and their digest), for a Connection read without them.
	qUpdateConnectionKeepScript = `UPDATE connections SET strategy = ?, import_mode = ?, sync_user_profile = ?,
	actions = ?, database_url = ?, configuration = ?,
	script_timeout_ms = ?, created_at = ?, updated_at = ?, admin_scopes = ? WHERE name = ?`
)

type connectionRow struct {
	Name            string `db:"name"`
	Strategy        string `db:"strategy"`
	ImportMode      bool   `db:"import_mode"`
	SyncUserProfile bool   `db:"sync_user_profile"`
	Actions         string `db:"actions"`
	DatabaseURL     string `db:"database_url"`
	Configuration   string `db:"configuration"`
	Script          []byte `db:"script"`
	ScriptSHA256    string `db:"script_sha256"`
	ScriptTimeoutMS int64  `db:"script_timeout_ms"`
	CreatedAt       dbTime `db:"created_at"`
	UpdatedAt       dbTime `db:"updated_at"`
	AdminScopes     string `db:"admin_scopes"`
}

func (r *connectionRow) connection(q *queries) (service.Connection, error) {
	dbURL, err := q.openText(r.DatabaseURL, aadConnection("database_url", r.Name))
	if err != nil {
		return service.Connection{}, fmt.Errorf("db: connection %q: databaseURL: %w", r.Name, err)
	}
	confText, err := q.openText(r.Configuration, aadConnection("configuration", r.Name))
	if err != nil {
		return service.Connection{}, fmt.Errorf("db: connection %q: configuration: %w", r.Name, err)
	}
	actions, err := decodeActions(r.Actions)
	if err != nil {
		return service.Connection{}, fmt.Errorf("db: connection %q: stored actions are not a JSON list", r.Name)
	}
	adminScopes, err := decodeScopes(r.AdminScopes)
	if err != nil {
		return service.Connection{}, fmt.Errorf("db: connection %q: stored admin scopes are not a JSON list", r.Name)
	}
	// Never quote the configuration: it holds secrets.
	conf, err := decodeObject(confText)
	if err != nil {
		return service.Connection{}, fmt.Errorf("db: connection %q: stored configuration is not a JSON object", r.Name)
	}
	var script []byte
	if len(r.Script) > 0 {
		script = r.Script
	}
	return service.Connection{
		Connection: policy.Connection{
			Name:            r.Name,
			Strategy:        policy.Strategy(r.Strategy),
			ImportMode:      r.ImportMode,
			SyncUserProfile: r.SyncUserProfile,
			Actions:         actions,
			AdminScopes:     adminScopes,
		},
		DatabaseURL:   dbURL,
		Configuration: conf,
		Script:        script,
		ScriptSHA256:  r.ScriptSHA256,
		ScriptTimeout: time.Duration(r.ScriptTimeoutMS) * time.Millisecond,
		CreatedAt:     r.CreatedAt.Time,
		UpdatedAt:     r.UpdatedAt.Time,
	}, nil
}

// connectionValues returns c's columns after name, in connectionColumns
// order.
func (q *queries) connectionValues(c service.Connection) ([]any, error) {
	conf, err := encodeObject(c.Configuration)
	if err != nil {
		// Not the encoder's message: it could quote part of the configuration.
		return nil, errors.New("configuration is not JSON-encodable")
	}
	var script any // NULL when no module is set
	if len(c.Script) > 0 {
		script = c.Script
	}
	return []any{
		string(c.Strategy), c.ImportMode, c.SyncUserProfile, encodeActions(c.Actions),
		q.sealText(c.DatabaseURL, aadConnection("database_url", c.Name)),
		q.sealText(conf, aadConnection("configuration", c.Name)), script, c.ScriptSHA256, c.ScriptTimeout.Milliseconds(), dbTime{c.CreatedAt}, dbTime{c.UpdatedAt},
		encodeScopes(c.AdminScopes),
	}, nil
}

func (q *queries) ConnectionByName(ctx context.Context, name string) (service.Connection, error) {
	var row connectionRow
	if err := q.r.get(ctx, &row, qConnectionByName, name); err != nil {
		return service.Connection{}, translate(err, fmt.Sprintf("connection %q", name), "connections")
	}
	return row.connection(q)
}

// ConnectionByNameForUpdate: see service.Queries.
func (q *queries) ConnectionByNameForUpdate(ctx context.Context, name string) (service.Connection, error) {
	return q.lockedConnection(ctx, name, qConnectionByNameForUpdate, "for update")
}

// ConnectionByNameForShare: see service.Queries.
func (q *queries) ConnectionByNameForShare(ctx context.Context, name string) (service.Connection, error) {
	return q.lockedConnection(ctx, name, qConnectionByNameForShare, "for share")
}

// lockedConnection reads a connection through the writer (the
// transaction), with lockedQuery on MySQL; on SQLite the transaction took
// the database's write lock at BEGIN, so the plain read is as good.
func (q *queries) lockedConnection(ctx context.Context, name, lockedQuery, mode string) (service.Connection, error) {
	query := qConnectionByName
	if q.dialect == DialectMySQL {
		query = lockedQuery
	}
	var row connectionRow
	if err := q.w.get(ctx, &row, query, name); err != nil {
		return service.Connection{}, translate(err, fmt.Sprintf("connection %q %s", name, mode), "connections")
	}
	return row.connection(q)
}

// ConnectionInUse: see service.Queries.
func (q *queries) ConnectionInUse(ctx context.Context, name string) (bool, error) {
	var inUse bool
	if err := q.w.get(ctx, &inUse, qConnectionInUse, name, name); err != nil {
		return false, translate(err, fmt.Sprintf("users and imports of connection %q", name), "connections")
	}
	return inUse, nil
}

func (q *queries) Connections(ctx context.Context) ([]service.Connection, error) {
	var rows []connectionRow
	if err := q.r.sel(ctx, &rows, qConnections); err != nil {
		return nil, translate(err, "list connections", "connections")
	}
	out := make([]service.Connection, 0, len(rows))
	for i := range rows {
		c, err := rows[i].connection(q)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (q *queries) InsertConnection(ctx context.Context, c service.Connection) error {
	op := fmt.Sprintf("insert connection %q", c.Name)
	vals, err := q.connectionValues(c)
	if err != nil {
		return fmt.Errorf("db: %s: %w", op, err)
	}
	_, err = q.w.exec(ctx, qInsertConnection, append([]any{c.Name}, vals...)...)
	return translate(err, op, "connections")
}

func (q *queries) UpdateConnection(ctx context.Context, c service.Connection) error {
	op := fmt.Sprintf("update connection %q", c.Name)
	vals, err := q.connectionValues(c)
	if err != nil {
		return fmt.Errorf("db: %s: %w", op, err)
	}
	query := qUpdateConnection
	if len(c.Script) == 0 {
		// Read without its module (ConnectionByName): keep the stored one.
		query = qUpdateConnectionKeepScript
		vals = append(vals[:6:6], vals[8:]...)
	}
	res, err := q.w.exec(ctx, query, append(vals, c.Name)...)
	return affectedOne(res, err, op, "connections")
}

// ConnectionScript returns the connection's module bytes (nil when none is
// set); ErrNotFound when there is no such connection.
func (q *queries) ConnectionScript(ctx context.Context, name string) ([]byte, error) {
	var script []byte
	if err := q.r.get(ctx, &script, qConnectionScript, name); err != nil {
		return nil, translate(err, fmt.Sprintf("script of connection %q", name), "connections")
	}
	return script, nil
}

// ---- signing keys ----

const (
	qSigningKeys       = `SELECT kid, private_pem, created_at, retires_at FROM signing_keys ORDER BY created_at, kid`
	qInsertSigningKey  = `INSERT INTO signing_keys (kid, private_pem, created_at, retires_at) VALUES (?, ?, ?, ?)`
	qRetireSigningKeys = `UPDATE signing_keys SET retires_at = ? WHERE kid <> ? AND (retires_at IS NULL OR retires_at > ?)`
)

type signingKeyRow struct {
	KID        string   `db:"kid"`
	PrivatePEM []byte   `db:"private_pem"`
	CreatedAt  dbTime   `db:"created_at"`
	RetiresAt  nullTime `db:"retires_at"`
}

func (q *queries) SigningKeys(ctx context.Context) ([]service.SigningKey, error) {
	var rows []signingKeyRow
	if err := q.r.sel(ctx, &rows, qSigningKeys); err != nil {
		return nil, translate(err, "list signing keys", "signing_keys")
	}
	out := make([]service.SigningKey, len(rows))
	for i, r := range rows {
		pem, err := q.openText(string(r.PrivatePEM), aadSigningKey(r.KID))
		if err != nil {
			return nil, fmt.Errorf("db: signing key %q: %w", r.KID, err)
		}
		out[i] = service.SigningKey{KID: r.KID, PrivatePEM: []byte(pem), CreatedAt: r.CreatedAt.Time}
		if t := r.RetiresAt.ptr(); t != nil {
			out[i].RetiresAt = *t
		}
	}
	return out, nil
}

func (q *queries) InsertSigningKey(ctx context.Context, k service.SigningKey) error {
	pem := []byte(q.sealText(string(k.PrivatePEM), aadSigningKey(k.KID)))
	if pem == nil {
		pem = []byte{} // NOT NULL
	}
	var retires *time.Time
	if !k.RetiresAt.IsZero() {
		retires = &k.RetiresAt
	}
	_, err := q.w.exec(ctx, qInsertSigningKey, k.KID, pem, dbTime{k.CreatedAt}, newNullTime(retires))
	return translate(err, fmt.Sprintf("insert signing key %q", k.KID), "signing_keys")
}

// RetireSigningKeys makes every key but keep stop verifying at at (keys
// already retiring sooner keep their time).
func (q *queries) RetireSigningKeys(ctx context.Context, keep string, at time.Time) error {
	_, err := q.w.exec(ctx, qRetireSigningKeys, dbTime{at}, keep, dbTime{at})
	return translate(err, "retire signing keys", "signing_keys")
}

// ---- events ----

const eventColumns = `id, time, type, user_id, connection, ip, user_agent, success, detail`

const (
	qInsertEvent = `INSERT INTO events (` + eventColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// Newest first through idx_events_user_id_id.
	qEventsByUser       = `SELECT ` + eventColumns + ` FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?`
	qEventsByUserBefore = `SELECT ` + eventColumns + ` FROM events WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`
	qDeleteEventsBefore = `DELETE FROM events WHERE time < ?`
)

type eventRow struct {
	ID         string `db:"id"`
	Time       dbTime `db:"time"`
	Type       string `db:"type"`
	UserID     string `db:"user_id"`
	Connection string `db:"connection"`
	IP         string `db:"ip"`
	UserAgent  string `db:"user_agent"`
	Success    bool   `db:"success"`
	Detail     string `db:"detail"`
}

func (q *queries) InsertEvent(ctx context.Context, e service.Event) error {
	_, err := q.w.exec(ctx, qInsertEvent, e.ID, dbTime{e.Time}, e.Type, e.UserID, e.Connection,
		e.IP, e.UserAgent, e.Success, e.Detail)
	return translate(err, fmt.Sprintf("insert event %q", e.ID), "events")
}

func (q *queries) EventsByUser(ctx context.Context, userID string, p service.ListEventsParams) ([]service.Event, error) {
	var rows []eventRow
	var err error
	if p.Before == "" {
		err = q.r.sel(ctx, &rows, qEventsByUser, userID, pageSize(p.Limit))
	} else {
		err = q.r.sel(ctx, &rows, qEventsByUserBefore, userID, p.Before, pageSize(p.Limit))
	}
	if err != nil {
		return nil, translate(err, fmt.Sprintf("events of user %q", userID), "events")
	}
	out := make([]service.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

func (r eventRow) event() service.Event {
	return service.Event{
		ID: r.ID, Time: r.Time.Time, Type: r.Type, UserID: r.UserID, Connection: r.Connection,
		IP: r.IP, UserAgent: r.UserAgent, Success: r.Success, Detail: r.Detail,
	}
}

// maxEventsUsers bounds the users of one EventsByUsers statement.
const maxEventsUsers = 100

// EventsByUsers returns the newest limit events of each user, newest
// first. On MySQL it is one statement per maxEventsUsers users: a UNION ALL
// of each user's own LIMIT query, each a short range of
// idx_events_user_id_id, one round trip instead of one per user. (A window
// function would read every event of every user of the page: a history
// grown by failed logins would slow the page.) On SQLite there is no round
// trip to save, so it runs the separate cached LIMIT queries.
func (q *queries) EventsByUsers(ctx context.Context, userIDs []string, limit int) (map[string][]service.Event, error) {
	out := make(map[string][]service.Event, len(userIDs))
	if q.dialect == DialectSQLite {
		for _, id := range userIDs {
			es, err := q.EventsByUser(ctx, id, service.ListEventsParams{Limit: limit})
			if err != nil {
				return nil, err
			}
			if len(es) > 0 {
				out[id] = es
			}
		}
		return out, nil
	}
	for len(userIDs) > 0 {
		chunk := userIDs[:min(len(userIDs), maxEventsUsers)]
		userIDs = userIDs[len(chunk):]
		var b strings.Builder
		args := make([]any, 0, 2*len(chunk))
		for i, id := range chunk {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			b.WriteString("(SELECT " + eventColumns + " FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?)")
			args = append(args, id, pageSize(limit))
		}
		var rows []eventRow
		if err := q.searchRunner().sel(ctx, &rows, b.String(), args...); err != nil {
			return nil, translate(err, fmt.Sprintf("events of %d users", len(chunk)), "events")
		}
		for _, r := range rows {
			out[r.UserID] = append(out[r.UserID], r.event())
		}
	}
	for _, es := range out { // a UNION ALL keeps no order of its own
		slices.SortFunc(es, func(a, b service.Event) int { return strings.Compare(b.ID, a.ID) })
	}
	return out, nil
}

func (q *queries) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.w.exec(ctx, qDeleteEventsBefore, dbTime{t})
	if err != nil {
		return 0, translate(err, "delete old events", "events")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, translate(err, "delete old events", "events")
	}
	return n, nil
}

// ---- login failures ----

const (
	// Both return the new count: SQLite through RETURNING, MySQL through
	// LAST_INSERT_ID(expr), which the OK packet carries back as the insert
	// id (set on both the insert and the update branch).
	qRecordLoginFailureSQLite = `INSERT INTO login_failures (login_key, ip, count, last_failure) VALUES (?, ?, 1, ?)
	ON CONFLICT (login_key, ip) DO UPDATE SET count = count + 1, last_failure = excluded.last_failure
	RETURNING count`
	qRecordLoginFailureMySQL = `INSERT INTO login_failures (login_key, ip, count, last_failure) VALUES (?, ?, LAST_INSERT_ID(1), ?)
	ON DUPLICATE KEY UPDATE count = LAST_INSERT_ID(count + 1), last_failure = ?`
	qLoginFailures           = `SELECT count, last_failure FROM login_failures WHERE login_key = ? AND ip = ?`
	qResetLoginFailures      = `DELETE FROM login_failures WHERE login_key = ? AND ip = ?`
	qResetLoginFailuresAllIP = `DELETE FROM login_failures WHERE login_key = ?`
	qForgiveLoginFailure     = `UPDATE login_failures SET count = count - 1 WHERE login_key = ? AND ip = ? AND count > 0`
)

func (q *queries) RecordLoginFailure(ctx context.Context, key, ip string, now time.Time) (int, error) {
	const op = "record login failure"
	t := dbTime{now}
	if q.dialect == DialectMySQL {
		res, err := q.w.exec(ctx, qRecordLoginFailureMySQL, key, ip, t, t)
		if err != nil {
			return 0, translate(err, op, "login_failures")
		}
		n, err := res.LastInsertId()
		if err != nil {
			return 0, translate(err, op, "login_failures")
		}
		return int(n), nil
	}
	var n int
	if err := q.w.get(ctx, &n, qRecordLoginFailureSQLite, key, ip, t); err != nil {
		return 0, translate(err, op, "login_failures")
	}
	return n, nil
}

func (q *queries) LoginFailures(ctx context.Context, key, ip string) (int, time.Time, error) {
	var row struct {
		Count       int    `db:"count"`
		LastFailure dbTime `db:"last_failure"`
	}
	err := q.r.get(ctx, &row, qLoginFailures, key, ip)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, translate(err, "login failures", "login_failures")
	}
	return row.Count, row.LastFailure.Time, nil
}

// ForgiveLoginFailure takes back one counted attempt of (key, ip).
func (q *queries) ForgiveLoginFailure(ctx context.Context, key, ip string) error {
	_, err := q.w.exec(ctx, qForgiveLoginFailure, key, ip)
	return translate(err, "forgive login failure", "login_failures")
}

func (q *queries) ResetLoginFailures(ctx context.Context, key, ip string) error {
	var err error
	if ip == "" {
		_, err = q.w.exec(ctx, qResetLoginFailuresAllIP, key)
	} else {
		_, err = q.w.exec(ctx, qResetLoginFailures, key, ip)
	}
	return translate(err, "reset login failures", "login_failures")
}
