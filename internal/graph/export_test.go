package graph

import "github.com/99designs/gqlgen/graphql/handler"

// NewHandlerGqlgenOnly is NewHandler without the fast read path: every
// field through gqlgen's executor, the reference for the fast path's tests.
func NewHandlerGqlgenOnly(r *Resolver, o HandlerOptions) *handler.Server {
	o.gqlgenOnly = true
	return NewHandler(r, o)
}

// FastReads is how many fields the fast read path has written.
func FastReads() uint64 { return fastReads.Load() }
