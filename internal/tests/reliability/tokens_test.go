package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
)

// tokenFixture is a SQLite env with two DATABASE users, a user token for
// the first and the store's real signing key (to forge well-signed tokens
// with bad claims).
type tokenFixture struct {
	e              *env
	self, other    string // user ids
	userToken      string
	idToken        string
	key            *rsa.PrivateKey
	kid            string
	selfEmail      string
	otherEmail     string
	managementPass string
}

func newTokenFixture(t *testing.T) *tokenFixture {
	t.Helper()
	e := newEnv(t, envConfig{})
	ctx := context.Background()
	createDBConnection(t, e, "main")
	f := &tokenFixture{e: e, selfEmail: "self@example.com", otherEmail: "other@example.com"}
	for _, em := range []string{f.selfEmail, f.otherEmail} {
		r, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{
			Connection: "main", Email: em, Password: ptr("password-" + em),
			UserMetadata: obj(map[string]any{"lang": "en"}), AppMetadata: obj(map[string]any{"plan": "free", "roles": []any{"user"}}),
		})
		mustNoErr(t, err)
		if em == f.selfEmail {
			f.self = r.CreateUser.Id
		} else {
			f.other = r.CreateUser.Id
		}
	}
	l, err := client.Login(ctx, e.client(""), "main", f.selfEmail, "password-"+f.selfEmail)
	mustNoErr(t, err)
	f.userToken, f.idToken = l.Login.AccessToken, l.Login.IdToken
	keys, err := e.store.SigningKeys(ctx)
	mustNoErr(t, err)
	block, _ := pem.Decode(keys[0].PrivatePEM)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	mustNoErr(t, err)
	f.key, f.kid = k.(*rsa.PrivateKey), keys[0].KID
	return f
}

// claims are a valid management token's claims; callers change them.
func (f *tokenFixture) claims() jwt.MapClaims {
	now := time.Now()
	scopes := make([]string, len(policy.ManagementScopes))
	for i, s := range policy.ManagementScopes {
		scopes[i] = string(s)
	}
	return jwt.MapClaims{
		"iss": "profiled", "aud": "profiled", "sub": "forger", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "jti": "x", "token_use": "management", "scope": strings.Join(scopes, " "),
	}
}

// signRS256 signs claims with key under header fields (kid, typ).
func signRS256(t *testing.T, key *rsa.PrivateKey, header map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	mustNoErr(t, err)
	return s
}

// unsigned builds header.payload. with any header (alg none and friends).
func unsigned(header map[string]any, c jwt.MapClaims, sig string) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "." + sig
}

// hmacWith signs claims with HS256/384/512 using secret as the key.
func hmacWith(t *testing.T, m jwt.SigningMethod, kid string, secret []byte, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	tok.Header["kid"], tok.Header["typ"] = kid, "at+jwt"
	s, err := tok.SignedString(secret)
	mustNoErr(t, err)
	return s
}

// publicKeyForms fetches /.well-known/jwks.json and returns the public key
// in every encoding an algorithm-confusion attacker would try as an HMAC
// secret.
func (f *tokenFixture) publicKeyForms(t *testing.T) map[string][]byte {
	t.Helper()
	res, err := f.e.http.Get(f.e.srv.URL + "/.well-known/jwks.json")
	mustNoErr(t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	mustNoErr(t, json.Unmarshal(raw, &set))
	if len(set.Keys) == 0 {
		t.Fatalf("empty JWKS: %s", raw)
	}
	jwk := set.Keys[0]
	n, _ := base64.RawURLEncoding.DecodeString(jwk["n"])
	e, _ := base64.RawURLEncoding.DecodeString(jwk["e"])
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if !pub.Equal(&f.key.PublicKey) {
		t.Fatal("JWKS does not publish the signing key")
	}
	pkix, _ := x509.MarshalPKIXPublicKey(pub)
	pkcs1 := x509.MarshalPKCS1PublicKey(pub)
	jwkJSON, _ := json.Marshal(jwk)
	return map[string][]byte{
		"PKIX PEM":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		"PKCS1 PEM": pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1}),
		"PKIX DER":  pkix,
		"JWK JSON":  jwkJSON,
		"JWKS body": raw,
		"modulus":   n,
	}
}

