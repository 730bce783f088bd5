package db

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
)

// An import batch on MySQL/MariaDB is written with LOAD DATA LOCAL INFILE
// from memory (the driver's registered readers, "Reader::<name>": no file,
// and AllowAllFiles stays off) instead of multi-row INSERTs: one statement
// for the users, one for their metadata terms. The server parses a
// tab-separated stream instead of SQL literals, which is about a quarter
// less of its CPU per user than the INSERTs (docs/import-benchmarks.md).
//
// LOCAL makes the server skip, with a warning, a row that clashes on a
// unique key or does not fit its column (it cannot stop the client's
// stream) instead of failing the statement. So the load runs after a
// savepoint, and unless the server reports every row inserted and no
// warning, the batch is rolled back to the savepoint and written again
// with the INSERTs (insertMany), which name each clashing user and fail
// on bad data exactly as before. A server that refuses LOCAL
// (local_infile=OFF: MariaDB 4166, MySQL 8 3948, older servers 1148) turns it off for the
// rest of the DB's life, at the cost of one refused statement.

// loadState is a DB's bulk-load switch, shared by its transactions.
type loadState struct {
	off   atomic.Bool
	loads atomic.Int64 // batches written by LOAD DATA (tests read it)
}

// readerSeq names the registered readers (the driver's registry is global
// to the process).
var readerSeq atomic.Uint64

// Errors of a server that refuses LOAD DATA LOCAL.
const (
	myLocalRefused    = 1148 // ER_NOT_ALLOWED_COMMAND (MySQL 5.7, older MariaDB)
	myLocalDisabledMy = 3948 // ER_CLIENT_LOCAL_FILES_DISABLED (MySQL 8)
	myLocalDisabledMa = 4166 // ER_LOAD_INFILE_CAPABILITY_DISABLED (MariaDB 10.6+)
)

const (
	qLoadUsers = `LOAD DATA LOCAL INFILE 'Reader::%s' INTO TABLE users CHARACTER SET utf8mb4
	FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' (` + userColumns + `)`
	qLoadTerms = `LOAD DATA LOCAL INFILE 'Reader::%s' IGNORE INTO TABLE ` + search.TermsTable + ` CHARACTER SET utf8mb4
	FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' (source, path, value, user_id, num)`
	qLoadSavepoint = `SAVEPOINT import_load`
	qLoadRollback  = `ROLLBACK TO SAVEPOINT import_load`
	qWarningCount  = `SELECT @@warning_count`
)

// refusedLocal reports whether err is the server refusing LOAD DATA LOCAL.
func refusedLocal(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case myLocalRefused, myLocalDisabledMy, myLocalDisabledMa:
		return true
	}
	return false
}

// loadUsers tries to write users and their terms with two LOAD DATA
// statements (see above). It reports done = false, having written nothing,
// when the INSERTs must do it instead: the server refused LOCAL, or a row
// clashed, was skipped or changed. perUser gets the errors of users whose
// metadata cannot be encoded (they are left out, as insertMany does).
func (q *queries) loadUsers(ctx context.Context, users []policy.User, perUser []error) (done bool, err error) {
	if q.dialect != DialectMySQL || q.load == nil || q.load.off.Load() {
		return false, nil
	}
	var ub, tb bytes.Buffer
	ub.Grow(len(users) * 400)
	var terms, all []termRow
	written := make([]policy.User, 0, len(users))
	n := 0
	for i, u := range users {
		vals, um, am, err := userValues(u)
		if err != nil {
			perUser[i] = fmt.Errorf("db: insert user %q: %w", u.ID, err)
			continue
		}
		loadField(&ub, u.ID)
		for _, v := range vals {
			ub.WriteByte('\t')
			loadField(&ub, v)
		}
		ub.WriteByte('\n')
		written = append(written, u)
		terms = newUserTerms(terms[:0], u, um, am)
		all = append(all, terms...)
		for _, t := range terms {
			loadField(&tb, t.source)
			tb.WriteByte('\t')
			loadField(&tb, t.path)
			tb.WriteByte('\t')
			loadField(&tb, t.value)
			tb.WriteByte('\t')
			loadField(&tb, t.userID)
			tb.WriteByte('\t')
			loadField(&tb, t.num)
			tb.WriteByte('\n')
		}
		n++
	}
	if n == 0 {
		return true, nil
	}
	if _, err := q.w.exec(ctx, qLoadSavepoint); err != nil {
		return false, translate(err, "savepoint", "")
	}
	res, err := q.loadStream(ctx, qLoadUsers, ub.Bytes())
	if err != nil {
		if refusedLocal(err) {
			q.load.off.Store(true)
			return false, nil
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			return false, translate(err, "load users", "users") // the connection failed
		}
		// A clash or bad data failing the statement: the INSERTs report it.
		return false, q.rollbackLoad(ctx)
	}
	affected, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	var warnings int64
	if err := q.w.get(ctx, &warnings, qWarningCount); err != nil {
		return false, translate(err, "load users: warnings", "users")
	}
	if affected != int64(n) || warnings != 0 {
		return false, q.rollbackLoad(ctx)
	}
	var inserted int64
	if tb.Len() > 0 {
		// IGNORE, as insertTerms: a term row already there stays.
		res, err := q.loadStream(ctx, qLoadTerms, tb.Bytes())
		if err != nil {
			return false, translate(err, "index metadata", search.TermsTable)
		}
		if inserted, err = res.RowsAffected(); err != nil {
			return false, err
		}
	}
	if err := q.countNewUsers(ctx, written, all, inserted); err != nil {
		return false, err
	}
	q.load.loads.Add(1)
	return true, nil
}

func (q *queries) rollbackLoad(ctx context.Context) error {
	if _, err := q.w.exec(ctx, qLoadRollback); err != nil {
		return translate(err, "rollback to savepoint", "")
	}
	return nil
}

// loadStream runs query (a LOAD DATA LOCAL INFILE with a %s for the
// reader's name) reading data.
func (q *queries) loadStream(ctx context.Context, query string, data []byte) (sql.Result, error) {
	name := "profiled-import-" + strconv.FormatUint(readerSeq.Add(1), 10)
	mysql.RegisterReaderHandler(name, func() io.Reader { return bytes.NewReader(data) })
	defer mysql.DeregisterReaderHandler(name)
	return q.w.exec(ctx, fmt.Sprintf(query, name))
}

// loadField appends v (a value of userValues or termRow) in LOAD DATA's
// text form: \N for NULL, 0/1 for booleans, and strings with the escape
// character, the field and line terminators and NUL escaped.
func loadField(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString(`\N`)
	case string:
		loadString(b, v)
	case bool:
		if v {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case dbTime:
		b.WriteString(formatTime(v.Time))
	case nullTime:
		if !v.Valid {
			b.WriteString(`\N`)
			return
		}
		b.WriteString(formatTime(v.T.Time))
	case sql.NullFloat64:
		if !v.Valid {
			b.WriteString(`\N`)
			return
		}
		// As the driver writes a float64 parameter.
		b.WriteString(strconv.FormatFloat(v.Float64, 'g', -1, 64))
	default:
		panic(fmt.Sprintf("db: loadField: unexpected %T", v))
	}
}

func loadString(b *bytes.Buffer, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '\\':
			esc = `\\`
		case '\t':
			esc = `\t`
		case '\n':
			esc = `\n`
		case 0:
			esc = `\0`
		default:
			continue
		}
		b.WriteString(s[start:i])
		b.WriteString(esc)
		start = i + 1
	}
	b.WriteString(s[start:])
}
