package scripting

import (
	"context"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/sandbox"
	"github.com/profiled/profiled/internal/service"
)

// slowLoader reads a module slower than any deadline.
type slowLoader struct{}

func (slowLoader) ScriptModule(ctx context.Context, _ string) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A deadline that passes while the module is loaded is SCRIPT_TIMEOUT,
// never INTERNAL (issue 11: "load script ...: context deadline exceeded").
func TestDeadlineWhileLoadingIsScriptTimeout(t *testing.T) {
	rt, err := sandbox.New(context.Background(), sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	r := New(rt, slowLoader{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = r.Run(ctx, service.Connection{Connection: policy.Connection{Name: "c"}, DatabaseURL: "sqlite:/nonexistent", ScriptSHA256: "00"}, service.ScriptCall{Action: policy.ActionLogin, Email: "a@b.c", Password: "pw"})
	if code, _ := service.CodeOf(err); code != service.CodeScriptTimeout {
		t.Fatalf("want SCRIPT_TIMEOUT, got %v (%v)", code, err)
	}
}
