package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/profiled/profiled/internal/policy"
)

// Token kinds, in the "token_use" claim. Access tokens also carry the JWT
// header typ "at+jwt" (RFC 9068); ID tokens carry "JWT" and token_use "id",
// so an ID token is never accepted as an access token.
const (
	TokenUseManagement = "management"
	TokenUseUser       = "user"
	TokenUseID         = "id"
	// TokenUseAPI marks an access token for one of the customer's APIs
	// (aud = its identifier). This service never accepts one.
	TokenUseAPI = "api"

	typAccessToken = "at+jwt"
	typIDToken     = "JWT"
	// maxTokenBytes bounds what Verify will parse.
	maxTokenBytes = 8 << 10
)

// UserScopes are the scopes of a user (self-service) token.
var UserScopes = []policy.Scope{policy.ScopeReadCurrentUser, policy.ScopeUpdateCurrentUserMetadata}

// ErrUnauthenticated is matched (errors.Is) by every error meaning "no
// valid credentials": ErrNoCredentials and every *TokenError. The API maps
// it to UNAUTHENTICATED.
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrNoCredentials: the request carried no token.
var ErrNoCredentials = fmt.Errorf("%w: no credentials", ErrUnauthenticated)

// Reason says in a few words why a token was refused. Reasons are safe to
// show to the caller: they reveal nothing about keys or internals.
type Reason string

// The reasons of a *TokenError.
const (
	ReasonBadHeader   Reason = "malformed authorization header"
	ReasonMalformed   Reason = "malformed token"
	ReasonAlgorithm   Reason = "unsupported signing algorithm"
	ReasonUnknownKey  Reason = "unknown signing key"
	ReasonSignature   Reason = "invalid signature"
	ReasonExpired     Reason = "token expired"
	ReasonNotYetValid Reason = "token not valid yet"
	ReasonIssuer      Reason = "wrong issuer"
	ReasonAudience    Reason = "wrong audience"
	ReasonClaims      Reason = "missing or invalid claims"
	ReasonTokenType   Reason = "not an access token"
	ReasonRevoked     Reason = "token revoked"
)

// TokenError is a refused token (or Authorization header). Its message is
// "unauthenticated: <reason>" and nothing more.
type TokenError struct {
	Reason Reason
	// Detail, for ReasonRevoked, says why (safe to show the token's holder).
	Detail string
}

func (e *TokenError) Error() string {
	if e.Detail != "" {
		return "unauthenticated: " + string(e.Reason) + ": " + e.Detail
	}
	return "unauthenticated: " + string(e.Reason)
}

// Is makes errors.Is(err, ErrUnauthenticated) true.
func (e *TokenError) Is(target error) bool { return target == ErrUnauthenticated }

func refuse(r Reason) *TokenError { return &TokenError{Reason: r} }

// IssueManagement signs a management access token carrying scopes
// (space-separated in the "scope" claim) for subject (who or what it was
// issued to, e.g. "cli"; required). ttl 0 means Config.ManagementTTL.
func (k *Keyring) IssueManagement(scopes []policy.Scope, subject string, ttl time.Duration) (string, error) {
	if subject == "" {
		return "", errors.New("auth: a management token needs a subject")
	}
	if ttl < 0 {
		return "", errors.New("auth: negative token lifetime")
	}
	if ttl == 0 {
		ttl = k.cfg.ManagementTTL
	}
	seen := make(map[policy.Scope]bool, len(scopes))
	list := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s == "" || strings.ContainsFunc(string(s), isSpaceOrControl) {
			return "", fmt.Errorf("auth: invalid scope %q", s)
		}
		if !seen[s] {
			seen[s] = true
			list = append(list, string(s))
		}
	}
	return k.signAccess(TokenUseManagement, subject, strings.Join(list, " "), ttl)
}

// OwnAudience is the audience of this service's own tokens: no API may
// take it as its identifier (service.New reserves it).
func (k *Keyring) OwnAudience() string { return k.cfg.Audience }

