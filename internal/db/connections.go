package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

const connectionColumns = `name, strategy, import_mode, sync_user_profile, actions, database_url,
	configuration, script, script_sha256, script_timeout_ms, created_at, updated_at, admin_scopes, requires_username`

// connectionReadColumns leaves the module bytes out: connections are read
// on every login, the module (megabytes) only when a script runner needs
// to (re)build it (ConnectionScript).
const connectionReadColumns = `name, strategy, import_mode, sync_user_profile, actions, database_url,
	configuration, NULL AS script, script_sha256, script_timeout_ms, created_at, updated_at, admin_scopes, requires_username`

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
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateConnection = `UPDATE connections SET strategy = ?, import_mode = ?, sync_user_profile = ?,
	actions = ?, database_url = ?, configuration = ?, script = ?, script_sha256 = ?,
	script_timeout_ms = ?, created_at = ?, updated_at = ?, admin_scopes = ?, requires_username = ? WHERE name = ?`
	// qUpdateConnectionKeepScript updates everything but the module bytes
	// (and their digest), for a Connection read without them.
	qUpdateConnectionKeepScript = `UPDATE connections SET strategy = ?, import_mode = ?, sync_user_profile = ?,
	actions = ?, database_url = ?, configuration = ?,
	script_timeout_ms = ?, created_at = ?, updated_at = ?, admin_scopes = ?, requires_username = ? WHERE name = ?`
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
	// RequiresUsername: migration 00055.
	RequiresUsername bool `db:"requires_username"`
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
			Name:             r.Name,
			Strategy:         policy.Strategy(r.Strategy),
			ImportMode:       r.ImportMode,
			SyncUserProfile:  r.SyncUserProfile,
			Actions:          actions,
			AdminScopes:      adminScopes,
			RequiresUsername: r.RequiresUsername,
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
		encodeScopes(c.AdminScopes), c.RequiresUsername,
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
