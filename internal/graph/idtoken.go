package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// selectsIDToken reports whether the operation selects idToken on the
// AuthResult the current field returns (under any alias, in fragments,
// after @skip/@include). Signing it is most of a cheap login's CPU, so
// login signs it only then. Without a field context (a resolver called
// outside gqlgen) it says yes.
func selectsIDToken(ctx context.Context) bool {
	if graphql.GetFieldContext(ctx) == nil || !graphql.HasOperationContext(ctx) {
		return true
	}
	for _, f := range graphql.CollectFieldsCtx(ctx, []string{"AuthResult"}) {
		if f.Name == "idToken" {
			return true
		}
	}
	return false
}
