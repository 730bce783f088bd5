package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/profiled/profiled/client"
)

func createDBConnection(t *testing.T, e *env, name string) {
	t.Helper()
	_, err := client.CreateConnection(context.Background(), e.adminClient(), client.ConnectionInput{Name: name, Strategy: client.StrategyDatabase})
	mustNoErr(t, err)
}

func TestConnections(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := e.adminClient()
		res, err := client.CreateConnection(ctx, c, client.ConnectionInput{
			Name: "legacy-db", Strategy: client.StrategyCustomDatabase, ImportMode: ptr(true),
			DatabaseURL:   ptr("mysql://app:hunter2-secret@127.0.0.1:3306/legacy"),
			Configuration: obj(map[string]any{"API_KEY": "sk-very-secret-value"}),
		})
		mustNoErr(t, err)
		got := res.CreateConnection
		if !got.ImportMode || !got.SyncUserProfile || !got.HasDatabaseURL || got.Strategy != client.StrategyCustomDatabase ||
			len(got.ConfigurationKeys) != 1 || got.ConfigurationKeys[0] != "API_KEY" || got.ScriptTimeoutMs != 20000 {
			t.Fatalf("created connection = %+v", got)
		}
		for _, strat := range []client.Strategy{client.StrategyDatabase, client.StrategyOidc, client.StrategyPasswordless} {
			_, err := client.CreateConnection(ctx, c, client.ConnectionInput{Name: strings.ToLower(string(strat)) + "-1", Strategy: strat, SyncUserProfile: ptr(false)})
			mustNoErr(t, err)
		}
		up, err := client.UpdateConnection(ctx, c, "legacy-db", client.UpdateConnectionInput{ImportMode: ptr(false), SyncUserProfile: ptr(false), ScriptTimeoutMs: ptr(5000)})
		mustNoErr(t, err)
		if up.UpdateConnection.ImportMode || up.UpdateConnection.SyncUserProfile || up.UpdateConnection.ScriptTimeoutMs != 5000 {
			t.Fatalf("updated = %+v", up.UpdateConnection)
		}
		list, err := client.ListConnections(ctx, c)
		mustNoErr(t, err)
		if len(list.Connections) != 4 || list.Connections[0].Name != "database-1" {
			t.Fatalf("connections = %+v", list.Connections)
		}
		one, err := client.GetConnection(ctx, c, "nope")
		mustNoErr(t, err)
		if one.Connection != nil {
			t.Fatalf("unknown connection = %+v, want null", one.Connection)
		}

		// Secrets never come back, whatever is selected.
		r := e.raw(e.admin, `{ connections { name hasDatabaseURL configurationKeys } connection(name:"legacy-db"){ name } }`, nil)
		if strings.Contains(r.Raw, "hunter2") || strings.Contains(r.Raw, "sk-very-secret") {
			t.Fatalf("a secret leaked: %s", r.Raw)
		}
		r = e.raw(e.admin, `{ connection(name:"legacy-db"){ configuration } }`, nil)
		if r.code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Fatalf("selecting configuration: %s", r.Raw)
		}

		bad := []struct {
			name string
			in   client.ConnectionInput
		}{
			{"upper-case name", client.ConnectionInput{Name: "Bad", Strategy: client.StrategyDatabase}},
			{"leading dash", client.ConnectionInput{Name: "-bad", Strategy: client.StrategyDatabase}},
			{"36 characters", client.ConnectionInput{Name: strings.Repeat("a", 36), Strategy: client.StrategyDatabase}},
			{"duplicate", client.ConnectionInput{Name: "legacy-db", Strategy: client.StrategyDatabase}},
			{"import mode on DATABASE", client.ConnectionInput{Name: "x1", Strategy: client.StrategyDatabase, ImportMode: ptr(true)}},
			{"bad database URL", client.ConnectionInput{Name: "x2", Strategy: client.StrategyCustomDatabase, DatabaseURL: ptr("postgres://secretpw@h/db")}},
			{"timeout too long", client.ConnectionInput{Name: "x3", Strategy: client.StrategyCustomDatabase, ScriptTimeoutMs: ptr(600000)}},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				_, err := client.CreateConnection(ctx, c, tc.in)
				wantCode(t, err, "BAD_USER_INPUT")
				if strings.Contains(err.Error(), "secretpw") {
					t.Fatalf("error echoes the URL: %v", err)
				}
			})
		}
		list, err = client.ListConnections(ctx, c)
		mustNoErr(t, err)
		if len(list.Connections) != 4 {
			t.Fatalf("a refused create stored something: %d connections", len(list.Connections))
		}
	})
}

