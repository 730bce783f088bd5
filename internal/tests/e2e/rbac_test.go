package e2e

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

const (
	ordersAPI  = "https://orders.example.com"
	billingAPI = "https://billing.example.com"
)

// data decodes a response's data into v, failing on errors.
func data(t *testing.T, what string, r gqlResponse, v any) {
	t.Helper()
	wantOK(t, what, r)
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, r.Raw)
	}
}

// apiClaims verifies token the way the API it is for would — RS256 with a
// key of the service's published JWKS, the API's identifier as audience —
// and returns its claims.
func apiClaims(t *testing.T, e *env, token, audience string) jwt.MapClaims {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/.well-known/jwks.json")
	mustNoErr(t, err)
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	mustNoErr(t, json.NewDecoder(resp.Body).Decode(&set))
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		mustNoErr(t, err)
		ex, err := base64.RawURLEncoding.DecodeString(k.E)
		mustNoErr(t, err)
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		return keys[kid], nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithTimeFunc(e.clock.Now))
	mustNoErr(t, err)
	return claims
}

type loginResult struct {
	Login struct {
		AccessToken string  `json:"accessToken"`
		Audience    *string `json:"audience"`
		Scope       *string `json:"scope"`
		User        struct{ ID string }
	} `json:"login"`
}

const loginAudience = `mutation($a: String, $s: String) { login(connection: "main", email: "ada@example.com", password: "ada-password-1", audience: $a, scope: $s) { accessToken audience scope user { id } } }`

func loginFor(t *testing.T, e *env, audience, scope string) loginResult {
	t.Helper()
	var out loginResult
	data(t, "login "+audience, e.raw("", loginAudience, map[string]any{"a": audience, "s": scope}), &out)
	return out
}

// claimList returns the permissions claim as strings, and whether it is
// there.
func claimList(c jwt.MapClaims) ([]string, bool) {
	v, ok := c["permissions"]
	if !ok {
		return nil, false
	}
	out := []string{}
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out, true
}

type rbacFixture struct {
	user, reader, admin string
}

// setupRBAC: two APIs (orders enforces RBAC and adds the permissions
// claim; billing does neither), roles reader and admin, and the user ada
// of connection main.
func setupRBAC(t *testing.T, e *env) rbacFixture {
	t.Helper()
	wantOK(t, "create orders", e.raw(e.admin, `mutation { createApi(input: {identifier: "`+ordersAPI+`", name: "Orders", enforceRbac: true, permissionsInToken: true,
		permissions: [{name: "read:orders", description: "Read orders"}, {name: "write:orders"}, {name: "delete:orders"}]}) { id } }`, nil))
	wantOK(t, "create billing", e.raw(e.admin, `mutation { createApi(input: {identifier: "`+billingAPI+`", name: "Billing",
		permissions: [{name: "read:invoices"}, {name: "pay:invoices"}]}) { id } }`, nil))
	var r struct{ CreateRole struct{ ID string } }
	data(t, "create reader", e.raw(e.admin, `mutation { createRole(input: {name: "reader", description: "Reads orders", permissions: [{api: "`+ordersAPI+`", name: "read:orders"}]}) { id } }`, nil), &r)
	reader := r.CreateRole.ID
	data(t, "create admin", e.raw(e.admin, `mutation { createRole(input: {name: "admin", permissions: [{api: "`+ordersAPI+`", name: "read:orders"},
		{api: "`+ordersAPI+`", name: "write:orders"}, {api: "`+billingAPI+`", name: "read:invoices"}]}) { id } }`, nil), &r)
	admin := r.CreateRole.ID
	createDBConnection(t, e, "main")
	var u struct{ CreateUser struct{ ID string } }
	data(t, "create ada", e.raw(e.admin, `mutation { createUser(input: {connection: "main", email: "ada@example.com", password: "ada-password-1"}) { id } }`, nil), &u)
	return rbacFixture{user: u.CreateUser.ID, reader: reader, admin: admin}
}

