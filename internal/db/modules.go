package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/profiled/profiled/internal/service"
)

// Script modules are stored once per content in the modules table, keyed by
// their SHA-256 (lower-case hex); a connection names its module by
// connections.script_sha256 ('' = none). Connections are read on every
// login and never carry the bytes; a script runner reads a module by its
// digest (ScriptModule) when it (re)builds one. Writing a module into a
// connection and dropping the module it replaces happen in the writer's
// transaction (DB runs InsertConnection and UpdateConnection in one of
// their own), so the table never holds a module no connection names, and
// no connection names a module the table does not hold.
//
// Concurrency on MySQL: a writer that stores module H upserts its row
// (which locks it) before it points its connection at H; a writer that
// drops H locks H's row first, then counts the connections naming H with a
// locking read (the latest committed rows, not its snapshot). So whichever
// comes second sees the other's effect: the dropper sees the new reference
// and keeps H, or the storer writes H's row again after the drop (it holds
// the bytes). On SQLite transactions are serialized at BEGIN.

const (
	qModule            = `SELECT wasm FROM modules WHERE sha256 = ?`
	qConnectionDigest  = `SELECT script_sha256 FROM connections WHERE name = ?`
	qPutModuleSQLite   = `INSERT INTO modules (sha256, wasm, size, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`
	qPutModuleMySQL    = `INSERT INTO modules (sha256, wasm, size, created_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE sha256 = sha256`
	qLockModuleMySQL   = `SELECT COUNT(*) FROM modules WHERE sha256 = ? FOR UPDATE`
	qModuleRefsMySQL   = `SELECT COUNT(*) FROM connections WHERE script_sha256 = ? LOCK IN SHARE MODE`
	qDropModule        = `DELETE FROM modules WHERE sha256 = ?`
	qDropUnusedSQLite  = `DELETE FROM modules WHERE sha256 = ? AND NOT EXISTS (SELECT 1 FROM connections WHERE script_sha256 = ?)`
	qModuleCount       = `SELECT COUNT(*) FROM modules`
	qModuleSizeInStore = `SELECT COALESCE(SUM(size), 0) FROM modules`
)

// moduleDigest is the digest stored for c's module: the SHA-256 of
// c.Script when it is set (c.ScriptSHA256, when also set, must be it), else
// c.ScriptSHA256 as given.
func moduleDigest(c service.Connection) (string, error) {
	if len(c.Script) == 0 {
		return c.ScriptSHA256, nil
	}
	sum := sha256.Sum256(c.Script)
	d := hex.EncodeToString(sum[:])
	if c.ScriptSHA256 != "" && c.ScriptSHA256 != d {
		return "", errors.New("the module's ScriptSHA256 is not the SHA-256 of its bytes")
	}
	return d, nil
}

// ScriptModule returns the module stored under digest (lower-case hex
// SHA-256); ErrNotFound when there is none.
func (q *queries) ScriptModule(ctx context.Context, digest string) ([]byte, error) {
	var wasm []byte
	if err := q.r.get(ctx, &wasm, qModule, digest); err != nil {
		return nil, translate(err, fmt.Sprintf("module %.12s", digest), "modules")
	}
	return wasm, nil
}

// putModule stores a module unless its digest is already there.
func (q *queries) putModule(ctx context.Context, digest string, wasm []byte, at time.Time) error {
	query := qPutModuleSQLite
	if q.dialect == DialectMySQL {
		query = qPutModuleMySQL
	}
	_, err := q.w.exec(ctx, query, digest, wasm, len(wasm), dbTime{at})
	return translate(err, fmt.Sprintf("store module %.12s", digest), "modules")
}

// replaceModule stores c's module (digest), runs write (the connection's
// update), then drops the module the connection named before when no
// connection names it any more.
func (q *queries) replaceModule(ctx context.Context, c service.Connection, digest string, write func() error) error {
	query := qConnectionDigest
	if q.dialect == DialectMySQL {
		query += ` FOR UPDATE`
	}
	var old string
	if err := q.w.get(ctx, &old, query, c.Name); err != nil {
		return translate(err, fmt.Sprintf("update connection %q", c.Name), "connections")
	}
	if err := q.putModule(ctx, digest, c.Script, c.UpdatedAt); err != nil {
		return err
	}
	if err := write(); err != nil {
		return err
	}
	if old == "" || old == digest {
		return nil
	}
	return q.dropModuleIfUnused(ctx, old)
}

// dropModuleIfUnused deletes the module stored under digest when no
// connection names it.
func (q *queries) dropModuleIfUnused(ctx context.Context, digest string) error {
	op := fmt.Sprintf("drop module %.12s", digest)
	if q.dialect != DialectMySQL {
		_, err := q.w.exec(ctx, qDropUnusedSQLite, digest, digest)
		return translate(err, op, "modules")
	}
	var n int
	if err := q.w.get(ctx, &n, qLockModuleMySQL, digest); err != nil {
		return translate(err, op, "modules")
	}
	if err := q.w.get(ctx, &n, qModuleRefsMySQL, digest); err != nil {
		return translate(err, op, "modules")
	}
	if n > 0 {
		return nil
	}
	_, err := q.w.exec(ctx, qDropModule, digest)
	return translate(err, op, "modules")
}

// InsertConnection is queries.InsertConnection in a transaction of its own
// (the module and the connection are written together).
func (d *DB) InsertConnection(ctx context.Context, c service.Connection) error {
	if len(c.Script) == 0 {
		return d.queries.InsertConnection(ctx, c)
	}
	return d.WithTx(ctx, func(tx service.Queries) error { return tx.InsertConnection(ctx, c) })
}

// UpdateConnection is queries.UpdateConnection in a transaction of its own
// (the module, the connection and the drop of the module it replaced are
// written together).
func (d *DB) UpdateConnection(ctx context.Context, c service.Connection) error {
	if len(c.Script) == 0 {
		return d.queries.UpdateConnection(ctx, c)
	}
	return d.WithTx(ctx, func(tx service.Queries) error { return tx.UpdateConnection(ctx, c) })
}

// ModuleStats reports the modules stored and their total size in bytes
// (tests, the operator).
func (d *DB) ModuleStats(ctx context.Context) (count int, bytes int64, err error) {
	if err := d.r.GetContext(ctx, &count, qModuleCount); err != nil {
		return 0, 0, translate(err, "count modules", "modules")
	}
	if err := d.r.GetContext(ctx, &bytes, qModuleSizeInStore); err != nil {
		return 0, 0, translate(err, "count modules", "modules")
	}
	return count, bytes, nil
}
