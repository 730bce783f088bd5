package auth

import (
	"crypto/sha256"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// verifiedCache remembers tokens Verify accepted, keyed by the SHA-256 of
// the token, so that a client sending the same bearer token on every
// request pays the signature check and the JSON decoding once per token,
// not once per request. An entry holds only what Verify would return and
// the window in which it would return it:
//
//   - it is used only between the token's nbf/iat and its exp (each with
//     Leeway), exactly where the full check passes, so it never outlives
//     the token;
//   - it is used only while the key that verified it is still loaded under
//     the same kid (the public key's fingerprint is compared) and not
//     retired at the current time, so a rotated-out key's tokens are
//     refused at the end of the grace as before;
//   - refusals are not cached: a bad token takes the full check each time.
//
// What the token's holder may do now — whether its user still exists, is
// blocked, or still has the scopes — is not the cache's business: the
// middleware's recheck (Recheck) runs after Verify on every request, hit
// or miss.
//
// The cache is bounded: cacheShards maps behind their own locks, each of
// at most limit/cacheShards entries. A full shard first drops the expired
// entries among a few it looks at, else one of them (Go's map iteration
// starts at a random place, so this is random eviction): a flood of fresh
// tokens cannot grow it, and costs its victims one full check each.
type verifiedCache struct {
	perShard     int
	shards       [cacheShards]cacheShard
	hits, misses atomic.Uint64
}

// cacheShards spreads the lock; a power of two, indexed by the hash's
// first byte.
const cacheShards = 16

// evictScan is how many entries a full shard looks at to make room.
const evictScan = 8

type cacheShard struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]*cachedToken
}

type cachedToken struct {
	caller policy.Caller
	kid    string
	fp     [32]byte
	// from and until bound when Verify accepts the token: from = the later
	// of iat and nbf minus Leeway, until = exp plus Leeway (exclusive).
	from, until time.Time
}

func newVerifiedCache(limit int) *verifiedCache {
	per := max(limit/cacheShards, 1)
	c := &verifiedCache{perShard: per}
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]*cachedToken)
	}
	return c
}

// get returns the cached caller of token hash h when the entry is usable
// at now with key set ks; an unusable entry is dropped.
func (c *verifiedCache) get(h [sha256.Size]byte, ks *keySet, now time.Time) (policy.Caller, bool) {
	sh := &c.shards[h[0]%cacheShards]
	sh.mu.RLock()
	e := sh.m[h]
	sh.mu.RUnlock()
	if e == nil {
		c.misses.Add(1)
		return policy.Caller{}, false
	}
	if !e.usable(ks, now) {
		sh.mu.Lock()
		if sh.m[h] == e {
			delete(sh.m, h)
		}
		sh.mu.Unlock()
		c.misses.Add(1)
		return policy.Caller{}, false
	}
	c.hits.Add(1)
	// A copy of the scopes: the caller may be handed on and read by
	// anyone; no two requests share a map.
	out := e.caller
	out.Scopes = maps.Clone(e.caller.Scopes)
	return out, true
}

func (e *cachedToken) usable(ks *keySet, now time.Time) bool {
	if now.Before(e.from) || !now.Before(e.until) {
		return false
	}
	vk := ks.keys[e.kid]
	if vk == nil || vk.fp != e.fp {
		return false // reloaded without that key, or another key took the kid
	}
	if at, retiring := ks.retires[e.kid]; retiring && !now.Before(at) {
		return false
	}
	return true
}

func (c *verifiedCache) put(h [sha256.Size]byte, e *cachedToken, now time.Time) {
	e.caller.Scopes = maps.Clone(e.caller.Scopes)
	sh := &c.shards[h[0]%cacheShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[h]; !ok && len(sh.m) >= c.perShard {
		var victim [sha256.Size]byte
		seen, freed := 0, false
		for k, old := range sh.m {
			if !now.Before(old.until) {
				delete(sh.m, k)
				freed = true
			} else if seen == 0 {
				victim = k
			}
			if seen++; seen >= evictScan {
				break
			}
		}
		if !freed {
			delete(sh.m, victim)
		}
	}
	sh.m[h] = e
}

// CacheStats returns how often Verify found a token in its verified-token
// cache (hits) or had to check its signature (misses), and how many tokens
// the cache holds; all zero when Config.VerifiedCache turned it off.
func (k *Keyring) CacheStats() (hits, misses uint64, size int) {
	if k.cache == nil {
		return 0, 0, 0
	}
	return k.cache.hits.Load(), k.cache.misses.Load(), k.cache.len()
}

// len returns the number of entries.
func (c *verifiedCache) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].m)
		c.shards[i].mu.RUnlock()
	}
	return n
}
