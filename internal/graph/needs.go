package graph

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// needsExtension decides, before any resolver runs, whether the caller may
// select every field of the operation and whether every bounded argument
// is in bounds, from the schema's @needs and @range declarations: an
// operation that would be refused anywhere (createUser { logs } without
// read:users, updateUser { logs(first: 500) }) is refused whole, so an
// error from a mutation means nothing was written. The resolvers keep
// their own checks (the decision on data, e.g. a connection's admin
// scopes, is theirs).
type needsExtension struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = needsExtension{}

func (needsExtension) ExtensionName() string                   { return "ProfiledNeeds" }
func (needsExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (needsExtension) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	caller, authErr := auth.CallerFrom(ctx)
	c := needsCheck{caller: caller, authErr: authErr, vars: oc.Variables, fragments: oc.Doc.Fragments, done: map[string]bool{}}
	if err := c.set(oc.Operation.SelectionSet); err != nil {
		return err
	}
	return nil
}

type needsCheck struct {
	caller    policy.Caller
	authErr   error
	vars      map[string]any
	fragments ast.FragmentDefinitionList
	// done: fragments already checked (their result does not depend on
	// where they are spread: the caller and variables are the operation's).
	done map[string]bool
}

func (c *needsCheck) set(set ast.SelectionSet) *gqlerror.Error {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if err := c.field(s); err != nil {
				return err
			}
			if err := c.set(s.SelectionSet); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := c.set(s.SelectionSet); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if c.done[s.Name] {
				continue
			}
			c.done[s.Name] = true
			if f := c.fragments.ForName(s.Name); f != nil {
				if err := c.set(f.SelectionSet); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (c *needsCheck) field(f *ast.Field) *gqlerror.Error {
	def := f.Definition
	if def == nil {
		return nil
	}
	if d := def.Directives.ForName("needs"); d != nil {
		if err := c.needs(f, d); err != nil {
			return err
		}
	}
	for _, a := range def.Arguments {
		d := a.Directives.ForName("range")
		if d == nil {
			continue
		}
		arg := f.Arguments.ForName(a.Name)
		if arg == nil {
			continue // absent: the field's default
		}
		v, err := arg.Value.Value(c.vars)
		if err != nil || v == nil {
			continue // null: the default; coercion errors are gqlgen's
		}
		n, ok := intOf(v)
		lo, _ := strconv.ParseInt(d.Arguments.ForName("min").Value.Raw, 10, 64)
		hi, _ := strconv.ParseInt(d.Arguments.ForName("max").Value.Raw, 10, 64)
		if !ok || n < lo || n > hi {
			return fieldErr(f, service.CodeBadUserInput, a.Name, fmt.Sprintf("%s.%s must be between %d and %d", f.Name, a.Name, lo, hi))
		}
	}
	return nil
}

func (c *needsCheck) needs(f *ast.Field, d *ast.Directive) *gqlerror.Error {
	if c.authErr != nil {
		code, _, msg := classify(c.authErr)
		return fieldErr(f, code, "", msg)
	}
	if self := d.Arguments.ForName("self"); self != nil && self.Value.Raw != "" {
		if !c.caller.Self {
			return fieldErr(f, service.CodeForbidden, "", "this operation needs a user token (from login)")
		}
		if !c.caller.Has(policy.Scope(self.Value.Raw)) {
			return fieldErr(f, service.CodeForbidden, "", "this operation needs the scope "+self.Value.Raw)
		}
		return nil
	}
	if c.caller.Self {
		return fieldErr(f, service.CodeForbidden, "", "a user token cannot call management operations")
	}
	var scopes []string
	if a := d.Arguments.ForName("scopes"); a != nil {
		for _, ch := range a.Value.Children {
			scopes = append(scopes, ch.Value.Raw)
		}
	}
	anyOf := false
	if a := d.Arguments.ForName("any"); a != nil {
		anyOf = a.Value.Raw == "true"
	}
	held := 0
	var missing []string
	for _, s := range scopes {
		if c.caller.Has(policy.Scope(s)) {
			held++
		} else {
			missing = append(missing, s)
		}
	}
	switch {
	case anyOf && held == 0 && len(scopes) > 0:
		return fieldErr(f, service.CodeForbidden, "", "this operation needs the scope one of "+strings.Join(scopes, " "))
	case !anyOf && len(missing) > 0:
		return fieldErr(f, service.CodeForbidden, "", "this operation needs the scope "+strings.Join(scopes, " "))
	}
	return nil
}

func intOf(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), float64(int64(n)) == n
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// fieldErr refuses the whole operation, naming the field.
func fieldErr(f *ast.Field, code service.Code, arg, msg string) *gqlerror.Error {
	e := &gqlerror.Error{Message: msg + " (field " + f.Name + "; nothing ran)", Extensions: map[string]any{"code": string(code)}}
	if arg != "" {
		e.Extensions["field"] = arg
	}
	if f.Position != nil {
		e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	return e
}