const userRBAC = `query($id: ID!, $first: Int, $after: String) { user(id: $id) { roles { id name } permissions(first: $first, after: $after) {
	totalCount pageInfo { hasNextPage endCursor } nodes { api name sources { direct roleId roleName } } } } }`

type userRBACResult struct {
	User struct {
		Roles       []struct{ ID, Name string }
		Permissions struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Nodes []struct {
				API, Name string
				Sources   []struct {
					Direct           bool
					RoleID, RoleName *string
				}
			}
		}
	}
}

// sourcesOf renders a user's effective permissions as "api name: sources".
func sourcesOf(res userRBACResult) []string {
	var out []string
	for _, p := range res.User.Permissions.Nodes {
		var src []string
		for _, s := range p.Sources {
			if s.Direct {
				if s.RoleID != nil || s.RoleName != nil {
					return []string{"direct source with a role"}
				}
				src = append(src, "direct")
			} else {
				src = append(src, *s.RoleName)
			}
		}
		out = append(out, p.API+" "+p.Name+": "+strings.Join(src, ","))
	}
	return out
}

// TestRBACAssignmentsAndTokens: roles and direct permissions assigned to a
// user, the effective permissions with their sources, tokens for an API
// following its settings, and changes showing at the next token.
func TestRBACAssignmentsAndTokens(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		f := setupRBAC(t, e)
		wantOK(t, "assign roles", e.raw(e.admin, `mutation($u: ID!, $r: [ID!]!) { assignRoles(userId: $u, roles: $r) { id } }`,
			map[string]any{"u": f.user, "r": []string{f.reader, f.admin, f.reader}}))
		wantOK(t, "assign permissions", e.raw(e.admin, `mutation($u: ID!) { assignPermissions(userId: $u, permissions: [
			{api: "`+ordersAPI+`", name: "delete:orders"}, {api: "`+ordersAPI+`", name: "read:orders"}]) { id } }`, map[string]any{"u": f.user}))

		var res userRBACResult
		data(t, "user rbac", e.raw(e.admin, userRBAC, map[string]any{"id": f.user}), &res)
		if names := []string{res.User.Roles[0].Name, res.User.Roles[1].Name}; len(res.User.Roles) != 2 || !reflect.DeepEqual(names, []string{"admin", "reader"}) {
			t.Fatalf("roles = %+v", res.User.Roles)
		}
		want := []string{
			billingAPI + " read:invoices: admin",
			ordersAPI + " delete:orders: direct",
			ordersAPI + " read:orders: direct,admin,reader",
			ordersAPI + " write:orders: admin",
		}
		if got := sourcesOf(res); !reflect.DeepEqual(got, want) || res.User.Permissions.TotalCount != 4 {
			t.Fatalf("effective permissions = %q (total %d), want %q", got, res.User.Permissions.TotalCount, want)
		}
		// Pages of two.
		var p1, p2 userRBACResult
		data(t, "page 1", e.raw(e.admin, userRBAC, map[string]any{"id": f.user, "first": 2}), &p1)
		if !p1.User.Permissions.PageInfo.HasNextPage || len(p1.User.Permissions.Nodes) != 2 {
			t.Fatalf("page 1 = %+v", p1.User.Permissions)
		}
		data(t, "page 2", e.raw(e.admin, userRBAC, map[string]any{"id": f.user, "first": 2, "after": *p1.User.Permissions.PageInfo.EndCursor}), &p2)
		if p2.User.Permissions.PageInfo.HasNextPage || !reflect.DeepEqual(append(sourcesOf(p1), sourcesOf(p2)...), want) {
			t.Fatalf("pages = %q + %q", sourcesOf(p1), sourcesOf(p2))
		}

		// A token for orders (RBAC on, claim on): requested ∩ held, OIDC
		// scopes kept, unknown dropped; the claim lists all held.
		lr := loginFor(t, e, ordersAPI, "openid read:orders write:orders delete:orders refund:orders")
		c := apiClaims(t, e, lr.Login.AccessToken, ordersAPI)
		if c["scope"] != "openid read:orders write:orders delete:orders" || *lr.Login.Scope != c["scope"] || *lr.Login.Audience != ordersAPI || c["sub"] != f.user {
			t.Fatalf("claims %v, result scope %q", c, *lr.Login.Scope)
		}
		if perms, ok := claimList(c); !ok || !reflect.DeepEqual(perms, []string{"delete:orders", "read:orders", "write:orders"}) {
			t.Fatalf("permissions claim = %v (present %v)", perms, ok)
		}
		// That token is for the orders API, not for this service.
		wantRefused(t, "API token on the service", e.raw(lr.Login.AccessToken, `{ me { id } }`, nil), "UNAUTHENTICATED")

		// Billing (RBAC off, no claim): any defined scope requested, no
		// permissions claim.
		lr = loginFor(t, e, billingAPI, "pay:invoices read:invoices")
		c = apiClaims(t, e, lr.Login.AccessToken, billingAPI)
		if _, ok := c["permissions"]; ok || c["scope"] != "pay:invoices read:invoices" {
			t.Fatalf("billing claims = %v", c)
		}

		// Turning the claim off removes it from the next token.
		wantOK(t, "claim off", e.raw(e.admin, `mutation { updateApi(identifier: "`+ordersAPI+`", input: {permissionsInToken: false}) { permissionsInToken } }`, nil))
		c = apiClaims(t, e, loginFor(t, e, ordersAPI, "read:orders").Login.AccessToken, ordersAPI)
		if _, ok := c["permissions"]; ok || c["scope"] != "read:orders" {
			t.Fatalf("claim off: claims = %v", c)
		}
		wantOK(t, "claim on", e.raw(e.admin, `mutation { updateApi(identifier: "`+ordersAPI+`", input: {permissionsInToken: true}) { permissionsInToken } }`, nil))

		// Role.users and the search by role.
		var ru struct {
			Role struct {
				Users struct {
					TotalCount int
					Edges      []struct{ Node struct{ ID string } }
				}
			}
		}
		data(t, "role users", e.raw(e.admin, `query($id: ID!) { role(id: $id) { users { totalCount edges { node { id } } } } }`, map[string]any{"id": f.admin}), &ru)
		if ru.Role.Users.TotalCount != 1 || ru.Role.Users.Edges[0].Node.ID != f.user {
			t.Fatalf("role users = %+v", ru)
		}
		searchIDs := func(q string) []string {
			var s struct {
				Users struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			data(t, "search "+q, e.raw(e.admin, `query($q: String) { users(query: $q) { edges { node { id } } } }`, map[string]any{"q": q}), &s)
			var ids []string
			for _, ed := range s.Users.Edges {
				ids = append(ids, ed.Node.ID)
			}
			return ids
		}
		if got := searchIDs("roles:admin"); !reflect.DeepEqual(got, []string{f.user}) {
			t.Fatalf("roles:admin = %v", got)
		}

		// Removing admin shows at the next token: write:orders is gone.
		wantOK(t, "remove admin", e.raw(e.admin, `mutation($u: ID!, $r: [ID!]!) { removeRoles(userId: $u, roles: $r) { id } }`,
			map[string]any{"u": f.user, "r": []string{f.admin}}))
		c = apiClaims(t, e, loginFor(t, e, ordersAPI, "read:orders write:orders").Login.AccessToken, ordersAPI)
		if perms, _ := claimList(c); c["scope"] != "read:orders" || !reflect.DeepEqual(perms, []string{"delete:orders", "read:orders"}) {
			t.Fatalf("after removal: claims = %v", c)
		}
		if got := searchIDs("roles:admin"); got != nil {
			t.Fatalf("roles:admin after removal = %v", got)
		}
		if got := searchIDs("roles:reader AND NOT roles:admin"); !reflect.DeepEqual(got, []string{f.user}) {
			t.Fatalf("roles:reader AND NOT roles:admin = %v", got)
		}

		// An API dropping a permission takes it from users and roles.
		wantOK(t, "drop delete:orders", e.raw(e.admin, `mutation { updateApi(identifier: "`+ordersAPI+`", input: {permissions: [{name: "read:orders"}, {name: "write:orders"}]}) { id } }`, nil))
		data(t, "after drop", e.raw(e.admin, userRBAC, map[string]any{"id": f.user}), &res)
		if got := sourcesOf(res); !reflect.DeepEqual(got, []string{ordersAPI + " read:orders: direct,reader"}) {
			t.Fatalf("after the API dropped delete:orders: %q", got)
		}
		// Deleting a role takes it from its users.
		wantOK(t, "delete reader", e.raw(e.admin, `mutation($id: ID!) { deleteRole(id: $id) }`, map[string]any{"id": f.reader}))
		data(t, "after delete", e.raw(e.admin, userRBAC, map[string]any{"id": f.user}), &res)
		if got := sourcesOf(res); len(res.User.Roles) != 0 || !reflect.DeepEqual(got, []string{ordersAPI + " read:orders: direct"}) {
			t.Fatalf("after deleting reader: roles %v, %q", res.User.Roles, got)
		}

		// Who assigned what is in the user's logs.
		var logs struct {
			User struct {
				Logs struct {
					Edges []struct{ Node struct{ Type, Detail string } }
				}
			}
		}
		data(t, "logs", e.raw(e.admin, `query($id: ID!) { user(id: $id) { logs(first: 50) { edges { node { type detail } } } } }`, map[string]any{"id": f.user}), &logs)
		var got []string
		for _, ed := range logs.User.Logs.Edges {
			if strings.Contains(ed.Node.Type, "role") || strings.Contains(ed.Node.Type, "permission") {
				got = append(got, ed.Node.Type+": "+ed.Node.Detail)
			}
		}
		slices.Reverse(got)
		wantLogs := []string{
			"assign_roles: roles reader, admin, by test-admin",
			"assign_permissions: permissions " + ordersAPI + " delete:orders, " + ordersAPI + " read:orders, by test-admin",
			"remove_roles: roles admin, by test-admin",
		}
		if !reflect.DeepEqual(got, wantLogs) {
			t.Fatalf("logs = %q\nwant %q", got, wantLogs)
		}

		// An unknown audience is a clear error, and costs no attempt.
		r := e.raw("", loginAudience, map[string]any{"a": "https://nope.example.com", "s": "read:orders"})
		wantRefused(t, "unknown audience", r, "BAD_USER_INPUT", "no API has the identifier")
		if f, _ := r.Errors[0].Extensions["field"].(string); f != "audience" {
			t.Fatalf("field = %q", f)
		}
		wantRefused(t, "scope without audience", e.raw("", `mutation { login(connection: "main", email: "ada@example.com", password: "ada-password-1", scope: "read:orders") { accessToken } }`, nil), "BAD_USER_INPUT", "audience")
	})
}

