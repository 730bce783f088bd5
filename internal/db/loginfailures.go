package db

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

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
