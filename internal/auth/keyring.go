// Package auth issues and verifies Profiled's tokens: JWTs signed with a
// key the service generates on first use and keeps in its store — RS256 by
// default, ES256 or EdDSA where chosen (Config.Algorithm, Rotate).
//
// Management tokens (IssueManagement, `profiled token create`) carry
// management scopes; user tokens (IssueUser, the login mutation) act on
// their own user only. Verify turns a token into a policy.Caller, and
// Middleware does so for each HTTP request without ever rejecting the
// request itself: signup and login need no token, so a missing or bad token
// is recorded in the context for the resolvers to answer UNAUTHENTICATED.
//
// auth imports policy (the caller) and store (the signing-key record and the
// store's errors); never service, db, graph or sandbox (internal/archtest).
package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/profiled/profiled/internal/store"
)

// KeyStore is the part of the service's store auth needs: service.Store
// (and service.Queries) satisfy it. Its types come from package store so
// auth does not import the service.
type KeyStore interface {
	// SigningKeys lists the keys, oldest first.
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	// InsertSigningKey returns an error wrapping store.ErrConflict when
	// the kid exists.
	InsertSigningKey(ctx context.Context, k store.SigningKey) error
}

// Config configures a Keyring. Zero fields take the documented defaults.
type Config struct {
	Issuer   string // iss of every token; default "profiled"
	Audience string // aud of every token; default "profiled"
	// Now is the clock used to issue and verify; default time.Now.
	Now func() time.Time
	// ManagementTTL is the lifetime of a management token when
	// IssueManagement is given 0; default 24h.
	ManagementTTL time.Duration
	// UserTTL is the lifetime of the tokens IssueUser returns; default 1h.
	UserTTL time.Duration
	// ExtraIssuers are further accepted iss values: the OpenID Provider's
	// issuer URL, whose access tokens (token_use "user" or "management")
	// the API accepts like its own.
	ExtraIssuers []string
	// TrustProxy makes Middleware take the client IP from X-Forwarded-For
	// (the address the nearest proxy appended, i.e. the last entry) instead
	// of the connection's remote address. Only set it behind a proxy that
	// appends to that header.
	TrustProxy bool
	// Algorithm is the algorithm of the key New generates when the store
	// has none; default DefaultAlgorithm (RS256). Keys already stored keep
	// theirs: Rotate adds a key of another algorithm.
	Algorithm Algorithm
	// VerifiedCache is how many verified tokens Verify remembers (keyed by
	// the token's SHA-256) so that a token seen again skips the signature
	// check until it expires; 0 means DefaultVerifiedCache, a negative
	// value turns the cache off.
	VerifiedCache int
}

// Defaults.
const (
	DefaultIssuer        = "profiled"
	DefaultAudience      = "profiled"
	DefaultManagementTTL = 24 * time.Hour
	DefaultUserTTL       = time.Hour
	// Leeway is the clock skew tolerated on exp, nbf and iat.
	Leeway = 30 * time.Second
	// BootstrapKID is the kid of the key created on first use. It is fixed,
	// not derived from the key, so that InsertSigningKey is a
	// compare-and-set: of two processes racing on an empty store exactly one
	// insert succeeds, the other gets ErrConflict, and both reload and use
	// the one stored key.
	BootstrapKID = "profiled-1"
	// keyBits is the modulus size of generated keys.
	keyBits = 2048
	// minKeyBits is the smallest stored RSA key accepted.
	minKeyBits = 2048
	// DefaultVerifiedCache is the default Config.VerifiedCache: a few MB
	// at most (an entry is the caller, its scopes and ~100 bytes).
	DefaultVerifiedCache = 10000
)

// Keyring signs and verifies tokens. It is safe for concurrent use.
type Keyring struct {
	cfg    Config
	store  KeyStore
	parser *jwt.Parser
	keys   atomic.Pointer[keySet]
	cache  *verifiedCache // nil: off
}

// keySet is an immutable snapshot of the store's keys.
type keySet struct {
	sign *key
	// keys are the keys that verify, by kid.
	keys map[string]*key
	// retires holds the keys a rotation is retiring, and when.
	retires map[string]time.Time
	jwks    []byte
}

