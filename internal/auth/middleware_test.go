package auth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

func TestMiddleware(t *testing.T) {
	clk := newClock()
	k := newKeyring(t, &memStore{}, Config{Now: clk.Now})
	mgmt, _ := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 0)
	user, _, _ := k.IssueUser(policy.User{ID: "u1"})
	expired, _ := k.IssueManagement(nil, "cli", time.Second)

	type result struct {
		caller policy.Caller
		err    error
		ip, ua string
	}
	serve := func(k *Keyring, r *http.Request) (result, int) {
		var got result
		called := false
		h := Middleware(k)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			got.caller, got.err = CallerFrom(r.Context())
			got.ip, got.ua = ClientFrom(r.Context())
			w.WriteHeader(204)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if !called {
			t.Fatal("middleware did not call the next handler")
		}
		return got, rec.Code
	}
	req := func(auth ...string) *http.Request {
		r := httptest.NewRequest("POST", "/graphql", nil)
		r.RemoteAddr = "192.0.2.7:51234"
		r.Header.Set("User-Agent", "test-agent/1.0")
		for _, a := range auth {
			r.Header.Add("Authorization", a)
		}
		return r
	}

	clk.Add(time.Minute) // "expired" is now past exp + leeway
	cases := []struct {
		name    string
		r       *http.Request
		wantErr error  // nil: a caller
		reason  Reason // for *TokenError
		self    bool
		subject string
	}{
		{name: "anonymous", r: req(), wantErr: ErrNoCredentials},
		{name: "management", r: req("Bearer " + mgmt), subject: "cli"},
		{name: "user", r: req("Bearer " + user), subject: "u1", self: true},
		{name: "lower-case scheme", r: req("bearer " + mgmt), subject: "cli"},
		{name: "extra spaces", r: req("  Bearer   " + mgmt + " "), subject: "cli"},
		{name: "expired", r: req("Bearer " + expired), reason: ReasonExpired},
		{name: "garbage token", r: req("Bearer abc"), reason: ReasonMalformed},
		{name: "Basic", r: req("Basic dXNlcjpwYXNz"), reason: ReasonBadHeader},
		{name: "token without scheme", r: req(mgmt), reason: ReasonBadHeader},
		{name: "Bearer alone", r: req("Bearer"), reason: ReasonBadHeader},
		{name: "Bearer and spaces", r: req("Bearer   "), reason: ReasonBadHeader},
		{name: "empty header", r: req(""), reason: ReasonBadHeader},
		{name: "two tokens", r: req("Bearer " + mgmt + " " + user), reason: ReasonBadHeader},
		{name: "two headers", r: req("Bearer "+mgmt, "Bearer "+user), reason: ReasonBadHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, code := serve(k, c.r)
			if code != 204 {
				t.Fatalf("status %d: the middleware must not answer itself", code)
			}
			if got.ip != "192.0.2.7" || got.ua != "test-agent/1.0" {
				t.Fatalf("client = %q, %q", got.ip, got.ua)
			}
			switch {
			case c.wantErr != nil:
				if !errors.Is(got.err, c.wantErr) || !errors.Is(got.err, ErrUnauthenticated) {
					t.Fatalf("err = %v, want %v", got.err, c.wantErr)
				}
			case c.reason != "":
				var te *TokenError
				if !errors.As(got.err, &te) || te.Reason != c.reason || !errors.Is(got.err, ErrUnauthenticated) {
					t.Fatalf("err = %v, want reason %q", got.err, c.reason)
				}
				if errors.Is(got.err, ErrNoCredentials) {
					t.Fatal("a bad token must not look anonymous")
				}
			default:
				if got.err != nil || got.caller.Subject != c.subject || got.caller.Self != c.self {
					t.Fatalf("caller = %+v, %v", got.caller, got.err)
				}
			}
		})
	}

	// No middleware at all: anonymous, no client.
	if _, err := CallerFrom(context.Background()); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("bare context: %v", err)
	}
	if ip, ua := ClientFrom(context.Background()); ip != "" || ua != "" {
		t.Fatalf("bare context client = %q %q", ip, ua)
	}

	// ContextWithCaller keeps the client.
	var ctx context.Context
	Middleware(k)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { ctx = r.Context() })).ServeHTTP(httptest.NewRecorder(), req())
	ctx = ContextWithCaller(ctx, policy.Caller{Subject: "x", Self: true})
	if c, err := CallerFrom(ctx); err != nil || c.Subject != "x" {
		t.Fatalf("ContextWithCaller: %+v %v", c, err)
	}
	if ip, _ := ClientFrom(ctx); ip != "192.0.2.7" {
		t.Fatalf("ContextWithCaller lost the client ip: %q", ip)
	}
}

