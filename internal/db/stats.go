package db

import (
	"context"
	"time"

	"github.com/profiled/profiled/internal/service"
)

var _ service.StatsQueries = (*queries)(nil)

const (
	qUserCountsByConnection = `SELECT connection,
	COUNT(*) AS users,
	COALESCE(SUM(CASE WHEN blocked THEN 1 ELSE 0 END), 0) AS blocked,
	COALESCE(SUM(CASE WHEN migrated THEN 1 ELSE 0 END), 0) AS migrated
	FROM users GROUP BY connection ORDER BY connection`
	// Both through idx_events_time; the day is the UTC date of the stored
	// time (SQLite stores "YYYY-MM-DD hh:mm:ss.ffffff" text).
	qLoginCountsByDaySQLite = `SELECT substr(time, 1, 10) AS day,
	SUM(CASE WHEN type = 'login' THEN 1 ELSE 0 END) AS success,
	SUM(CASE WHEN type = 'login_failed' THEN 1 ELSE 0 END) AS failure
	FROM events WHERE time >= ? AND type IN ('login', 'login_failed')
	GROUP BY day ORDER BY day`
	qLoginCountsByDayMySQL = `SELECT DATE_FORMAT(time, '%Y-%m-%d') AS day,
	SUM(CASE WHEN type = 'login' THEN 1 ELSE 0 END) AS success,
	SUM(CASE WHEN type = 'login_failed' THEN 1 ELSE 0 END) AS failure
	FROM events WHERE time >= ? AND type IN ('login', 'login_failed')
	GROUP BY day ORDER BY day`
)

func (q *queries) UserCountsByConnection(ctx context.Context) ([]service.ConnectionUserCounts, error) {
	var rows []struct {
		Connection string `db:"connection"`
		Users      int    `db:"users"`
		Blocked    int    `db:"blocked"`
		Migrated   int    `db:"migrated"`
	}
	if err := q.r.sel(ctx, &rows, qUserCountsByConnection); err != nil {
		return nil, translate(err, "user counts by connection", "users")
	}
	out := make([]service.ConnectionUserCounts, len(rows))
	for i, r := range rows {
		out[i] = service.ConnectionUserCounts{Connection: r.Connection, Users: r.Users, Blocked: r.Blocked, Migrated: r.Migrated}
	}
	return out, nil
}

func (q *queries) LoginCountsByDay(ctx context.Context, since time.Time) ([]service.DayLoginCounts, error) {
	query := qLoginCountsByDaySQLite
	if q.dialect == DialectMySQL {
		query = qLoginCountsByDayMySQL
	}
	var rows []struct {
		Day     string `db:"day"`
		Success int    `db:"success"`
		Failure int    `db:"failure"`
	}
	if err := q.r.sel(ctx, &rows, query, dbTime{since}); err != nil {
		return nil, translate(err, "login counts by day", "events")
	}
	out := make([]service.DayLoginCounts, len(rows))
	for i, r := range rows {
		out[i] = service.DayLoginCounts{Day: r.Day, Success: r.Success, Failure: r.Failure}
	}
	return out, nil
}
