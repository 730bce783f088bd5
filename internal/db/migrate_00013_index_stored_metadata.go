package db

// Migration 00013 is Go, not SQL: it reads every stored user's metadata
// and writes its rows of the term index created by 00012, which SQL alone
// cannot derive (the rows come from walking JSON objects). The SQL
// migrations in migrations/{mysql,sqlite} skip its number; goMigrations
// registers it with goose beside them.

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
)

// goMigrations are the Go migrations of dialect, run in version order with
// the SQL ones.
func goMigrations(dialect goose.Dialect) []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(13, &goose.GoFunc{RunTx: indexStoredMetadata(dialect)}, nil),
		goose.NewGoMigration(21, &goose.GoFunc{RunTx: reindexStoredMetadata(dialect)}, nil),
		goose.NewGoMigration(57, &goose.GoFunc{RunTx: countStoredTerms(dialect)}, nil),
	}
}

// indexStoredMetadata is migration 13: it fills the metadata term index
// (created by migration 12) for the users already stored, a page of users
// at a time, in the migration's transaction (on SQLite the migration holds
// the only write connection). Rows already there are kept.
func indexStoredMetadata(dialect goose.Dialect) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		d := DialectSQLite
		if dialect == goose.DialectMySQL {
			d = DialectMySQL
		}
		const page = 1000
		after := ""
		for {
			n, last, terms, err := storedTermsPage(ctx, tx, after, page)
			if err != nil {
				return fmt.Errorf("index stored metadata: %w", err)
			}
			if _, err := insertTerms(ctx, d, tx.ExecContext, terms); err != nil {
				return fmt.Errorf("index stored metadata: %w", err)
			}
			if n < page {
				return nil
			}
			after = last
		}
	}
}

// storedTermsPage reads up to page users with ids after after and returns
// how many, the last id and their index rows.
func storedTermsPage(ctx context.Context, tx *sql.Tx, after string, page int) (n int, last string, terms []termRow, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, user_metadata, app_metadata FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, page)
	if err != nil {
		return 0, "", nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, ums, ams string
		if err := rows.Scan(&id, &ums, &ams); err != nil {
			return 0, "", nil, err
		}
		terms = userTerms(terms, id, ums, ams)
		n, last = n+1, id
	}
	return n, last, terms, rows.Err()
}