// TestForgedTokens: every forged, stale or misdirected token is refused
// with UNAUTHENTICATED on a management operation and on a self-service
// one, and the refusal names no key material.
func TestForgedTokens(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	hdr := func() map[string]any { return map[string]any{"kid": f.kid, "typ": "at+jwt"} }
	with := func(change func(c jwt.MapClaims)) jwt.MapClaims {
		c := f.claims()
		change(c)
		return c
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	mustNoErr(t, err)
	now := time.Now()

	cases := map[string]string{
		"garbage": "not.a.jwt",
		"empty signature RS256": func() string {
			s := signRS256(t, f.key, hdr(), f.claims())
			return s[:strings.LastIndexByte(s, '.')+1]
		}(),
		"wrong issuer":         signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
		"no issuer":            signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { delete(c, "iss") })),
		"wrong audience":       signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { c["aud"] = "another-service" })),
		"audience list, wrong": signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { c["aud"] = []string{"a", "b"} })),
		"no audience":          signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { delete(c, "aud") })),
		"expired": signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = now.Add(-3*time.Hour).Unix(), now.Add(-3*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		})),
		"no expiry":     signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"not yet valid": signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })),
		"issued in the future": signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) {
			c["iat"], c["nbf"] = now.Add(time.Hour).Unix(), now.Add(time.Hour).Unix()
		})),
		"no subject":           signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { delete(c, "sub") })),
		"token_use id":         signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { c["token_use"] = "id" })),
		"no token_use":         signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { delete(c, "token_use") })),
		"typ JWT":              signRS256(t, f.key, map[string]any{"kid": f.kid, "typ": "JWT"}, f.claims()),
		"unknown kid":          signRS256(t, otherKey, map[string]any{"kid": "attacker-1", "typ": "at+jwt"}, f.claims()),
		"no kid":               signRS256(t, f.key, map[string]any{"typ": "at+jwt"}, f.claims()),
		"known kid, other key": signRS256(t, otherKey, hdr(), f.claims()),
		"ID token":             f.idToken,
		"user token, tampered scope": func() string {
			parts := strings.Split(f.userToken, ".")
			var c map[string]any
			p, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(p, &c)
			c["scope"], c["token_use"] = f.claims()["scope"], "management"
			p, _ = json.Marshal(c)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
		}(),
		"oversized": signRS256(t, f.key, hdr(), with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 10<<10) })),
	}
	for _, alg := range []string{"none", "None", "NONE", "nOnE", ""} {
		h := map[string]any{"alg": alg, "typ": "at+jwt", "kid": f.kid}
		cases["alg "+alg+" (no signature)"] = unsigned(h, f.claims(), "")
		cases["alg "+alg+" (RS256 signature kept)"] = unsigned(h, f.claims(), strings.Split(signRS256(t, f.key, hdr(), f.claims()), ".")[2])
	}
	for form, secret := range f.publicKeyForms(t) {
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512} {
			cases[m.Alg()+" with the public key, "+form] = hmacWith(t, m, f.kid, secret, f.claims())
		}
	}
	// Control: the same claims, well signed, are accepted, so each refusal
	// below is for the one thing its case changes.
	if r := f.e.raw(signRS256(t, f.key, hdr(), f.claims()), `{ users { totalCount } }`, nil); len(r.Errors) > 0 {
		t.Fatalf("control token refused: %s", r.Raw)
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			for _, q := range []string{`{ users { totalCount } }`, `{ me { id } }`, `mutation { deleteUser(id: "` + f.other + `") }`} {
				r := f.e.raw(tok, q, nil)
				if r.code() != "UNAUTHENTICATED" {
					t.Fatalf("%s: %s", q, r.Raw)
				}
				if contains(r.Raw, f.kid+"\"") || contains(strings.ToLower(r.Raw), "modulus") {
					t.Fatalf("refusal mentions key material: %s", r.Raw)
				}
			}
		})
	}
	// Nothing was deleted by any of them.
	if g, err := client.GetUser(context.Background(), f.e.adminClient(), f.other); err != nil || g.User == nil {
		t.Fatalf("other user after the forged tokens: %v %+v", err, g)
	}

	// Header tricks around a valid token.
	for name, h := range map[string][]string{
		"two headers, valid and forged": {"Bearer " + f.e.admin, "Bearer " + cases["alg none (no signature)"]},
		"basic scheme":                  {"Basic " + f.e.admin},
		"token without scheme":          {f.e.admin},
		"bearer with two tokens":        {"Bearer " + f.e.admin + " " + f.e.admin},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.e.srv.URL+"/graphql", strings.NewReader(`{"query":"{ users { totalCount } }"}`))
			req.Header.Set("Content-Type", "application/json")
			for _, v := range h {
				req.Header.Add("Authorization", v)
			}
			res, err := f.e.http.Do(req)
			mustNoErr(t, err)
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if !contains(string(b), `"UNAUTHENTICATED"`) {
				t.Fatalf("%s", b)
			}
		})
	}
}

