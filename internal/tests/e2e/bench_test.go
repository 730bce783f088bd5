package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
)

// ratioBench runs baseline and candidate b.N times each with `workers`
// concurrent goroutines, alternating rounds so noise hits both alike, and
// reports each one's ns/op and the candidate's throughput as a fraction of
// the baseline's ("x_baseline": 1.0 = as fast, 0.5 = half as fast). It
// also reports the process CPU time per request of each (client and server
// run in this process, so it counts both) and its ratio ("cpu_x_baseline"):
// on a machine shared with other loads the wall time of each round depends
// on what else runs, the CPU time much less.
func ratioBench(b *testing.B, workers int, baseline, candidate func() error) {
	b.Helper()
	run := func(f func() error, n int) time.Duration {
		var wg sync.WaitGroup
		next := make(chan struct{}, n)
		for i := 0; i < n; i++ {
			next <- struct{}{}
		}
		close(next)
		start := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range next {
					if err := f(); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	// Warm both paths (connections, caches).
	run(baseline, 50)
	run(candidate, 50)
	b.ResetTimer()
	var tb, tc, cb, cc time.Duration
	const rounds = 4
	per := b.N/rounds + 1
	for r := 0; r < rounds; r++ {
		c0 := processCPU()
		tb += run(baseline, per)
		c1 := processCPU()
		tc += run(candidate, per)
		cb, cc = cb+c1-c0, cc+processCPU()-c1
	}
	b.StopTimer()
	n := float64(per * rounds)
	b.ReportMetric(float64(tb.Nanoseconds())/n, "baseline_ns/op")
	b.ReportMetric(float64(tc.Nanoseconds())/n, "candidate_ns/op")
	b.ReportMetric(float64(tb)/float64(tc), "x_baseline")
	b.ReportMetric(float64(cb.Nanoseconds())/n, "baseline_cpu_ns/op")
	b.ReportMetric(float64(cc.Nanoseconds())/n, "candidate_cpu_ns/op")
	b.ReportMetric(float64(cb)/float64(cc), "cpu_x_baseline")
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// baselineUserHandler is what a team would hand-write without GraphQL:
// verify the bearer token, check the scope, read the user through the
// same store, encode JSON.
func baselineUserHandler(e *env) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := e.keyring.Verify(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil || !caller.Has(policy.ScopeReadUsers) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var req struct{ ID string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		u, err := e.store.UserByID(r.Context(), req.ID)
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{
			"id": u.ID, "connection": u.Connection, "email": u.Email, "emailVerified": u.EmailVerified,
			"name": u.Name, "nickname": u.Nickname, "blocked": u.Blocked, "userMetadata": u.UserMetadata,
			"appMetadata": u.AppMetadata, "createdAt": u.CreatedAt, "loginsCount": u.LoginsCount,
		}})
	})
}

// benchPoster returns a function that POSTs a JSON body with the token and
// fails on a non-200 status, a GraphQL error, or a body without want.
func benchPoster(token, want string) func(url string, body []byte) error {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return func(url string, body []byte) error {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Contains(b, []byte(want)) || bytes.Contains(b, []byte(`"errors"`)) {
			return fmt.Errorf("bad response %d: %s", res.StatusCode, b)
		}
		return nil
	}
}

// baselineMergeHandler hand-writes the metadata merge: verify the token,
// then load-for-update, merge and save in one transaction.
func baselineMergeHandler(e *env) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := e.keyring.Verify(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil || !caller.Has(policy.ScopeUpdateUsers) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var req struct {
			ID       string
			Metadata policy.Metadata
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var out policy.User
		err = e.store.WithTx(r.Context(), func(tx serviceQueries) error {
			u, err := tx.UserByIDForUpdate(r.Context(), req.ID)
			if err != nil {
				return err
			}
			u.UserMetadata = policy.MergeMetadata(u.UserMetadata, req.Metadata)
			out = u
			return tx.UpdateUser(r.Context(), u)
		})
		if err != nil {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": out.ID, "userMetadata": out.UserMetadata})
	})
}

const benchUserQuery = `query($id: ID!) { user(id: $id) { id connection email emailVerified name nickname blocked userMetadata appMetadata createdAt loginsCount } }`

// BenchmarkUserByID: user(id:) through the full GraphQL stack (HTTP,
// auth, gqlgen, service, store) against the hand-written handler, on
// loopback, same store, same run.
func BenchmarkUserByID(b *testing.B) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		b.Run(string(k), func(b *testing.B) {
			e := newBenchEnv(b, k)
			ctx := context.Background()
			createDBConnectionB(b, e)
			r, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "main", Email: "bench@example.com", Password: ptr("password-123"),
				Name: ptr("Bench User"), UserMetadata: obj(map[string]any{"lang": "en", "theme": "dark"}), AppMetadata: obj(map[string]any{"plan": "pro"})})
			if err != nil {
				b.Fatal(err)
			}
			id := r.CreateUser.Id
			base := httptest.NewServer(baselineUserHandler(e))
			defer base.Close()
			gqlBody, _ := json.Marshal(map[string]any{"query": benchUserQuery, "variables": map[string]any{"id": id}})
			baseBody, _ := json.Marshal(map[string]any{"id": id})
			do := benchPoster(e.admin, "bench@example.com")
			ratioBench(b, 8,
				func() error { return do(base.URL, baseBody) },
				func() error { return do(e.srv.URL+"/graphql", gqlBody) })
		})
	}
}

// BenchmarkMetadataMerge: one updateUser merging a userMetadata key through
// GraphQL against a hand-written handler doing load-for-update + merge +
// save in one transaction on the same store.
func BenchmarkMetadataMerge(b *testing.B) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		b.Run(string(k), func(b *testing.B) {
			e := newBenchEnv(b, k)
			ctx := context.Background()
			createDBConnectionB(b, e)
			r, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "main", Email: "merge@example.com", Password: ptr("password-123")})
			if err != nil {
				b.Fatal(err)
			}
			id := r.CreateUser.Id
			var i int64
			var mu sync.Mutex
			key := func() string { mu.Lock(); defer mu.Unlock(); i++; return fmt.Sprintf("k%d", i%50) }
			base := httptest.NewServer(baselineMergeHandler(e))
			defer base.Close()
			do := benchPoster(e.admin, "")
			const mutation = `mutation($id: ID!, $m: JSON) { updateUser(id: $id, input: {userMetadata: $m}) { id userMetadata } }`
			ratioBench(b, 4,
				func() error {
					body, _ := json.Marshal(map[string]any{"id": id, "metadata": map[string]any{key(): 1}})
					return do(base.URL, body)
				},
				func() error {
					body, _ := json.Marshal(map[string]any{"query": mutation, "variables": map[string]any{"id": id, "m": map[string]any{key(): 1}}})
					return do(e.srv.URL+"/graphql", body)
				})
		})
	}
}