// TestRBACLimits: 50 roles per user, 1,000 permissions per API (Auth0's
// defaults), and the configured total of roles and permissions per role;
// a refused change writes nothing.
func TestRBACLimits(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		f := setupRBAC(t, e)
		var ids []string
		for i := range 50 {
			var r struct{ CreateRole struct{ ID string } }
			data(t, "create role", e.raw(e.admin, `mutation($n: String!) { createRole(input: {name: $n}) { id } }`, map[string]any{"n": "r" + strings.Repeat("x", i%3) + itoa(i)}), &r)
			ids = append(ids, r.CreateRole.ID)
		}
		wantOK(t, "49 roles", e.raw(e.admin, `mutation($u: ID!, $r: [ID!]!) { assignRoles(userId: $u, roles: $r) { id } }`, map[string]any{"u": f.user, "r": ids[:49]}))
		r := e.raw(e.admin, `mutation($u: ID!, $r: [ID!]!) { assignRoles(userId: $u, roles: $r) { id } }`, map[string]any{"u": f.user, "r": []string{ids[49], f.reader}})
		wantRefused(t, "51st role", r, "LIMIT_EXCEEDED", "would be 51, over the limit of 50")
		if fl, _ := r.Errors[0].Extensions["field"].(string); fl != policy.LimitRolesPerUser {
			t.Fatalf("field = %q", fl)
		}
		var res userRBACResult
		data(t, "roles after refusal", e.raw(e.admin, userRBAC, map[string]any{"id": f.user}), &res)
		if len(res.User.Roles) != 49 {
			t.Fatalf("a refused assignment left %d roles", len(res.User.Roles))
		}
		wantOK(t, "50th role", e.raw(e.admin, `mutation($u: ID!, $r: [ID!]!) { assignRoles(userId: $u, roles: $r) { id } }`, map[string]any{"u": f.user, "r": []string{ids[49], ids[0]}}))

		// A request naming more than any limit allows is refused before
		// any work that grows with its size (no quadratic de-duplication of
		// a hostile list).
		many := make([]map[string]any, 5000)
		for i := range many {
			many[i] = map[string]any{"api": ordersAPI, "name": "p" + itoa(i)}
		}
		wantRefused(t, "5,000 permissions at once", e.raw(e.admin, `mutation($u: ID!, $p: [PermissionInput!]!) { assignPermissions(userId: $u, permissions: $p) { id } }`,
			map[string]any{"u": f.user, "p": many}), "LIMIT_EXCEEDED", "named in one request")
		perms := make([]map[string]any, 1001)
		for i := range perms {
			perms[i] = map[string]any{"name": "p:" + itoa(i)}
		}
		wantRefused(t, "1001 permissions", e.raw(e.admin, `mutation($p: [ApiPermissionInput!]) { createApi(input: {identifier: "https://big", name: "Big", permissions: $p}) { id } }`,
			map[string]any{"p": perms}), "LIMIT_EXCEEDED", "over the limit of 1000")
		wantOK(t, "1000 permissions", e.raw(e.admin, `mutation($p: [ApiPermissionInput!]) { createApi(input: {identifier: "https://big", name: "Big", permissions: $p}) { id } }`,
			map[string]any{"p": perms[:1000]}))
	})

	// Configured limits: 3 roles in all, 3 permissions per role.
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run("configured/"+string(k), func(t *testing.T) {
			s := testenv.Start(t, testenv.OpenStore(t, storeURL(t, k)), testenv.Options{Service: service.Config{RBACLimits: policy.RBACLimits{Roles: 3, PermissionsPerRole: 3}}})
			e := &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: testenv.NewClock(time.Now()), admin: s.Admin, gql: s.GraphQL(nil)}
			f := setupRBAC(t, e) // two roles; admin has three permissions
			wantOK(t, "third role", e.raw(e.admin, `mutation { createRole(input: {name: "third"}) { id } }`, nil))
			wantRefused(t, "fourth role", e.raw(e.admin, `mutation { createRole(input: {name: "fourth"}) { id } }`, nil), "LIMIT_EXCEEDED", "over the limit of 3")
			wantRefused(t, "a fourth permission", e.raw(e.admin, `mutation($id: ID!) { addRolePermissions(id: $id, permissions: [{api: "`+ordersAPI+`", name: "delete:orders"}]) { id } }`,
				map[string]any{"id": f.admin}), "LIMIT_EXCEEDED", "would be 4, over the limit of 3")
			var roles struct {
				Roles struct{ Nodes []struct{ Name string } }
			}
			data(t, "roles", e.raw(e.admin, `{ roles { nodes { name } } }`, nil), &roles)
			if len(roles.Roles.Nodes) != 3 {
				t.Fatalf("roles = %+v", roles)
			}
		})
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestRBACScopes: each operation needs its scope; an admin connection
// cannot hand out role or resource-server scopes its granter lacks; writes
// on an admin connection's users need its scopes; the service's own
// audience cannot name an API.
func TestRBACScopes(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		f := setupRBAC(t, e)
		readUsers := e.token(policy.ScopeReadUsers)
		wantRefused(t, "createRole without create:roles", e.raw(e.token(policy.ScopeUpdateRoles, policy.ScopeReadRoles), `mutation { createRole(input: {name: "x"}) { id } }`, nil), "FORBIDDEN", "create:roles")
		wantRefused(t, "roles without read:roles", e.raw(readUsers, `{ roles { nodes { id } } }`, nil), "FORBIDDEN", "read:roles")
		wantRefused(t, "User.roles without read:roles", e.raw(readUsers, userRBAC, map[string]any{"id": f.user}), "FORBIDDEN", "read:roles")
		wantRefused(t, "apis without read:resource_servers", e.raw(e.token(policy.ScopeReadRoles), `{ apis { id } }`, nil), "FORBIDDEN", "read:resource_servers")
		wantRefused(t, "createApi without create:resource_servers", e.raw(e.token(policy.ScopeUpdateResourceServers), `mutation { createApi(input: {identifier: "x", name: "x"}) { id } }`, nil), "FORBIDDEN", "create:resource_servers")
		wantRefused(t, "deleteRole without delete:roles", e.raw(e.token(policy.ScopeUpdateRoles), `mutation($id: ID!) { deleteRole(id: $id) }`, map[string]any{"id": f.reader}), "FORBIDDEN", "delete:roles")
		assign := `mutation($u: ID!, $r: [ID!]!) { assignRoles(userId: $u, roles: $r) { id } }`
		wantRefused(t, "assignRoles without update:users", e.raw(e.token(policy.ScopeUpdateRoles, policy.ScopeReadRoles), assign, map[string]any{"u": f.user, "r": []string{f.reader}}), "FORBIDDEN", "update:users")
		wantOK(t, "assignRoles with update:users", e.raw(e.token(policy.ScopeUpdateUsers), assign, map[string]any{"u": f.user, "r": []string{f.reader}}))
		// A user token manages nothing.
		var self struct{ Login struct{ AccessToken string } }
		data(t, "self login", e.raw("", `mutation { login(connection: "main", email: "ada@example.com", password: "ada-password-1") { accessToken } }`, nil), &self)
		wantRefused(t, "user token", e.raw(self.Login.AccessToken, `{ roles { nodes { id } } }`, nil), "FORBIDDEN")

		// An admin connection cannot grant a role scope its granter lacks.
		grant := `mutation($s: [String!]) { createConnection(input: {name: "staff", strategy: DATABASE, adminScopes: $s}) { adminScopes } }`
		granter := e.token(policy.ScopeCreateConnections, policy.ScopeReadRoles, policy.ScopeUpdateRoles)
		wantRefused(t, "grant create:roles", e.raw(granter, grant, map[string]any{"s": []string{"read:roles", "create:roles"}}), "FORBIDDEN", "lacks create:roles")
		wantRefused(t, "grant delete:resource_servers", e.raw(granter, grant, map[string]any{"s": []string{"delete:resource_servers"}}), "FORBIDDEN", "lacks delete:resource_servers")
		var conn struct {
			CreateConnection struct{ AdminScopes []string }
		}
		data(t, "grant held scopes", e.raw(granter, grant, map[string]any{"s": []string{"update:roles", "read:roles"}}), &conn)
		if !reflect.DeepEqual(conn.CreateConnection.AdminScopes, []string{"read:roles", "update:roles"}) {
			t.Fatalf("adminScopes = %v", conn.CreateConnection.AdminScopes)
		}
		// Its users are admins: assigning them roles needs those scopes.
		var u struct{ CreateUser struct{ ID string } }
		data(t, "create staff user", e.raw(e.admin, `mutation { createUser(input: {connection: "staff", email: "ops@example.com", password: "ops-password-1"}) { id } }`, nil), &u)
		wantRefused(t, "assign to an admin", e.raw(e.token(policy.ScopeUpdateUsers), assign, map[string]any{"u": u.CreateUser.ID, "r": []string{f.reader}}), "FORBIDDEN", "read:roles, update:roles")
		wantOK(t, "assign to an admin with its scopes", e.raw(e.token(policy.ScopeUpdateUsers, policy.ScopeReadRoles, policy.ScopeUpdateRoles), assign, map[string]any{"u": u.CreateUser.ID, "r": []string{f.reader}}))
		// And their management token carries the granted scopes, working.
		var adm struct {
			Login struct{ ManagementToken string }
		}
		data(t, "admin login", e.raw("", `mutation { login(connection: "staff", email: "ops@example.com", password: "ops-password-1") { managementToken } }`, nil), &adm)
		wantOK(t, "admin reads roles", e.raw(adm.Login.ManagementToken, `{ roles { nodes { id } } }`, nil))
		wantRefused(t, "admin creates a role", e.raw(adm.Login.ManagementToken, `mutation { createRole(input: {name: "mine"}) { id } }`, nil), "FORBIDDEN", "create:roles")

		// The service's own audience is no API's.
		wantRefused(t, "own audience", e.raw(e.admin, `mutation { createApi(input: {identifier: "profiled", name: "Mine"}) { id } }`, nil), "BAD_USER_INPUT", "own audience")
		wantRefused(t, "duplicate identifier", e.raw(e.admin, `mutation { createApi(input: {identifier: "`+ordersAPI+`", name: "Again"}) { id } }`, nil), "BAD_USER_INPUT", "already exists")
		wantRefused(t, "unknown permission", e.raw(e.admin, `mutation { createRole(input: {name: "y", permissions: [{api: "`+ordersAPI+`", name: "fly"}]}) { id } }`, nil), "BAD_USER_INPUT", "defines no permission")
		wantRefused(t, "duplicate role", e.raw(e.admin, `mutation { createRole(input: {name: "reader"}) { id } }`, nil), "BAD_USER_INPUT", "already exists")
	})
}

