package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/profiled/profiled/client"
)

// TestSearchThroughGraphQL: the query language, sort and pagination
// through users(query:, sort:), results consistent at once, and errors
// with their position.
func TestSearchThroughGraphQL(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		admin := e.adminClient()
		ids := map[string]string{}
		for i := 0; i < 6; i++ {
			plan := "free"
			if i%2 == 0 {
				plan = "pro"
			}
			r, err := client.CreateUser(ctx, admin, client.CreateUserInput{Connection: "main", Email: fmt.Sprintf("s%d@example.com", i),
				Password: ptr("password-123"), Name: ptr(fmt.Sprintf("Searcher %d", i)), AppMetadata: obj(map[string]any{"plan": plan}),
				UserMetadata: obj(map[string]any{"lang": "en"})})
			mustNoErr(t, err)
			ids[fmt.Sprintf("s%d", i)] = r.CreateUser.Id
		}
		count := func(q string) int {
			t.Helper()
			p, err := client.ListUsers(ctx, admin, ptr(100), nil, ptr(q), nil)
			mustNoErr(t, err)
			if p.Users.TotalCount != len(p.Users.Edges) {
				t.Fatalf("%s: totalCount %d, edges %d", q, p.Users.TotalCount, len(p.Users.Edges))
			}
			return p.Users.TotalCount
		}
		for q, want := range map[string]int{
			`email:s1@example.com`:                          1,
			`email:s*`:                                      6,
			`app_metadata.plan:pro`:                         3,
			`app_metadata.plan:pro AND email:s0*`:           1,
			`(email:s1* OR email:s2*) AND NOT blocked:true`: 2,
			`name:"searcher 3"`:                             1,
			`_exists_:user_metadata.lang`:                   6,
			`logins_count:[0 TO *]`:                         6,
			`connection:main`:                               6,
			`connection:other`:                              0,
		} {
			if got := count(q); got != want {
				t.Errorf("%s: %d users, want %d", q, got, want)
			}
		}
		// Consistent at once: found by the new value right after an update.
		_, err := client.UpdateUser(ctx, admin, ids["s4"], client.UpdateUserInput{Name: ptr("Renamed Person")})
		mustNoErr(t, err)
		if count(`name:"renamed person"`) != 1 || count(`name:"searcher 4"`) != 0 {
			t.Fatal("search does not see an update at once")
		}
		// Sort and paginate.
		var emails []string
		var after *string
		for {
			p, err := client.ListUsers(ctx, admin, ptr(4), after, nil, ptr("email:-1"))
			mustNoErr(t, err)
			for _, e := range p.Users.Edges {
				emails = append(emails, *e.Node.Email)
			}
			if !p.Users.PageInfo.HasNextPage {
				break
			}
			after = p.Users.PageInfo.EndCursor
		}
		if strings.Join(emails, ",") != "s5@example.com,s4@example.com,s3@example.com,s2@example.com,s1@example.com,s0@example.com" {
			t.Fatalf("sorted pages = %v", emails)
		}
		// Errors carry the position and what was expected.
		for _, q := range []string{`email:[a TO`, `nope:1`, `(email:a`, `email:*ab`} {
			_, err := client.ListUsers(ctx, admin, nil, nil, ptr(q), nil)
			wantCode(t, err, "BAD_USER_INPUT")
			if !strings.Contains(err.Error(), "at ") && !strings.Contains(err.Error(), "unknown") {
				t.Errorf("%s: error without a position: %v", q, err)
			}
		}
		_, err = client.ListUsers(ctx, admin, nil, nil, nil, ptr("user_metadata.lang:1"))
		wantCode(t, err, "BAD_USER_INPUT")
		// A user token cannot search.
		l, err := client.Login(ctx, e.client(""), "main", "s1@example.com", "password-123")
		mustNoErr(t, err)
		_, err = client.ListUsers(ctx, e.client(l.Login.AccessToken), nil, nil, ptr("email:s*"), nil)
		wantCode(t, err, "FORBIDDEN")
	})
}