// IssueAPI signs an access token for the API audience (its identifier)
// for user: sub = the user id, scope = grant.Scopes, and a permissions
// claim (a JSON list, possibly empty) when grant.Permissions is non-nil.
// It expires after Config.UserTTL, returned as expiresIn. Its token_use is
// "api", which Verify refuses: it is for that API, not for this service.
func (k *Keyring) IssueAPI(user policy.User, audience string, grant policy.APITokenGrant) (string, time.Duration, error) {
	if user.ID == "" || audience == "" {
		return "", 0, errors.New("auth: an API token needs a user id and an audience")
	}
	if audience == k.cfg.Audience {
		return "", 0, errors.New("auth: an API token cannot name this service's own audience")
	}
	for _, s := range grant.Scopes {
		if s == "" || strings.ContainsFunc(s, isSpaceOrControl) {
			return "", 0, fmt.Errorf("auth: invalid scope %q", s)
		}
	}
	jti, err := newJTI()
	if err != nil {
		return "", 0, err
	}
	ttl := k.cfg.UserTTL
	now := k.cfg.Now()
	c := jwt.MapClaims{
		"iss":       k.cfg.Issuer,
		"aud":       audience,
		"sub":       user.ID,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       jti,
		"token_use": TokenUseAPI,
	}
	if len(grant.Scopes) > 0 {
		c["scope"] = strings.Join(grant.Scopes, " ")
	}
	if grant.Permissions != nil {
		c["permissions"] = grant.Permissions
	}
	tok, err := k.sign(typAccessToken, c)
	if err != nil {
		return "", 0, err
	}
	return tok, ttl, nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// IssueUser signs the user access token the login mutation returns for
// user: sub = user.ID, scope "read:current_user
// update:current_user_metadata", marked a user token. It expires after
// Config.UserTTL, which is returned as expiresIn.
func (k *Keyring) IssueUser(user policy.User) (accessToken string, expiresIn time.Duration, err error) {
	if user.ID == "" {
		return "", 0, errors.New("auth: a user token needs a user id")
	}
	ttl := k.cfg.UserTTL
	scopes := make([]string, len(UserScopes))
	for i, s := range UserScopes {
		scopes[i] = string(s)
	}
	accessToken, err = k.signAccess(TokenUseUser, user.ID, strings.Join(scopes, " "), ttl)
	if err != nil {
		return "", 0, err
	}
	return accessToken, ttl, nil
}

// IssueIDToken signs an OpenID Connect ID token for user with the user's
// profile claims (token_use "id", typ "JWT": never accepted as an access
// token). It expires after Config.UserTTL. Signing costs as much as the
// access token, so the login mutation asks for it only when idToken is
// selected.
func (k *Keyring) IssueIDToken(user policy.User) (string, error) {
	if user.ID == "" {
		return "", errors.New("auth: an ID token needs a user id")
	}
	now := k.cfg.Now()
	c := jwt.MapClaims{
		"iss":       k.cfg.Issuer,
		"aud":       k.cfg.Audience,
		"sub":       user.ID,
		"iat":       now.Unix(),
		"exp":       now.Add(k.cfg.UserTTL).Unix(),
		"token_use": TokenUseID,
	}
	for name, v := range IDTokenClaims(user) {
		c[name] = v
	}
	return k.sign(typIDToken, c)
}

func (k *Keyring) signAccess(use, subject, scope string, ttl time.Duration) (string, error) {
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	now := k.cfg.Now()
	c := jwt.MapClaims{
		"iss":       k.cfg.Issuer,
		"aud":       k.cfg.Audience,
		"sub":       subject,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"jti":       jti,
		"token_use": use,
	}
	if scope != "" {
		c["scope"] = scope
	}
	return k.sign(typAccessToken, c)
}

func (k *Keyring) sign(typ string, c jwt.MapClaims) (string, error) {
	sk := k.keys.Load().sign
	t := jwt.NewWithClaims(sk.method, c)
	t.Header["kid"] = sk.kid
	t.Header["typ"] = typ
	s, err := t.SignedString(sk.priv)
	if err != nil {
		return "", fmt.Errorf("auth: signing token: %w", err)
	}
	return s, nil
}

func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: token id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// accessClaims are the claims Verify reads.
type accessClaims struct {
	jwt.RegisteredClaims
	Scope    string `json:"scope"`
	TokenUse string `json:"token_use"`
}

// UnmarshalJSON is strict about claim types (RFC 7519): exp, nbf and iat
// are JSON numbers (jwt's NumericDate also takes a quoted number), iss,
// sub, jti, scope and token_use strings, aud a string or a list of
// strings.
func (c *accessClaims) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for name, v := range raw {
		v = bytes.TrimSpace(v)
		var ok bool
		switch name {
		case "exp", "nbf", "iat":
			ok = len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
		case "iss", "sub", "jti", "scope", "token_use":
			ok = len(v) > 0 && v[0] == '"'
		case "aud":
			var one string
			var many []string
			ok = json.Unmarshal(v, &one) == nil || (len(v) > 0 && v[0] == '[' && json.Unmarshal(v, &many) == nil)
		default:
			continue // other claims (an ID token's) are not read here
		}
		if !ok {
			return fmt.Errorf("claim %q has the wrong type", name)
		}
	}
	type plain accessClaims // without this method
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*c = accessClaims(p)
	return nil
}

