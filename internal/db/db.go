// Package db is Profiled's store: service.Store on embedded SQLite
// (modernc.org/sqlite, pure Go) or MySQL/MariaDB (go-sql-driver/mysql through
// sqlx). The schema is migrated at Open with goose from the embedded
// per-dialect files in migrations/.
//
// Times are stored in UTC with microsecond precision and read back in UTC.
// Emails are stored lower-cased; an empty email or username is stored as
// NULL so that the (connection, email) and (connection, username) unique keys
// ignore it. Metadata maps are JSON objects (nil stored as {}, read back as an
// empty non-nil map; numbers come back as json.Number, as gqlgen decodes
// them, so integers round-trip exactly).
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

//go:embed migrations/mysql/*.sql migrations/sqlite/*.sql
var migrations embed.FS

// DB is the store. It implements service.Store; it is safe for concurrent
// use.
type DB struct {
	queries
	cfg Config
	w   *sqlx.DB // writes and transactions (SQLite: one connection)
	r   *sqlx.DB // reads outside transactions (== w on MySQL and :memory:)
	o   options

	wStmts, rStmts *stmtCache // SQLite only (nil on MySQL)

	sealed int // secrets sealed (or sealed again) at Open
}

// SealedAtOpen is how many secrets Open found in plain text (or sealed
// with a previous key) and sealed with the primary key.
func (d *DB) SealedAtOpen() int { return d.sealed }

var _ service.Store = (*DB)(nil)

// DB runs the queries of the embedded queries value outside a transaction,
// each statement on its own, except the user writes below: a user write
// also writes the user's rows of the metadata term index (terms.go), and
// outside WithTx those two writes need a transaction of their own. These
// three methods, and InsertConnection and UpdateConnection with a module
// (modules.go), are the only ones of DB that override queries' methods;
// inside WithTx the transaction's queries are used as they are.

// InsertUser is queries.InsertUser in a transaction of its own.
func (d *DB) InsertUser(ctx context.Context, u policy.User) error {
	return d.WithTx(ctx, func(tx service.Queries) error { return tx.InsertUser(ctx, u) })
}

// UpdateUser is queries.UpdateUser in a transaction of its own.
func (d *DB) UpdateUser(ctx context.Context, u policy.User) error {
	return d.WithTx(ctx, func(tx service.Queries) error { return tx.UpdateUser(ctx, u) })
}

// DeleteUser is queries.DeleteUser in a transaction of its own.
func (d *DB) DeleteUser(ctx context.Context, id string) error {
	return d.WithTx(ctx, func(tx service.Queries) error { return tx.DeleteUser(ctx, id) })
}

// Option configures Open.
type Option func(*options)

type options struct {
	connectTimeout time.Duration
	maxOpenConns   int
	busyTimeout    time.Duration
	txAttempts     int
	// migrationLockWait bounds how long Open waits for another instance's
	// MySQL migration.
	migrationLockWait time.Duration
	// sqliteSharedPool puts reads and writes on one pool of maxOpenConns
	// connections (BEGIN IMMEDIATE + busy_timeout arbitrate writers)
	// instead of a single-connection write pool beside a read pool. For
	// measurement only (see bench_test.go).
	sqliteSharedPool bool
	// sealer seals secrets at rest (WithSealer).
	sealer *Sealer
}

func defaultOptions() options {
	return options{
		connectTimeout: 5 * time.Second,
		busyTimeout:    10 * time.Second,
		txAttempts:     5,

		migrationLockWait: 60 * time.Second,
	}
}

// WithConnectTimeout bounds how long Open waits for the server (MySQL dial
// and first ping; default 5s).
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.connectTimeout = d
		}
	}
}

// WithMaxOpenConns sets the size of the MySQL pool (default 20) or of the
// SQLite read pool (default max(4, GOMAXPROCS)); SQLite always writes
// through one connection.
func WithMaxOpenConns(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxOpenConns = n
		}
	}
}

// WithBusyTimeout sets SQLite's busy_timeout (default 10s): how long a
// statement waits for another process's lock on the file.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.busyTimeout = d
		}
	}
}

// WithTxAttempts sets how many times WithTx runs fn when the transaction
// fails with a serialization error (default 5; 1 disables retries).
func WithTxAttempts(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.txAttempts = n
		}
	}
}

