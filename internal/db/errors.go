package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/profiled/profiled/internal/service"
)

// ConflictError is a unique-key clash. errors.Is(err, service.ErrConflict)
// holds for it. Key names what clashed, the same on both dialects:
//
//	users:          "id", "email" (connection+email), "username" (connection+username)
//	connections:    "name"
//	signing_keys:   "kid"
//	events:         "id"
//
// It carries no value from the row (no email, no hash, no configuration).
type ConflictError struct {
	Op    string // what was being done, e.g. "insert user"
	Table string
	Key   string // "" when the driver did not say
}

func (e *ConflictError) Error() string {
	if e.Key == "" {
		return "db: " + e.Op + ": " + service.ErrConflict.Error()
	}
	return "db: " + e.Op + ": " + service.ErrConflict.Error() + " on " + e.Table + "." + e.Key
}

// Unwrap makes errors.Is(err, service.ErrConflict) true. The driver error is
// deliberately not kept: MySQL's message quotes the clashing values.
func (e *ConflictError) Unwrap() error { return service.ErrConflict }

// primaryKeys names each table's primary key as a ConflictError.Key.
var primaryKeys = map[string]string{
	"users":          "id",
	"connections":    "name",
	"signing_keys":   "kid",
	"events":         "id",
	"login_failures": "login_key,ip",
}

// uniqueIndexes maps the schema's unique index names to ConflictError.Key.
var uniqueIndexes = map[string]string{
	"uq_users_connection_email":    "email",
	"uq_users_connection_username": "username",
}

// MySQL server error numbers used here.
const (
	myDupEntry        = 1062
	myLockWaitTimeout = 1205
	myDeadlock        = 1213
	myBadDB           = 1049
)

// translate maps a driver error to the service's errors, with context.
// op says what was being done ("insert user"); table is the table written,
// for conflicts. sql.ErrNoRows becomes service.ErrNotFound (callers that
// want a friendlier message handle it themselves).
func translate(err error, op, table string) error {
	return translateIn("db: ", err, op, table)
}

// translateIn is translate with the message prefixed by prefix instead of
// "db: " (Open's errors are already prefixed).
func translateIn(prefix string, err error, op, table string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s%s: %w", prefix, op, service.ErrNotFound)
	}
	if key, ok := conflictKey(err, table); ok {
		return &ConflictError{Op: op, Table: table, Key: key}
	}
	if unavailable(err) {
		return fmt.Errorf("%s%s: %w: %w", prefix, op, service.ErrUnavailable, err)
	}
	return fmt.Errorf("%s%s: %w", prefix, op, err)
}

// conflictKey reports whether err is a unique-key violation and, when the
// driver says, which key.
func conflictKey(err error, table string) (string, bool) {
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == myDupEntry {
		// "Duplicate entry '...' for key 'uq_users_connection_email'"
		// (MySQL 8 writes 'users.uq_users_connection_email').
		msg := me.Message
		i := strings.LastIndex(msg, "for key '")
		if i < 0 {
			return "", true
		}
		name := strings.TrimSuffix(msg[i+len("for key '"):], "'")
		if j := strings.LastIndex(name, "."); j >= 0 {
			name = name[j+1:]
		}
		if name == "PRIMARY" {
			return primaryKeys[table], true
		}
		return uniqueIndexes[name], true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		if code != sqlite3.SQLITE_CONSTRAINT_UNIQUE && code != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return "", false
		}
		// "... UNIQUE constraint failed: users.connection, users.email (2067)"
		msg := se.Error()
		i := strings.LastIndex(msg, "failed: ")
		if i < 0 {
			return "", true
		}
		cols := msg[i+len("failed: "):]
		if j := strings.LastIndex(cols, " ("); j >= 0 {
			cols = cols[:j]
		}
		var names []string
		for _, c := range strings.Split(cols, ",") {
			c = strings.TrimSpace(c)
			if j := strings.LastIndex(c, "."); j >= 0 {
				c = c[j+1:]
			}
			names = append(names, c)
		}
		// (connection, x) unique keys are named after x.
		if len(names) == 2 && names[0] == "connection" {
			return names[1], true
		}
		return strings.Join(names, ","), true
	}
	return "", false
}

// unavailable reports whether err means the store cannot be reached.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up; context.DeadlineExceeded is also a net.Error
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_NOTADB:
			return true
		}
	}
	return false
}

// retryable reports whether a transaction that failed with err may succeed
// if run again: MySQL deadlock / lock wait timeout, SQLite BUSY / LOCKED.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == myDeadlock || me.Number == myLockWaitTimeout
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}
