package service

import "time"

// SetUserIDSource makes f the id source of new users until the returned
// func restores the real one.
func SetUserIDSource(f func() string) (restore func()) {
	old := newUserIDSource
	newUserIDSource = f
	return func() { newUserIDSource = old }
}

// SetJobHeartbeatTicks makes ticks the heartbeat of s's running jobs in
// place of the ticker every JobHeartbeat: a test sends a value for each
// heartbeat it wants, and knows the previous one is written once a send
// returns (the heartbeat takes the next tick only after its beat). Set it
// before s starts a job.
func SetJobHeartbeatTicks(s *Service, ticks <-chan time.Time) { s.jobTicks = ticks }