// WithSealer seals the secrets the store holds (signing keys' private
// parts, connections' databaseURL and configuration) with s, and at Open
// seals those found in plain text or sealed with one of s's previous keys.
// Without it secrets are written in plain text, and a store holding sealed
// secrets fails to read them (ErrSealed).
func WithSealer(s *Sealer) Option {
	return func(o *options) { o.sealer = s }
}

// Open opens the store at url (see ParseURL), creating the MySQL database
// when it does not exist and the account may create it, and migrates the
// schema. Errors say which store (with the password masked) and wrap the
// cause; service.ErrUnavailable when the server cannot be reached, ErrBadURL
// for a bad URL.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg, opts...)
}

// OpenConfig is Open with an already parsed URL.
func OpenConfig(ctx context.Context, cfg Config, opts ...Option) (*DB, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	var (
		d   *DB
		err error
	)
	switch cfg.Dialect {
	case DialectSQLite:
		d, err = openSQLite(ctx, cfg, o)
	case DialectMySQL:
		d, err = openMySQL(ctx, cfg, o)
	default:
		return nil, fmt.Errorf("db: %w: unknown dialect %q", ErrBadURL, cfg.Dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("db: open %s: %w", cfg, err)
	}
	if n, err := d.sealAtRest(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: open %s: sealing secrets at rest: %w", cfg, err)
	} else {
		d.sealed = n
	}
	return d, nil
}

func newDB(cfg Config, w, r *sqlx.DB, o options) *DB {
	d := &DB{cfg: cfg, w: w, r: r, o: o}
	if cfg.Dialect == DialectSQLite {
		d.wStmts = newStmtCache(w)
		d.rStmts = d.wStmts
		if r != w {
			d.rStmts = newStmtCache(r)
		}
	}
	d.queries = queries{
		dialect: cfg.Dialect,
		w:       poolRunner{db: w, cache: d.wStmts},
		r:       poolRunner{db: r, cache: d.rStmts},
		sealer:  o.sealer,
		load:    &loadState{},
	}
	return d
}

func sqliteDSN(path string, o options, readOnly bool) string {
	p := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", o.busyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		// WAL + NORMAL: no fsync per commit. Survives application crashes;
		// a power loss may lose the last commits, never corrupts the file.
		"_pragma=synchronous(NORMAL)",
	}
	if readOnly {
		p = append(p, "_pragma=query_only(1)")
	} else {
		p = append(p, "_pragma=journal_mode(WAL)", "_txlock=immediate")
	}
	return path + "?" + strings.Join(p, "&")
}

