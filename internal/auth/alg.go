package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/profiled/profiled/internal/store"
)

// Algorithm is a JWS signature algorithm (RFC 7518, RFC 8037) a signing
// key uses. A stored key has exactly one: it follows from the key's type
// (an RSA key signs RS256, a P-256 key ES256, an Ed25519 key EdDSA), so
// nothing but the key itself says which algorithm verifies its tokens,
// and a token whose alg header names another is refused.
type Algorithm string

// The algorithms of signing keys. RS256 is the default: every JOSE library
// and relying party verifies it. ES256 and EdDSA sign 15–40× faster, with
// smaller tokens, and verify at about half RS256's speed (BENCHMARKS.md,
// issue 17), which the verified-token cache hides for a token seen again.
const (
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys
	ES256 Algorithm = "ES256" // ECDSA on P-256 with SHA-256
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037)
)

// DefaultAlgorithm is the algorithm of a key generated when none is asked.
const DefaultAlgorithm = RS256

// Algorithms lists the algorithms a key can have, the default first.
var Algorithms = []Algorithm{RS256, ES256, EdDSA}

// ParseAlgorithm reads an algorithm name as the JOSE registry spells it
// (RS256, ES256, EdDSA; case-insensitive); "" is DefaultAlgorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	if s == "" {
		return DefaultAlgorithm, nil
	}
	for _, a := range Algorithms {
		if strings.EqualFold(s, string(a)) {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown signing algorithm %q (want RS256, ES256 or EdDSA)", s)
}

// method is the jwt signing method of a.
func (a Algorithm) method() jwt.SigningMethod {
	switch a {
	case RS256:
		return jwt.SigningMethodRS256
	case ES256:
		return jwt.SigningMethodES256
	case EdDSA:
		return jwt.SigningMethodEdDSA
	}
	return nil
}

// validMethods are the alg values the parser lets through to the key
// function, which then demands the one of the named key.
var validMethods = []string{string(RS256), string(ES256), string(EdDSA)}

// generateKey makes a new private key for a, as stored: PKCS#8 PEM.
func generateKey(a Algorithm) ([]byte, error) {
	var priv any
	var err error
	switch a {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, keyBits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("auth: unknown signing algorithm %q", a)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: generating %s signing key: %w", a, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("auth: encoding signing key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// key is one loaded signing key: what signs with it and what verifies.
type key struct {
	kid    string
	alg    Algorithm
	method jwt.SigningMethod
	// priv is *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey:
	// the type its jwt method and go-jose take.
	priv crypto.Signer
	pub  crypto.PublicKey
	// fp is the SHA-256 of the public key's PKIX encoding: the verified-
	// token cache checks it, so that a cached token stays accepted only
	// while the very key that verified it is loaded under its kid.
	fp [32]byte
	// jwk is the key's entry in the JWKS.
	jwk jwk
}

// parseKey decodes a stored key; errors name the kid, never the key.
func parseKey(sk store.SigningKey) (*key, error) {
	if sk.KID == "" {
		return nil, errors.New("auth: stored signing key has an empty kid")
	}
	block, _ := pem.Decode(sk.PrivatePEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("auth: signing key %q: not a PKCS#8 PEM private key", sk.KID)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key %q: unreadable PKCS#8", sk.KID)
	}
	k := &key{kid: sk.KID}
	switch priv := parsed.(type) {
	case *rsa.PrivateKey:
		if priv.N.BitLen() < minKeyBits {
			return nil, fmt.Errorf("auth: signing key %q: RSA key shorter than %d bits", sk.KID, minKeyBits)
		}
		k.alg, k.priv, k.pub = RS256, priv, &priv.PublicKey
		k.jwk = jwk{Kty: "RSA",
			N: b64(priv.N.Bytes()),
			E: b64(big.NewInt(int64(priv.E)).Bytes())}
	case *ecdsa.PrivateKey:
		if priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("auth: signing key %q: an ECDSA key must be on P-256 (ES256)", sk.KID)
		}
		point, err := priv.PublicKey.Bytes() // 0x04 || X || Y, each 32 bytes
		if err != nil || len(point) != 65 {
			return nil, fmt.Errorf("auth: signing key %q: invalid P-256 key", sk.KID)
		}
		k.alg, k.priv, k.pub = ES256, priv, &priv.PublicKey
		// RFC 7518 §6.2.1.2: x and y are the full 32 bytes, leading
		// zeros kept.
		k.jwk = jwk{Kty: "EC", Crv: "P-256", X: b64(point[1:33]), Y: b64(point[33:])}
	case ed25519.PrivateKey:
		pub := priv.Public().(ed25519.PublicKey)
		k.alg, k.priv, k.pub = EdDSA, priv, pub
		k.jwk = jwk{Kty: "OKP", Crv: "Ed25519", X: b64(pub)}
	default:
		return nil, fmt.Errorf("auth: signing key %q: not an RSA, P-256 or Ed25519 key", sk.KID)
	}
	k.method = k.alg.method()
	k.jwk.Kid, k.jwk.Use, k.jwk.Alg = sk.KID, "sig", string(k.alg)
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key %q: encoding its public key: %w", sk.KID, err)
	}
	k.fp = sha256.Sum256(der)
	return k, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// jwk is a public key in a JWK Set (RFC 7517): n and e for RSA (RFC 7518
// §6.3), crv, x and y for EC (§6.2), crv and x for OKP (RFC 8037 §2).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}
