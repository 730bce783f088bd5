package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/db"
	gql "github.com/profiled/profiled/internal/graph"
	"github.com/profiled/profiled/internal/oidc"
	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/server"
	"github.com/profiled/profiled/internal/service"
)

// SQLiteURL returns the store URL of a fresh SQLite file in t's temporary
// directory. For a MariaDB store use testmysql.URL.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "profiled.db")
}

// OpenStore opens the store at url and closes it when t ends.
func OpenStore(t testing.TB, url string, opts ...db.Option) *db.DB {
	t.Helper()
	store, err := db.Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// Options says how Start builds the service. The zero value is: no
// custom-database scripts, bcrypt cost 4, real time, default logging.
type Options struct {
	// Scripts runs custom-database scripts (nil: none).
	Scripts service.Scripts
	// BcryptCost is the cost of new password hashes; 0 means 4.
	BcryptCost int
	// Service is the service's configuration. Its Now, when set, is also
	// the keyring's clock; its Logger, when set, also logs for the GraphQL
	// resolver and the HTTP server.
	Service service.Config
	// Wrap, when set, wraps the whole HTTP handler.
	Wrap func(http.Handler) http.Handler
	// WrapStore, when set, gives the service a store around the real one
	// (e.g. counting or failing some calls); the keyring and the server's
	// health check keep the real one.
	WrapStore func(*db.DB) service.Store
	// HTTP, when set, adjusts the HTTP server's options (e.g. CORS)
	// before the handler is built.
	HTTP func(*server.Options)
	// WrapTokens, when set, gives the service a token issuer around the
	// keyring (e.g. counting signatures); the server keeps verifying with
	// the keyring.
	WrapTokens func(*auth.Keyring) service.Tokens
	// SigningAlg is the algorithm of the signing key created when the
	// store has none (auth.Config.Algorithm; "" = RS256).
	SigningAlg auth.Algorithm
	// VerifiedCache is auth.Config.VerifiedCache (0: the default size;
	// negative: no verified-token cache).
	VerifiedCache int
}

// Server is a running service: the real handler on a loopback httptest
// server, over a real store.
type Server struct {
	Store   *db.DB
	Service *service.Service
	Keyring *auth.Keyring
	HTTP    *httptest.Server
	// Admin is a management token with every management scope, valid for
	// ten days of the keyring's clock.
	Admin string
	// Issuer is the OpenID Provider's issuer (the server's URL).
	Issuer string
}

// Start builds the keyring, the service and the HTTP handler on store and
// serves them until t ends.
func Start(t testing.TB, store *db.DB, opts Options) *Server {
	t.Helper()
	cfg := opts.Service
	if cfg.CustomDB.Own.SQLitePath == "" && cfg.CustomDB.Own.MySQLDB == "" {
		cfg.CustomDB.Own = db.OwnStore(store.Config())
	}
	// The listener first: its address is the OpenID Provider's issuer.
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	keyring, err := auth.New(context.Background(), store, auth.Config{Now: cfg.Now, ExtraIssuers: []string{issuer},
		Algorithm: opts.SigningAlg, VerifiedCache: opts.VerifiedCache})
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	cost := opts.BcryptCost
	if cost == 0 {
		cost = 4
	}
	hasher, err := passwords.New(passwords.Config{BcryptCost: cost})
	if err != nil {
		t.Fatal(err)
	}
	var svcStore service.Store = store
	if opts.WrapStore != nil {
		svcStore = opts.WrapStore(store)
	}
	var tokens service.Tokens = keyring
	if opts.WrapTokens != nil {
		tokens = opts.WrapTokens(keyring)
	}
	svc := service.New(svcStore, hasher, tokens, opts.Scripts, cfg)
	provider, err := oidc.New(oidc.Config{Issuer: issuer, Service: svc, Keyring: keyring, Logger: cfg.Logger})
	if err != nil {
		t.Fatalf("openid provider: %v", err)
	}
	so := server.Options{
		Extra:             provider.Routes(),
		Resolver:          &gql.Resolver{Service: svc, Logger: cfg.Logger},
		Keyring:           keyring,
		Store:             store,
		Logger:            cfg.Logger,
		RecheckManagement: svc.RecheckManagementCaller,
		AppWebOrigins:     svc.WebOrigins,
	}
	if opts.HTTP != nil {
		opts.HTTP(&so)
	}
	var h http.Handler = server.New(so)
	if opts.Wrap != nil {
		h = opts.Wrap(h)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	admin, err := keyring.IssueManagement(policy.ManagementScopes, "test-admin", 240*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &Server{Store: store, Service: svc, Keyring: keyring, HTTP: srv, Admin: admin, Issuer: issuer}
}

// GraphQL returns a client of the server's /graphql endpoint that sends
// its requests through hc (nil: http.DefaultClient).
func (s *Server) GraphQL(hc *http.Client) Client {
	return Client{URL: s.HTTP.URL + "/graphql", HTTP: hc}
}

// Token issues a management token with just these scopes, valid for an
// hour.
func Token(t testing.TB, k *auth.Keyring, scopes ...policy.Scope) string {
	t.Helper()
	tok, err := k.IssueManagement(scopes, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
