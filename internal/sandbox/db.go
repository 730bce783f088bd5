package sandbox

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/tetratelabs/wazero/api"
	_ "modernc.org/sqlite" // the "sqlite" driver for sqlite: URLs

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/dburl"
)

// dbPool is the host's pool for one database URL, shared by the modules
// whose Spec names that URL and closed when the last one is closed.
type dbPool struct {
	url      string
	redacted string // the URL without its password, for messages
	db       *sqlx.DB
	refs     int
	password string // masked in error messages, should a driver echo it
	mysql    bool   // MySQL/MariaDB: KILL QUERY at the deadline
}

// Pool sizes per database URL.
const (
	dbMaxOpen     = 16
	dbMaxIdle     = 4
	dbIdleTime    = 5 * time.Minute
	dbLifetime    = 30 * time.Minute
	dbDialTimeout = 5 * time.Second
)

func (r *Runtime) acquireDB(rawURL string) (*dbPool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.dbs[rawURL]; p != nil {
		p.refs++
		return p, nil
	}
	p, err := openDB(rawURL)
	if err != nil {
		return nil, err
	}
	p.refs = 1
	r.dbs[rawURL] = p
	return p, nil
}

func (r *Runtime) releaseDB(p *dbPool) {
	r.mu.Lock()
	p.refs--
	last := p.refs == 0 && r.dbs[p.url] == p
	if last {
		delete(r.dbs, p.url)
	}
	r.mu.Unlock()
	if last {
		p.db.Close()
	}
}

// openDB opens (without connecting) the pool for a database URL:
// "mysql://user[:pass]@host[:port]/db[?tls=true|false|skip-verify|preferred][&timeout=5s]"
// or "sqlite:PATH" (parsed by package dburl). Errors never contain the
// password.
func openDB(rawURL string) (*dbPool, error) {
	if !strings.HasPrefix(rawURL, "sqlite:") && !strings.HasPrefix(rawURL, "mysql:") {
		return nil, errors.New(`sandbox: database URL: want "mysql://user[:pass]@host:port/db" or "sqlite:PATH"`)
	}
	u, err := dburl.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sandbox: database URL: %w", err)
	}
	if u.Dialect == dburl.DialectSQLite {
		// mode=rw: a missing file is "unavailable", not a new empty database.
		dsn := "file:" + u.Path + "?mode=rw&_pragma=busy_timeout(5000)"
		db, err := sqlx.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("sandbox: database URL %s: %v", u, err)
		}
		db.SetMaxOpenConns(dbMaxOpen)
		return &dbPool{url: rawURL, redacted: u.String(), db: db}, nil
	}
	cfg := mysqlConfig(u)
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("sandbox: database URL %s: %v", u, err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "mysql")
	db.SetMaxOpenConns(dbMaxOpen)
	db.SetMaxIdleConns(dbMaxIdle) // only KILL QUERY connections idle: calls discard theirs
	db.SetConnMaxIdleTime(dbIdleTime)
	db.SetConnMaxLifetime(dbLifetime)
	return &dbPool{url: rawURL, redacted: u.String(), db: db, password: cfg.Passwd, mysql: true}, nil
}

// CheckDatabaseURL checks a custom database URL the way the sandbox will
// read it, without connecting: "sqlite:PATH" or
// "mysql://user[:pass]@host[:port]/db" with only the driver options of the
// allow-list (tls=true|false|skip-verify|preferred, timeout=DURATION;
// package dburl enforces it). Call it when a connection is created or
// changed, so that an option outside the list is refused then, not at the
// first login. The error never contains the password.
func CheckDatabaseURL(rawURL string) error {
	if !strings.HasPrefix(rawURL, "sqlite:") && !strings.HasPrefix(rawURL, "mysql:") {
		return errors.New(`sandbox: database URL: want "mysql://user[:pass]@host:port/db" or "sqlite:PATH"`)
	}
	if _, err := dburl.Parse(rawURL); err != nil {
		return fmt.Errorf("sandbox: database URL: %w", err)
	}
	return nil
}

