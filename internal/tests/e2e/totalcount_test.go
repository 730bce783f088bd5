package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/profiled/profiled/client"
)

// TestTotalCountOfCountedTerms: totalCount of one-term queries, which the
// store reads from its term counts, is the number of users matching after
// creates, updates (metadata, blocked, emailVerified), deletes, an import
// and an upsert import, all through GraphQL; the expected numbers come
// from the test's own record of what it wrote.
func TestTotalCountOfCountedTerms(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		admin := e.adminClient()
		type rec struct {
			id, plan          string
			verified, blocked bool
		}
		users := map[string]*rec{} // by email
		plans := []string{"free", "pro", "team"}
		r := rand.New(rand.NewPCG(17, 1))
		for i := range 24 {
			u := &rec{plan: plans[r.IntN(3)], verified: r.IntN(2) == 0, blocked: r.IntN(4) == 0}
			email := fmt.Sprintf("c%d@example.com", i)
			res, err := client.CreateUser(ctx, admin, client.CreateUserInput{Connection: "main", Email: email, Password: ptr("password-123"),
				EmailVerified: ptr(u.verified), Blocked: ptr(u.blocked), AppMetadata: obj(map[string]any{"plan": u.plan})})
			mustNoErr(t, err)
			u.id = res.CreateUser.Id
			users[email] = u
		}
		check := func(when string) {
			t.Helper()
			want := map[string]int{"connection:main": len(users)}
			for _, u := range users {
				want["app_metadata.plan:"+u.plan]++
				want[fmt.Sprintf("email_verified:%v", u.verified)]++
				want[fmt.Sprintf("blocked:%v", u.blocked)]++
			}
			for _, q := range []string{"connection:main", "connection:other", "app_metadata.plan:free", "app_metadata.plan:pro", "app_metadata.plan:team",
				"app_metadata.plan:gold", "email_verified:true", "email_verified:false", "blocked:true", "blocked:false"} {
				p, err := client.ListUsers(ctx, admin, ptr(1), nil, ptr(q), nil)
				mustNoErr(t, err)
				if p.Users.TotalCount != want[q] {
					t.Errorf("%s: %s: totalCount %d, want %d", when, q, p.Users.TotalCount, want[q])
				}
			}
		}
		check("after creates")
		for email, u := range users {
			switch r.IntN(4) {
			case 0:
				u.plan = plans[r.IntN(3)]
				_, err := client.UpdateUser(ctx, admin, u.id, client.UpdateUserInput{AppMetadata: obj(map[string]any{"plan": u.plan})})
				mustNoErr(t, err)
			case 1:
				u.blocked, u.verified = !u.blocked, !u.verified
				_, err := client.UpdateUser(ctx, admin, u.id, client.UpdateUserInput{Blocked: ptr(u.blocked), EmailVerified: ptr(u.verified)})
				mustNoErr(t, err)
			case 2:
				_, err := client.DeleteUser(ctx, admin, u.id)
				mustNoErr(t, err)
				delete(users, email)
			}
		}
		check("after updates and deletes")
		var rows []any
		for i := range 30 {
			u := &rec{plan: plans[r.IntN(3)], verified: r.IntN(2) == 0}
			email := fmt.Sprintf("imp%d@example.com", i)
			users[email] = u
			rows = append(rows, map[string]any{"email": email, "email_verified": u.verified, "app_metadata": map[string]any{"plan": u.plan}})
		}
		if j := e.runImport(t, "main", ndjson(t, rows...), false); j.Status != "COMPLETED" || j.Inserted != 30 {
			t.Fatalf("import: %+v", j)
		}
		check("after an import")
		rows = nil
		for email, u := range users {
			if r.IntN(2) == 0 {
				u.plan, u.verified = plans[r.IntN(3)], !u.verified
				rows = append(rows, map[string]any{"email": email, "email_verified": u.verified, "app_metadata": map[string]any{"plan": u.plan}})
			}
		}
		if j := e.runImport(t, "main", ndjson(t, rows...), true); j.Status != "COMPLETED" || j.Failed != 0 {
			t.Fatalf("upsert import: %+v", j)
		}
		check("after an upsert import")
	})
}
