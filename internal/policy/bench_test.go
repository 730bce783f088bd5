package policy

import (
	"fmt"
	"testing"
)

// Each benchmark has a "baseline" sub-benchmark in the same run, so the
// ratio to the least work any implementation must do can be reported:
//
//	go test ./policy/ -run '^$' -bench . -benchmem

func benchMetadata(n int) Metadata {
	m := make(Metadata, n)
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("key%03d", i)] = fmt.Sprintf("value %d", i)
	}
	return m
}

// BenchmarkMergeMetadata: MergeMetadata against a naive copy of old (the
// copy any non-mutating merge has to make).
func BenchmarkMergeMetadata(b *testing.B) {
	for _, n := range []int{10, 100} {
		old := benchMetadata(n)
		patch := Metadata{"key000": "changed", "key001": nil, "new": Metadata{"nested": true}}
		b.Run(fmt.Sprintf("keys=%d/MergeMetadata", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = MergeMetadata(old, patch)
			}
		})
		b.Run(fmt.Sprintf("keys=%d/baseline-map-copy", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out := make(Metadata, len(old))
				for k, v := range old {
					out[k] = v
				}
				_ = out
			}
		})
	}
}

// BenchmarkDecideUpdate: typical requests, against a baseline that copies
// the user and merges its metadata without any check.
func BenchmarkDecideUpdate(b *testing.B) {
	db := Connection{Name: "users", Strategy: StrategyDatabase}
	oidc := Connection{Name: "google", Strategy: StrategyOIDC, SyncUserProfile: true}
	legacy := Connection{Name: "legacy", Strategy: StrategyCustomDatabase, SyncUserProfile: true, Actions: allActions()}
	u := baseUser("users")
	u.UserMetadata = benchMetadata(20)
	lim := DefaultLimits()
	cases := []struct {
		name string
		conn Connection
		req  Update
	}{
		{"root-attributes/DATABASE", db, Update{Name: ptr("N"), Nickname: ptr("K"), Blocked: ptr(true)}},
		{"userMetadata-patch/DATABASE", db, Update{UserMetadata: Metadata{"key000": "x", "key001": nil, "lang": "fr"}}},
		{"email+password/legacy", legacy, Update{Email: ptr("new@example.com"), Password: ptr("long-enough")}},
		{"refused/OIDC-sync-on", oidc, Update{Name: ptr("N")}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecideUpdate(u, c.conn, admin(), c.req, lim, now); err != nil && c.conn.Strategy != StrategyOIDC {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("baseline/copy-user+merge-metadata", func(b *testing.B) {
		b.ReportAllocs()
		patch := Metadata{"key000": "x", "key001": nil, "lang": "fr"}
		for b.Loop() {
			nu := u
			out := make(Metadata, len(u.UserMetadata)+len(patch))
			for k, v := range u.UserMetadata {
				out[k] = v
			}
			for k, v := range patch {
				if v == nil {
					delete(out, k)
				} else {
					out[k] = v
				}
			}
			nu.UserMetadata = out
			nu.UpdatedAt = now
			_ = nu
		}
	})
}