// mysqlConfig turns a parsed mysql:// URL into the driver's config:
// parseTime on, a dial timeout, UTC, no multi-statements, no client-side
// interpolation (parameters go to the server in prepared statements: the
// host never splices a script's string into SQL).
func mysqlConfig(u dburl.Config) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.User = u.User
	cfg.Passwd = u.Password
	cfg.Net = "tcp"
	cfg.Addr = u.Addr()
	cfg.DBName = u.DBName
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Timeout = dbDialTimeout
	if u.Timeout > 0 {
		cfg.Timeout = u.Timeout
	}
	cfg.MultiStatements = false
	cfg.InterpolateParams = false
	cfg.TLSConfig = u.TLS
	return cfg
}

// dbConn returns the call's own database connection, opening it on the
// call's first statement. Every call starts with a new session: the
// connection is closed, never pooled, when the call ends (closeDB), so
// nothing a script leaves in a session (user variables, an open
// transaction, table or named locks, temporary tables, session settings)
// reaches the next call. On MySQL/MariaDB it also reads the connection id,
// for KILL QUERY at the deadline.
func (cs *callState) dbConn(ctx context.Context) (*sqlx.Conn, int32) {
	if cs.conn != nil {
		return cs.conn, 0
	}
	conn, err := cs.m.db.db.Connx(ctx)
	if err != nil {
		return nil, cs.dbError(ctx, err)
	}
	cs.conn = conn
	if cs.m.db.mysql && !cs.m.rt.cfg.reuseSessions {
		if err := conn.QueryRowxContext(ctx, "SELECT CONNECTION_ID()").Scan(&cs.connID); err != nil {
			return nil, cs.dbError(ctx, err)
		}
	}
	return conn, 0
}

// closeDB closes the call's connection (it is never reused).
func (cs *callState) closeDB() {
	if cs.conn == nil {
		return
	}
	if !cs.m.rt.cfg.reuseSessions {
		cs.conn.Raw(func(any) error { return driver.ErrBadConn }) // discard, do not pool
	}
	cs.conn.Close()
	cs.conn = nil
}

// killTimeout bounds the KILL QUERY the host sends at a call's deadline.
const killTimeout = 2 * time.Second

// killQuery stops the statement the call's connection runs in the server
// (MySQL/MariaDB): cancelling the client side only closes the socket, and
// the server would go on running it (SELECT SLEEP(30) for 30 s, a heavy
// scan holding locks). It runs on another connection and waits for the
// server's answer, so the statement is gone when the call returns.
func (cs *callState) killQuery() {
	if cs.connID == 0 || cs.killed {
		return
	}
	cs.killed = true
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	cs.m.db.db.ExecContext(ctx, "KILL QUERY "+strconv.FormatUint(cs.connID, 10)) // best effort: the statement may have ended
}

// decodeStatement reads a db_query/db_exec request: List[String sql,
// List[args]]. Arguments are scalars only.
func decodeStatement(req []byte) (string, []any, error) {
	d := abi.NewDecoder(req)
	if n, err := d.List(); err != nil || n != 2 {
		return "", nil, errors.New("the request is not [sql, args]")
	}
	query, err := d.String()
	if err != nil {
		return "", nil, errors.New("the SQL is not a string")
	}
	n, err := d.List()
	if err != nil {
		return "", nil, errors.New("the arguments are not a list")
	}
	args := make([]any, n)
	for i := range args {
		v, err := d.Value()
		if err != nil {
			return "", nil, errors.New("argument " + strconv.Itoa(i+1) + " is malformed")
		}
		switch v.(type) {
		case []any, map[string]any:
			return "", nil, errors.New("argument " + strconv.Itoa(i+1) + ": lists and maps cannot be parameters")
		}
		args[i] = v
	}
	return query, args, nil
}