func TestDatabaseUserLifecycle(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "users")
		anon := e.client("")

		s, err := client.Signup(ctx, anon, "users", "Ada@Example.com", "correct horse", ptr("ada"), obj(map[string]any{"lang": "en"}))
		mustNoErr(t, err)
		ada := s.Signup.UserFields
		if ada.Email == nil || *ada.Email != "ada@example.com" || ada.Username == nil || *ada.Username != "ada" || ada.UserMetadata["lang"] != "en" || ada.Connection != "users" {
			t.Fatalf("signup = %+v", ada)
		}
		_, err = client.Signup(ctx, anon, "users", "ada@example.com", "another pass", nil, nil)
		wantCode(t, err, "USER_EXISTS")

		// Wrong password and unknown user are indistinguishable.
		_, err = client.Login(ctx, anon, "users", "ada@example.com", "wrong password")
		wantCode(t, err, "INVALID_CREDENTIALS")
		_, err = client.Login(ctx, anon, "users", "nobody@example.com", "wrong password")
		wantCode(t, err, "INVALID_CREDENTIALS")

		l, err := client.Login(ctx, anon, "users", "ADA@example.com", "correct horse")
		mustNoErr(t, err)
		if l.Login.User.LoginsCount != 1 || l.Login.User.LastLogin == nil || l.Login.ExpiresIn <= 0 || l.Login.IdToken == "" {
			t.Fatalf("login = %+v", l.Login)
		}
		me := e.client(l.Login.AccessToken)
		m, err := client.Me(ctx, me)
		mustNoErr(t, err)
		if m.Me == nil || m.Me.Id != ada.Id {
			t.Fatalf("me = %+v", m.Me)
		}
		// A user token never reads appMetadata: the operation is refused
		// (FORBIDDEN) before it runs.
		r := e.raw(l.Login.AccessToken, `{ me { id appMetadata } }`, nil)
		if r.code() != "FORBIDDEN" || strings.Contains(r.Raw, ada.Id) {
			t.Fatalf("me.appMetadata with a user token: %s", r.Raw)
		}
		um, err := client.UpdateMe(ctx, me, map[string]any{"theme": "dark", "lang": nil})
		mustNoErr(t, err)
		if um.UpdateMe.UserMetadata["theme"] != "dark" || um.UpdateMe.UserMetadata["lang"] != nil {
			t.Fatalf("updateMe = %+v", um.UpdateMe.UserMetadata)
		}
		// A user token on a management operation.
		_, err = client.GetUser(ctx, me, ada.Id)
		wantCode(t, err, "FORBIDDEN")

		// Admin: read, update, block, change password, delete.
		admin := e.adminClient()
		got, err := client.GetUser(ctx, admin, ada.Id)
		mustNoErr(t, err)
		if got.User == nil || got.User.UserMetadata["theme"] != "dark" {
			t.Fatalf("user = %+v", got.User)
		}
		up, err := client.UpdateUser(ctx, admin, ada.Id, client.UpdateUserInput{Name: ptr("Ada Lovelace"), AppMetadata: obj(map[string]any{"plan": "pro"}), Blocked: ptr(true)})
		mustNoErr(t, err)
		if *up.UpdateUser.Name != "Ada Lovelace" || deref(up.UpdateUser.AppMetadata)["plan"] != "pro" || !up.UpdateUser.Blocked {
			t.Fatalf("updateUser = %+v", up.UpdateUser)
		}
		_, err = client.Login(ctx, anon, "users", "ada@example.com", "wrong password")
		wantCode(t, err, "INVALID_CREDENTIALS") // a blocked user with a wrong password learns nothing
		_, err = client.Login(ctx, anon, "users", "ada@example.com", "correct horse")
		wantCode(t, err, "USER_BLOCKED")
		_, err = client.UpdateUser(ctx, admin, ada.Id, client.UpdateUserInput{Blocked: ptr(false)})
		mustNoErr(t, err)
		_, err = client.ChangePassword(ctx, admin, ada.Id, "a new password")
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "users", "ada@example.com", "correct horse")
		wantCode(t, err, "INVALID_CREDENTIALS")
		_, err = client.Login(ctx, anon, "users", "ada@example.com", "a new password")
		mustNoErr(t, err)

		byEmail, err := client.UsersByEmail(ctx, admin, "ADA@example.com")
		mustNoErr(t, err)
		if len(byEmail.UsersByEmail) != 1 {
			t.Fatalf("usersByEmail = %+v", byEmail)
		}
		d, err := client.DeleteUser(ctx, admin, ada.Id)
		mustNoErr(t, err)
		if !d.DeleteUser {
			t.Fatal("deleteUser returned false")
		}
		gone, err := client.GetUser(ctx, admin, ada.Id)
		mustNoErr(t, err)
		if gone.User != nil {
			t.Fatal("deleted user still readable")
		}
		_, err = client.DeleteUser(ctx, admin, ada.Id)
		wantCode(t, err, "NOT_FOUND")
	})
}

