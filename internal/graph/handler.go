package graph

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/profiled/profiled/internal/graph/generated"
	"github.com/profiled/profiled/internal/service"
)

// HandlerOptions configures the GraphQL handler.
type HandlerOptions struct {
	Limits        Limits
	MaxUploadSize int64 // multipart uploads (script modules); default 32 MiB
	Logger        *slog.Logger
	// Client extracts the caller's IP and user agent from the request
	// context (set by the HTTP middleware) for events and brute-force
	// protection.
	Client func(ctx context.Context) service.Client
	// DisableIntrospection refuses __schema and __type (they are allowed
	// by default, to anyone: the schema is public, and GraphiQL and code
	// generators need it).
	DisableIntrospection bool

	// gqlgenOnly leaves every field to gqlgen's executor (no fastRead):
	// the reference the fast path is tested against.
	gqlgenOnly bool
}

// NewHandler builds the GraphQL HTTP handler (POST, GET, multipart).
func NewHandler(r *Resolver, o HandlerOptions) *handler.Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxUploadSize <= 0 {
		o.MaxUploadSize = service.MaxScriptBytes + 1<<20
	}
	cfg := generated.Config{Resolvers: r}
	// List fields cost their page size times their children, so a page of
	// users each with a page of logs counts what it can return.
	pageOf := func(first *int) int {
		if first == nil || *first <= 0 {
			return service.DefaultPageSize
		}
		return *first
	}
	cfg.Complexity.Query.Users = func(child int, _ *string, first *int, _ *string, _ *string) int {
		return 1 + pageOf(first)*child
	}
	cfg.Complexity.User.Logs = func(child int, first *int, _ *string) int {
		return 1 + pageOf(first)*child
	}
	// Roles and permissions: a user holds at most 50 roles; Role.users
	// defaults to 50, User.permissions to 100.
	pageOr := func(first *int, def int) int {
		if first == nil || *first <= 0 {
			return def
		}
		return *first
	}
	cfg.Complexity.User.Roles = func(child int) int { return 1 + 50*child }
	cfg.Complexity.User.Permissions = func(child int, first *int, _ *string) int { return 1 + pageOr(first, 100)*child }
	cfg.Complexity.Role.Users = func(child int, first *int, _ *string) int { return 1 + pageOr(first, 50)*child }
	cfg.Complexity.Query.Roles = func(child int, first *int, _ *string, _ *string) int { return 1 + pageOr(first, 50)*child }
	es := generated.NewExecutableSchema(cfg)
	srv := handler.New(es)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(postJSON{}) // transport.POST, writing successful responses without a second JSON pass
	srv.AddTransport(transport.MultipartForm{MaxUploadSize: o.MaxUploadSize, MaxMemory: 8 << 20})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(maxTokens)
	srv.AroundResponses(capErrors)
	if !o.DisableIntrospection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	srv.Use(limitExtension{lim: o.Limits.withDefaults(), es: es, expanded: lru.New[int](1000)})
	srv.Use(needsExtension{})
	if !o.gqlgenOnly {
		srv.AroundFields(fastRead)
	}
	srv.SetErrorPresenter(ErrorPresenter(o.Logger))
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		o.Logger.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(v))
		return &service.Error{Code: service.CodeInternal, Message: "internal error"}
	})
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if o.Client != nil {
			ctx = service.WithClient(ctx, o.Client(ctx))
		}
		return next(withLoaders(ctx))
	})
	return srv
}

// maxTokens bounds an operation's size in tokens: real operations use a
// few hundred; parsing and validating a huge one is work an anonymous
// caller must not be able to ask for.
const maxTokens = 10000

// maxErrors bounds the errors of one response: a document with thousands
// of problems (e.g. unused fragments) must not turn into an amplifier.
const maxErrors = 50

func capErrors(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil && len(resp.Errors) > maxErrors {
		more := len(resp.Errors) - maxErrors
		code, _ := resp.Errors[0].Extensions["code"].(string)
		if code == "" {
			code = string(service.CodeBadUserInput)
		}
		resp.Errors = append(resp.Errors[:maxErrors:maxErrors], &gqlerror.Error{
			Message:    fmt.Sprintf("%d more errors not shown", more),
			Extensions: map[string]any{"code": code},
		})
	}
	return resp
}
