package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// selects reports whether the field being resolved, of type typ, has field
// among its selections (directly, aliased, or through a fragment on typ;
// @skip and @include apply). Resolvers ask it before work that only one
// field needs, such as counting every user a search matches for
// totalCount, or login signing an idToken. Outside a GraphQL operation it
// reports true.
func selects(ctx context.Context, typ, field string) bool {
	if graphql.GetFieldContext(ctx) == nil || !graphql.HasOperationContext(ctx) {
		return true
	}
	for _, f := range graphql.CollectFieldsCtx(ctx, []string{typ}) {
		if f.Name == field {
			return true
		}
	}
	return false
}
