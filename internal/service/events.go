package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/profiled/profiled/internal/policy"
)

// record stores an event; a failure to record is logged, never returned.
func (s *Service) record(ctx context.Context, typ, userID, connection string, err error, detail string) {
	if err := s.store.InsertEvent(context.WithoutCancel(ctx), s.event(ctx, typ, userID, connection, err, detail)); err != nil {
		s.log.ErrorContext(ctx, "record event", "type", typ, "err", err)
	}
}

// event builds an event; err's code (never its message) goes in Detail.
func (s *Service) event(ctx context.Context, typ, userID, connection string, err error, detail string) Event {
	c := clientFrom(ctx)
	now := s.now()
	e := Event{
		// Time first, then a per-process sequence (events of one instant keep
		// their order), then randomness (instances never collide).
		ID:   fmt.Sprintf("%016x%08x%s", now.UnixNano(), s.eventSeq.Add(1), randomHex(3)),
		Time: now, Type: typ,
		UserID: userID, Connection: connection, IP: c.IP, UserAgent: c.UserAgent, Success: err == nil, Detail: detail,
	}
	if err != nil {
		code, ok := CodeOf(err)
		var r *policy.Refusal
		if errors.As(err, &r) {
			code, ok = Code(r.Reason), true
		}
		if !ok {
			code = CodeInternal
		}
		e.Detail = strings.TrimPrefix(detail+" "+string(code), " ")
		var se *Error
		if errors.As(err, &se) && se.ID != "" {
			e.Detail += " (error id " + se.ID + ")" // its cause is in the server's log
		}
	}
	if len(e.UserAgent) > 255 {
		e.UserAgent = e.UserAgent[:255]
	}
	return e
}

// Logs returns a user's events, newest first.
func (s *Service) Logs(ctx context.Context, userID, before string, limit int) ([]Event, bool, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	if limit > MaxPageSize {
		return nil, false, &Error{Code: CodeBadUserInput, Field: "first", Message: fmt.Sprintf("first must be between 1 and %d", MaxPageSize)}
	}
	es, err := s.store.EventsByUser(ctx, userID, ListEventsParams{Before: before, Limit: limit + 1})
	if err != nil {
		return nil, false, storeErr("events", err)
	}
	if len(es) > limit {
		return es[:limit], true, nil
	}
	return es, false, nil
}

// LogsPage is the first page of one user's events.
type LogsPage struct {
	Events []Event
	More   bool // there are older events
}

// FirstLogs is Logs' first page (no cursor) for several users at once, in
// one store query: what a list of users showing each one's history needs.
func (s *Service) FirstLogs(ctx context.Context, userIDs []string, limit int) (map[string]LogsPage, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	if limit > MaxPageSize {
		return nil, &Error{Code: CodeBadUserInput, Field: "first", Message: fmt.Sprintf("first must be between 1 and %d", MaxPageSize)}
	}
	byUser, err := s.store.EventsByUsers(ctx, userIDs, limit+1)
	if err != nil {
		return nil, storeErr("events", err)
	}
	out := make(map[string]LogsPage, len(userIDs))
	for _, id := range userIDs {
		es := byUser[id]
		if len(es) > limit {
			out[id] = LogsPage{Events: es[:limit], More: true}
		} else {
			out[id] = LogsPage{Events: es}
		}
	}
	return out, nil
}

// PurgeEvents deletes events past the retention window.
func (s *Service) PurgeEvents(ctx context.Context) (int64, error) {
	return s.store.DeleteEventsBefore(ctx, s.now().Add(-s.cfg.EventRetention))
}
