package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
)

// countStoredTerms is migration 57: it fills the term counts (created by
// migration 56) from the data already stored: the metadata term index as
// it is, read in primary-key order a page at a time, and the counted
// fields of every user. It replaces any counts already there.
func countStoredTerms(dialect goose.Dialect) func(ctx context.Context, tx *sql.Tx) error {
	d := DialectSQLite
	if dialect == goose.DialectMySQL {
		d = DialectMySQL
	}
	return func(ctx context.Context, tx *sql.Tx) error {
		if err := fillTermCounts(ctx, d, tx); err != nil {
			return fmt.Errorf("count stored terms: %w", err)
		}
		return nil
	}
}

// termCountsPage is how many index rows or users one read of the
// migration takes.
const termCountsPage = 20_000

// fillTermCounts replaces the term counts with counts of what is stored.
func fillTermCounts(ctx context.Context, dialect string, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+termCountsTable); err != nil {
		return err
	}
	// The index, after the last row read: a row-value comparison on
	// SQLite; MariaDB's range optimizer wants it spelled out.
	after := "(source, path, value, user_id) > (?, ?, ?, ?)"
	if dialect == DialectMySQL {
		after = "(source > ? OR (source = ? AND path > ?) OR (source = ? AND path = ? AND value > ?) OR (source = ? AND path = ? AND value = ? AND user_id > ?))"
	}
	var last *termRow
	for {
		q := "SELECT source, path, value, user_id FROM " + search.TermsTable
		var args []any
		if last != nil {
			q += " WHERE " + after
			if dialect == DialectMySQL {
				args = []any{last.source, last.source, last.path, last.source, last.path, last.value, last.source, last.path, last.value, last.userID}
			} else {
				args = []any{last.source, last.path, last.value, last.userID}
			}
		}
		q += " ORDER BY source, path, value, user_id LIMIT ?"
		args = append(args, termCountsPage)
		c := newTermCounts()
		n, err := eachRow(ctx, tx, q, args, func(rows *sql.Rows) error {
			var r termRow
			if err := rows.Scan(&r.source, &r.path, &r.value, &r.userID); err != nil {
				return err
			}
			c.addTerms([]termRow{r}, 1)
			last = &r
			return nil
		})
		if err != nil {
			return err
		}
		if err := applyTermCounts(ctx, dialect, tx.ExecContext, c.delta); err != nil {
			return err
		}
		if n < termCountsPage {
			break
		}
	}
	// The counted fields, a page of users at a time.
	c := newTermCounts()
	lastID := ""
	for {
		n, err := eachRow(ctx, tx, "SELECT id, email_verified, phone_verified, blocked, connection FROM users WHERE id > ? ORDER BY id LIMIT ?",
			[]any{lastID, termCountsPage}, func(rows *sql.Rows) error {
				var u policy.User
				if err := rows.Scan(&u.ID, &u.EmailVerified, &u.PhoneVerified, &u.Blocked, &u.Connection); err != nil {
					return err
				}
				c.addFields(u, 1)
				lastID = u.ID
				return nil
			})
		if err != nil {
			return err
		}
		if n < termCountsPage {
			break
		}
	}
	return applyTermCounts(ctx, dialect, tx.ExecContext, c.delta)
}

// eachRow runs query and calls f on each row; it returns how many rows.
func eachRow(ctx context.Context, tx *sql.Tx, query string, args []any, f func(*sql.Rows) error) (int, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := f(rows); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
