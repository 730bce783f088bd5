package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/service"
)

func TestErrorPresenterStoreUnavailable(t *testing.T) {
	var logs bytes.Buffer
	present := ErrorPresenter(slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()

	// As the service returns it: a typed INTERNAL wrapping the store's error.
	cause := fmt.Errorf("db: user %q: %w: dial tcp 127.0.0.1:3306: connection refused", "auth0|x", service.ErrUnavailable)
	got := present(ctx, &service.Error{Code: service.CodeInternal, Message: "internal error", Err: cause})
	if got.Extensions["code"] != "INTERNAL" || got.Extensions["retryable"] != true {
		t.Fatalf("extensions = %v, want code INTERNAL and retryable true", got.Extensions)
	}
	if !strings.Contains(got.Message, "retry") || strings.Contains(got.Message, "127.0.0.1") || strings.Contains(got.Message, "auth0|x") {
		t.Fatalf("message %q: want a retry hint and no internals", got.Message)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Fatalf("the cause was not logged: %s", logs.String())
	}

	// Any other internal error: no retry promise.
	got = present(ctx, errors.New("boom"))
	if got.Extensions["code"] != "INTERNAL" || got.Extensions["retryable"] != nil || got.Message != "internal error" {
		t.Fatalf("plain internal error presented as %q %v", got.Message, got.Extensions)
	}
}
