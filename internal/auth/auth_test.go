package auth

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// clock is an injectable, movable clock.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time             { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) Add(d time.Duration)        { c.t.Add(int64(d)) }
func (c *clock) Set(t time.Time)            { c.t.Store(t.UnixNano()) }
func (c *clock) unix(d time.Duration) int64 { return c.Now().Add(d).Unix() }

func newKeyring(t testing.TB, store KeyStore, cfg Config) *Keyring {
	t.Helper()
	k, err := New(context.Background(), store, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return k
}

// craft signs header+claims by hand with method and key (nil method: alg
// none, empty signature).
func craft(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	if method == nil {
		return signing + "."
	}
	sig, err := method.Sign(signing, key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestBadTokens(t *testing.T) {
	clk := newClock()
	store := &memStore{}
	k := newKeyring(t, store, Config{Now: clk.Now})
	signer := rsaSigner(t, k)
	kid := k.KID()

	pubDER, err := x509.MarshalPKIXPublicKey(&signer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	hdr := func(alg string) map[string]any { return map[string]any{"alg": alg, "typ": "at+jwt", "kid": kid} }
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": "profiled", "aud": "profiled", "sub": "cli",
			"iat": clk.unix(0), "nbf": clk.unix(0), "exp": clk.unix(time.Hour),
			"jti": "x", "token_use": "management", "scope": "read:users",
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	rs := func(mod func(map[string]any)) string {
		return craft(t, jwt.SigningMethodRS256, signer, hdr("RS256"), claims(mod))
	}
	withHeader := func(mod func(map[string]any)) string {
		h := hdr("RS256")
		mod(h)
		return craft(t, jwt.SigningMethodRS256, signer, h, claims(nil))
	}

	// The baseline: a hand-crafted token with the right everything passes,
	// so each case below fails for its one reason.
	if c, err := k.Verify(rs(nil)); err != nil || !c.Has(policy.ScopeReadUsers) {
		t.Fatalf("control token refused: %v", err)
	}

	good, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	idToken, err := k.IssueIDToken(policy.User{ID: "u1", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")

	cases := []struct {
		name  string
		token func() string // built lazily: some move the clock first
		want  Reason
		after func() // undo clock moves
	}{
		{name: "alg none", want: ReasonAlgorithm, token: func() string {
			return craft(t, nil, nil, hdr("none"), claims(nil))
		}},
		{name: "alg none with a signature", want: ReasonAlgorithm, token: func() string {
			return craft(t, nil, nil, hdr("none"), claims(nil)) + parts[2]
		}},
		{name: "alg None (case)", want: ReasonAlgorithm, token: func() string {
			return craft(t, nil, nil, hdr("None"), claims(nil))
		}},
		{name: "HS256 with the public key PEM as secret", want: ReasonAlgorithm, token: func() string {
			return craft(t, jwt.SigningMethodHS256, pubPEM, hdr("HS256"), claims(nil))
		}},
		{name: "HS256 with the public key DER as secret", want: ReasonAlgorithm, token: func() string {
			return craft(t, jwt.SigningMethodHS256, pubDER, hdr("HS256"), claims(nil))
		}},
		{name: "PS256 with our key", want: ReasonAlgorithm, token: func() string {
			return craft(t, jwt.SigningMethodPS256, signer, hdr("PS256"), claims(nil))
		}},
		{name: "RS512 with our key", want: ReasonAlgorithm, token: func() string {
			return craft(t, jwt.SigningMethodRS512, signer, hdr("RS512"), claims(nil))
		}},
		{name: "unknown alg", want: ReasonAlgorithm, token: func() string {
			return craft(t, nil, nil, hdr("XS999"), claims(nil)) + parts[2]
		}},
		{name: "expired (injected clock)", want: ReasonExpired,
			token: func() string {
				tok, _ := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", time.Hour)
				clk.Add(time.Hour + Leeway + time.Second)
				return tok
			},
			after: func() { clk.Add(-(time.Hour + Leeway + time.Second)) }},
		{name: "expired, crafted", want: ReasonExpired, token: func() string {
			return rs(func(c map[string]any) {
				c["exp"] = clk.unix(-time.Minute)
				c["iat"] = clk.unix(-time.Hour)
				c["nbf"] = clk.unix(-time.Hour)
			})
		}},
		{name: "nbf in the future", want: ReasonNotYetValid, token: func() string {
			return rs(func(c map[string]any) { c["nbf"] = clk.unix(5 * time.Minute) })
		}},
		{name: "iat in the future", want: ReasonNotYetValid, token: func() string {
			return rs(func(c map[string]any) { c["iat"] = clk.unix(5 * time.Minute) })
		}},
		{name: "issued later by the clock (clock moved back)", want: ReasonNotYetValid,
			token: func() string {
				tok, _ := k.IssueManagement(nil, "cli", time.Hour)
				clk.Add(-2 * Leeway)
				return tok
			},
			after: func() { clk.Add(2 * Leeway) }},
		{name: "no exp", want: ReasonClaims, token: func() string {
			return rs(func(c map[string]any) { delete(c, "exp") })
		}},
		{name: "no iat", want: ReasonClaims, token: func() string {
			return rs(func(c map[string]any) { delete(c, "iat") })
		}},
		{name: "exp not a number", want: ReasonMalformed, token: func() string {
			return rs(func(c map[string]any) { c["exp"] = "tomorrow" })
		}},
		{name: "wrong issuer", want: ReasonIssuer, token: func() string {
			return rs(func(c map[string]any) { c["iss"] = "evil" })
		}},
		{name: "no issuer", want: ReasonClaims, token: func() string {
			return rs(func(c map[string]any) { delete(c, "iss") })
		}},
		{name: "wrong audience", want: ReasonAudience, token: func() string {
			return rs(func(c map[string]any) { c["aud"] = "someone-else" })
		}},
		{name: "wrong audience list", want: ReasonAudience, token: func() string {
			return rs(func(c map[string]any) { c["aud"] = []string{"a", "b"} })
		}},
		{name: "no audience", want: ReasonClaims, token: func() string {
			return rs(func(c map[string]any) { delete(c, "aud") })
		}},
		{name: "unknown kid", want: ReasonUnknownKey, token: func() string {
			return withHeader(func(h map[string]any) { h["kid"] = "nope" })
		}},
		{name: "no kid", want: ReasonUnknownKey, token: func() string {
			return withHeader(func(h map[string]any) { delete(h, "kid") })
		}},
		{name: "kid not a string", want: ReasonUnknownKey, token: func() string {
			return withHeader(func(h map[string]any) { h["kid"] = 1 })
		}},
		{name: "other RSA key with our kid", want: ReasonSignature, token: func() string {
			return craft(t, jwt.SigningMethodRS256, other, hdr("RS256"), claims(nil))
		}},
		{name: "payload swapped after signing", want: ReasonSignature, token: func() string {
			p := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"profiled","aud":"profiled","sub":"root","iat":1,"exp":99999999999,"token_use":"management","scope":"delete:users"}`))
			return parts[0] + "." + p + "." + parts[2]
		}},
		{name: "signature altered", want: ReasonSignature, token: func() string {
			b := []byte(good)
			i := len(b) - 20 // inside the signature, away from its padding bits
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}},
		{name: "signature truncated", want: ReasonSignature, token: func() string {
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig[:len(sig)-3])
		}},
		{name: "signature base64 not canonical", want: ReasonMalformed, token: func() string {
			// 256 bytes end in 4 unused bits; set them.
			sig := parts[2]
			last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
			return parts[0] + "." + parts[1] + "." + sig[:len(sig)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
		}},
		{name: "signature empty", want: ReasonSignature, token: func() string { return parts[0] + "." + parts[1] + "." }},
		{name: "ID token as access token", want: ReasonTokenType, token: func() string { return idToken }},
		{name: "typ JWT", want: ReasonTokenType, token: func() string {
			return withHeader(func(h map[string]any) { h["typ"] = "JWT" })
		}},
		{name: "no typ", want: ReasonTokenType, token: func() string {
			return withHeader(func(h map[string]any) { delete(h, "typ") })
		}},
		{name: "token_use id", want: ReasonTokenType, token: func() string {
			return rs(func(c map[string]any) { c["token_use"] = "id" })
		}},
		{name: "no token_use", want: ReasonTokenType, token: func() string {
			return rs(func(c map[string]any) { delete(c, "token_use") })
		}},
		{name: "no subject", want: ReasonClaims, token: func() string {
			return rs(func(c map[string]any) { delete(c, "sub") })
		}},
		{name: "empty", want: ReasonMalformed, token: func() string { return "" }},
		{name: "garbage", want: ReasonMalformed, token: func() string { return "not a token" }},
		{name: "two segments", want: ReasonMalformed, token: func() string { return parts[0] + "." + parts[1] }},
		{name: "four segments", want: ReasonMalformed, token: func() string { return good + ".x" }},
		{name: "header not base64", want: ReasonMalformed, token: func() string { return "!!!." + parts[1] + "." + parts[2] }},
		{name: "header not JSON", want: ReasonMalformed, token: func() string {
			return base64.RawURLEncoding.EncodeToString([]byte("hello")) + "." + parts[1] + "." + parts[2]
		}},
		{name: "padded base64", want: ReasonMalformed, token: func() string { return parts[0] + "==." + parts[1] + "." + parts[2] }},
		{name: "huge", want: ReasonMalformed, token: func() string { return strings.Repeat("a", 9000) + "." + parts[1] + "." + parts[2] }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := c.token()
			if c.after != nil {
				defer c.after()
			}
			caller, err := k.Verify(tok)
			if err == nil {
				t.Fatalf("accepted: %+v", caller)
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v is not ErrUnauthenticated", err)
			}
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not *TokenError", err)
			}
			if te.Reason != c.want {
				t.Fatalf("reason %q, want %q", te.Reason, c.want)
			}
			if err.Error() != "unauthenticated: "+string(c.want) {
				t.Fatalf("message %q leaks more than the reason", err.Error())
			}
			if caller.Subject != "" || len(caller.Scopes) != 0 {
				t.Fatalf("refusal returned a caller: %+v", caller)
			}
		})
	}
}

func TestLeeway(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now})
	tok, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(-Leeway + time.Second) // a verifier whose clock is a bit behind
	if _, err := k.Verify(tok); err != nil {
		t.Fatalf("within leeway before iat/nbf: %v", err)
	}
	clk.Add(Leeway - time.Second + time.Minute + Leeway - time.Second) // just past exp, within leeway
	if _, err := k.Verify(tok); err != nil {
		t.Fatalf("within leeway after exp: %v", err)
	}
	clk.Add(2 * time.Second)
	if _, err := k.Verify(tok); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("past leeway: %v", err)
	}
}

func TestManagementToken(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now, Issuer: "https://id.example", Audience: "api"})
	scopes := []policy.Scope{policy.ScopeReadUsers, policy.ScopeUpdateUsers, policy.ScopeReadUsers, policy.ScopeReadCurrentUser}
	tok, err := k.IssueManagement(scopes, "cli", 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Self || c.Subject != "cli" || len(c.Scopes) != 3 ||
		!c.Has(policy.ScopeReadUsers) || !c.Has(policy.ScopeUpdateUsers) || !c.Has(policy.ScopeReadCurrentUser) ||
		c.Has(policy.ScopeDeleteUsers) {
		t.Fatalf("caller = %+v", c)
	}

	h, cl := decode(t, tok)
	if h["alg"] != "RS256" || h["kid"] != k.KID() || h["typ"] != "at+jwt" {
		t.Fatalf("header = %v", h)
	}
	if cl["scope"] != "read:users update:users read:current_user" {
		t.Fatalf("scope claim = %q (space-separated, deduplicated, in order)", cl["scope"])
	}
	now := float64(clk.Now().Unix())
	if cl["iss"] != "https://id.example" || !audIs(cl["aud"], "api") || cl["sub"] != "cli" ||
		cl["iat"] != now || cl["nbf"] != now || cl["exp"] != now+DefaultManagementTTL.Seconds() ||
		cl["token_use"] != "management" || cl["jti"] == "" || cl["jti"] == nil {
		t.Fatalf("claims = %v", cl)
	}
	tok2, _ := k.IssueManagement(scopes, "cli", 0)
	if _, cl2 := decode(t, tok2); cl2["jti"] == cl["jti"] {
		t.Fatal("jti repeated")
	}

	// No scopes: valid token, empty scope set.
	tok, err = k.IssueManagement(nil, "ops", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := k.Verify(tok); err != nil || len(c.Scopes) != 0 || c.Subject != "ops" {
		t.Fatalf("no-scope token: %+v, %v", c, err)
	}

	for _, bad := range []struct {
		scopes []policy.Scope
		sub    string
		ttl    time.Duration
	}{
		{[]policy.Scope{"read:users delete:users"}, "cli", 0},
		{[]policy.Scope{""}, "cli", 0},
		{[]policy.Scope{"read:users\n"}, "cli", 0},
		{nil, "", 0},
		{nil, "cli", -time.Second},
	} {
		if _, err := k.IssueManagement(bad.scopes, bad.sub, bad.ttl); err == nil {
			t.Errorf("IssueManagement(%q, %q, %v) accepted", bad.scopes, bad.sub, bad.ttl)
		}
	}
}

func TestUserTokens(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now})
	updated := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	u := policy.User{
		ID: "profiled|abc123", Connection: "users", Email: "ada@example.com", EmailVerified: true,
		Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", Nickname: "ada",
		Picture: "https://example.com/ada.png", UpdatedAt: updated,
		PasswordHash: "$2a$10$secret", AppMetadata: policy.Metadata{"role": "admin"},
	}
	access, exp, err := k.IssueUser(u)
	if err != nil {
		t.Fatal(err)
	}
	id, err := k.IssueIDToken(u)
	if err != nil {
		t.Fatal(err)
	}
	if exp != DefaultUserTTL {
		t.Fatalf("expiresIn = %v", exp)
	}
	c, err := k.Verify(access)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Self || c.Subject != u.ID || len(c.Scopes) != 2 ||
		!c.Has(policy.ScopeReadCurrentUser) || !c.Has(policy.ScopeUpdateCurrentUserMetadata) {
		t.Fatalf("user caller = %+v", c)
	}
	_, acl := decode(t, access)
	if acl["scope"] != "read:current_user update:current_user_metadata" || acl["token_use"] != "user" ||
		acl["exp"] != float64(clk.Now().Add(DefaultUserTTL).Unix()) {
		t.Fatalf("access claims = %v", acl)
	}

	h, cl := decode(t, id)
	if h["typ"] != "JWT" || h["kid"] != k.KID() || h["alg"] != "RS256" {
		t.Fatalf("id token header = %v", h)
	}
	want := map[string]any{
		"iss": "profiled", "sub": u.ID, "email": u.Email, "email_verified": true,
		"name": u.Name, "given_name": "Ada", "family_name": "Lovelace", "nickname": "ada",
		"picture": u.Picture, "updated_at": float64(updated.Unix()),
		"iat": float64(clk.Now().Unix()), "exp": float64(clk.Now().Add(DefaultUserTTL).Unix()),
	}
	for name, v := range want {
		if cl[name] != v {
			t.Errorf("id token %s = %v, want %v", name, cl[name], v)
		}
	}
	if !audIs(cl["aud"], "profiled") {
		t.Errorf("id token aud = %v", cl["aud"])
	}
	for _, leak := range []string{"password", "PasswordHash", "app_metadata", "role", "scope"} {
		if _, ok := cl[leak]; ok {
			t.Errorf("id token carries %q", leak)
		}
	}
	// The ID token verifies as a JWT with our key (a relying party would
	// accept it) but not as an access token.
	if _, err := jwt.Parse(id, func(*jwt.Token) (any, error) { return &rsaSigner(t, k).PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("profiled"), jwt.WithTimeFunc(clk.Now)); err != nil {
		t.Fatalf("id token does not verify as a JWT: %v", err)
	}

	// Sparse profile: empty claims are left out.
	id, err = k.IssueIDToken(policy.User{ID: "u2"})
	if err != nil {
		t.Fatal(err)
	}
	_, cl = decode(t, id)
	for _, name := range []string{"email", "email_verified", "name", "picture", "updated_at"} {
		if _, ok := cl[name]; ok {
			t.Errorf("sparse id token carries %s = %v", name, cl[name])
		}
	}
	if _, _, err := k.IssueUser(policy.User{}); err == nil {
		t.Fatal("IssueUser without id accepted")
	}
	if _, err := k.IssueIDToken(policy.User{}); err == nil {
		t.Fatal("IssueIDToken without id accepted")
	}

	// A user token claiming management scopes gets only the user scopes.
	forged := craft(t, jwt.SigningMethodRS256, rsaSigner(t, k),
		map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": k.KID()},
		map[string]any{"iss": "profiled", "aud": "profiled", "sub": "u1", "iat": clk.unix(0), "exp": clk.unix(time.Hour),
			"token_use": "user", "scope": "read:current_user delete:users read:users"})
	c, err = k.Verify(forged)
	if err != nil || !c.Self || len(c.Scopes) != 1 || !c.Has(policy.ScopeReadCurrentUser) {
		t.Fatalf("user token with extra scopes: %+v, %v", c, err)
	}
}

func TestConfiguredTTL(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now, UserTTL: 5 * time.Minute, ManagementTTL: 2 * time.Hour})
	_, exp, err := k.IssueUser(policy.User{ID: "u"})
	if err != nil || exp != 5*time.Minute {
		t.Fatalf("expiresIn = %v, %v", exp, err)
	}
	tok, _ := k.IssueManagement(nil, "cli", 0)
	if _, cl := decode(t, tok); cl["exp"] != float64(clk.unix(2*time.Hour)) {
		t.Fatalf("management exp = %v", cl["exp"])
	}
}

// Two processes racing on an empty store both use the one key that ends up
// stored.
func TestKeyCreationRace(t *testing.T) {
	for _, n := range []int{2, 8} {
		store := &memStore{gate: make(chan struct{}, n)} // all n see the empty store
		rings := make([]*Keyring, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range rings {
			wg.Go(func() { rings[i], errs[i] = New(context.Background(), store, Config{}) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if store.count() != 1 {
			t.Fatalf("n=%d: store ends with %d keys", n, store.count())
		}
		if store.inserts != n || store.conflicts != n-1 {
			t.Fatalf("n=%d: %d inserts, %d conflicts: the racers did not all see an empty store", n, store.inserts, store.conflicts)
		}
		for i, r := range rings {
			if r.KID() != rings[0].KID() || r.keys.Load().sign.fp != rings[0].keys.Load().sign.fp {
				t.Fatalf("keyring %d uses another key", i)
			}
			// Each verifies what the others issue.
			tok, err := r.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rings[(i+1)%n].Verify(tok); err != nil {
				t.Fatalf("keyring %d's token refused by keyring %d: %v", i, (i+1)%n, err)
			}
		}
	}
}

// A later process reuses the stored key; with several keys the newest
// signs and all verify; JWKS lists them all.
func TestExistingKeys(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	first := newKeyring(t, store, Config{})
	if first.KID() != BootstrapKID {
		t.Fatalf("kid = %q", first.KID())
	}
	second := newKeyring(t, store, Config{})
	if store.count() != 1 || second.keys.Load().sign.fp != first.keys.Load().sign.fp {
		t.Fatal("second keyring did not reuse the stored key")
	}

	// A newer key added (a rotation): it signs after Reload.
	old := mustKey(t)
	if err := store.InsertSigningKey(ctx, service.SigningKey{KID: "older", PrivatePEM: pemOf(t, old), CreatedAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tokFirst, _ := first.IssueManagement(nil, "cli", 0)
	if err := second.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if second.KID() != "older" {
		t.Fatalf("after reload kid = %q, want the newest", second.KID())
	}
	if _, err := second.Verify(tokFirst); err != nil {
		t.Fatalf("token of the newer key refused after reload: %v", err)
	}
	tokOld, _ := second.IssueManagement(nil, "cli", 0)
	if _, err := first.Verify(tokOld); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("first keyring accepted a key it has not loaded: %v", err)
	}
	third := newKeyring(t, store, Config{})
	if third.KID() != "older" || len(jwksOf(t, third).Keys) != 2 {
		t.Fatal("third keyring: want the newest key signing and both in JWKS")
	}
}

func TestBadStoredKeys(t *testing.T) {
	ctx := context.Background()
	pkcs8 := func(priv any) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	cases := map[string]service.SigningKey{
		"garbage":   {KID: "a", PrivatePEM: []byte("not pem")},
		"pkcs1":     {KID: "a", PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(mustKey(t))})},
		"bad der":   {KID: "a", PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})},
		"P-384":     {KID: "a", PrivatePEM: pkcs8(p384)},
		"X25519":    {KID: "a", PrivatePEM: pkcs8(x25519)},
		"1024 bits": {KID: "a", PrivatePEM: pemOf(t, small)},
		"empty kid": {KID: "", PrivatePEM: pemOf(t, mustKey(t))},
	}
	for name, sk := range cases {
		store := &memStore{keys: []service.SigningKey{sk}}
		_, err := New(ctx, store, Config{})
		if err == nil {
			t.Errorf("%s: New accepted the key", name)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "MII") {
			t.Errorf("%s: error leaks key material: %v", name, err)
		}
	}
}

func TestJWKS(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now})
	rec := httptest.NewRecorder()
	k.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" ||
		!strings.Contains(rec.Header().Get("Cache-Control"), "max-age=") {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) != 1 {
		t.Fatalf("keys = %v", raw.Keys)
	}
	j := raw.Keys[0]
	if j["kty"] != "RSA" || j["kid"] != k.KID() || j["use"] != "sig" || j["alg"] != "RS256" || len(j) != 6 {
		t.Fatalf("jwk = %v (want exactly kty kid use alg n e)", j)
	}
	n, err1 := base64.RawURLEncoding.DecodeString(j["n"])
	e, err2 := base64.RawURLEncoding.DecodeString(j["e"])
	if err1 != nil || err2 != nil {
		t.Fatalf("n/e not base64url: %v %v", err1, err2)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if pub.N.BitLen() != 2048 || pub.E != 65537 {
		t.Fatalf("key %d bits, e=%d", pub.N.BitLen(), pub.E)
	}

	// A token verifies with the standard library and nothing else.
	tok, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 0)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("JWKS key does not verify the token: %v", err)
	}
	if h, _ := decode(t, tok); h["kid"] != j["kid"] {
		t.Fatal("token kid differs from JWKS kid")
	}

	rec = httptest.NewRecorder()
	k.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("HEAD", "/.well-known/jwks.json", nil))
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	k.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
}

// --- helpers ---

func decode(t testing.TB, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func audIs(v any, want string) bool {
	switch a := v.(type) {
	case string:
		return a == want
	case []any:
		return len(a) == 1 && a[0] == want
	}
	return false
}

// rsaSigner is k's signing key, which must be RSA.
func rsaSigner(t testing.TB, k *Keyring) *rsa.PrivateKey {
	t.Helper()
	priv, ok := k.keys.Load().sign.priv.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("the signing key is %s, not RSA", k.Algorithm())
	}
	return priv
}

func mustKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(t testing.TB, k *rsa.PrivateKey) []byte {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b})
}

func jwksOf(t testing.TB, k *Keyring) jwkSet {
	t.Helper()
	var s jwkSet
	if err := json.Unmarshal(k.keys.Load().jwks, &s); err != nil {
		t.Fatal(err)
	}
	return s
}
