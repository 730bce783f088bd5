package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/store"
)

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"": RS256, "RS256": RS256, "es256": ES256, "EdDSA": EdDSA, "EDDSA": EdDSA} {
		if got, err := ParseAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"HS256", "none", "ES384", "PS256", "Ed25519", "RS256 "} {
		if _, err := ParseAlgorithm(in); err == nil {
			t.Errorf("ParseAlgorithm(%q) accepted", in)
		}
	}
	if _, err := New(context.Background(), &memStore{}, Config{Algorithm: "HS256"}); err == nil {
		t.Error("New accepted Algorithm HS256")
	}
}

// Each algorithm: the first key has it, tokens carry it, Verify accepts
// them, and the JWKS entry is the RFC's shape for the key type.
func TestAlgorithms(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			k := newKeyring(t, &memStore{}, Config{Algorithm: alg})
			if k.Algorithm() != alg {
				t.Fatalf("signing algorithm %s", k.Algorithm())
			}
			tok, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 0)
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := decode(t, tok); h["alg"] != string(alg) || h["kid"] != k.KID() {
				t.Fatalf("header %v", h)
			}
			if c, err := k.Verify(tok); err != nil || !c.Has(policy.ScopeReadUsers) {
				t.Fatalf("Verify: %+v, %v", c, err)
			}
			id, err := k.IssueIDToken(policy.User{ID: "u1"})
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := decode(t, id); h["alg"] != string(alg) {
				t.Fatalf("ID token header %v", h)
			}

			var raw struct {
				Keys []map[string]string `json:"keys"`
			}
			if err := json.Unmarshal(k.keys.Load().jwks, &raw); err != nil || len(raw.Keys) != 1 {
				t.Fatalf("JWKS %s: %v", k.keys.Load().jwks, err)
			}
			j := raw.Keys[0]
			if j["kid"] != k.KID() || j["use"] != "sig" || j["alg"] != string(alg) {
				t.Fatalf("jwk %v", j)
			}
			bytesOf := func(name string, want int) []byte {
				b, err := base64.RawURLEncoding.DecodeString(j[name])
				if err != nil || len(b) != want {
					t.Fatalf("jwk %s = %q: %d bytes, want %d (%v)", name, j[name], len(b), want, err)
				}
				return b
			}
			pub := k.PublicKeys()[0].Key
			switch alg {
			case RS256:
				if j["kty"] != "RSA" || len(j) != 6 {
					t.Fatalf("jwk %v (want exactly kty kid use alg n e)", j)
				}
			case ES256:
				if j["kty"] != "EC" || j["crv"] != "P-256" || len(j) != 7 {
					t.Fatalf("jwk %v (want exactly kty kid use alg crv x y)", j)
				}
				// x and y are 32 bytes each, leading zeros kept.
				x, y := bytesOf("x", 32), bytesOf("y", 32)
				ec := pub.(*ecdsa.PublicKey)
				point, _ := ec.Bytes()
				if string(point[1:33]) != string(x) || string(point[33:]) != string(y) {
					t.Fatal("jwk x/y are not the key's")
				}
			case EdDSA:
				if j["kty"] != "OKP" || j["crv"] != "Ed25519" || len(j) != 6 {
					t.Fatalf("jwk %v (want exactly kty kid use alg crv x)", j)
				}
				if x := bytesOf("x", 32); string(x) != string(pub.(ed25519.PublicKey)) {
					t.Fatal("jwk x is not the key")
				}
			}
		})
	}
}

