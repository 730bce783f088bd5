package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
)

// countingTokens counts the signatures the service asks the keyring for.
type countingTokens struct {
	*auth.Keyring
	user, id, api, mgmt atomic.Int32
}

func (c *countingTokens) IssueUser(u policy.User) (string, time.Duration, error) {
	c.user.Add(1)
	return c.Keyring.IssueUser(u)
}

func (c *countingTokens) IssueIDToken(u policy.User) (string, error) {
	c.id.Add(1)
	return c.Keyring.IssueIDToken(u)
}

func (c *countingTokens) IssueAPI(u policy.User, aud string, g policy.APITokenGrant) (string, time.Duration, error) {
	c.api.Add(1)
	return c.Keyring.IssueAPI(u, aud, g)
}

func (c *countingTokens) IssueManagement(scopes []policy.Scope, subject string, ttl time.Duration) (string, error) {
	c.mgmt.Add(1)
	return c.Keyring.IssueManagement(scopes, subject, ttl)
}

// signatures returns and resets the counts: access, ID.
func (c *countingTokens) signatures() (access, id int32) {
	return c.user.Swap(0) + c.api.Swap(0) + c.mgmt.Swap(0), c.id.Swap(0)
}

// startKeysEnv serves a fresh SQLite store whose first signing key is of
// algorithm alg, the service's signatures counted.
func startKeysEnv(t testing.TB, alg auth.Algorithm) (*env, *countingTokens) {
	t.Helper()
	store := testenv.OpenStore(t, storeURL(t, sqliteStore))
	clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	var counter *countingTokens
	s := testenv.Start(t, store, testenv.Options{Service: service.Config{Now: clk.Now}, SigningAlg: alg,
		WrapTokens: func(k *auth.Keyring) service.Tokens { counter = &countingTokens{Keyring: k}; return counter }})
	e := &env{t: t, store: s.Store, keyring: s.Keyring, srv: s.HTTP, clock: clk, admin: s.Admin, gql: s.GraphQL(nil), svc: s.Service, issuer: s.Issuer}
	return e, counter
}

// TestLoginSignsIDTokenOnlyWhenSelected: the login mutation signs the ID
// token only when the operation selects idToken — through an alias, a
// fragment, @include — and the OpenID Provider's sign-in signs nothing
// through the service (it makes its own tokens), and no ID token at all
// for a password grant without the openid scope.
func TestLoginSignsIDTokenOnlyWhenSelected(t *testing.T) {
	e, count := startKeysEnv(t, auth.ES256)
	createDBConnection(t, e, "main")
	oidcUser(t, e, "id@example.com")
	count.signatures()
	vars := map[string]any{"e": "id@example.com", "p": "correct horse battery"}
	const head = `mutation($e: String!, $p: String!) { login(connection: "main", email: $e, password: $p) `
	cases := []struct {
		name, sel string
		idToken   bool
	}{
		{"access token only", `{ accessToken expiresIn user { id } }`, false},
		{"idToken", `{ accessToken idToken }`, true},
		{"aliased", `{ accessToken t: idToken }`, true},
		{"in a fragment", `{ ...F } } fragment F on AuthResult { accessToken idToken`, true},
		{"in an inline fragment", `{ ... on AuthResult { idToken } }`, true},
		{"skipped", `{ accessToken idToken @skip(if: true) }`, false},
		{"not included", `{ accessToken idToken @include(if: false) }`, false},
		{"only user", `{ user { id email } }`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.raw("", head+c.sel+` }`, vars)
			wantOK(t, c.name, r)
			access, id := count.signatures()
			if access != 1 || (id == 1) != c.idToken || id > 1 {
				t.Fatalf("%d access and %d ID token signatures; want 1 and %v", access, id, c.idToken)
			}
			if c.idToken && !strings.Contains(string(r.Data), `"eyJ`) {
				t.Fatalf("no token in %s", r.Data)
			}
		})
	}

	// The OpenID Provider's password grant: the service authenticates and
	// signs nothing; without openid there is no ID token.
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{SetGrantTypes: true,
		GrantTypes: []string{service.GrantAuthorizationCode, service.GrantPassword}, SetConnections: true, Connections: []string{"main"}})
	ctx := context.Background()
	conf := app.conf
	conf.Scopes = []string{"email"}
	tok, err := conf.PasswordCredentialsToken(ctx, "id@example.com", "correct horse battery")
	mustNoErr(t, err)
	if idt, _ := tok.Extra("id_token").(string); idt != "" || tok.AccessToken == "" {
		t.Fatalf("password grant without openid: id_token %q, access token %q", idt, tok.AccessToken)
	}
	if r := meEmail(t, e, tok.AccessToken); !strings.Contains(string(r.Data), "id@example.com") {
		t.Fatalf("me with that access token: %s", r.Raw)
	}
	conf.Scopes = []string{"openid", "email"}
	tok, err = conf.PasswordCredentialsToken(ctx, "id@example.com", "correct horse battery")
	mustNoErr(t, err)
	if idt, _ := tok.Extra("id_token").(string); idt == "" {
		t.Fatal("password grant with openid: no id_token")
	}
	if access, id := count.signatures(); access != 0 || id != 0 {
		t.Fatalf("the OpenID Provider's sign-ins made the service sign %d access and %d ID tokens", access, id)
	}
}

