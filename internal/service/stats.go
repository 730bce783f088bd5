package service

import (
	"context"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// ConnectionStats are the user counts of one connection.
type ConnectionStats struct {
	Connection string
	Strategy   policy.Strategy // "" for users of a connection that no longer exists
	Users      int
	Blocked    int
	Migrated   int
}

// Stats are the dashboard's home-page counts.
type Stats struct {
	// Connections lists every connection (with zero counts when it has no
	// users) and any connection name users still carry, by name.
	Connections []ConnectionStats
	Users       int
	Blocked     int
	// Migrated counts users copied into this service from an import-mode
	// custom database; NotMigrated counts custom-database users whose
	// custom database is still their source of truth.
	Migrated    int
	NotMigrated int
	// LoginsPerDay has one entry per UTC day of the retention window,
	// oldest first, today last, days without logins included.
	LoginsPerDay []DayLoginCounts
	Retention    time.Duration
}

// Stats counts users and logins for the dashboard.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	counts, err := s.store.UserCountsByConnection(ctx)
	if err != nil {
		return Stats{}, storeErr("user counts", err)
	}
	conns, err := s.store.Connections(ctx)
	if err != nil {
		return Stats{}, storeErr("connections", err)
	}
	days := int(s.cfg.EventRetention / (24 * time.Hour))
	if days < 1 {
		days = 1
	}
	today := s.now().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	logins, err := s.store.LoginCountsByDay(ctx, first)
	if err != nil {
		return Stats{}, storeErr("login counts", err)
	}
	return buildStats(counts, conns, logins, first, days, s.cfg.EventRetention), nil
}

func buildStats(counts []ConnectionUserCounts, conns []Connection, logins []DayLoginCounts, first time.Time, days int, retention time.Duration) Stats {
	st := Stats{Retention: retention}
	strategy := make(map[string]policy.Strategy, len(conns))
	for _, c := range conns {
		strategy[c.Name] = c.Strategy
	}
	byName := make(map[string]ConnectionUserCounts, len(counts))
	for _, c := range counts {
		byName[c.Connection] = c
	}
	names := make([]string, 0, len(conns)+len(counts))
	for _, c := range conns { // ordered by name
		names = append(names, c.Name)
	}
	for _, c := range counts {
		if _, ok := strategy[c.Connection]; !ok {
			names = append(names, c.Connection)
		}
	}
	for _, n := range names {
		c := byName[n]
		st.Connections = append(st.Connections, ConnectionStats{Connection: n, Strategy: strategy[n], Users: c.Users, Blocked: c.Blocked, Migrated: c.Migrated})
		st.Users += c.Users
		st.Blocked += c.Blocked
		st.Migrated += c.Migrated
		if strategy[n] == policy.StrategyCustomDatabase {
			st.NotMigrated += c.Users - c.Migrated
		}
	}
	perDay := make(map[string]DayLoginCounts, len(logins))
	for _, d := range logins {
		perDay[d.Day] = d
	}
	st.LoginsPerDay = make([]DayLoginCounts, days)
	for i := range days {
		day := first.AddDate(0, 0, i).Format(time.DateOnly)
		d := perDay[day]
		d.Day = day
		st.LoginsPerDay[i] = d
	}
	return st
}
