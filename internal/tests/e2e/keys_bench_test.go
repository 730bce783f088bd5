package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/testenv"
)

// benchCase is one measured path of multiBench.
type benchCase struct {
	name string
	do   func(i int) error
}

// multiBench runs every case b.N times with `workers` goroutines, the
// cases interleaved request by request: each goroutine takes an index i
// and runs every case once with it, starting at case i mod len(cases), so
// that all cases share the same moments of a shared, noisy machine (rounds
// of a few seconds per case were swamped by the load of other processes).
// It reports each case's mean latency ("<name>-µs/op") and its speed
// relative to the first case, the baseline ("<name>-x" = baseline's mean
// latency / this case's; >1: faster).
func multiBench(b *testing.B, workers int, cases []benchCase) {
	b.Helper()
	sums := make([]atomic.Int64, len(cases))
	run := func(n int, record bool) {
		var wg sync.WaitGroup
		next := make(chan int, n)
		for i := range n {
			next <- i
		}
		close(next)
		for range workers {
			wg.Go(func() {
				for i := range next {
					for j := range cases {
						c := (i + j) % len(cases)
						t0 := time.Now()
						if err := cases[c].do(i); err != nil {
							b.Error(err)
							return
						}
						if record {
							sums[c].Add(int64(time.Since(t0)))
						}
					}
				}
			})
		}
		wg.Wait()
	}
	run(workers*4, false) // warm-up: connections, caches
	b.ResetTimer()
	run(b.N, true)
	b.StopTimer()
	for i, c := range cases {
		b.ReportMetric(float64(sums[i].Load())/float64(b.N)/1000, c.name+"-µs/op")
		if i > 0 {
			b.ReportMetric(float64(sums[0].Load())/float64(sums[i].Load()), c.name+"-x")
		}
	}
}

// BenchmarkLoginAlgorithms: the login mutation on a DATABASE connection at
// bcrypt cost 4 (where signing dominates), through GraphQL over loopback
// HTTP, one fresh SQLite store per signing algorithm, 2 concurrent clients.
// "RS256+id" selects idToken as well (two RS256 signatures: what every
// login cost before the ID token was signed on demand) and is the
// baseline; the others select { accessToken expiresIn user { id } } (one
// signature), or add "+id".
func BenchmarkLoginAlgorithms(b *testing.B) {
	const users = 8
	const sel = `{ accessToken expiresIn user { id } }`
	const selID = `{ accessToken idToken expiresIn user { id } }`
	login := map[auth.Algorithm]func(query string) func(int) error{}
	for _, alg := range auth.Algorithms {
		e, _ := startKeysEnv(b, alg)
		if _, err := client.CreateConnection(context.Background(), e.adminClient(), client.ConnectionInput{Name: "main", Strategy: client.StrategyDatabase}); err != nil {
			b.Fatal(err)
		}
		for i := range users {
			if _, err := client.Signup(context.Background(), e.client(""), "main", fmt.Sprintf("u%d@example.com", i), "bench password", nil, nil); err != nil {
				b.Fatal(err)
			}
		}
		do := anonPoster("accessToken")
		url := e.srv.URL + "/graphql"
		login[alg] = func(selection string) func(int) error {
			bodies := make([][]byte, users)
			for i := range bodies {
				bodies[i], _ = json.Marshal(map[string]any{"query": `mutation($e: String!) { login(connection: "main", email: $e, password: "bench password") ` + selection + ` }`,
					"variables": map[string]any{"e": fmt.Sprintf("u%d@example.com", i)}})
			}
			return func(i int) error { return do(url, bodies[i%users]) }
		}
	}
	multiBench(b, 2, []benchCase{
		{"RS256+id", login[auth.RS256](selID)},
		{"RS256", login[auth.RS256](sel)},
		{"ES256", login[auth.ES256](sel)},
		{"EdDSA", login[auth.EdDSA](sel)},
		{"ES256+id", login[auth.ES256](selID)},
		{"EdDSA+id", login[auth.EdDSA](selID)},
	})
}

// BenchmarkUserByIDVerifiedCache: user(id:) through the full GraphQL stack
// with a management token, 2 concurrent clients, per signing algorithm on
// one SQLite store each: the same store served twice, by a server without
// the verified-token cache (every request checks the signature, as before)
// and by one with it (the default). RS256 without the cache is the
// baseline.
func BenchmarkUserByIDVerifiedCache(b *testing.B) {
	var cases []benchCase
	for _, alg := range auth.Algorithms {
		store := testenv.OpenStore(b, storeURL(b, sqliteStore))
		off := testenv.Start(b, store, testenv.Options{SigningAlg: alg, VerifiedCache: -1})
		on := testenv.Start(b, store, testenv.Options{SigningAlg: alg})
		if on.Keyring.Algorithm() != alg || off.Keyring.KID() != on.Keyring.KID() {
			b.Fatal("the two servers do not share the store's key")
		}
		ctx := context.Background()
		if _, err := client.CreateConnection(ctx, off.GraphQL(nil).Typed(off.Admin), client.ConnectionInput{Name: "main", Strategy: client.StrategyDatabase}); err != nil {
			b.Fatal(err)
		}
		r, err := client.CreateUser(ctx, off.GraphQL(nil).Typed(off.Admin), client.CreateUserInput{Connection: "main", Email: "bench@example.com", Password: ptr("password-123"),
			Name: ptr("Bench User"), UserMetadata: obj(map[string]any{"lang": "en", "theme": "dark"}), AppMetadata: obj(map[string]any{"plan": "pro"})})
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"query": benchUserQuery, "variables": map[string]any{"id": r.CreateUser.Id}})
		do := benchPoster(off.Admin, "bench@example.com")
		offURL, onURL := off.HTTP.URL+"/graphql", on.HTTP.URL+"/graphql"
		cases = append(cases,
			benchCase{string(alg), func(int) error { return do(offURL, body) }},
			benchCase{string(alg) + "+cache", func(int) error { return do(onURL, body) }})
	}
	multiBench(b, 2, cases)
}

// anonPoster is benchPoster without an Authorization header.
func anonPoster(want string) func(url string, body []byte) error {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return func(url string, body []byte) error {
		res, err := hc.Post(url, "application/json", bytes.NewReader(body))
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
