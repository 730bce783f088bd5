package graph

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// ErrorPresenter maps every error to a stable extensions.code: typed
// service errors and policy refusals keep theirs, token errors become
// UNAUTHENTICATED, anything else INTERNAL with a plain message (the cause is
// logged once, never shown). An INTERNAL error caused by the store being
// unreachable says so and carries extensions.retryable = true.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if gqlErr.Extensions != nil {
			if _, ok := gqlErr.Extensions["code"]; ok && !hasTyped(err) {
				return gqlErr // gqlgen's own (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED)
			}
		}
		code, field, msg := classify(err)
		if code == service.CodeInternal {
			log.ErrorContext(ctx, "internal error", "err", err, "path", gqlErr.Path.String())
		}
		gqlErr.Message = msg
		gqlErr.Extensions = map[string]any{"code": string(code)}
		if field != "" {
			gqlErr.Extensions["field"] = field
		}
		if code == service.CodeInternal && errors.Is(err, service.ErrUnavailable) {
			// The store cannot be reached (restarting, network). The
			// condition is transient; the request's transaction was rolled
			// back unless the store went away during its commit, and a
			// custom-database script may already have run: a client
			// retrying a write should read first.
			gqlErr.Message = "the service cannot reach its store right now; retry in a few seconds (if the store went away while a change was being committed, it may have been applied: read before writing again)"
			gqlErr.Extensions["retryable"] = true
		}
		return gqlErr
	}
}

func hasTyped(err error) bool {
	var e *service.Error
	var r *policy.Refusal
	return errors.As(err, &e) || errors.As(err, &r) || errors.Is(err, auth.ErrUnauthenticated)
}

func classify(err error) (code service.Code, field, msg string) {
	var e *service.Error
	var r *policy.Refusal
	var gq *gqlerror.Error
	switch {
	case errors.As(err, &r):
		return service.Code(r.Reason), r.Field, r.Message
	case errors.As(err, &e):
		if e.Code == service.CodeInternal {
			return e.Code, "", "internal error"
		}
		return e.Code, e.Field, e.Message
	case errors.Is(err, auth.ErrUnauthenticated):
		return service.CodeUnauthenticated, "", authMessage(err)
	case errors.As(err, &gq) && gq.Err == nil && gq.Message != "":
		// An input coercion error from gqlgen (e.g. a String for an Int).
		return service.CodeBadUserInput, "", gq.Message
	}
	return service.CodeInternal, "", "internal error"
}

func authMessage(err error) string {
	var te *auth.TokenError
	if errors.As(err, &te) {
		return te.Error()
	}
	return "a valid bearer token is required"
}
