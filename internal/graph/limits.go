package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Limits bounds the shape of a GraphQL operation before it runs.
type Limits struct {
	MaxDepth      int // nesting of selection sets; default 12
	MaxComplexity int // 1 per field; users and logs cost their page size times their children; default 10000
	MaxAliases    int // aliased fields in one operation; default 30
	// MaxSelections bounds the selections (fields, spreads, inline
	// fragments) of a document once its fragments are expanded; default
	// 10000. Checked before validation, which (like the depth and
	// complexity walks) expands fragments: a few hundred bytes of
	// fragments spreading each other twice expand to 2^N selections.
	MaxSelections int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 12
	}
	if l.MaxComplexity <= 0 {
		l.MaxComplexity = 10000
	}
	if l.MaxAliases <= 0 {
		l.MaxAliases = 30
	}
	if l.MaxSelections <= 0 {
		l.MaxSelections = 10000
	}
	return l
}

// limitExtension refuses deep, complex or alias-heavy operations with
// BAD_USER_INPUT and a message that names the limit.
type limitExtension struct {
	lim Limits
	es  graphql.ExecutableSchema
	// expanded caches, by query text, the expanded selection count of
	// documents within MaxSelections (nil: no cache), so a repeated
	// operation is not parsed again before gqlgen's own (cached) parse.
	expanded graphql.Cache[int]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = limitExtension{}

// MutateOperationParameters refuses, before gqlgen validates it, a
// document whose fragments expand to more than MaxSelections selections.
// The expanded size of each fragment is computed once (memoized), so the
// check is linear in the document's size whatever its spreads.
func (e limitExtension) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" {
		return nil
	}
	if e.expanded != nil {
		if _, ok := e.expanded.Get(ctx, p.Query); ok {
			return nil
		}
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: p.Query})
	if err != nil {
		return nil // gqlgen reports the syntax error
	}
	x := expansion{frags: map[string]*ast.FragmentDefinition{}, size: map[string]int{}, limit: e.lim.MaxSelections}
	for _, f := range doc.Fragments {
		x.frags[f.Name] = f
	}
	total := 0
	for _, op := range doc.Operations {
		n := x.count(op.SelectionSet)
		if n > e.lim.MaxSelections {
			return limitErr(fmt.Sprintf("the operation expands to more than %d selections through its fragments; the limit is %d", e.lim.MaxSelections, e.lim.MaxSelections))
		}
		total = max(total, n)
	}
	if e.expanded != nil {
		e.expanded.Add(ctx, p.Query, total)
	}
	return nil
}

// expansion counts selections with fragments expanded, each fragment's
// count memoized and every count capped just above the limit.
type expansion struct {
	frags map[string]*ast.FragmentDefinition
	size  map[string]int // fragment → expanded count (-1 while counting: a cycle)
	limit int
}

func (x *expansion) count(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		n++
		switch s := sel.(type) {
		case *ast.Field:
			n += x.count(s.SelectionSet)
		case *ast.InlineFragment:
			n += x.count(s.SelectionSet)
		case *ast.FragmentSpread:
			n += x.fragment(s.Name)
		}
		if n > x.limit {
			return x.limit + 1
		}
	}
	return n
}

func (x *expansion) fragment(name string) int {
	if n, ok := x.size[name]; ok {
		return max(n, 0) // a cycle counts nothing here; validation refuses it
	}
	f := x.frags[name]
	if f == nil {
		return 0
	}
	x.size[name] = -1
	n := x.count(f.SelectionSet)
	x.size[name] = n
	return n
}

func (limitExtension) ExtensionName() string                   { return "ProfiledLimits" }
func (limitExtension) Validate(graphql.ExecutableSchema) error { return nil }
func (e limitExtension) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := walker{fragments: oc.Doc.Fragments, seen: map[string]bool{}}
	depth := w.depth(oc.Operation.SelectionSet, 0)
	switch {
	case w.cyclic:
		return limitErr("the operation's fragments form a cycle")
	case depth > e.lim.MaxDepth:
		return limitErr(fmt.Sprintf("the operation is %d levels deep; the limit is %d", depth, e.lim.MaxDepth))
	case w.introspectionDepth > maxIntrospectionDepth:
		return limitErr(fmt.Sprintf("the introspection is %d levels deep; the limit is %d", w.introspectionDepth, maxIntrospectionDepth))
	case w.aliases > e.lim.MaxAliases:
		return limitErr(fmt.Sprintf("the operation uses %d aliases; the limit is %d", w.aliases, e.lim.MaxAliases))
	}
	if c := complexity.Calculate(ctx, e.es, oc.Operation, oc.Variables); c > e.lim.MaxComplexity {
		return limitErr(fmt.Sprintf("the operation's complexity is %d; the limit is %d", c, e.lim.MaxComplexity))
	}
	return nil
}

func limitErr(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": "BAD_USER_INPUT"}}
}

// maxIntrospectionDepth bounds the depth of an introspection query (mostly
// its ofType chains): the standard query is 15 levels deep. Fan-out over
// the schema (fields { type { fields ... } } nested) is refused by
// gqlparser's validation (MaxIntrospectionDepth, as graphql-js).
const maxIntrospectionDepth = 20

type walker struct {
	fragments ast.FragmentDefinitionList
	seen      map[string]bool
	aliases   int
	cyclic    bool
	// introspectionDepth is the deepest level seen under __schema or
	// __type.
	introspectionDepth int
}

func (w *walker) depth(set ast.SelectionSet, d int) int {
	max := d
	for _, sel := range set {
		var sub int
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				w.aliases++
			}
			if s.Name == "__schema" || s.Name == "__type" {
				// Introspection describes the schema, not data: its
				// depth is the shape of the type system (the standard
				// query is 15 levels deep, mostly ofType chains), and
				// complexity.Calculate does not count it. It has its
				// own bound.
				w.introspect(s.SelectionSet, d+1)
				sub = d + 1
			} else if len(s.SelectionSet) == 0 {
				sub = d + 1
			} else {
				sub = w.depth(s.SelectionSet, d+1)
			}
		case *ast.InlineFragment:
			sub = w.depth(s.SelectionSet, d)
		case *ast.FragmentSpread:
			if w.seen[s.Name] {
				w.cyclic = true
				continue
			}
			f := w.fragments.ForName(s.Name)
			if f == nil {
				continue
			}
			w.seen[s.Name] = true
			sub = w.depth(f.SelectionSet, d)
			delete(w.seen, s.Name)
		}
		if sub > max {
			max = sub
		}
	}
	return max
}

// introspect records in w.introspectionDepth how deep set, at depth d,
// goes; aliases and fragment cycles count as in depth.
func (w *walker) introspect(set ast.SelectionSet, d int) {
	w.introspectionDepth = max(w.introspectionDepth, d)
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				w.aliases++
			}
			if len(s.SelectionSet) == 0 {
				w.introspectionDepth = max(w.introspectionDepth, d+1)
			}
			w.introspect(s.SelectionSet, d+1)
		case *ast.InlineFragment:
			w.introspect(s.SelectionSet, d)
		case *ast.FragmentSpread:
			if w.seen[s.Name] {
				w.cyclic = true
				continue
			}
			f := w.fragments.ForName(s.Name)
			if f == nil {
				continue
			}
			w.seen[s.Name] = true
			w.introspect(f.SelectionSet, d)
			delete(w.seen, s.Name)
		}
	}
}