// managementOp is one management operation, as a GraphQL request.
type managementOp struct {
	name   string
	scopes []policy.Scope // any one of them is enough
	query  string
	vars   map[string]any
	upload []byte // sent as multipart with the file at variables.f
}

// managementOps lists every operation that needs a management token. The
// test below fails when the schema has a root field that is in neither
// this list nor selfOrPublic, so a new operation is classified on purpose.
func (f *tokenFixture) managementOps() []managementOp {
	id, other := f.self, f.other
	return []managementOp{
		{name: "user", scopes: []policy.Scope{policy.ScopeReadUsers}, query: `query($id: ID!) { user(id: $id) { id } }`, vars: map[string]any{"id": other}},
		{name: "users", scopes: []policy.Scope{policy.ScopeReadUsers}, query: `{ users { totalCount } }`},
		{name: "users(query:)", scopes: []policy.Scope{policy.ScopeReadUsers}, query: `{ users(query: "email:other@example.com") { edges { node { id email } } } }`},
		{name: "usersByEmail", scopes: []policy.Scope{policy.ScopeReadUsers}, query: `{ usersByEmail(email: "other@example.com") { id } }`},
		{name: "connection", scopes: []policy.Scope{policy.ScopeReadConnections}, query: `{ connection(name: "main") { name } }`},
		{name: "connections", scopes: []policy.Scope{policy.ScopeReadConnections}, query: `{ connections { name } }`},
		{name: "stats", scopes: []policy.Scope{policy.ScopeReadUsers}, query: `{ stats { users } }`},
		{name: "job", scopes: []policy.Scope{policy.ScopeReadUsers}, query: `{ job(id: "nope") { id } }`},
		{name: "createConnection", scopes: []policy.Scope{policy.ScopeCreateConnections}, query: `mutation { createConnection(input: {name: "evil", strategy: DATABASE}) { name } }`},
		{name: "updateConnection", scopes: []policy.Scope{policy.ScopeUpdateConnections}, query: `mutation { updateConnection(name: "main", input: {syncUserProfile: false}) { name } }`},
		{name: "setConnectionScript", scopes: []policy.Scope{policy.ScopeUpdateConnections}, query: `mutation($f: Upload!) { setConnectionScript(connection: "main", wasm: $f) { name } }`, upload: []byte("\x00asm\x01\x00\x00\x00")},
		{name: "tryConnectionScript", scopes: []policy.Scope{policy.ScopeUpdateConnections}, query: `mutation { tryConnectionScript(connection: "main", action: LOGIN, email: "other@example.com", password: "password-other@example.com") { ok } }`},
		{name: "createUser", scopes: []policy.Scope{policy.ScopeCreateUsers}, query: `mutation { createUser(input: {connection: "main", email: "new@example.com", password: "password-123"}) { id } }`},
		{name: "updateUser", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation($id: ID!) { updateUser(id: $id, input: {name: "pwned"}) { id } }`, vars: map[string]any{"id": other}},
		{name: "updateUser self appMetadata", scopes: []policy.Scope{policy.ScopeUpdateUsers, policy.ScopeUpdateUsersAppMetadata}, query: `mutation($id: ID!) { updateUser(id: $id, input: {appMetadata: {plan: "enterprise"}}) { id } }`, vars: map[string]any{"id": id}},
		{name: "changePassword", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation($id: ID!) { changePassword(id: $id, password: "password-pwned") }`, vars: map[string]any{"id": other}},
		{name: "markEmailVerified", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation($id: ID!) { markEmailVerified(id: $id) { id } }`, vars: map[string]any{"id": other}},
		{name: "resetPassword", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation { resetPassword(connection: "main", email: "other@example.com", password: "password-pwned") }`},
		{name: "deleteUser", scopes: []policy.Scope{policy.ScopeDeleteUsers}, query: `mutation($id: ID!) { deleteUser(id: $id) }`, vars: map[string]any{"id": other}},
		{name: "importUsers", scopes: []policy.Scope{policy.ScopeCreateUsers}, query: `mutation($f: Upload!) { importUsers(connection: "main", file: $f) { id } }`, upload: []byte(`{"email":"imp@example.com"}` + "\n")},
		{name: "exportUsers", scopes: []policy.Scope{policy.ScopeReadUsers}, query: `mutation { exportUsers(format: NDJSON) { id } }`},
		// Roles and permissions (issue 16).
		{name: "apis", scopes: []policy.Scope{policy.ScopeReadResourceServers}, query: `{ apis { identifier } }`},
		{name: "api", scopes: []policy.Scope{policy.ScopeReadResourceServers}, query: `{ api(identifier: "https://x") { identifier } }`},
		{name: "roles", scopes: []policy.Scope{policy.ScopeReadRoles}, query: `{ roles { nodes { id } } }`},
		{name: "role", scopes: []policy.Scope{policy.ScopeReadRoles}, query: `{ role(id: "rol_x") { id } }`},
		{name: "createApi", scopes: []policy.Scope{policy.ScopeCreateResourceServers}, query: `mutation { createApi(input: {identifier: "https://evil", name: "evil"}) { id } }`},
		{name: "updateApi", scopes: []policy.Scope{policy.ScopeUpdateResourceServers}, query: `mutation { updateApi(identifier: "https://x", input: {name: "evil"}) { id } }`},
		{name: "deleteApi", scopes: []policy.Scope{policy.ScopeDeleteResourceServers}, query: `mutation { deleteApi(identifier: "https://x") }`},
		{name: "createRole", scopes: []policy.Scope{policy.ScopeCreateRoles}, query: `mutation { createRole(input: {name: "evil"}) { id } }`},
		{name: "updateRole", scopes: []policy.Scope{policy.ScopeUpdateRoles}, query: `mutation { updateRole(id: "rol_x", input: {name: "evil"}) { id } }`},
		{name: "deleteRole", scopes: []policy.Scope{policy.ScopeDeleteRoles}, query: `mutation { deleteRole(id: "rol_x") }`},
		{name: "addRolePermissions", scopes: []policy.Scope{policy.ScopeUpdateRoles}, query: `mutation { addRolePermissions(id: "rol_x", permissions: [{api: "https://x", name: "p"}]) { id } }`},
		{name: "removeRolePermissions", scopes: []policy.Scope{policy.ScopeUpdateRoles}, query: `mutation { removeRolePermissions(id: "rol_x", permissions: [{api: "https://x", name: "p"}]) { id } }`},
		{name: "assignRoles", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation($id: ID!) { assignRoles(userId: $id, roles: ["rol_x"]) { id } }`, vars: map[string]any{"id": id}},
		{name: "removeRoles", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation($id: ID!) { removeRoles(userId: $id, roles: ["rol_x"]) { id } }`, vars: map[string]any{"id": id}},
		{name: "assignPermissions", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation($id: ID!) { assignPermissions(userId: $id, permissions: [{api: "https://x", name: "p"}]) { id } }`, vars: map[string]any{"id": id}},
		{name: "removePermissions", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation($id: ID!) { removePermissions(userId: $id, permissions: [{api: "https://x", name: "p"}]) { id } }`, vars: map[string]any{"id": id}},
		// Applications, devices and grants (issue 15).
		{name: "applications", scopes: []policy.Scope{policy.ScopeReadClients}, query: `{ applications { id } }`},
		{name: "application", scopes: []policy.Scope{policy.ScopeReadClients}, query: `{ application(id: "nope") { id } }`},
		{name: "createApplication", scopes: []policy.Scope{policy.ScopeCreateClients}, query: `mutation { createApplication(input: {name: "evil", type: M2M}) { clientSecret } }`},
		{name: "updateApplication", scopes: []policy.Scope{policy.ScopeUpdateClients}, query: `mutation { updateApplication(id: "nope", input: {name: "x"}) { id } }`},
		{name: "rotateApplicationSecret", scopes: []policy.Scope{policy.ScopeUpdateClients}, query: `mutation { rotateApplicationSecret(id: "nope") { clientSecret } }`},
		{name: "deleteApplication", scopes: []policy.Scope{policy.ScopeDeleteClients}, query: `mutation { deleteApplication(id: "nope") }`},
		{name: "unlinkDevice", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation { unlinkDevice(id: "nope") { id } }`},
		{name: "revokeGrant", scopes: []policy.Scope{policy.ScopeUpdateUsers}, query: `mutation { revokeGrant(id: "nope") { id } }`},
	}
}

// selfOrPublic are the root fields a user token or no token may use.
var selfOrPublic = []string{"me", "updateMe", "signup", "login", "unlinkMyDevice", "revokeMyGrant"}

// send runs op with token (multipart when it uploads).
func (f *tokenFixture) send(t *testing.T, token string, op managementOp) gqlResponse {
	t.Helper()
	if op.upload == nil {
		return f.e.raw(token, op.query, op.vars)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	vars := map[string]any{"f": nil}
	for k, v := range op.vars {
		vars[k] = v
	}
	ops, _ := json.Marshal(map[string]any{"query": op.query, "variables": vars})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.f"]}`)
	fw, _ := w.CreateFormFile("0", "file")
	_, _ = fw.Write(op.upload)
	_ = w.Close()
	r, err := f.e.post(token, w.FormDataContentType(), body.Bytes())
	mustNoErr(t, err)
	return r
}

// rootFields lists the schema's Query and Mutation fields by introspection.
func rootFields(t *testing.T, e *env) []string {
	t.Helper()
	r := e.raw(e.admin, `{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`, nil)
	var d struct {
		Schema struct {
			QueryType, MutationType struct {
				Fields []struct{ Name string } `json:"fields"`
			}
		} `json:"__schema"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) > 0 {
		t.Fatalf("introspection: %v %s", err, r.Raw)
	}
	var out []string
	for _, fl := range append(d.Schema.QueryType.Fields, d.Schema.MutationType.Fields...) {
		out = append(out, fl.Name)
	}
	return out
}

// TestUserTokenBoundaries: a user token gets FORBIDDEN on every management
// operation (every root field of the schema is classified), never reads or
// writes appMetadata, never reaches another user and never searches; and a
// token with update:users_app_metadata alone changes appMetadata and
// nothing else. Nothing any refused request tried is written.
func TestUserTokenBoundaries(t *testing.T) {
	t.Parallel()
	f := newTokenFixture(t)
	ops := f.managementOps()
	known := map[string]bool{}
	for _, op := range ops {
		known[strings.Split(op.name, "(")[0]] = true
		known[strings.Fields(op.name)[0]] = true
	}
	for _, n := range selfOrPublic {
		known[n] = true
	}
	for _, fl := range rootFields(t, f.e) {
		if !known[fl] && !strings.HasPrefix(fl, "__") {
			t.Errorf("root field %q is not classified in reliability/tokens_test.go (managementOps or selfOrPublic): add it", fl)
		}
	}
	appOnly := f.e.token(policy.ScopeUpdateUsersAppMetadata)
	for _, op := range ops {
		t.Run("user token/"+op.name, func(t *testing.T) {
			if r := f.send(t, f.userToken, op); r.code() != "FORBIDDEN" {
				t.Fatalf("%s", r.Raw)
			}
		})
		if slices.Contains(op.scopes, policy.ScopeUpdateUsersAppMetadata) {
			continue
		}
		t.Run("update:users_app_metadata token/"+op.name, func(t *testing.T) {
			if r := f.send(t, appOnly, op); r.code() != "FORBIDDEN" {
				t.Fatalf("%s", r.Raw)
			}
		})
	}

	// Field-level: a user token reading its own user.
	self := []struct {
		name, query, wantCode string
	}{
		{"me", `{ me { id email userMetadata } }`, ""},
		{"me.appMetadata", `{ me { id appMetadata } }`, "FORBIDDEN"},
		{"me.logs", `{ me { id logs { edges { node { type } } } } }`, "FORBIDDEN"},
		{"me.fieldRules", `{ me { id fieldRules { field } } }`, "FORBIDDEN"},
		{"me.devices", `{ me { id devices { id } authorizedApplications { id } } }`, ""},
		{"unlinkMyDevice of nobody's", `mutation { unlinkMyDevice(id: "nope") { id } }`, "NOT_FOUND"},
		{"updateMe returning appMetadata", `mutation { updateMe(userMetadata: {lang: "fr"}) { appMetadata } }`, "FORBIDDEN"},
		{"updateMe with appMetadata", `mutation { updateMe(userMetadata: {}, appMetadata: {plan: "enterprise"}) { id } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"signup with appMetadata", `mutation { signup(connection: "main", email: "s2@example.com", password: "password-s2", appMetadata: {plan: "enterprise"}) { id } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"updateMe nested app_metadata key", `mutation { updateMe(userMetadata: {app_metadata: {plan: "enterprise"}, appMetadata: {plan: "x"}}) { id } }`, ""},
	}
	for _, c := range self {
		t.Run("self/"+c.name, func(t *testing.T) {
			r := f.e.raw(f.userToken, c.query, nil)
			if r.code() != c.wantCode {
				t.Fatalf("code %q, want %q: %s", r.code(), c.wantCode, r.Raw)
			}
			if contains(r.Raw, `"plan"`) || contains(r.Raw, "enterprise") && c.wantCode != "" {
				t.Fatalf("app metadata leaked: %s", r.Raw)
			}
		})
	}

	// update:users_app_metadata alone: appMetadata yes, every other field no.
	ctx := context.Background()
	c := f.e.client(appOnly)
	_, err := client.UpdateUser(ctx, c, f.other, client.UpdateUserInput{AppMetadata: obj(map[string]any{"plan": "pro"})})
	mustNoErr(t, err)
	for name, in := range map[string]client.UpdateUserInput{
		"email": {Email: ptr("x@example.com")}, "emailVerified": {EmailVerified: ptr(true)}, "username": {Username: ptr("x")},
		"phoneNumber": {PhoneNumber: ptr("+15550100")}, "password": {Password: ptr("password-pwned")}, "name": {Name: ptr("x")},
		"givenName": {GivenName: ptr("x")}, "familyName": {FamilyName: ptr("x")}, "nickname": {Nickname: ptr("x")},
		"picture": {Picture: ptr("https://example.com/x.png")}, "blocked": {Blocked: ptr(true)},
		"userMetadata":                 {UserMetadata: obj(map[string]any{"a": 1})},
		"appMetadata and name":         {AppMetadata: obj(map[string]any{"plan": "max"}), Name: ptr("x")},
		"appMetadata and userMetadata": {AppMetadata: obj(map[string]any{"plan": "max"}), UserMetadata: obj(map[string]any{"a": 1})},
	} {
		t.Run("update:users_app_metadata/"+name, func(t *testing.T) {
			_, err := client.UpdateUser(ctx, c, f.other, in)
			wantCode(t, err, "FORBIDDEN")
		})
	}

	// Nothing any refused request tried was written.
	checkUser := func(id, email, plan string) {
		t.Helper()
		r := f.e.raw(f.e.admin, `query($id: ID!) { user(id: $id) { email name blocked emailVerified userMetadata appMetadata } }`, map[string]any{"id": id})
		var d struct {
			User struct {
				Email, Name   *string
				Blocked       bool
				EmailVerified bool
				UserMetadata  map[string]any
				AppMetadata   map[string]any
			}
		}
		if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) > 0 {
			t.Fatalf("read %s: %s", id, r.Raw)
		}
		u := d.User
		if u.Email == nil || *u.Email != email || u.Name != nil || u.Blocked || u.EmailVerified || u.AppMetadata["plan"] != plan ||
			len(u.AppMetadata) != 2 || u.UserMetadata["a"] != nil {
			t.Fatalf("user %s changed: %s", email, r.Raw)
		}
	}
	checkUser(f.self, f.selfEmail, "free")
	checkUser(f.other, f.otherEmail, "pro")
	for _, pw := range []string{"password-" + f.otherEmail} {
		_, err := client.Login(ctx, f.e.client(""), "main", f.otherEmail, pw)
		mustNoErr(t, err)
	}
	if r := f.e.raw(f.e.admin, `{ users { totalCount } connections { name } }`, nil); !contains(r.Raw, `"totalCount":2`) || contains(r.Raw, "evil") {
		t.Fatalf("a refused request created something: %s", r.Raw)
	}
}