// dbError maps a database error to an errno, recording unavailability and
// timeouts on the call.
func (cs *callState) dbError(ctx context.Context, err error) int32 {
	p := cs.m.db
	msg := err.Error()
	if p.password != "" {
		msg = strings.ReplaceAll(msg, p.password, "********")
	}
	if ctx.Err() != nil {
		cs.timedOut = true
		cs.killQuery()
		return cs.fail(abi.ErrnoTimeout, "the call's deadline passed: the statement was cancelled")
	}
	switch classifyDBError(err) {
	case abi.ErrnoDuplicate:
		return cs.fail(abi.ErrnoDuplicate, msg)
	case abi.ErrnoUnavailable:
		if cs.unavailable == "" {
			cs.unavailable = msg
		}
		return cs.fail(abi.ErrnoUnavailable, msg)
	}
	return cs.fail(abi.ErrnoDB, msg)
}

// classifyDBError tells a duplicate key and an unreachable database from
// other failures.
func classifyDBError(err error) abi.Errno {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1062, 1586: // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
			return abi.ErrnoDuplicate
		case 1040, 1044, 1045, 1049, 1129, 1130, 1203, 1226, 1251, 1275, 2002, 2003, 2005, 2006, 2013:
			// too many connections, access denied, unknown database,
			// host blocked/not allowed, auth plugin problems, server gone
			return abi.ErrnoUnavailable
		}
		return abi.ErrnoDB
	}
	var coder interface{ Code() int } // modernc.org/sqlite
	if errors.As(err, &coder) {
		switch c := coder.Code(); {
		case c == 2067 || c == 1555: // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
			return abi.ErrnoDuplicate
		case c&0xff == 14 || c&0xff == 26: // SQLITE_CANTOPEN, SQLITE_NOTADB
			return abi.ErrnoUnavailable
		}
		return abi.ErrnoDB
	}
	var ne net.Error
	var dnsErr *net.DNSError
	if errors.As(err, &ne) || errors.As(err, &dnsErr) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
		return abi.ErrnoUnavailable
	}
	return abi.ErrnoDB
}

// binaryTypes are the column types whose values cross as Bytes; every other
// []byte value crosses as a String (VARCHAR, TEXT, DECIMAL, JSON, ...).
var binaryTypes = map[string]bool{
	"BLOB": true, "TINYBLOB": true, "MEDIUMBLOB": true, "LONGBLOB": true,
	"BINARY": true, "VARBINARY": true, "BIT": true, "GEOMETRY": true,
}

