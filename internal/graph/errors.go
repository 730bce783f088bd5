package graph

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
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
				// gqlgen's own (GRAPHQL_PARSE_FAILED,
				// GRAPHQL_VALIDATION_FAILED): they quote names from the
				// request, which may be long.
				gqlErr.Message = clipMessage(gqlErr.Message)
				return gqlErr
			}
		}
		code, field, msg := classify(err)
		var se *service.Error
		scriptFailure := errors.As(err, &se) && se.ID != ""
		if scriptFailure && !seesScriptOutput(ctx) {
			// A script's message may carry what it read from its
			// database: only callers who may run the script themselves
			// see it; the others get a fixed message and the error id,
			// under which the cause is in the server's log.
			msg = scriptFailureMessage(code)
		}
		if scriptFailure {
			msg += " (error id " + se.ID + ")"
		}
		if code == service.CodeInternal {
			log.ErrorContext(ctx, "internal error", "err", err, "path", gqlErr.Path.String())
		}
		gqlErr.Message = msg
		gqlErr.Extensions = map[string]any{"code": string(code)}
		if field != "" {
			gqlErr.Extensions["field"] = field
		}
		if scriptFailure {
			gqlErr.Extensions["errorId"] = se.ID
		}
		if afterCommit(ctx, gqlErr) {
			// A field of a mutation's result failed after the mutation
			// itself committed (the store lost while the answer was being
			// built): the change was made.
			gqlErr.Extensions["committed"] = true
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

// afterCommit: the error is on a field below a mutation's root field, so
// the root field (the write, all-or-nothing) returned successfully before
// it. Every refusal the service can decide beforehand is made before any
// resolver runs (needsExtension).
func afterCommit(ctx context.Context, e *gqlerror.Error) bool {
	if len(e.Path) < 2 || !graphql.HasOperationContext(ctx) {
		return false
	}
	op := graphql.GetOperationContext(ctx).Operation
	return op != nil && op.Operation == ast.Mutation
}

// seesScriptOutput: a management caller holding update:connections (who
// may upload and try the script, and so read its output anyway).
func seesScriptOutput(ctx context.Context) bool {
	c, err := auth.CallerFrom(ctx)
	return err == nil && !c.Self && c.Has(policy.ScopeUpdateConnections)
}

func scriptFailureMessage(code service.Code) string {
	switch code {
	case service.CodeScriptTimeout:
		return "the connection's script did not finish in time"
	case service.CodeConnectionUnavailable:
		return "the connection's database cannot be used right now"
	case service.CodeBadUserInput:
		return "the connection's script returned an invalid profile"
	}
	return "the connection's script failed"
}

// maxMessage bounds the messages gqlgen and its parser write, which quote
// parts of the request: an error answer stays small whatever was sent.
const maxMessage = 300

func clipMessage(m string) string {
	if len(m) <= maxMessage {
		return m
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + "… (cut)"
}

// requestError drops the copy of the request body gqlgen's POST transport
// appends to its decode error (it would echo a password sent in it).
func requestError(m string) string {
	const decode = "json request body could not be decoded: "
	if rest, ok := strings.CutPrefix(m, decode); ok {
		if i := strings.Index(rest, " body:"); i >= 0 {
			rest = rest[:i]
		}
		return "the request body is not valid JSON: " + rest
	}
	return m
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
		// An input coercion error from gqlgen (e.g. a String for an Int),
		// or the transport's: never the request body it may quote.
		return service.CodeBadUserInput, "", clipMessage(requestError(gq.Message))
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