func TestClientIP(t *testing.T) {
	plain := newKeyring(t, &memStore{}, Config{})
	proxied := newKeyring(t, &memStore{}, Config{TrustProxy: true})
	cases := []struct {
		name   string
		remote string
		xff    []string
		trust  bool
		want   string
	}{
		{"ipv4", "203.0.113.9:1234", nil, false, "203.0.113.9"},
		{"ipv6", "[2001:db8::1]:443", nil, false, "2001:db8::1"},
		{"v4-mapped", "[::ffff:203.0.113.9]:443", nil, false, "203.0.113.9"},
		{"no port", "203.0.113.9", nil, false, "203.0.113.9"},
		{"xff ignored without TrustProxy", "10.0.0.1:80", []string{"198.51.100.1"}, false, "10.0.0.1"},
		{"xff used with TrustProxy", "10.0.0.1:80", []string{"198.51.100.1"}, true, "198.51.100.1"},
		{"xff last entry (client-sent ones are forgeable)", "10.0.0.1:80", []string{"6.6.6.6, 198.51.100.1"}, true, "198.51.100.1"},
		{"xff several headers", "10.0.0.1:80", []string{"6.6.6.6", "198.51.100.2"}, true, "198.51.100.2"},
		{"xff ipv6", "10.0.0.1:80", []string{"2001:db8::2"}, true, "2001:db8::2"},
		{"xff invalid falls back", "10.0.0.1:80", []string{"not-an-ip"}, true, "10.0.0.1"},
		{"xff empty falls back", "10.0.0.1:80", []string{""}, true, "10.0.0.1"},
		{"no xff with TrustProxy", "10.0.0.1:80", nil, true, "10.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := plain
			if c.trust {
				k = proxied
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var ip string
			Middleware(k)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { ip, _ = ClientFrom(r.Context()) })).
				ServeHTTP(httptest.NewRecorder(), r)
			if ip != c.want {
				t.Fatalf("ip = %q, want %q", ip, c.want)
			}
		})
	}

	// A long User-Agent is cut at a rune boundary.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", strings.Repeat("é", 400))
	var ua string
	Middleware(plain)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { _, ua = ClientFrom(r.Context()) })).
		ServeHTTP(httptest.NewRecorder(), r)
	if len(ua) > maxUserAgent || !strings.HasPrefix(strings.Repeat("é", 400), ua) || len(ua) < maxUserAgent-3 {
		t.Fatalf("user agent cut to %d bytes: %q", len(ua), ua[len(ua)-4:])
	}
}

// BenchmarkVerify measures Verify (without the verified-token cache)
// against the bare cost of its signature check: rsa.VerifyPKCS1v15 on the
// same digest with the same key. The "Paired" sub-benchmark runs both in
// each iteration and reports verify/baseline as "ratio", which stays
// meaningful on a noisy machine.
func BenchmarkVerify(b *testing.B) {
	k := newKeyring(b, &memStore{}, Config{VerifiedCache: -1})
	tok, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers, policy.ScopeUpdateUsers}, "cli", 0)
	if err != nil {
		b.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	pub := &rsaSigner(b, k).PublicKey
	baseline := func() {
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
	verify := func() {
		if _, err := k.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("Baseline", func(b *testing.B) {
		for b.Loop() {
			baseline()
		}
	})
	b.Run("Keyring.Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			verify()
		}
	})
	b.Run("Paired", func(b *testing.B) {
		var base, full time.Duration
		for b.Loop() {
			t0 := time.Now()
			baseline()
			t1 := time.Now()
			verify()
			full += time.Since(t1)
			base += t1.Sub(t0)
		}
		b.ReportMetric(float64(full)/float64(base), "ratio")
		b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "baseline-ns/op")
		b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "verify-ns/op")
	})
	b.Run("IssueManagement", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.IssueManagement([]policy.Scope{policy.ScopeReadUsers}, "cli", 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