func TestCreateUserAndPagination(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		admin := e.adminClient()
		ids := map[string]bool{}
		for i := 0; i < 7; i++ {
			r, err := client.CreateUser(ctx, admin, client.CreateUserInput{
				Connection: "main", Email: fmt.Sprintf("u%d@example.com", i), Password: ptr("password-123"),
				GivenName: ptr("U"), AppMetadata: obj(map[string]any{"plan": "free"}), EmailVerified: ptr(true),
			})
			mustNoErr(t, err)
			if !r.CreateUser.EmailVerified || deref(r.CreateUser.AppMetadata)["plan"] != "free" {
				t.Fatalf("createUser = %+v", r.CreateUser)
			}
			ids[r.CreateUser.Id] = true
		}
		seen := map[string]bool{}
		var after *string
		pages := 0
		for {
			p, err := client.ListUsers(ctx, admin, ptr(3), after, nil, nil)
			mustNoErr(t, err)
			pages++
			if p.Users.TotalCount != 7 {
				t.Fatalf("totalCount = %d", p.Users.TotalCount)
			}
			for _, edge := range p.Users.Edges {
				if seen[edge.Node.Id] {
					t.Fatalf("user %s on two pages", edge.Node.Id)
				}
				seen[edge.Node.Id] = true
			}
			if !p.Users.PageInfo.HasNextPage {
				break
			}
			after = p.Users.PageInfo.EndCursor
		}
		if pages != 3 || len(seen) != 7 {
			t.Fatalf("pages = %d, users seen = %d", pages, len(seen))
		}
		for id := range ids {
			if !seen[id] {
				t.Fatalf("user %s never listed", id)
			}
		}

		bad := []struct {
			name, code string
			in         client.CreateUserInput
		}{
			{"invalid email", "BAD_USER_INPUT", client.CreateUserInput{Connection: "main", Email: "not-an-email", Password: ptr("password-123")}},
			{"short password", "BAD_USER_INPUT", client.CreateUserInput{Connection: "main", Email: "x@example.com", Password: ptr("short")}},
			{"unknown connection", "NOT_FOUND", client.CreateUserInput{Connection: "nope", Email: "x@example.com", Password: ptr("password-123")}},
			{"duplicate email", "USER_EXISTS", client.CreateUserInput{Connection: "main", Email: "U1@example.com", Password: ptr("password-123")}},
			{"metadata key with a dot", "BAD_USER_INPUT", client.CreateUserInput{Connection: "main", Email: "y@example.com", Password: ptr("password-123"), UserMetadata: obj(map[string]any{"a.b": 1})}},
			{"reserved app_metadata key", "BAD_USER_INPUT", client.CreateUserInput{Connection: "main", Email: "z@example.com", Password: ptr("password-123"), AppMetadata: obj(map[string]any{"email": "x"})}},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				_, err := client.CreateUser(ctx, admin, tc.in)
				wantCode(t, err, tc.code)
			})
		}
		p, err := client.ListUsers(ctx, admin, nil, nil, nil, nil)
		mustNoErr(t, err)
		if p.Users.TotalCount != 7 {
			t.Fatalf("a refused create stored a user: %d", p.Users.TotalCount)
		}
		_, err = client.ListUsers(ctx, admin, ptr(3), ptr("not-a-cursor"), nil, nil)
		wantCode(t, err, "BAD_USER_INPUT")
		_, err = client.ListUsers(ctx, admin, ptr(1000), nil, nil, nil)
		wantCode(t, err, "BAD_USER_INPUT")
	})
}