// errors the key function returns, mapped to reasons by Verify.
var (
	errAlg        = errors.New("alg")
	errType       = errors.New("typ")
	errUnknownKid = errors.New("kid")
)

// Verify checks token and returns who it speaks for. Only a signature by
// one of the store's keys (looked up by the kid header), made with that
// key's one algorithm, is accepted: the alg header must name it (an HS256,
// none, or RS256-for-an-ES256-key token is refused, ReasonAlgorithm);
// iss, aud, exp (required), nbf and iat are checked against the Keyring's
// clock with Leeway; the token must be an access token (typ "at+jwt",
// token_use "management" or "user") with a subject. Any failure is a
// *TokenError (errors.Is ErrUnauthenticated).
//
// A user token yields Self = true, Subject = the user id and at most the
// UserScopes; a management token yields Self = false and its scopes.
//
// An accepted token is remembered (Config.VerifiedCache) until its exp:
// the same token verified again returns the same caller without the
// signature check, under the same conditions of time and key (see
// verifiedCache). Nothing about the token's holder is cached: that is the
// middleware's recheck, on every request.
func (k *Keyring) Verify(token string) (policy.Caller, error) {
	if token == "" || len(token) > maxTokenBytes {
		return policy.Caller{}, refuse(ReasonMalformed)
	}
	ks := k.keys.Load()
	var h [32]byte
	if k.cache != nil {
		h = sha256.Sum256([]byte(token))
		if c, ok := k.cache.get(h, ks, k.cfg.Now()); ok {
			return c, nil
		}
	}
	caller, e, err := k.verify(token, ks)
	if err != nil {
		return policy.Caller{}, err
	}
	if k.cache != nil {
		k.cache.put(h, e, k.cfg.Now())
	}
	return caller, nil
}