// TestRBACLimitsConcurrent: two requests that each fit the 50-roles limit
// but not together, sent at once, again and again: exactly one wins each
// time (the user's row is locked while its roles are counted).
func TestRBACLimitsConcurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		f := setupRBAC(t, e)
		var ids []string
		for i := range 52 {
			var r struct{ CreateRole struct{ ID string } }
			data(t, "create role", e.raw(e.admin, `mutation($n: String!) { createRole(input: {name: $n}) { id } }`, map[string]any{"n": "c" + itoa(i)}), &r)
			ids = append(ids, r.CreateRole.ID)
		}
		assign := `mutation($u: ID!, $r: [ID!]!) { assignRoles(userId: $u, roles: $r) { id } }`
		remove := `mutation($u: ID!, $r: [ID!]!) { removeRoles(userId: $u, roles: $r) { id } }`
		wantOK(t, "48 roles", e.raw(e.admin, assign, map[string]any{"u": f.user, "r": ids[:48]}))
		for round := range 5 {
			results := make(chan gqlResponse, 2)
			for _, pair := range [][]string{ids[48:50], ids[50:52]} {
				go func() {
					results <- gqlResponse(e.gql.Query(t, e.admin, assign, map[string]any{"u": f.user, "r": pair}))
				}()
			}
			a, b := <-results, <-results
			ok := 0
			for _, r := range []gqlResponse{a, b} {
				switch r.code() {
				case "":
					ok++
				case "LIMIT_EXCEEDED":
				default:
					t.Fatalf("round %d: %s", round, r.Raw)
				}
			}
			var res userRBACResult
			data(t, "roles", e.raw(e.admin, userRBAC, map[string]any{"id": f.user}), &res)
			if ok != 1 || len(res.User.Roles) != 50 {
				t.Fatalf("round %d: %d requests succeeded, the user holds %d roles", round, ok, len(res.User.Roles))
			}
			wantOK(t, "reset", e.raw(e.admin, remove, map[string]any{"u": f.user, "r": ids[48:]}))
		}
	})
}
