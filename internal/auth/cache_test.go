package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/store"
)

// hitsOf returns the cache's hit count.
func hitsOf(k *Keyring) uint64 { h, _, _ := k.CacheStats(); return h }

// A token verified once is found in the cache after, returns the same
// caller, and nobody shares its scope map.
func TestVerifiedCacheHit(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			clk := newClock()
			k := newKeyring(t, &memStore{}, Config{Now: clk.Now, Algorithm: alg})
			tok, _ := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers, policy.ScopeUpdateUsers}, "cli", time.Hour)
			first, err := k.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if hits, misses, size := k.CacheStats(); hits != 0 || misses != 1 || size != 1 {
				t.Fatalf("after one Verify: %d hits, %d misses, %d cached", hits, misses, size)
			}
			first.Scopes[policy.ScopeDeleteUsers] = true // a caller that scribbles on its copy
			second, err := k.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if hitsOf(k) != 1 {
				t.Fatal("second Verify of the same token missed the cache")
			}
			if second.Subject != "cli" || second.Self || len(second.Scopes) != 2 || second.Has(policy.ScopeDeleteUsers) {
				t.Fatalf("cached caller %+v", second)
			}
			// A different token of the same subject is its own entry.
			tok2, _ := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", time.Hour)
			if c, err := k.Verify(tok2); err != nil || len(c.Scopes) != 1 {
				t.Fatalf("second token: %+v, %v", c, err)
			}
			if hitsOf(k) != 1 {
				t.Fatal("another token was served from the cache")
			}
		})
	}
}

// The cache accepts a token only where the full check does: it expires
// with the token (Leeway included), and a clock moved back before iat
// refuses it again.
func TestVerifiedCacheTimeWindow(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now})
	tok, _ := k.IssueManagement(nil, "cli", time.Minute)
	if _, err := k.Verify(tok); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute + Leeway - time.Second)
	if _, err := k.Verify(tok); err != nil {
		t.Fatalf("inside exp+leeway: %v", err)
	}
	if hitsOf(k) != 1 {
		t.Fatal("no cache hit inside the token's life")
	}
	clk.Add(time.Second)
	if _, err := k.Verify(tok); !isReason(err, ReasonExpired) {
		t.Fatalf("at exp+leeway: %v (want expired)", err)
	}

	clk.Set(newClock().Now())
	tok, _ = k.IssueManagement(nil, "cli", time.Hour)
	if _, err := k.Verify(tok); err != nil {
		t.Fatal(err)
	}
	clk.Add(-Leeway - time.Second) // the clock is set back
	if _, err := k.Verify(tok); !isReason(err, ReasonNotYetValid) {
		t.Fatalf("before iat-leeway: %v (want not yet valid)", err)
	}
}

// Refusals are never cached: a bad token costs the full check each time
// and takes no room.
func TestVerifiedCacheSkipsRefusals(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now})
	tok, _ := k.IssueManagement(nil, "cli", time.Minute)
	clk.Add(time.Hour)
	for range 3 {
		if _, err := k.Verify(tok); !isReason(err, ReasonExpired) {
			t.Fatal(err)
		}
	}
	if _, _, size := k.CacheStats(); size != 0 {
		t.Fatalf("%d refused tokens cached", size)
	}
	if _, err := k.Verify(tok[:len(tok)-4] + "AAAA"); err == nil {
		t.Fatal("altered token accepted")
	}
}