// verify is Verify without the cache; it also returns the cache entry the
// accepted token makes.
func (k *Keyring) verify(token string, ks *keySet) (policy.Caller, *cachedToken, error) {
	var c accessClaims
	var used *key
	tok, err := k.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		alg, _ := t.Header["alg"].(string)
		kid, _ := t.Header["kid"].(string)
		vk, known := ks.keys[kid]
		if !slices.Contains(validMethods, alg) {
			return nil, errAlg
		}
		if !known {
			return nil, errUnknownKid
		}
		// The key decides the algorithm, never the token.
		if alg != string(vk.alg) || t.Method != vk.method {
			return nil, errAlg
		}
		typ, _ := t.Header["typ"].(string)
		if !strings.EqualFold(typ, typAccessToken) && !strings.EqualFold(typ, "application/"+typAccessToken) {
			// The OpenID Provider's library types its access tokens "JWT":
			// accepted only from its issuer, and only with a token_use of
			// an access token (checked below; its ID tokens say "id").
			if typ != typIDToken || !k.extraIssuer(t) {
				return nil, errType
			}
		}
		if at, retiring := ks.retires[kid]; retiring && !k.cfg.Now().Before(at) {
			return nil, errUnknownKid // retired since the keys were loaded
		}
		used = vk
		return vk.pub, nil
	})
	if err != nil {
		return policy.Caller{}, nil, refuse(reasonFor(tok, err))
	}

	if c.Issuer == "" {
		return policy.Caller{}, nil, refuse(ReasonClaims)
	}
	if c.Issuer != k.cfg.Issuer && !slices.Contains(k.cfg.ExtraIssuers, c.Issuer) {
		return policy.Caller{}, nil, refuse(ReasonIssuer)
	}
	if c.TokenUse != TokenUseManagement && c.TokenUse != TokenUseUser {
		return policy.Caller{}, nil, refuse(ReasonTokenType)
	}
	if c.Subject == "" || c.ExpiresAt == nil || c.IssuedAt == nil {
		return policy.Caller{}, nil, refuse(ReasonClaims)
	}
	caller := policy.Caller{Subject: c.Subject, Scopes: map[policy.Scope]bool{}, Self: c.TokenUse == TokenUseUser}
	for _, s := range strings.Fields(c.Scope) {
		caller.Scopes[policy.Scope(s)] = true
	}
	if caller.Self {
		// A user token never carries more than the self-service scopes,
		// whatever it says.
		allowed := map[policy.Scope]bool{}
		for _, s := range UserScopes {
			if caller.Scopes[s] {
				allowed[s] = true
			}
		}
		caller.Scopes = allowed
	}
	// Where the parser's time checks pass: after iat and nbf, before exp,
	// each with Leeway.
	from := c.IssuedAt.Time
	if c.NotBefore != nil && c.NotBefore.After(from) {
		from = c.NotBefore.Time
	}
	e := &cachedToken{caller: caller, kid: used.kid, fp: used.fp,
		from: from.Add(-Leeway), until: c.ExpiresAt.Add(Leeway)}
	return caller, e, nil
}

// extraIssuer reports whether the unverified token claims one of the
// ExtraIssuers (the signature is checked after).
func (k *Keyring) extraIssuer(t *jwt.Token) bool {
	iss, _ := t.Claims.GetIssuer()
	return iss != "" && slices.Contains(k.cfg.ExtraIssuers, iss)
}

func reasonFor(tok *jwt.Token, err error) Reason {
	switch {
	case errors.Is(err, errAlg):
		return ReasonAlgorithm
	case errors.Is(err, errType):
		return ReasonTokenType
	case errors.Is(err, errUnknownKid):
		return ReasonUnknownKey
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ReasonMalformed
	}
	// Refused before the key function ran: the alg is not one of ours (the
	// parser's method allow-list) or not one jwt knows.
	if tok != nil {
		if alg, _ := tok.Header["alg"].(string); !slices.Contains(validMethods, alg) {
			return ReasonAlgorithm
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ReasonSignature
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ReasonIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ReasonAudience
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing), errors.Is(err, jwt.ErrTokenInvalidClaims):
		return ReasonClaims
	}
	return ReasonMalformed
}

// IDTokenClaims are the profile claims of user's ID token, from the
// profile's table of fields (policy.ProfileFields' Claim): unset fields are
// left out, times are seconds since the epoch (OIDC's updated_at).
func IDTokenClaims(user policy.User) map[string]any {
	c := map[string]any{}
	for _, f := range policy.ProfileFields {
		if f.Claim == "" {
			continue
		}
		if f.ClaimWith != "" {
			with, _ := policy.LookupField(f.ClaimWith)
			if !isSet(with.Value(user)) {
				continue
			}
		}
		v := f.Value(user)
		if !isSet(v) {
			continue
		}
		if t, ok := v.(time.Time); ok {
			v = t.Unix()
		}
		c[f.Claim] = v
	}
	return c
}

// isSet reports whether a field's value is given: a non-empty string, a
// non-zero time; booleans and numbers always are.
func isSet(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case time.Time:
		return !v.IsZero()
	}
	return true
}
