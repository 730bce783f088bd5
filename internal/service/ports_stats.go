package service

import (
	"context"
	"time"
)

// ConnectionUserCounts counts the stored users of one connection.
type ConnectionUserCounts struct {
	Connection string
	Users      int
	Blocked    int
	Migrated   int
}

// DayLoginCounts counts the login events of one UTC day.
type DayLoginCounts struct {
	Day     string // YYYY-MM-DD (UTC)
	Success int    // "login" events
	Failure int    // "login_failed" events
}

// StatsQueries are the store's aggregate reads for the dashboard.
type StatsQueries interface {
	// UserCountsByConnection counts users per connection (connections
	// without users are absent), ordered by connection name.
	UserCountsByConnection(ctx context.Context) ([]ConnectionUserCounts, error)
	// LoginCountsByDay counts login and login_failed events at or after
	// since, per UTC day, ordered by day; days without logins are absent.
	LoginCountsByDay(ctx context.Context, since time.Time) ([]DayLoginCounts, error)
}
