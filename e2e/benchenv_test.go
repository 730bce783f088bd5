package e2e

import (
	"context"
	"testing"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/policy"
	"github.com/profiled/profiled/scripting"
	"github.com/profiled/profiled/service"
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

// lazyScripts lets the env be built before the runner that needs its store.
type lazyScripts struct{ get func() *scripting.Runner }

func (l lazyScripts) Inspect(ctx context.Context, wasm []byte) ([]policy.Action, error) {
	return l.get().Inspect(ctx, wasm)
}

func (l lazyScripts) Run(ctx context.Context, c service.Connection, call service.ScriptCall) (service.ScriptResult, error) {
	return l.get().Run(ctx, c, call)
}
