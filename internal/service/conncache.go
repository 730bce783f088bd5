package service

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// connCache keeps the connections logins and sign-ups read, by name. A
// copy is used only while the store's version of the row is the one it was
// read at: every use checks ConnectionVersion (a one-column primary-key
// read) instead of reading, unsealing and decoding the whole row. The
// version is incremented by the store on every write of the row, whichever
// process makes it, so a change (a revoked admin scope, a new script, a new
// database URL) is seen by the next login of every process sharing the
// store — no time window as a TTL would leave (docs/RATIONALE.md). Locked
// reads in transactions never go through it.
type connCache struct {
	mu sync.Mutex
	m  map[string]Connection
}

// maxCachedConnections bounds the cache; past it, it starts over (a
// deployment has a handful of connections; this only bounds a flood of
// names, which are not cached when absent anyway).
const maxCachedConnections = 1024

// connection returns the named connection through the cache (ErrNotFound
// and store errors as ConnectionByName returns them).
func (s *Service) connection(ctx context.Context, name string) (Connection, error) {
	v, err := s.store.ConnectionVersion(ctx, name)
	if err != nil {
		return Connection{}, err
	}
	s.conns.mu.Lock()
	c, ok := s.conns.m[name]
	s.conns.mu.Unlock()
	if ok && c.Version == v {
		return c.clone(), nil
	}
	c, err = s.store.ConnectionByName(ctx, name)
	if err != nil {
		return Connection{}, err
	}
	s.conns.mu.Lock()
	if s.conns.m == nil || len(s.conns.m) >= maxCachedConnections {
		s.conns.m = map[string]Connection{}
	}
	if cur, ok := s.conns.m[name]; !ok || cur.Version <= c.Version {
		s.conns.m[name] = c.clone()
	}
	s.conns.mu.Unlock()
	return c, nil
}

// clone copies c's maps and slices (the cache's copy is shared; callers
// may change theirs).
func (c Connection) clone() Connection {
	c.Actions = maps.Clone(c.Actions)
	c.Configuration = maps.Clone(c.Configuration)
	c.AdminScopes = slices.Clone(c.AdminScopes)
	c.Script = nil
	return c
}
