package graph

import (
	"context"
	"sync"

	"github.com/profiled/profiled/service"
)

// loaders are per-request caches, so a list of users resolving a nested
// field that needs each user's connection reads the connections once, not
// once per user (the N+1 a dataloader exists to prevent). Connections are
// few and read together in one query.
type loaders struct {
	once  sync.Once
	conns map[string]service.Connection
	err   error
}

type loadersKey struct{}

func withLoaders(ctx context.Context) context.Context {
	return context.WithValue(ctx, loadersKey{}, &loaders{})
}

// connection returns the named connection, loading every connection once
// per request. Outside a request (no loaders in ctx) it asks the service.
func (r *Resolver) connection(ctx context.Context, name string) (service.Connection, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		return r.Service.ConnectionByName(ctx, name)
	}
	l.once.Do(func() {
		cs, err := r.Service.Connections(ctx)
		l.conns, l.err = make(map[string]service.Connection, len(cs)), err
		for _, c := range cs {
			l.conns[c.Name] = c
		}
	})
	if l.err != nil {
		return service.Connection{}, l.err
	}
	c, ok := l.conns[name]
	if !ok {
		return service.Connection{}, &service.Error{Code: service.CodeNotFound, Message: "connection not found"}
	}
	return c, nil
}
