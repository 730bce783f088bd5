package sandbox

import (
	"context"
	"sync"
)

// budget is the sandbox-wide memory budget: a weighted semaphore in bytes.
// Instances reserve their worst case while they live; host hashes reserve
// their memory while they run. A waiter that cannot be served asks the
// runtime to close idle instances first (evict), then waits for a release
// until its context is done. Waiters are served in no particular order.
type budget struct {
	mu      sync.Mutex
	total   int64
	used    int64
	changed chan struct{} // closed and replaced at every release
}

func newBudget(total int64) *budget {
	return &budget{total: total, changed: make(chan struct{})}
}

// acquire reserves n bytes, calling evict (if not nil) when they are not
// free, and waiting until ctx is done. A request larger than the whole
// budget fails at once with errOverBudget.
func (b *budget) acquire(ctx context.Context, n int64, evict func() bool) error {
	if n > b.total {
		return errOverBudget
	}
	for {
		b.mu.Lock()
		if b.used+n <= b.total {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		ch := b.changed
		b.mu.Unlock()
		if evict != nil && evict() {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// inUse reports the reserved bytes (tests, metrics).
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

var errOverBudget = scriptErr("the script needs more memory than the sandbox's whole memory budget")
