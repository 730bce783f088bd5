package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/cors"
)

// OriginPolicy answers whether a web page on origin (scheme://host[:port],
// as browsers send it in the Origin header) may call the API from the
// browser. The static allow-list (serve --cors-origins) is one; a future
// list of applications' allowed web origins can be another, combined with
// AnyOrigin. It is asked on every cross-origin request, so it may change
// while the server runs.
type OriginPolicy interface {
	AllowOrigin(origin string) bool
}

// OriginFunc adapts a function to OriginPolicy.
type OriginFunc func(origin string) bool

// AllowOrigin calls f.
func (f OriginFunc) AllowOrigin(origin string) bool { return f(origin) }

// AnyOrigin allows an origin that one of policies allows.
func AnyOrigin(policies ...OriginPolicy) OriginPolicy {
	return OriginFunc(func(origin string) bool {
		for _, p := range policies {
			if p != nil && p.AllowOrigin(origin) {
				return true
			}
		}
		return false
	})
}

// OriginList is a fixed allow-list of origins; "*" allows every origin.
type OriginList struct {
	all     bool
	origins map[string]bool
}

// AllowOrigin reports whether origin is in the list.
func (l OriginList) AllowOrigin(origin string) bool {
	return l.all || l.origins[strings.ToLower(origin)]
}

// Empty reports whether the list allows nothing.
func (l OriginList) Empty() bool { return !l.all && len(l.origins) == 0 }

// ParseOrigins reads a comma-separated allow-list (--cors-origins). Each
// entry is an origin, scheme://host[:port] with no path, or "*" (every
// origin), which is refused when credentials are allowed: a page on any
// site could then act with the visitor's cookies.
func ParseOrigins(list string, credentials bool) (OriginList, error) {
	l := OriginList{origins: map[string]bool{}}
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
			continue
		case o == "*":
			if credentials {
				return OriginList{}, errors.New(`"*" cannot be combined with credentials: list the origins`)
			}
			l.all = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Host, "*") {
			return OriginList{}, fmt.Errorf("%q is not an origin (scheme://host[:port], e.g. https://app.example.com)", o)
		}
		l.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return l, nil
}

// CORS configures cross-origin requests from browsers.
type CORS struct {
	// Origins decides which pages may call the API; nil allows none.
	Origins OriginPolicy
	// Credentials lets browsers send cookies and HTTP authentication
	// along (Access-Control-Allow-Credentials). The API authenticates with
	// bearer tokens, so it is off by default.
	Credentials bool
	// MaxAge is how long browsers may cache a preflight's answer (default
	// two hours, Chromium's cap).
	MaxAge time.Duration
}

// corsHeaders are the request headers pages may send: the bearer token,
// the JSON or multipart body, and those of Apollo clients (automatic
// persisted queries and CSRF prevention send them).
var corsHeaders = []string{
	"Authorization", "Content-Type",
	"Apollo-Require-Preflight", "X-Apollo-Operation-Name",
	"Apollographql-Client-Name", "Apollographql-Client-Version",
}

// withCORS answers preflights and adds Access-Control-* headers for the
// origins c allows; other origins get no such header, so browsers keep
// their pages from reading the answers.
func withCORS(c *CORS, next http.Handler) http.Handler {
	if c == nil || c.Origins == nil {
		return next
	}
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = 2 * time.Hour
	}
	return cors.New(cors.Options{
		AllowOriginFunc:  c.Origins.AllowOrigin,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   corsHeaders,
		ExposedHeaders:   []string{"Content-Disposition"},
		MaxAge:           int(maxAge / time.Second),
		AllowCredentials: c.Credentials,
	}).Handler(next)
}