// db_query(req_ptr, req_len) -> len: the reply is
// List[List[String column], List[List[value]]].
func (r *Runtime) dbQuery(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("db_query"); e != 0 {
		return e
	}
	req, e := cs.read(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	query, args, err := decodeStatement(req)
	if err != nil {
		return cs.fail(abi.ErrnoInval, err.Error())
	}
	conn, e := cs.dbConn(ctx)
	if e != 0 {
		return e
	}
	rows, err := cs.queryer(conn).QueryxContext(ctx, query, args...)
	if err != nil {
		return cs.dbError(ctx, err)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return cs.dbError(ctx, err)
	}
	binary := make([]bool, len(cols))
	out := abi.AppendList(make([]byte, 0, 256), 2)
	out = abi.AppendList(out, len(cols))
	for i, c := range cols {
		out = abi.AppendString(out, c.Name())
		binary[i] = binaryTypes[strings.ToUpper(c.DatabaseTypeName())]
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var body []byte
	n, maxRows, maxBytes := 0, r.cfg.MaxRows, r.cfg.MaxResultBytes
	for rows.Next() {
		if n++; n > maxRows {
			return cs.limit("a query returned more than " + strconv.Itoa(maxRows) + " rows")
		}
		if err := rows.Scan(ptrs...); err != nil {
			return cs.dbError(ctx, err)
		}
		body = abi.AppendList(body, len(vals))
		for i, v := range vals {
			body = appendColumn(body, v, binary[i])
		}
		if len(out)+len(body) > maxBytes {
			return cs.limit("a query result exceeds " + strconv.Itoa(maxBytes) + " bytes")
		}
	}
	if err := rows.Err(); err != nil {
		return cs.dbError(ctx, err)
	}
	out = append(abi.AppendList(out, n), body...)
	return cs.ok(out)
}

func appendColumn(b []byte, v any, binary bool) []byte {
	switch x := v.(type) {
	case []byte:
		if binary {
			return abi.AppendBytes(b, x)
		}
		return abi.AppendString(b, string(x))
	case sql.RawBytes:
		return abi.AppendString(b, string(x))
	case uint64:
		if x > math.MaxInt64 {
			// An unsigned BIGINT over 2^63-1 has no Int: it crosses as its
			// decimal String (a Float would round the id).
			return abi.AppendString(b, strconv.FormatUint(x, 10))
		}
	}
	out, err := abi.AppendValue(b, v)
	if err != nil {
		return abi.AppendString(b, fmt.Sprint(v))
	}
	return out
}

// db_exec(req_ptr, req_len) -> len: the reply is
// List[Int rows_affected, Int last_insert_id].
func (r *Runtime) dbExec(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	if e := cs.countHostCall("db_exec"); e != 0 {
		return e
	}
	req, e := cs.read(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	query, args, err := decodeStatement(req)
	if err != nil {
		return cs.fail(abi.ErrnoInval, err.Error())
	}
	conn, e := cs.dbConn(ctx)
	if e != 0 {
		return e
	}
	res, err := cs.queryer(conn).ExecContext(ctx, query, args...)
	if err != nil {
		return cs.dbError(ctx, err)
	}
	affected, _ := res.RowsAffected()
	lastID, _ := res.LastInsertId()
	out := abi.AppendList(make([]byte, 0, 24), 2)
	out = abi.AppendInt(abi.AppendInt(out, affected), lastID)
	return cs.ok(out)
}

// queryer is the call's open transaction, else its connection.
func (cs *callState) queryer(conn *sqlx.Conn) interface {
	QueryxContext(context.Context, string, ...any) (*sqlx.Rows, error)
	ExecContext(context.Context, string, ...any) (sql.Result, error)
} {
	if cs.tx != nil {
		return cs.tx
	}
	return conn
}

// db_begin() -> 0: opens the call's transaction; db_query and db_exec run
// in it until db_commit or db_rollback. One at a time; whatever is still
// open when the call ends (returned, trapped, timed out) is rolled back.
func (r *Runtime) dbBegin(ctx context.Context, cs *callState, _ api.Memory, _ []uint64) int32 {
	if e := cs.countHostCall("db_begin"); e != 0 {
		return e
	}
	if cs.tx != nil {
		return cs.fail(abi.ErrnoInval, "a transaction is already open: commit or roll it back first")
	}
	conn, e := cs.dbConn(ctx)
	if e != 0 {
		return e
	}
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return cs.dbError(ctx, err)
	}
	cs.tx = tx
	return 0
}

// db_commit() -> 0.
func (r *Runtime) dbCommit(ctx context.Context, cs *callState, _ api.Memory, _ []uint64) int32 {
	if cs.tx == nil {
		return cs.fail(abi.ErrnoInval, "no open transaction")
	}
	tx := cs.tx
	cs.tx = nil
	if err := tx.Commit(); err != nil {
		return cs.dbError(ctx, err)
	}
	return 0
}

// db_rollback() -> 0; without an open transaction it does nothing.
func (r *Runtime) dbRollback(ctx context.Context, cs *callState, _ api.Memory, _ []uint64) int32 {
	if cs.tx == nil {
		return 0
	}
	tx := cs.tx
	cs.tx = nil
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return cs.dbError(ctx, err)
	}
	return 0
}

// endTx rolls back a transaction the call left open; it reports whether
// there was one.
func (cs *callState) endTx() bool {
	if cs.tx == nil {
		return false
	}
	cs.tx.Rollback() // after a timeout database/sql has rolled it back already
	cs.tx = nil
	return true
}