// TestSigningAlgorithmsAtTheEdge: with an ES256 or an EdDSA key (and
// RS256, the control), tokens from the login mutation and ID tokens from
// the OpenID Provider verify with libraries nobody here wrote against the
// served JWKS — go-jose reads it and checks the access and ID tokens,
// coreos/go-oidc discovers the provider and verifies its ID token — and a
// rotation to the next algorithm keeps the old tokens working through the
// grace, then refuses them, cached or not.
func TestSigningAlgorithmsAtTheEdge(t *testing.T) {
	next := map[auth.Algorithm]auth.Algorithm{auth.RS256: auth.ES256, auth.ES256: auth.EdDSA, auth.EdDSA: auth.RS256}
	kty := map[auth.Algorithm]string{auth.RS256: "RSA", auth.ES256: "EC", auth.EdDSA: "OKP"}
	for _, alg := range auth.Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			ctx := context.Background()
			e, _ := startKeysEnv(t, alg)
			createDBConnection(t, e, "main")
			oidcUser(t, e, "edge@example.com")
			r := e.raw("", `mutation { login(connection: "main", email: "edge@example.com", password: "correct horse battery") { accessToken idToken user { id } } }`, nil)
			wantOK(t, "login", r)
			var l struct {
				Login struct {
					Access string `json:"accessToken"`
					ID     string `json:"idToken"`
				}
			}
			mustNoErr(t, json.Unmarshal(r.Data, &l))
			access, idToken := l.Login.Access, l.Login.ID

			set := fetchJWKS(t, e)
			if len(set.Keys) != 1 || set.Keys[0].Algorithm != string(alg) {
				t.Fatalf("JWKS: %+v", set.Keys)
			}
			for name, tok := range map[string]string{"access token": access, "ID token": idToken} {
				claims := joseVerify(t, set, tok, alg)
				if claims["iss"] != "profiled" || claims["sub"] == "" {
					t.Fatalf("%s claims %v", name, claims)
				}
			}
			checkKty(t, e, map[string]string{string(alg): kty[alg]})

			// The OpenID Provider: discovery names the algorithm, go-oidc
			// verifies its ID token, the access token works on the API.
			provider, err := gooidc.NewProvider(ctx, e.issuer)
			mustNoErr(t, err)
			var disc struct {
				Algs []string `json:"id_token_signing_alg_values_supported"`
			}
			mustNoErr(t, provider.Claims(&disc))
			// The signing key's first, then every one a rotation may move
			// to: a relying party that read discovery once keeps working.
			if len(disc.Algs) != 3 || disc.Algs[0] != string(alg) || !slices.Contains(disc.Algs, "ES256") ||
				!slices.Contains(disc.Algs, "EdDSA") || !slices.Contains(disc.Algs, "RS256") {
				t.Fatalf("discovery algorithms %v", disc.Algs)
			}
			app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{SetGrantTypes: true,
				GrantTypes: []string{service.GrantAuthorizationCode, service.GrantPassword}, SetConnections: true, Connections: []string{"main"}})
			verifier := provider.Verifier(&gooidc.Config{ClientID: app.ID})
			oidcTok, err := app.conf.PasswordCredentialsToken(ctx, "edge@example.com", "correct horse battery")
			mustNoErr(t, err)
			rawID, _ := oidcTok.Extra("id_token").(string)
			idt, err := verifier.Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("go-oidc refuses the %s ID token: %v", alg, err)
			}
			if h := joseHeader(t, rawID); h.Algorithm != string(alg) {
				t.Fatalf("OpenID Provider's ID token alg %s", h.Algorithm)
			}
			var who struct{ Email string }
			mustNoErr(t, idt.Claims(&who))
			if who.Email != "edge@example.com" {
				t.Fatalf("ID token email %q", who.Email)
			}
			if r := meEmail(t, e, oidcTok.AccessToken); !strings.Contains(string(r.Data), "edge@example.com") {
				t.Fatalf("me with the provider's access token: %s", r.Raw)
			}

			// Rotate to the next algorithm with a grace shorter than the
			// tokens' life.
			const grace = 10 * time.Minute
			to := next[alg]
			me := func(tok string) gqlResponse { return e.raw(tok, `{ me { email } }`, nil) }
			wantOK(t, "me before the rotation", me(access))
			hits, _, _ := e.keyring.CacheStats()
			wantOK(t, "me again", me(access))
			if h, _, _ := e.keyring.CacheStats(); h != hits+1 {
				t.Fatal("the second request with the same token missed the verified-token cache")
			}
			_, err = auth.Rotate(ctx, e.store, e.clock.Now(), grace, to)
			mustNoErr(t, err)
			mustNoErr(t, e.keyring.Reload(ctx))
			if e.keyring.Algorithm() != to {
				t.Fatalf("signing with %s after rotating to %s", e.keyring.Algorithm(), to)
			}
			checkKty(t, e, map[string]string{string(alg): kty[alg], string(to): kty[to]})
			wantOK(t, "old token during the grace", me(access))
			r = e.raw("", `mutation { login(connection: "main", email: "edge@example.com", password: "correct horse battery") { accessToken } }`, nil)
			wantOK(t, "login after the rotation", r)
			mustNoErr(t, json.Unmarshal(r.Data, &l))
			fresh := l.Login.Access
			joseVerify(t, fetchJWKS(t, e), fresh, to)
			wantOK(t, "new token", me(fresh))
			// go-oidc finds the new key by kid (its key set refetches).
			oidcTok, err = app.conf.PasswordCredentialsToken(ctx, "edge@example.com", "correct horse battery")
			mustNoErr(t, err)
			rawID, _ = oidcTok.Extra("id_token").(string)
			if _, err := verifier.Verify(ctx, rawID); err != nil {
				t.Fatalf("go-oidc refuses the %s ID token after the rotation: %v", to, err)
			}

			// After the grace: the old token, cached a moment ago, is
			// refused (the key is retired, not the token expired).
			e.clock.Advance(grace + time.Second)
			r = me(access)
			if r.code() != "UNAUTHENTICATED" || !strings.Contains(r.Errors[0].Message, "unknown signing key") {
				t.Fatalf("old token after the grace, before the reload: %s", r.Raw)
			}
			mustNoErr(t, e.keyring.Reload(ctx))
			if r := me(access); r.code() != "UNAUTHENTICATED" {
				t.Fatalf("old token after the grace: %s", r.Raw)
			}
			checkKty(t, e, map[string]string{string(to): kty[to]})
			wantOK(t, "new token after the grace", me(fresh))
		})
	}
}