// An EC coordinate with a leading zero byte keeps its 32 bytes in the JWK
// (big.Int.Bytes would drop it and break every verifier).
func TestJWKPadsECCoordinates(t *testing.T) {
	for i := 0; ; i++ {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		point, _ := priv.PublicKey.Bytes()
		if point[1] != 0 && point[33] != 0 {
			if i > 5000 {
				t.Fatal("no key with a short coordinate in 5000 tries")
			}
			continue
		}
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		vk, err := parseKey(storeKey("short", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
		if err != nil {
			t.Fatal(err)
		}
		x, _ := base64.RawURLEncoding.DecodeString(vk.jwk.X)
		y, _ := base64.RawURLEncoding.DecodeString(vk.jwk.Y)
		if len(x) != 32 || len(y) != 32 {
			t.Fatalf("x %d bytes, y %d bytes", len(x), len(y))
		}
		return
	}
}

// TestAlgorithmConfusion: a token is verified with the algorithm of the
// key its kid names, never the one its header claims. Every attack below
// uses a real kid; each would pass a verifier that trusts alg.
func TestAlgorithmConfusion(t *testing.T) {
	clk := newClock()
	rings := map[Algorithm]*Keyring{}
	for _, alg := range Algorithms {
		rings[alg] = newKeyring(t, &memStore{}, Config{Now: clk.Now, Algorithm: alg})
	}
	claims := func() map[string]any {
		return map[string]any{
			"iss": "profiled", "aud": "profiled", "sub": "cli",
			"iat": clk.unix(0), "nbf": clk.unix(0), "exp": clk.unix(time.Hour),
			"jti": "x", "token_use": "management", "scope": "delete:users",
		}
	}
	hdr := func(alg, kid string) map[string]any { return map[string]any{"alg": alg, "typ": "at+jwt", "kid": kid} }

	// Attackers' keys of every type, and each ring's public key in the
	// forms an HMAC confusion would use as the secret.
	rsaOther := mustKey(t)
	ecOther, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edOther, _ := ed25519.GenerateKey(rand.Reader)
	secrets := func(k *Keyring) map[string][]byte {
		pub := k.PublicKeys()[0].Key
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		j := k.keys.Load().sign.jwk
		out := map[string][]byte{
			"PKIX DER": der,
			"PEM":      pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
			"JWKS":     k.keys.Load().jwks,
		}
		if j.X != "" {
			x, _ := base64.RawURLEncoding.DecodeString(j.X)
			out["jwk x"] = x
		}
		return out
	}

	type attack struct {
		name  string
		token string
		want  Reason
	}
	var attacks []struct {
		ring Algorithm
		attack
	}
	add := func(ring Algorithm, name string, tok string, want Reason) {
		attacks = append(attacks, struct {
			ring Algorithm
			attack
		}{ring, attack{name, tok, want}})
	}
	for alg, k := range rings {
		kid := k.KID()
		add(alg, "none", craft(t, nil, nil, hdr("none", kid), claims()), ReasonAlgorithm)
		add(alg, "NONE", craft(t, nil, nil, hdr("NONE", kid), claims()), ReasonAlgorithm)
		for form, secret := range secrets(k) {
			add(alg, "HS256 keyed with the public key's "+form,
				craft(t, jwt.SigningMethodHS256, secret, hdr("HS256", kid), claims()), ReasonAlgorithm)
		}
		if alg != RS256 {
			add(alg, "RS256 by an attacker's RSA key", craft(t, jwt.SigningMethodRS256, rsaOther, hdr("RS256", kid), claims()), ReasonAlgorithm)
		}
		if alg != ES256 {
			add(alg, "ES256 by an attacker's P-256 key", craft(t, jwt.SigningMethodES256, ecOther, hdr("ES256", kid), claims()), ReasonAlgorithm)
		}
		if alg != EdDSA {
			add(alg, "EdDSA by an attacker's Ed25519 key", craft(t, jwt.SigningMethodEdDSA, edOther, hdr("EdDSA", kid), claims()), ReasonAlgorithm)
		}
		add(alg, "ES384", craft(t, jwt.SigningMethodES384, ec384, hdr("ES384", kid), claims()), ReasonAlgorithm)
		add(alg, "PS256", craft(t, jwt.SigningMethodPS256, rsaOther, hdr("PS256", kid), claims()), ReasonAlgorithm)
		add(alg, "alg Ed25519 (RFC 9864 name)", craft(t, jwt.SigningMethodEdDSA, edOther, hdr("Ed25519", kid), claims()), ReasonAlgorithm)
		// The right algorithm with another key of the same type.
		var other any
		switch alg {
		case RS256:
			other = rsaOther
		case ES256:
			other = ecOther
		case EdDSA:
			other = edOther
		}
		add(alg, "own algorithm, attacker's key", craft(t, alg.method(), other, hdr(string(alg), kid), claims()), ReasonSignature)
		// A real token of this ring relabelled with each other algorithm.
		good, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 0)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(good, ".")
		for _, relabel := range Algorithms {
			if relabel == alg {
				continue
			}
			h, _ := json.Marshal(hdr(string(relabel), kid))
			add(alg, "own token relabelled "+string(relabel),
				base64.RawURLEncoding.EncodeToString(h)+"."+parts[1]+"."+parts[2], ReasonAlgorithm)
		}
	}
	// ECDSA specifics.
	es := rings[ES256]
	esGood, _ := es.IssueManagement(nil, "cli", 0)
	esParts := strings.Split(esGood, ".")
	zero := base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	add(ES256, "r = s = 0 (CVE-2022-21449)", esParts[0]+"."+esParts[1]+"."+zero, ReasonSignature)
	add(ES256, "signature empty", esParts[0]+"."+esParts[1]+".", ReasonSignature)
	{
		// The same signature ASN.1-encoded, as crypto/ecdsa makes it: JWS
		// wants r||s (RFC 7518 §3.4).
		sig, _ := base64.RawURLEncoding.DecodeString(esParts[2])
		der := asn1Sig(sig[:32], sig[32:])
		add(ES256, "signature in ASN.1 DER", esParts[0]+"."+esParts[1]+"."+base64.RawURLEncoding.EncodeToString(der), ReasonSignature)
	}
	ed := rings[EdDSA]
	edGood, _ := ed.IssueManagement(nil, "cli", 0)
	edParts := strings.Split(edGood, ".")
	add(EdDSA, "Ed25519 signature all zero", edParts[0]+"."+edParts[1]+"."+zero, ReasonSignature)

	for _, a := range attacks {
		t.Run(string(a.ring)+"/"+a.name, func(t *testing.T) {
			c, err := rings[a.ring].Verify(a.token)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			var te *TokenError
			if !errors.As(err, &te) || te.Reason != a.want {
				t.Fatalf("refused with %v, want %q", err, a.want)
			}
		})
	}
	// And the controls: each ring's own tokens pass.
	for alg, k := range rings {
		tok, _ := k.IssueManagement(nil, "cli", 0)
		if _, err := k.Verify(tok); err != nil {
			t.Fatalf("%s control refused: %v", alg, err)
		}
	}
}

// asn1Sig encodes an ECDSA signature as SEQUENCE { INTEGER r, INTEGER s }.
func asn1Sig(r, s []byte) []byte {
	integer := func(b []byte) []byte {
		v := new(big.Int).SetBytes(b).Bytes()
		if len(v) == 0 || v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		return append([]byte{0x02, byte(len(v))}, v...)
	}
	body := append(integer(r), integer(s)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

// Rotating from one algorithm to another: the new key signs, the old one
// verifies its tokens and stays in the JWKS until the grace ends, then
// both are gone — for RS256 → ES256 → EdDSA → RS256.
func TestRotateAcrossAlgorithms(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := &rotStore{}
	k := newKeyring(t, store, Config{Now: clk.Now})
	if k.Algorithm() != RS256 {
		t.Fatalf("default algorithm %s", k.Algorithm())
	}
	prev, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	prevAlg := RS256
	for _, next := range []Algorithm{ES256, EdDSA, RS256} {
		if _, err := Rotate(ctx, store, clk.Now(), time.Hour, next); err != nil {
			t.Fatal(err)
		}
		if err := k.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if k.Algorithm() != next {
			t.Fatalf("after rotating to %s the keyring signs %s", next, k.Algorithm())
		}
		cur, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := decode(t, cur); h["alg"] != string(next) {
			t.Fatalf("new token alg %v", h["alg"])
		}
		// During the grace: both verify, the JWKS has both types.
		for _, tok := range []string{prev, cur} {
			if _, err := k.Verify(tok); err != nil {
				t.Fatalf("%s→%s, during the grace: %v", prevAlg, next, err)
			}
		}
		if algs := jwksAlgs(t, k); len(algs) != 2 || !algs[string(prevAlg)] || !algs[string(next)] {
			t.Fatalf("JWKS during the grace: %v", algs)
		}
		// Another process with its own keyring (no cache) agrees.
		other := newKeyring(t, store, Config{Now: clk.Now, VerifiedCache: -1})
		if _, err := other.Verify(prev); err != nil {
			t.Fatalf("a fresh keyring refuses the retiring key's token: %v", err)
		}
		// After the grace: the old token is refused even before a reload
		// (the cache holds it: Verify was called above), and after one.
		clk.Add(time.Hour)
		if _, err := k.Verify(prev); !isReason(err, ReasonUnknownKey) {
			t.Fatalf("%s token after the grace, before reload: %v", prevAlg, err)
		}
		if err := k.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := k.Verify(prev); !isReason(err, ReasonUnknownKey) {
			t.Fatalf("%s token after the grace: %v", prevAlg, err)
		}
		if _, err := k.Verify(cur); err != nil {
			t.Fatalf("current token after the grace: %v", err)
		}
		if algs := jwksAlgs(t, k); len(algs) != 1 || !algs[string(next)] {
			t.Fatalf("JWKS after the grace: %v", algs)
		}
		prev, prevAlg = cur, next
	}
}

func isReason(err error, r Reason) bool {
	var te *TokenError
	return errors.As(err, &te) && te.Reason == r
}

func jwksAlgs(t *testing.T, k *Keyring) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, j := range jwksOf(t, k).Keys {
		out[j.Alg] = true
	}
	return out
}

// TestJWKSWithGoJose: a JOSE implementation nobody here wrote
// (github.com/go-jose/go-jose/v4) reads the served JWK Set — RSA, EC and
// OKP keys at once, during a rotation — and verifies each algorithm's
// tokens with the key it finds by kid, accepting only that key's
// algorithm.
func TestJWKSWithGoJose(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := &rotStore{}
	k := newKeyring(t, store, Config{Now: clk.Now})
	tokens := map[Algorithm]string{}
	for _, next := range []Algorithm{ES256, EdDSA, ""} {
		tok, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[k.Algorithm()] = tok
		if next == "" {
			break
		}
		if _, err := Rotate(ctx, store, clk.Now(), time.Hour, next); err != nil {
			t.Fatal(err)
		}
		if err := k.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	k.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatalf("go-jose cannot read the JWKS: %v\n%s", err, rec.Body.String())
	}
	if len(set.Keys) != 3 {
		t.Fatalf("JWKS has %d keys", len(set.Keys))
	}
	for alg, tok := range tokens {
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
		if err != nil {
			t.Fatalf("%s: go-jose parse: %v", alg, err)
		}
		kid := jws.Signatures[0].Header.KeyID
		keys := set.Key(kid)
		if len(keys) != 1 || keys[0].Algorithm != string(alg) || !keys[0].Valid() || !keys[0].IsPublic() {
			t.Fatalf("%s: JWKS entry for %q: %+v", alg, kid, keys)
		}
		payload, err := jws.Verify(keys[0])
		if err != nil {
			t.Fatalf("%s: go-jose refuses the signature: %v", alg, err)
		}
		var c map[string]any
		if json.Unmarshal(payload, &c) != nil || c["scope"] != "read:users" {
			t.Fatalf("%s: payload %s", alg, payload)
		}
		// go-jose, told to expect another algorithm, refuses the token.
		for _, other := range Algorithms {
			if other != alg {
				if _, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(other)}); err == nil {
					t.Fatalf("%s token parsed as %s", alg, other)
				}
			}
		}
	}
}

// rotStore is a memStore that Rotate can retire keys in (the contract of
// db's RetireSigningKeys).
type rotStore struct{ memStore }

func (r *rotStore) RetireSigningKeys(_ context.Context, keep string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, k := range r.keys {
		if k.KID != keep && (k.RetiresAt.IsZero() || k.RetiresAt.After(at)) {
			r.keys[i].RetiresAt = at
		}
	}
	return nil
}

func storeKey(kid string, pemKey []byte) store.SigningKey {
	return store.SigningKey{KID: kid, PrivatePEM: pemKey, CreatedAt: time.Now()}
}
