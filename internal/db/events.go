package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/service"
)

const eventColumns = `id, time, type, user_id, connection, ip, user_agent, success, detail`

const (
	qInsertEvent = `INSERT INTO events (` + eventColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// Newest first through idx_events_user_id_id.
	qEventsByUser       = `SELECT ` + eventColumns + ` FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?`
	qEventsByUserBefore = `SELECT ` + eventColumns + ` FROM events WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`
	qDeleteEventsBefore = `DELETE FROM events WHERE time < ?`
)

type eventRow struct {
	ID         string `db:"id"`
	Time       dbTime `db:"time"`
	Type       string `db:"type"`
	UserID     string `db:"user_id"`
	Connection string `db:"connection"`
	IP         string `db:"ip"`
	UserAgent  string `db:"user_agent"`
	Success    bool   `db:"success"`
	Detail     string `db:"detail"`
}

func (q *queries) InsertEvent(ctx context.Context, e service.Event) error {
	_, err := q.w.exec(ctx, qInsertEvent, e.ID, dbTime{e.Time}, e.Type, e.UserID, e.Connection,
		e.IP, e.UserAgent, e.Success, e.Detail)
	return translate(err, fmt.Sprintf("insert event %q", e.ID), "events")
}

func (q *queries) EventsByUser(ctx context.Context, userID string, p service.ListEventsParams) ([]service.Event, error) {
	var rows []eventRow
	var err error
	if p.Before == "" {
		err = q.r.sel(ctx, &rows, qEventsByUser, userID, pageSize(p.Limit))
	} else {
		err = q.r.sel(ctx, &rows, qEventsByUserBefore, userID, p.Before, pageSize(p.Limit))
	}
	if err != nil {
		return nil, translate(err, fmt.Sprintf("events of user %q", userID), "events")
	}
	out := make([]service.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

func (r eventRow) event() service.Event {
	return service.Event{
		ID: r.ID, Time: r.Time.Time, Type: r.Type, UserID: r.UserID, Connection: r.Connection,
		IP: r.IP, UserAgent: r.UserAgent, Success: r.Success, Detail: r.Detail,
	}
}

// maxEventsUsers bounds the users of one EventsByUsers statement.
const maxEventsUsers = 100

// EventsByUsers returns the newest limit events of each user, newest
// first. On MySQL it is one statement per maxEventsUsers users: a UNION ALL
// of each user's own LIMIT query, each a short range of
// idx_events_user_id_id, one round trip instead of one per user. (A window
// function would read every event of every user of the page: a history
// grown by failed logins would slow the page.) On SQLite there is no round
// trip to save, so it runs the separate cached LIMIT queries.
func (q *queries) EventsByUsers(ctx context.Context, userIDs []string, limit int) (map[string][]service.Event, error) {
	out := make(map[string][]service.Event, len(userIDs))
	if q.dialect == DialectSQLite {
		for _, id := range userIDs {
			es, err := q.EventsByUser(ctx, id, service.ListEventsParams{Limit: limit})
			if err != nil {
				return nil, err
			}
			if len(es) > 0 {
				out[id] = es
			}
		}
		return out, nil
	}
	for len(userIDs) > 0 {
		chunk := userIDs[:min(len(userIDs), maxEventsUsers)]
		userIDs = userIDs[len(chunk):]
		var b strings.Builder
		args := make([]any, 0, 2*len(chunk))
		for i, id := range chunk {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			b.WriteString("(SELECT " + eventColumns + " FROM events WHERE user_id = ? ORDER BY id DESC LIMIT ?)")
			args = append(args, id, pageSize(limit))
		}
		var rows []eventRow
		if err := q.searchRunner().sel(ctx, &rows, b.String(), args...); err != nil {
			return nil, translate(err, fmt.Sprintf("events of %d users", len(chunk)), "events")
		}
		for _, r := range rows {
			out[r.UserID] = append(out[r.UserID], r.event())
		}
	}
	for _, es := range out { // a UNION ALL keeps no order of its own
		slices.SortFunc(es, func(a, b service.Event) int { return strings.Compare(b.ID, a.ID) })
	}
	return out, nil
}

func (q *queries) DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.w.exec(ctx, qDeleteEventsBefore, dbTime{t})
	if err != nil {
		return 0, translate(err, "delete old events", "events")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, translate(err, "delete old events", "events")
	}
	return n, nil
}