// TestCachedUserTokenDiesWithItsUser: a user token served from the
// verified-token cache is still refused once its user is deleted (the
// per-request recheck runs after the cache).
func TestCachedUserTokenDiesWithItsUser(t *testing.T) {
	e, _ := startKeysEnv(t, auth.EdDSA)
	createDBConnection(t, e, "main")
	id := oidcUser(t, e, "gone@example.com")
	r := e.raw("", `mutation { login(connection: "main", email: "gone@example.com", password: "correct horse battery") { accessToken } }`, nil)
	wantOK(t, "login", r)
	var l struct{ Login struct{ AccessToken string } }
	mustNoErr(t, json.Unmarshal(r.Data, &l))
	me := func() gqlResponse { return e.raw(l.Login.AccessToken, `{ me { id } }`, nil) }
	wantOK(t, "me", me())
	hits, _, _ := e.keyring.CacheStats()
	wantOK(t, "me again", me())
	wantOK(t, "delete", e.raw(e.admin, `mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": id}))
	r = me()
	if r.code() != "UNAUTHENTICATED" || !strings.Contains(r.Errors[0].Message, "no longer exists") {
		t.Fatalf("a deleted user's cached token: %s", r.Raw)
	}
	if h, _, _ := e.keyring.CacheStats(); h < hits+2 {
		t.Fatalf("the token was not served from the cache (%d hits, then %d)", hits, h)
	}
}

func fetchJWKS(t *testing.T, e *env) jose.JSONWebKeySet {
	t.Helper()
	res, err := http.Get(e.srv.URL + "/.well-known/jwks.json")
	mustNoErr(t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil || res.StatusCode != 200 {
		t.Fatalf("JWKS %d %s: %v", res.StatusCode, body, err)
	}
	return set
}

// checkKty reads the served JWKS as plain JSON: the kty of each alg.
func checkKty(t *testing.T, e *env, want map[string]string) {
	t.Helper()
	res, err := http.Get(e.srv.URL + "/.well-known/jwks.json")
	mustNoErr(t, err)
	defer res.Body.Close()
	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	mustNoErr(t, json.NewDecoder(res.Body).Decode(&raw))
	got := map[string]string{}
	for _, k := range raw.Keys {
		got[k["alg"]] = k["kty"]
		if k["kty"] == "OKP" && k["crv"] != "Ed25519" || k["kty"] == "EC" && k["crv"] != "P-256" {
			t.Fatalf("jwk %v", k)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("JWKS algorithms %v, want %v", got, want)
	}
	for alg, kty := range want {
		if got[alg] != kty {
			t.Fatalf("JWKS %s key has kty %q, want %q", alg, got[alg], kty)
		}
	}
}

// joseVerify checks tok with go-jose against the key its kid names in set,
// allowing only alg, and returns its claims.
func joseVerify(t *testing.T, set jose.JSONWebKeySet, tok string, alg auth.Algorithm) map[string]any {
	t.Helper()
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		t.Fatalf("go-jose cannot parse a %s token: %v", alg, err)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("no JWKS key for kid %q", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("go-jose refuses the %s signature: %v", alg, err)
	}
	var claims map[string]any
	mustNoErr(t, json.Unmarshal(payload, &claims))
	return claims
}

func joseHeader(t *testing.T, tok string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	mustNoErr(t, err)
	return jws.Signatures[0].Header
}
