package db

import (
	"database/sql"
	"fmt"

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
	qUserByID, qUserByConnectionEmail, qUserByConnectionUsername, qUsersByEmail, qListUsers, qCountUsers,
	qInsertUser, qUpdateUser, qDeleteUser, qStoredUser,
	qConnectionByName, qConnections, qConnectionScript, qInsertConnection, qUpdateConnection, qUpdateConnectionKeepScript,
	qSigningKeys, qInsertSigningKey,
	qInsertEvent, qEventsByUser, qEventsByUserBefore, qDeleteEventsBefore,
	qRecordLoginFailureSQLite, qLoginFailures, qResetLoginFailures, qResetLoginFailuresAllIP, qForgiveLoginFailure,
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