func openSQLite(ctx context.Context, cfg Config, o options) (*DB, error) {
	readers := o.maxOpenConns
	if readers == 0 {
		readers = max(4, runtime.GOMAXPROCS(0))
	}
	open := func(dsn string, conns int) (*sqlx.DB, error) {
		x, err := sqlx.Open("sqlite", dsn)
		if err != nil {
			return nil, err
		}
		x.SetMaxOpenConns(conns)
		x.SetMaxIdleConns(conns)
		x.SetConnMaxLifetime(0)
		x.SetConnMaxIdleTime(0)
		if err := x.PingContext(ctx); err != nil {
			x.Close()
			return nil, translateIn("", err, "connect", "")
		}
		return x, nil
	}
	var w, r *sqlx.DB
	var err error
	switch {
	case cfg.Memory:
		// Every connection to :memory: is its own database: use one.
		w, err = open(cfg.Path+"?_pragma=foreign_keys(1)&_txlock=immediate", 1)
		r = w
	case o.sqliteSharedPool:
		w, err = open(sqliteDSN(cfg.Path, o, false), readers)
		r = w
	default:
		w, err = open(sqliteDSN(cfg.Path, o, false), 1)
	}
	if err != nil {
		return nil, err
	}
	if err := migrateSQLite(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	if r == nil {
		if r, err = open(sqliteDSN(cfg.Path, o, true), readers); err != nil {
			w.Close()
			return nil, err
		}
	}
	d := newDB(cfg, w, r, o)
	if err := d.wStmts.prepareAll(ctx, sqliteQueries); err != nil {
		d.Close()
		return nil, fmt.Errorf("prepare statements: %w", err)
	}
	return d, nil
}

func mysqlConfig(cfg Config, o options) *mysql.Config {
	c := mysql.NewConfig()
	c.User = cfg.User
	c.Passwd = cfg.Password
	c.Net = "tcp"
	c.Addr = cfg.Addr()
	c.DBName = cfg.DBName
	c.ParseTime = true
	c.Loc = time.UTC
	c.Timeout = o.connectTimeout
	if cfg.Timeout > 0 {
		c.Timeout = cfg.Timeout // the URL's ?timeout=
	}
	c.ClientFoundRows = true // UPDATE reports matched rows, so "no change" is not "not found"
	// One round trip per statement instead of prepare + execute + close;
	// safe with utf8mb4 (the driver refuses unsafe multibyte charsets).
	c.InterpolateParams = true
	c.TLSConfig = cfg.TLS
	_ = c.Apply(mysql.Charset("utf8mb4", ""))
	c.Params = map[string]string{
		"time_zone": "'+00:00'",
		"sql_mode":  "'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
	}
	return c
}

func openMySQL(ctx context.Context, cfg Config, o options) (*DB, error) {
	mc := mysqlConfig(cfg, o)
	x, err := openMySQLPool(ctx, mc, o)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == myBadDB {
		if cerr := createMySQLDatabase(ctx, mc, o); cerr != nil {
			return nil, fmt.Errorf("database %q does not exist and could not be created: %w", cfg.DBName, cerr)
		}
		x, err = openMySQLPool(ctx, mc, o)
	}
	if err != nil {
		return nil, translateIn("", err, "connect", "")
	}
	if err := migrateMySQL(ctx, x, mc, o); err != nil {
		x.Close()
		return nil, err
	}
	return newDB(cfg, x, x, o), nil
}

func openMySQLPool(ctx context.Context, mc *mysql.Config, o options) (*sqlx.DB, error) {
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	x := sqlx.NewDb(sql.OpenDB(conn), "mysql")
	n := o.maxOpenConns
	if n == 0 {
		n = 20
	}
	x.SetMaxOpenConns(n)
	x.SetMaxIdleConns(n)
	x.SetConnMaxLifetime(5 * time.Minute) // under any server wait_timeout
	x.SetConnMaxIdleTime(time.Minute)
	pctx, cancel := context.WithTimeout(ctx, o.connectTimeout)
	defer cancel()
	if err := x.PingContext(pctx); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

func createMySQLDatabase(ctx context.Context, mc *mysql.Config, o options) error {
	admin := mc.Clone()
	admin.DBName = ""
	conn, err := mysql.NewConnector(admin)
	if err != nil {
		return err
	}
	x := sql.OpenDB(conn)
	defer x.Close()
	cctx, cancel := context.WithTimeout(ctx, o.connectTimeout)
	defer cancel()
	// The name was checked by ParseURL (letters, digits, _ $ -).
	_, err = x.ExecContext(cctx, "CREATE DATABASE IF NOT EXISTS `"+mc.DBName+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	return err
}

// migrateMySQL runs migrate holding a MySQL named lock (GET_LOCK) for the
// database, taken on a connection of its own: several replicas starting at
// once on an empty database then migrate one after the other, and the later
// ones find nothing to do. (goose's own SessionLocker does not cover the
// check it makes before taking the lock, which on MySQL can see the version
// table created but still empty.)
func migrateMySQL(ctx context.Context, x *sqlx.DB, mc *mysql.Config, o options) error {
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return err
	}
	lockDB := sql.OpenDB(connector)
	defer lockDB.Close()
	conn, err := lockDB.Conn(ctx)
	if err != nil {
		return translateIn("", err, "migration lock", "")
	}
	defer conn.Close()
	name := "profiled_migrate:" + mc.DBName
	if len(name) > 64 {
		name = name[:64]
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int(o.migrationLockWait.Seconds())).Scan(&got); err != nil {
		return translateIn("", err, "migration lock", "")
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("migration lock: not granted within %v (another instance is migrating?)", o.migrationLockWait)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", name) //nolint:errcheck // closing the session releases it too
	return migrate(ctx, x, goose.DialectMySQL, "migrations/mysql")
}

// migrateSQLite runs migrate, again when it fails: SQLite has no advisory
// lock, and two processes opening a new file at once both see version 0 and
// both apply migration 1; the second fails ("table already exists") and,
// each SQLite migration being one transaction with its version row, finds
// the schema up to date when it looks again.
func migrateSQLite(ctx context.Context, w *sqlx.DB) error {
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if err = migrate(ctx, w, goose.DialectSQLite3, "migrations/sqlite"); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * time.Duration(20+rand.IntN(30)) * time.Millisecond):
		}
	}
	return err
}

