// Package server assembles Profiled's HTTP surface: the GraphQL endpoint,
// the playground, JWKS, health and metrics, with request logging, body
// limits and metrics around them. It holds no business logic.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/dashboard"
	"github.com/profiled/profiled/internal/graph"
	"github.com/profiled/profiled/internal/playground"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// Pinger reports whether the store answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configures the HTTP handler.
type Options struct {
	Resolver *graph.Resolver
	Keyring  *auth.Keyring
	Store    Pinger
	Logger   *slog.Logger
	// MaxBodyBytes bounds a JSON request body (default 1 MiB). Multipart
	// uploads are bounded by the GraphQL handler's MaxUploadSize.
	MaxBodyBytes int64
	Limits       graph.Limits
	// Extra handlers mounted as they are (e.g. the dashboard at /dashboard/).
	Extra map[string]http.Handler
	// RecheckManagement, when set, is asked about every valid management
	// token on every request (auth.Recheck); service.RecheckManagementCaller
	// makes admin users' tokens die with their rights.
	RecheckManagement func(ctx context.Context, c policy.Caller) error
	// DisableIntrospection refuses GraphQL introspection (__schema,
	// __type); by default anyone may introspect (serve --introspection).
	DisableIntrospection bool
	// CORS lets web pages on other origins call the API (nil: none may,
	// but those of AppWebOrigins).
	CORS *CORS
	// AppWebOrigins, when set, lists the applications' allowed web
	// origins (service.WebOrigins): pages on them may call the API too,
	// besides CORS.Origins (read at most every 5 s, see AppOrigins).
	AppWebOrigins func(ctx context.Context) ([]string, error)
	// Collectors are more metrics served on /metrics beside the HTTP and
	// Go runtime ones (serve adds the sandbox's and the token cache's).
	Collectors []prometheus.Collector
}

// New returns the service's HTTP handler.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)
	reg.MustRegister(o.Collectors...)

	gql := graph.NewHandler(o.Resolver, graph.HandlerOptions{
		Limits:               o.Limits,
		Logger:               o.Logger,
		DisableIntrospection: o.DisableIntrospection,
		Client: func(ctx context.Context) service.Client {
			ip, ua := auth.ClientFrom(ctx)
			return service.Client{IP: ip, UserAgent: ua}
		},
	})

	mux := http.NewServeMux()
	mux.Handle("/graphql", bodyLimit(o.MaxBodyBytes, gql))
	mux.Handle("GET /{$}", playground.Page())
	mux.Handle("GET "+playground.AssetPrefix, playground.Assets())
	mux.Handle("GET /.well-known/jwks.json", o.Keyring.JWKSHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := o.Store.Ping(ctx); err != nil {
			o.Logger.WarnContext(ctx, "health check failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /exports/{jobID}", exportsHandler(o.Resolver.Service, o.Logger))
	if _, ok := o.Extra[dashboard.Prefix]; !ok {
		// The admin dashboard; the mux redirects /dashboard to /dashboard/.
		mux.Handle(dashboard.Prefix, dashboard.Handler())
	}
	for p, h := range o.Extra {
		mux.Handle(p, h)
	}
	var authOpts []auth.MiddlewareOption
	if o.RecheckManagement != nil {
		authOpts = append(authOpts, auth.Recheck(o.RecheckManagement))
	}
	c := o.CORS
	if o.AppWebOrigins != nil {
		apps := NewAppOrigins(o.AppWebOrigins, 0)
		merged := CORS{Origins: apps}
		if c != nil {
			merged = *c
			merged.Origins = AnyOrigin(c.Origins, apps)
		}
		c = &merged
	}
	return m.instrument(o.Logger, withCORS(c, withCodes(auth.Middleware(o.Keyring, authOpts...)(mux))))
}

// maxUploadBytes bounds a multipart request (a script module or an import
// file), as the GraphQL transport does.
const maxUploadBytes = service.MaxScriptBytes + 1<<20

// bodyLimit refuses bodies over max (multipart: over maxUploadBytes) with
// 413 and a GraphQL-shaped BAD_USER_INPUT error naming the limit.
func bodyLimit(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			if r.ContentLength > maxUploadBytes {
				writeError(w, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", "the upload is larger than "+strconv.FormatInt(maxUploadBytes, 10)+" bytes")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			writeError(w, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", "the request body is larger than "+strconv.FormatInt(max, 10)+" bytes")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "profiled_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "profiled_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func route(p string) string {
	switch {
	case p == "/graphql", p == "/", p == "/healthz", p == "/metrics", p == "/.well-known/jwks.json":
		return p
	case strings.HasPrefix(p, "/playground/"):
		return "/playground"
	case strings.HasPrefix(p, "/dashboard"):
		return "/dashboard"
	}
	return "other"
}

// instrument counts and times requests and logs each one (never bodies,
// never the Authorization header).
func (m *metrics) instrument(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		rt := route(r.URL.Path)
		el := time.Since(start)
		m.requests.WithLabelValues(rt, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(rt).Observe(el.Seconds())
		log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("method", r.Method), slog.String("route", rt),
			slog.Int("status", sw.status), slog.Duration("duration", el))
	})
}
