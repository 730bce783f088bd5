package graph

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/graph/generated"
	"github.com/profiled/profiled/internal/graph/model"
	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// Every read resolver (and the few admin calls whose use cases do not
// take the caller) authorizes through one row of policy.Authorize's
// table, with the contract's scopes. Called directly, below the schema's
// @needs check that refuses the same callers earlier in a real request,
// so this is the resolver's own line at work: a user token is refused
// whatever it holds, a management token lacking the row's scope (holding
// every other management scope) is refused, a token with exactly the
// row's scopes is not; and the row's scopes are those the field's @needs
// declares, so the two checks cannot drift apart.
func TestReadResolversAuthorizeThroughTheTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := db.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "reads.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keyring, err := auth.New(ctx, store, auth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := passwords.New(passwords.Config{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(store, hasher, keyring, nil, service.Config{Logger: log})
	r := &Resolver{Service: svc, Logger: log}
	if _, err := svc.CreateConnection(ctx, service.Operator(), service.ConnectionSpec{Name: "main", Strategy: policy.StrategyDatabase}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, service.Operator(), "main", policy.Create{Email: "ann@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	obj := &model.User{U: u}
	q, m, ur := r.Query(), r.Mutation(), r.User()
	one := 5

	for _, tc := range []struct {
		field string // Type.field in the schema
		op    policy.Op
		needs []policy.Scope // the contract's scopes, as before the table
		call  func(ctx context.Context) error
	}{
		{"Query.user", policy.OpReadUser, []policy.Scope{policy.ScopeReadUsers}, func(ctx context.Context) error {
			_, err := q.User(ctx, u.ID)
			return err
		}},
		{"Query.users", policy.OpReadUsers, []policy.Scope{policy.ScopeReadUsers}, func(ctx context.Context) error {
			_, err := q.Users(ctx, nil, &one, nil, nil)
			return err
		}},
		{"Query.usersByEmail", policy.OpReadUsers, []policy.Scope{policy.ScopeReadUsers}, func(ctx context.Context) error {
			_, err := q.UsersByEmail(ctx, "ann@example.com")
			return err
		}},
		{"User.logs", policy.OpReadUserLogs, []policy.Scope{policy.ScopeReadUsers}, func(ctx context.Context) error {
			_, err := ur.Logs(ctx, obj, &one, nil)
			return err
		}},
		{"User.fieldRules", policy.OpReadFieldRules, []policy.Scope{policy.ScopeReadUsers}, func(ctx context.Context) error {
			_, err := ur.FieldRules(ctx, obj)
			return err
		}},
		{"Query.stats", policy.OpReadStats, []policy.Scope{policy.ScopeReadUsers}, func(ctx context.Context) error {
			_, err := q.Stats(ctx)
			return err
		}},
		{"Query.connection", policy.OpReadConnections, []policy.Scope{policy.ScopeReadConnections}, func(ctx context.Context) error {
			_, err := q.Connection(ctx, "main")
			return err
		}},
		{"Query.connections", policy.OpReadConnections, []policy.Scope{policy.ScopeReadConnections}, func(ctx context.Context) error {
			_, err := q.Connections(ctx)
			return err
		}},
		{"Mutation.tryConnectionScript", policy.OpTryConnectionScript, []policy.Scope{policy.ScopeUpdateConnections}, func(ctx context.Context) error {
			email := "ann@example.com"
			_, err := m.TryConnectionScript(ctx, "main", model.TryActionGetUser, &email, nil, nil)
			return err
		}},
		{"Query.applications", policy.OpReadApplications, []policy.Scope{policy.ScopeReadClients}, func(ctx context.Context) error {
			_, err := q.Applications(ctx)
			return err
		}},
		{"Query.application", policy.OpReadApplications, []policy.Scope{policy.ScopeReadClients}, func(ctx context.Context) error {
			_, err := q.Application(ctx, "nope")
			return err
		}},
		{"Mutation.unlinkDevice", policy.OpRevokeUserApps, []policy.Scope{policy.ScopeUpdateUsers}, func(ctx context.Context) error {
			_, err := m.UnlinkDevice(ctx, "nope")
			return err
		}},
		{"Mutation.revokeGrant", policy.OpRevokeUserApps, []policy.Scope{policy.ScopeUpdateUsers}, func(ctx context.Context) error {
			_, err := m.RevokeGrant(ctx, "nope")
			return err
		}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			got, ok := policy.OpScopes(tc.op)
			if !ok || !sameScopes(got, tc.needs) {
				t.Fatalf("the table gives %s the scopes %v (%v), the contract %v", tc.op, got, ok, tc.needs)
			}
			if declared, ok := needsOf(tc.field); ok && !sameScopes(declared, tc.needs) {
				t.Fatalf("@needs declares %v, the table %v", declared, tc.needs)
			}
			callers := map[string]policy.Caller{
				"user token": {Subject: u.ID, Self: true, Scopes: allScopes(policy.ScopeReadCurrentUser, policy.ScopeUpdateCurrentUserMetadata)},
				"no scope":   {Subject: "none", Scopes: map[policy.Scope]bool{}},
			}
			for _, s := range tc.needs {
				callers["lacking "+string(s)] = policy.Caller{Subject: "almost", Scopes: allScopes(policy.ManagementScopes...)}
				delete(callers["lacking "+string(s)].Scopes, s)
			}
			for name, c := range callers {
				err := tc.call(auth.ContextWithCaller(ctx, c))
				var ref *policy.Refusal
				if !errors.As(err, &ref) || ref.Reason != policy.ReasonForbidden {
					t.Errorf("%s: got %v, want a FORBIDDEN refusal", name, err)
				}
			}
			exact := policy.Caller{Subject: "exact", Scopes: allScopes(tc.needs...)}
			if err := tc.call(auth.ContextWithCaller(ctx, exact)); err != nil {
				if code, _ := service.CodeOf(err); code == service.CodeForbidden || code == service.CodeUnauthenticated {
					t.Fatalf("exactly its scopes: %v", err)
				}
			}
			if err := tc.call(ctx); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("no caller: %v, want UNAUTHENTICATED", err)
			}
		})
	}
}

func allScopes(ss ...policy.Scope) map[policy.Scope]bool {
	m := make(map[policy.Scope]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

func sameScopes(a, b []policy.Scope) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// needsOf returns the scopes of the @needs directive on a schema field
// ("Type.field"); ok is false when the field declares none.
func needsOf(field string) ([]policy.Scope, bool) {
	typ, name, _ := strings.Cut(field, ".")
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	def := schema.Types[typ]
	if def == nil {
		return nil, false
	}
	f := def.Fields.ForName(name)
	if f == nil {
		return nil, false
	}
	d := f.Directives.ForName("needs")
	if d == nil {
		return nil, false
	}
	arg := d.Arguments.ForName("scopes")
	if arg == nil || arg.Value == nil || arg.Value.Kind != ast.ListValue {
		return nil, false
	}
	var out []policy.Scope
	for _, c := range arg.Value.Children {
		out = append(out, policy.Scope(c.Value.Raw))
	}
	return out, true
}
