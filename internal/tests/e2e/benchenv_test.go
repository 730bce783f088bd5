package e2e

import (
	"context"
	"testing"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/service"
)

type serviceQueries = service.Queries

// newBenchEnv is newEnv for benchmarks.
func newBenchEnv(b *testing.B, k storeKind) *env {
	b.Helper()
	return newEnvTB(b, k, nil)
}

func createDBConnectionB(b *testing.B, e *env) {
	b.Helper()
	if _, err := client.CreateConnection(context.Background(), e.adminClient(), client.ConnectionInput{Name: "main", Strategy: client.StrategyDatabase}); err != nil {
		b.Fatal(err)
	}
}
