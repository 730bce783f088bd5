package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// BenchmarkAPIToken: issuing an access token for an API (enforce RBAC,
// permissions claim on) to a user holding 50 roles × 20 permissions (1,000
// distinct permissions, all in the claim) against a user holding none, in
// the same run, on each store: "grant+sign" is the token step alone
// (Service.APIGrant + Keyring.IssueAPI: one store read and an RS256
// signature), "login" the whole login(audience:) mutation through HTTP
// (bcrypt at the test cost included).
//
//	go test ./internal/tests/e2e/ -run '^$' -bench APIToken -benchtime 2000x
func BenchmarkAPIToken(b *testing.B) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		b.Run(string(k), func(b *testing.B) {
			ctx := context.Background()
			s := testenv.Start(b, testenv.OpenStore(b, storeURL(b, k)), testenv.Options{})
			svc := s.Service
			perms := make([]policy.APIPermission, 1000)
			for i := range perms {
				perms[i] = policy.APIPermission{Name: fmt.Sprintf("perm:%03d", i)}
			}
			const aud = "https://bench.example.com"
			api, err := svc.CreateAPI(ctx, service.Operator(), service.APIInput{Identifier: aud, Name: "Bench", Permissions: perms, EnforceRBAC: true, PermissionsInToken: true})
			if err != nil {
				b.Fatal(err)
			}
			var roleIDs []string
			for r := range 50 {
				var ps []policy.Permission
				for j := range 20 {
					ps = append(ps, policy.Permission{API: aud, Name: perms[r*20+j].Name})
				}
				role, err := svc.CreateRole(ctx, service.Operator(), fmt.Sprintf("role-%02d", r), "", ps)
				if err != nil {
					b.Fatal(err)
				}
				roleIDs = append(roleIDs, role.ID)
			}
			e := &env{t: b, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: testenv.NewClock(time.Now()), admin: s.Admin, gql: s.GraphQL(nil)}
			createDBConnectionB(b, e)
			mk := func(email string) policy.User {
				u, err := svc.CreateUser(ctx, policy.Caller{Subject: "bench", Scopes: map[policy.Scope]bool{policy.ScopeCreateUsers: true}}, "main",
					policy.Create{Email: email, Password: "bench-password-1"})
				if err != nil {
					b.Fatal(err)
				}
				return u
			}
			none, many := mk("none@example.com"), mk("many@example.com")
			admin := policy.Caller{Subject: "bench", Scopes: map[policy.Scope]bool{policy.ScopeUpdateUsers: true}}
			if err := svc.AssignRoles(ctx, admin, many.ID, roleIDs); err != nil {
				b.Fatal(err)
			}
			requested := strings.Fields("openid perm:000 perm:100 perm:200 perm:999 perm:500")
			issue := func(u policy.User, wantPerms int) func(int) error {
				return func(int) error {
					g, err := svc.APIGrant(ctx, u.ID, api, requested)
					if err != nil {
						return err
					}
					if len(g.Permissions) != wantPerms {
						return fmt.Errorf("%d permissions, want %d", len(g.Permissions), wantPerms)
					}
					_, _, err = s.Keyring.IssueAPI(u, aud, g)
					return err
				}
			}
			b.Run("grant+sign", func(b *testing.B) {
				latencyBench(b, 1, issue(none, 0), issue(many, 1000))
			})
			login := func(email string) func(int) error {
				return func(int) error {
					_, err := svc.LoginFor(ctx, "main", email, "bench-password-1", service.TokenRequest{Audience: aud, Scopes: requested})
					return err
				}
			}
			b.Run("login", func(b *testing.B) {
				latencyBench(b, 1, login("none@example.com"), login("many@example.com"))
			})
		})
	}
}