// A cached token whose key is gone is refused: rotated out (after the
// grace, before and after the reload), or a different key now under the
// same kid (a store rebuilt: the bootstrap kid is fixed).
func TestVerifiedCacheFollowsKeys(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := &rotStore{}
	k := newKeyring(t, st, Config{Now: clk.Now})
	old, _ := k.IssueManagement(nil, "cli", 48*time.Hour)
	if _, err := k.Verify(old); err != nil {
		t.Fatal(err)
	}
	if _, err := Rotate(ctx, st, clk.Now(), time.Hour, ES256); err != nil {
		t.Fatal(err)
	}
	if err := k.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	before := hitsOf(k)
	if _, err := k.Verify(old); err != nil {
		t.Fatalf("during the grace: %v", err)
	}
	if hitsOf(k) != before+1 {
		t.Fatal("the reload emptied the cache for a key still loaded")
	}
	clk.Add(time.Hour)
	if _, err := k.Verify(old); !isReason(err, ReasonUnknownKey) {
		t.Fatalf("after the grace, not reloaded: %v", err)
	}
	if _, err := k.Verify(old); !isReason(err, ReasonUnknownKey) {
		t.Fatalf("after the grace, again: %v", err)
	}

	// The same kid, another key.
	st2 := &memStore{}
	k2 := newKeyring(t, st2, Config{Now: clk.Now})
	tok, _ := k2.IssueManagement(nil, "cli", time.Hour)
	if _, err := k2.Verify(tok); err != nil {
		t.Fatal(err)
	}
	st2.mu.Lock()
	st2.keys = []store.SigningKey{{KID: BootstrapKID, PrivatePEM: pemOf(t, mustKey(t)), CreatedAt: clk.Now()}}
	st2.mu.Unlock()
	if err := k2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Verify(tok); !isReason(err, ReasonSignature) {
		t.Fatalf("a token of the replaced key under the same kid: %v", err)
	}
}

// The cache stays within its bound under a flood of distinct tokens, and
// every token still verifies.
func TestVerifiedCacheBounded(t *testing.T) {
	k := newKeyring(t, &memStore{}, Config{VerifiedCache: 64, Algorithm: EdDSA})
	var toks []string
	for i := range 2000 {
		tok, err := k.IssueManagement(nil, fmt.Sprint("s", i), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
		if _, err := k.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, size := k.CacheStats(); size > 64 || size < 16 {
		t.Fatalf("%d tokens cached with a bound of 64", size)
	}
	for i, tok := range toks {
		if c, err := k.Verify(tok); err != nil || c.Subject != fmt.Sprint("s", i) {
			t.Fatalf("token %d: %+v, %v", i, c, err)
		}
	}
	off := newKeyring(t, &memStore{}, Config{VerifiedCache: -1})
	tok, _ := off.IssueManagement(nil, "cli", time.Hour)
	for range 2 {
		if _, err := off.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	if h, m, size := off.CacheStats(); h+m+uint64(size) != 0 {
		t.Fatal("VerifiedCache -1 still caches")
	}
}

// Many goroutines verifying a few tokens (hits) and many (evictions) at
// once: run with -race.
func TestVerifiedCacheHammer(t *testing.T) {
	k := newKeyring(t, &memStore{}, Config{VerifiedCache: 32, Algorithm: ES256})
	var toks []string
	for i := range 100 {
		tok, _ := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, fmt.Sprint("s", i), time.Hour)
		toks = append(toks, tok)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				j := (g*31 + i*7) % len(toks)
				if g%2 == 0 {
					j %= 4 // hot tokens
				}
				c, err := k.Verify(toks[j])
				if err == nil && (c.Subject != fmt.Sprint("s", j) || !c.Has(policy.ScopeReadUsers)) {
					err = fmt.Errorf("token %d gave %+v", j, c)
				}
				if err != nil {
					errs <- err
					return
				}
				c.Scopes[policy.ScopeDeleteUsers] = true
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The middleware's recheck runs on a cache hit too: a user token that
// verified (and was cached) while its user existed is refused once the
// recheck says the user is gone.
func TestRecheckAfterCacheHit(t *testing.T) {
	k := newKeyring(t, &memStore{}, Config{Algorithm: ES256})
	user, _, err := k.IssueUser(policy.User{ID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	deleted := map[string]bool{}
	checks := 0
	recheck := func(_ context.Context, c policy.Caller) error {
		mu.Lock()
		defer mu.Unlock()
		checks++
		if deleted[c.Subject] {
			return reason("its user no longer exists")
		}
		return nil
	}
	var got error
	h := Middleware(k, Recheck(recheck))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, got = CallerFrom(r.Context())
	}))
	call := func() error {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+user)
		h.ServeHTTP(httptest.NewRecorder(), req)
		return got
	}
	for range 2 {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	if hitsOf(k) != 1 || checks != 2 {
		t.Fatalf("%d cache hits, %d rechecks: want 1 and 2", hitsOf(k), checks)
	}
	mu.Lock()
	deleted["u1"] = true
	mu.Unlock()
	err = call()
	var te *TokenError
	if !errors.As(err, &te) || te.Reason != ReasonRevoked || hitsOf(k) != 2 {
		t.Fatalf("a cached token of a deleted user: %v (hits %d)", err, hitsOf(k))
	}
}