// migrate brings the schema up to date (a no-op when it is).
func migrate(ctx context.Context, x *sqlx.DB, dialect goose.Dialect, dir string) error {
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(dialect, x.DB, fsys, goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(goMigrations(dialect)...))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// A binary older than the store's schema must not run on it: it would
	// write without what later migrations added (the metadata term index,
	// admin scopes) and break their guarantees for every other process.
	have, err := p.GetDBVersion(ctx)
	if err != nil {
		return translateIn("", err, "migrate", "")
	}
	if src := p.ListSources(); len(src) > 0 && have > src[len(src)-1].Version {
		return fmt.Errorf("migrate: %w: the store's schema is at version %d, newer than this profiled knows (%d): upgrade profiled (every process sharing a store must run the same version or newer)",
			ErrSchemaTooNew, have, src[len(src)-1].Version)
	}
	if _, err := p.Up(ctx); err != nil {
		return translateIn("", err, "migrate", "")
	}
	return nil
}

// ErrSchemaTooNew: the store was migrated by a newer profiled than this one.
var ErrSchemaTooNew = errors.New("store schema newer than this binary")

// Dialect returns DialectSQLite or DialectMySQL.
func (d *DB) Dialect() string { return d.cfg.Dialect }

// Config returns the parsed URL the store was opened with (its String
// masks the password).
func (d *DB) Config() Config { return d.cfg }

// Close closes the pools.
func (d *DB) Close() error {
	if d.wStmts != nil {
		d.wStmts.close()
		d.rStmts.close()
	}
	err := d.w.Close()
	if d.r != d.w {
		err = errors.Join(err, d.r.Close())
	}
	return err
}

// Ping reports whether the store answers; service.ErrUnavailable when not.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.w.PingContext(ctx); err != nil {
		return fmt.Errorf("db: ping: %w: %w", service.ErrUnavailable, err)
	}
	if d.r != d.w {
		if err := d.r.PingContext(ctx); err != nil {
			return fmt.Errorf("db: ping: %w: %w", service.ErrUnavailable, err)
		}
	}
	return nil
}

// WithTx runs fn in one transaction (see service.Store). fn must use only
// the tx it is given: on SQLite all writes go through one connection, which
// the transaction holds, so a write through the DB itself from inside fn
// would wait for fn to end. Serialization failures (MySQL 1213 / 1205,
// SQLite BUSY / LOCKED) roll back and run fn again, up to WithTxAttempts
// times in all, after a short jittered backoff.
func (d *DB) WithTx(ctx context.Context, fn func(tx service.Queries) error) error {
	for attempt := 1; ; attempt++ {
		err := d.runTx(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
		if attempt >= d.o.txAttempts {
			return fmt.Errorf("db: transaction failed %d times: %w", attempt, err)
		}
		// 5ms, 10ms, 20ms, ... (capped at 200ms), each times 0.5..1.5.
		base := min(5*time.Millisecond<<(attempt-1), 200*time.Millisecond)
		t := time.NewTimer(time.Duration(float64(base) * (0.5 + rand.Float64())))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("db: transaction: %w (after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (d *DB) runTx(ctx context.Context, fn func(tx service.Queries) error) (err error) {
	tx, err := d.w.BeginTxx(ctx, nil)
	if err != nil {
		return translate(err, "begin transaction", "")
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback() // fn panicked
		}
	}()
	run := txRunner{tx: tx, cache: d.wStmts}
	err = fn(&queries{dialect: d.cfg.Dialect, w: run, r: run, sealer: d.o.sealer, load: d.load})
	done = true
	if err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) && unavailable(rerr) {
			return errors.Join(err, translate(rerr, "rollback", ""))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return translate(err, "commit", "")
	}
	return nil
}