func TestMetadataMerge(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		admin := e.adminClient()
		r, err := client.CreateUser(ctx, admin, client.CreateUserInput{Connection: "main", Email: "m@example.com", Password: ptr("password-123"),
			UserMetadata: obj(map[string]any{"a": 1, "nested": map[string]any{"x": 1, "y": 2}, "gone": true})})
		mustNoErr(t, err)
		id := r.CreateUser.Id
		up, err := client.UpdateUser(ctx, admin, id, client.UpdateUserInput{UserMetadata: obj(map[string]any{"nested": map[string]any{"z": 3}, "gone": nil, "b": "new"})})
		mustNoErr(t, err)
		md := up.UpdateUser.UserMetadata
		nested, _ := md["nested"].(map[string]any)
		if md["a"] == nil || md["b"] != "new" || md["gone"] != nil || len(nested) != 1 || nested["z"] == nil {
			t.Fatalf("merged metadata = %v", md)
		}
		up, err = client.UpdateUser(ctx, admin, id, client.UpdateUserInput{UserMetadata: obj(map[string]any{})})
		mustNoErr(t, err)
		if len(up.UpdateUser.UserMetadata) != 0 {
			t.Fatalf("{} did not clear: %v", up.UpdateUser.UserMetadata)
		}

		// Bad metadata changes nothing, including the valid fields sent with it.
		big := strings.Repeat("x", 17<<10)
		for name, in := range map[string]client.UpdateUserInput{
			"oversized":     {Name: ptr("Changed"), UserMetadata: obj(map[string]any{"big": big})},
			"empty key":     {Name: ptr("Changed"), UserMetadata: obj(map[string]any{"": 1})},
			"dollar key":    {Name: ptr("Changed"), AppMetadata: obj(map[string]any{"$where": 1})},
			"invalid email": {Name: ptr("Changed"), Email: ptr("nope")},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := client.UpdateUser(ctx, admin, id, in)
				wantCode(t, err, "BAD_USER_INPUT")
			})
		}
		// Not an object: the scalar refuses it.
		for _, v := range []string{`[1,2]`, `"str"`, `42`} {
			res := e.raw(e.admin, `mutation($id: ID!, $m: JSON) { updateUser(id: $id, input: {userMetadata: $m}) { id } }`, map[string]any{"id": id, "m": jsonValue(v)})
			if res.code() != "BAD_USER_INPUT" {
				t.Fatalf("metadata %s: %s", v, res.Raw)
			}
		}
		res := e.raw(e.admin, `mutation($id: ID!) { updateUser(id: $id, input: {userMetadata: [1]}) { id } }`, map[string]any{"id": id})
		if c := res.code(); c != "BAD_USER_INPUT" && c != "GRAPHQL_VALIDATION_FAILED" {
			t.Fatalf("inline array metadata: %s", res.Raw)
		}
		got, err := client.GetUser(ctx, admin, id)
		mustNoErr(t, err)
		if got.User.Name != nil || len(got.User.UserMetadata) != 0 || len(deref(got.User.AppMetadata)) != 0 {
			t.Fatalf("a refused update wrote something: %+v", got.User)
		}
		_, err = client.UpdateUser(ctx, admin, "main|nobody", client.UpdateUserInput{Name: ptr("x")})
		wantCode(t, err, "NOT_FOUND")
	})
}

func jsonValue(s string) any {
	var v any
	if err := jsonUnmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

// TestConcurrentMetadataMerges: 100 concurrent updateUser calls, each
// setting a different key, leave all 100 keys.
func TestConcurrentMetadataMerges(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		admin := e.adminClient()
		r, err := client.CreateUser(ctx, admin, client.CreateUserInput{Connection: "main", Email: "c@example.com", Password: ptr("password-123")})
		mustNoErr(t, err)
		id := r.CreateUser.Id
		const n = 100
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := client.UpdateUser(ctx, admin, id, client.UpdateUserInput{UserMetadata: obj(map[string]any{fmt.Sprintf("k%03d", i): i})})
				if err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent update failed: %v", err)
		}
		got, err := client.GetUser(ctx, admin, id)
		mustNoErr(t, err)
		if len(got.User.UserMetadata) != n {
			t.Fatalf("after %d concurrent merges the user has %d keys", n, len(got.User.UserMetadata))
		}
	})
}
