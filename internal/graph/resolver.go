// Package graph is the GraphQL edge of Profiled: resolvers that read the
// caller from the context, check scopes, map input to the service's types,
// call the service and map the result or the error. No business rule lives
// here; it must not import db or sandbox.
package graph

import (
	"log/slog"

	"github.com/profiled/profiled/internal/service"
)

// Resolver holds the resolvers' dependencies.
type Resolver struct {
	Service *service.Service
	Logger  *slog.Logger
}
