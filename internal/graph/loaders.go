package graph

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/graph-gophers/dataloader/v7"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/profiled/profiled/internal/service"
)

// loaders are per-request caches, so a list of users resolving a nested
// field that needs each user's connection reads the connections once, not
// once per user (the N+1 a dataloader exists to prevent). Connections are
// few and read together in one query.
type loaders struct {
	once  sync.Once
	conns map[string]service.Connection
	err   error

	mu   sync.Mutex
	logs map[int]*dataloader.Loader[string, service.LogsPage] // by page size
}

// logsBatchWait is how long the first user of a list waits for the others'
// logs requests before one query loads them all. gqlgen resolves a list's
// items concurrently, so they arrive within microseconds.
const logsBatchWait = 2 * time.Millisecond

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

// firstLogs returns the first page of n events of userID. On a user inside
// a list (users, usersByEmail, a search page) it goes through a per-request
// dataloader, so the whole list's histories come from one store query
// (service.FirstLogs) instead of one per user; a lone user asks directly
// (no batching wait).
func (r *Resolver) firstLogs(ctx context.Context, userID string, n int) (service.LogsPage, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok || !inList(ctx) {
		es, more, err := r.Service.Logs(ctx, userID, "", n)
		return service.LogsPage{Events: es, More: more}, err
	}
	l.mu.Lock()
	if l.logs == nil {
		l.logs = map[int]*dataloader.Loader[string, service.LogsPage]{}
	}
	ld := l.logs[n]
	if ld == nil {
		ld = dataloader.NewBatchedLoader(func(ctx context.Context, ids []string) []*dataloader.Result[service.LogsPage] {
			pages, err := r.Service.FirstLogs(ctx, ids, n)
			out := make([]*dataloader.Result[service.LogsPage], len(ids))
			for i, id := range ids {
				out[i] = &dataloader.Result[service.LogsPage]{Data: pages[id], Error: err}
			}
			return out
		}, dataloader.WithWait[string, service.LogsPage](logsBatchWait), dataloader.WithBatchCapacity[string, service.LogsPage](service.MaxPageSize))
		l.logs[n] = ld
	}
	l.mu.Unlock()
	return ld.Load(ctx, userID)()
}

// inList reports whether the field being resolved belongs to an item of a
// list (its path has an index).
func inList(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return false
	}
	for _, p := range fc.Path() {
		if _, ok := p.(ast.PathIndex); ok {
			return true
		}
	}
	return false
}
