// Package testenv builds the in-process test environment the e2e and
// reliability suites share: a running service and HTTP server on a real
// store (Start), GraphQL request helpers (Client), management tokens
// (Token), a settable Clock, and the pieces of a legacy custom database
// (ScriptCache, LegacySchema, AddLegacyUser, Client.CustomConnection).
//
// It is a normal package so that several test packages can import it; only
// tests do. MariaDB databases come from internal/testmysql, which fails
// rather than skips under CI=true when MySQL is missing.
package testenv

import (
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock: it moves only when told. It is safe for
// concurrent use; pass its Now where a func() time.Time is wanted.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads now until it is advanced.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// NoError fails t when err is not nil.
func NoError(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
