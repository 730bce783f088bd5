package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/store"
)

// maxUserAgent bounds the User-Agent kept in the context (it ends up in
// events).
const maxUserAgent = 512

type ctxKey struct{}

// requestAuth is what Middleware records for one request.
type requestAuth struct {
	caller    policy.Caller
	err       error // nil: caller is valid
	ip        string
	userAgent string
}

// Middleware verifies the request's `Authorization: Bearer <token>` and
// records the outcome, with the client's IP and User-Agent, in the request
// context for CallerFrom and ClientFrom. It never rejects a request: no
// header means anonymous, and a bad header or token is kept for the
// resolvers to answer UNAUTHENTICATED (signup and login need no token).
func Middleware(k *Keyring, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	if k == nil {
		panic("auth.Middleware: nil Keyring")
	}
	var o middlewareOptions
	for _, opt := range opts {
		opt(&o)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ra := &requestAuth{
				ip:        clientIP(r, k.cfg.TrustProxy),
				userAgent: truncate(r.UserAgent(), maxUserAgent),
			}
			switch values := r.Header.Values("Authorization"); {
			case len(values) == 0:
				ra.err = ErrNoCredentials
			case len(values) > 1:
				ra.err = refuse(ReasonBadHeader)
			default:
				if tok, ok := bearer(values[0]); ok {
					ra.caller, ra.err = k.Verify(tok)
					if ra.err == nil && o.recheck != nil {
						if err := o.recheck(r.Context(), ra.caller); err != nil {
							ra.caller, ra.err = policy.Caller{}, recheckRefusal(err)
						}
					}
				} else {
					ra.err = refuse(ReasonBadHeader)
				}
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ra)))
		})
	}
}

// bearer extracts the token of "Bearer <token>" (scheme case-insensitive,
// RFC 7235).
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// CallerFrom returns the caller Middleware verified for the request. It
// returns ErrNoCredentials when the request carried no token (or did not go
// through Middleware), and the *TokenError when the header or token was
// bad; both match errors.Is(err, ErrUnauthenticated).
func CallerFrom(ctx context.Context) (policy.Caller, error) {
	ra, _ := ctx.Value(ctxKey{}).(*requestAuth)
	if ra == nil {
		return policy.Caller{}, ErrNoCredentials
	}
	if ra.err != nil {
		return policy.Caller{}, ra.err
	}
	return ra.caller, nil
}

// ClientFrom returns the client's IP and User-Agent recorded by Middleware
// ("" for each when the request did not go through it). The IP is the
// connection's remote address, or the last X-Forwarded-For entry when
// Config.TrustProxy is set and that entry is a valid address.
func ClientFrom(ctx context.Context) (ip, userAgent string) {
	ra, _ := ctx.Value(ctxKey{}).(*requestAuth)
	if ra == nil {
		return "", ""
	}
	return ra.ip, ra.userAgent
}

// ContextWithCaller returns ctx carrying caller as if Middleware had
// verified its token, keeping any client information already there. For
// in-process callers and tests of the layers above.
func ContextWithCaller(ctx context.Context, caller policy.Caller) context.Context {
	ra := &requestAuth{caller: caller}
	if old, _ := ctx.Value(ctxKey{}).(*requestAuth); old != nil {
		ra.ip, ra.userAgent = old.ip, old.userAgent
	}
	return context.WithValue(ctx, ctxKey{}, ra)
}

func clientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		// The nearest proxy appends the address it saw; entries to its
		// left were sent by the client and can be forged.
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return a.Unmap().String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Drop a UTF-8 sequence cut in half (and any other invalid bytes).
	return strings.ToValidUTF8(s[:n], "")
}

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middlewareOptions)

type middlewareOptions struct {
	recheck func(ctx context.Context, c policy.Caller) error
}

// Recheck has Middleware call check on every valid token (management and
// user tokens), after
// its signature and claims. An error refuses the token: one that has a
// RevocationReason() method is UNAUTHENTICATED, ReasonRevoked, with that
// reason as the detail; one wrapping store.ErrUnavailable (the check
// could not be made) is returned as it is, so the request fails as a store
// outage does (INTERNAL, retryable) instead of signing the holder out; any
// other is ReasonRevoked without detail. It lets tokens issued to
// a person — an admin connection's user — die with that person's rights,
// not at their expiry.
func Recheck(check func(ctx context.Context, c policy.Caller) error) MiddlewareOption {
	return func(o *middlewareOptions) { o.recheck = check }
}

// recheckRefusal is the request's auth error for a failed recheck.
func recheckRefusal(err error) error {
	var r interface{ RevocationReason() string }
	switch {
	case errors.As(err, &r):
		return &TokenError{Reason: ReasonRevoked, Detail: r.RevocationReason()}
	case errors.Is(err, store.ErrUnavailable):
		return err
	}
	return &TokenError{Reason: ReasonRevoked}
}
