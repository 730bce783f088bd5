package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/profiled/profiled/client"
	gql "github.com/profiled/profiled/internal/graph"
	"github.com/profiled/profiled/internal/server"
	"github.com/profiled/profiled/internal/testenv"
)

// BenchmarkUserTokenRecheck: `me` with a user token on the real server,
// which reads the token's user on every request (refused once blocked or
// deleted), against the same handler without that recheck, same store,
// same run.
func BenchmarkUserTokenRecheck(b *testing.B) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		b.Run(string(k), func(b *testing.B) {
			store := testenv.OpenStore(b, storeURL(b, k))
			s := testenv.Start(b, store, testenv.Options{})
			ctx := context.Background()
			admin := s.GraphQL(nil).Typed(s.Admin)
			if _, err := client.CreateConnection(ctx, admin, client.ConnectionInput{Name: "main", Strategy: client.StrategyDatabase}); err != nil {
				b.Fatal(err)
			}
			anon := s.GraphQL(nil).Typed("")
			if _, err := client.Signup(ctx, anon, "main", "me@example.com", "password-123", nil, nil); err != nil {
				b.Fatal(err)
			}
			l, err := client.Login(ctx, anon, "main", "me@example.com", "password-123")
			if err != nil {
				b.Fatal(err)
			}
			base := httptest.NewServer(server.New(server.Options{
				Resolver: &gql.Resolver{Service: s.Service}, Keyring: s.Keyring, Store: store,
			}))
			defer base.Close()
			body, _ := json.Marshal(map[string]any{"query": `{ me { id email } }`})
			do := benchPoster(l.Login.AccessToken, "me@example.com")
			ratioBench(b, 8,
				func() error { return do(base.URL+"/graphql", body) },
				func() error { return do(s.HTTP.URL+"/graphql", body) })
		})
	}
}
