package auth

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/profiled/profiled/internal/service"
)

// memStore is an in-memory test double for the store's signing-key port,
// with the contract of service.Queries: SigningKeys oldest first (ties in
// insertion order), InsertSigningKey → ErrConflict on a duplicate kid.
type memStore struct {
	mu   sync.Mutex
	keys []service.SigningKey

	// gate, when set, holds the first cap(gate) SigningKeys calls until
	// that many have arrived, so racing callers all see the same (empty)
	// store before any of them inserts.
	gate    chan struct{}
	arrived int

	inserts, conflicts int
}

func (m *memStore) SigningKeys(ctx context.Context) ([]service.SigningKey, error) {
	m.mu.Lock()
	out := slices.Clone(m.keys)
	gate := m.gate
	var release bool
	if gate != nil {
		m.arrived++
		if m.arrived == cap(gate) {
			m.gate = nil
			release = true
		}
	}
	m.mu.Unlock()
	if gate != nil {
		if release {
			close(gate)
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	slices.SortStableFunc(out, func(a, b service.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (m *memStore) InsertSigningKey(_ context.Context, k service.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inserts++
	for _, have := range m.keys {
		if have.KID == k.KID {
			m.conflicts++
			return fmt.Errorf("insert signing key %q: %w", k.KID, service.ErrConflict)
		}
	}
	m.keys = append(m.keys, k)
	return nil
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}