// New returns a Keyring signing with the store's newest current key, creating and storing
// a key first when the store has none. Two processes doing this at once on
// an empty store end up using the same key (see BootstrapKID).
func New(ctx context.Context, store KeyStore, cfg Config) (*Keyring, error) {
	if store == nil {
		return nil, errors.New("auth: nil key store")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ManagementTTL <= 0 {
		cfg.ManagementTTL = DefaultManagementTTL
	}
	if cfg.UserTTL <= 0 {
		cfg.UserTTL = DefaultUserTTL
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = DefaultAlgorithm
	}
	if cfg.Algorithm.method() == nil {
		return nil, fmt.Errorf("auth: unknown signing algorithm %q", cfg.Algorithm)
	}
	if cfg.VerifiedCache == 0 {
		cfg.VerifiedCache = DefaultVerifiedCache
	}
	k := &Keyring{cfg: cfg, store: store}
	if cfg.VerifiedCache > 0 {
		k.cache = newVerifiedCache(cfg.VerifiedCache)
	}
	k.parser = jwt.NewParser(
		jwt.WithValidMethods(validMethods),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)

	keys, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth: loading signing keys: %w", err)
	}
	if len(keys) == 0 {
		if err := createKey(ctx, store, cfg.Now(), cfg.Algorithm); err != nil {
			return nil, err
		}
		// Whether our insert won or lost, use what the store now holds.
		if keys, err = store.SigningKeys(ctx); err != nil {
			return nil, fmt.Errorf("auth: loading signing keys: %w", err)
		}
		if len(keys) == 0 {
			return nil, errors.New("auth: no signing key in the store after inserting one")
		}
	}
	ks, err := newKeySet(keys, cfg.Now())
	if err != nil {
		return nil, err
	}
	k.keys.Store(ks)
	return k, nil
}

func createKey(ctx context.Context, ks KeyStore, now time.Time, alg Algorithm) error {
	pemKey, err := generateKey(alg)
	if err != nil {
		return err
	}
	sk := store.SigningKey{KID: BootstrapKID, PrivatePEM: pemKey, CreatedAt: now.UTC()}
	if err := ks.InsertSigningKey(ctx, sk); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("auth: storing signing key: %w", err)
	}
	return nil
}

// Reload re-reads the store's keys: tokens signed by keys added since are
// then accepted, the newest current key signs and retired keys are dropped. Keys that fail to load leave the
// Keyring unchanged.
func (k *Keyring) Reload(ctx context.Context) error {
	keys, err := k.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("auth: loading signing keys: %w", err)
	}
	if len(keys) == 0 {
		return errors.New("auth: the store holds no signing key")
	}
	ks, err := newKeySet(keys, k.cfg.Now())
	if err != nil {
		return err
	}
	k.keys.Store(ks)
	return nil
}

// SigningKey returns the key that signs new tokens, its kid and its
// algorithm (for the OpenID Provider, which signs with the same keys).
// key is an *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey.
func (k *Keyring) SigningKey() (kid string, alg Algorithm, key crypto.Signer) {
	s := k.keys.Load().sign
	return s.kid, s.alg, s.priv
}

// PublicKey is a key that verifies tokens: its kid, its one algorithm
// and the key (*rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey).
type PublicKey struct {
	KID string
	Alg Algorithm
	Key crypto.PublicKey
}

// PublicKeys returns every verification key, ordered by kid.
func (k *Keyring) PublicKeys() []PublicKey {
	ks := k.keys.Load()
	out := make([]PublicKey, 0, len(ks.keys))
	for _, vk := range ks.keys {
		out = append(out, PublicKey{KID: vk.kid, Alg: vk.alg, Key: vk.pub})
	}
	slices.SortFunc(out, func(a, b PublicKey) int { return strings.Compare(a.KID, b.KID) })
	return out
}

// KID returns the kid of the key that signs new tokens.
func (k *Keyring) KID() string { return k.keys.Load().sign.kid }

// Algorithm returns the algorithm of the key that signs new tokens.
func (k *Keyring) Algorithm() Algorithm { return k.keys.Load().sign.alg }

// Config returns the Keyring's configuration with defaults filled in.
func (k *Keyring) Config() Config { return k.cfg }

// newKeySet: the newest current key (not being retired) signs; every key
// not yet retired at now verifies and is in the JWKS, whatever its
// algorithm.
func newKeySet(keys []store.SigningKey, now time.Time) (*keySet, error) {
	keys = slices.Clone(keys)
	// The store lists oldest first; sort anyway (stable, so the store's
	// order breaks ties) so every process picks the same key.
	slices.SortStableFunc(keys, func(a, b store.SigningKey) int { return a.CreatedAt.Compare(b.CreatedAt) })

	ks := &keySet{keys: make(map[string]*key, len(keys)), retires: map[string]time.Time{}}
	var jwks jwkSet
	var newestRetiring *key
	for _, sk := range keys {
		if !sk.RetiresAt.IsZero() && !now.Before(sk.RetiresAt) {
			continue // retired
		}
		vk, err := parseKey(sk)
		if err != nil {
			return nil, err
		}
		if _, dup := ks.keys[sk.KID]; dup {
			return nil, fmt.Errorf("auth: duplicate signing key id %q", sk.KID)
		}
		ks.keys[sk.KID] = vk
		if sk.RetiresAt.IsZero() {
			ks.sign = vk
		} else {
			ks.retires[sk.KID] = sk.RetiresAt
			newestRetiring = vk
		}
		jwks.Keys = append(jwks.Keys, vk.jwk)
	}
	if ks.sign == nil {
		if newestRetiring == nil {
			return nil, errors.New("auth: every signing key in the store is retired; run `profiled keys rotate`")
		}
		ks.sign = newestRetiring
	}
	b, err := json.Marshal(jwks)
	if err != nil {
		return nil, fmt.Errorf("auth: encoding JWKS: %w", err)
	}
	ks.jwks = b
	return ks, nil
}

// JWKSCacheControl is the Cache-Control header JWKSHandler sends.
const JWKSCacheControl = "public, max-age=300"

// JWKSHandler serves the public keys as a JWK Set (RFC 7517):
// {"keys":[{"kty":"RSA","kid":...,"use":"sig","alg":"RS256","n":...,"e":...}]};
// an ES256 key is {"kty":"EC","crv":"P-256","x":...,"y":...}, an EdDSA key
// {"kty":"OKP","crv":"Ed25519","x":...} (with kid, use and alg).
// Mount it at /.well-known/jwks.json. It answers GET and HEAD.
func (k *Keyring) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body := k.keys.Load().jwks
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", JWKSCacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}

// RotateStore is what Rotate needs: the store's signing keys and a way to
// retire them (*db.DB satisfies it).
type RotateStore interface {
	KeyStore
	// RetireSigningKeys makes every key but keep stop verifying at at.
	RetireSigningKeys(ctx context.Context, keep string, at time.Time) error
}

// Rotate adds a new signing key of algorithm alg ("" = DefaultAlgorithm),
// which signs from the next (re)load of each process's keys, and retires
// the others at now+grace: until then they still verify the tokens they
// signed and stay in the JWKS, whatever their algorithm. grace should be
// at least the longest token lifetime in use (management tokens: 24 h by
// default); tokens signed by an old key stop working at the end of grace
// whatever their exp. It returns the new key's kid.
func Rotate(ctx context.Context, st RotateStore, now time.Time, grace time.Duration, alg Algorithm) (string, error) {
	if grace < 0 {
		return "", errors.New("auth: negative grace")
	}
	if alg == "" {
		alg = DefaultAlgorithm
	}
	now = now.UTC()
	kid := "profiled-" + now.Format("20060102T150405Z") + "-" + randomKIDSuffix()
	pemKey, err := generateKey(alg)
	if err != nil {
		return "", err
	}
	// The new key first: were the retirement to fail, the old keys would
	// stay valid, never the store left without a current key.
	if err := st.InsertSigningKey(ctx, store.SigningKey{KID: kid, PrivatePEM: pemKey, CreatedAt: now}); err != nil {
		return "", fmt.Errorf("auth: storing signing key: %w", err)
	}
	if err := st.RetireSigningKeys(ctx, kid, now.Add(grace)); err != nil {
		return kid, fmt.Errorf("auth: retiring the previous signing keys: %w", err)
	}
	return kid, nil
}

func randomKIDSuffix() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("%x", b)
}
