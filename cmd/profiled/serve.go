package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/graph"
	"github.com/profiled/profiled/internal/oidc"
	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/sandbox"
	"github.com/profiled/profiled/internal/server"
	"github.com/profiled/profiled/internal/service"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

const defaultDB = "sqlite:profiled.db"

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func newLogger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(env("PROFILED_LOG_LEVEL", "info"))); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("PROFILED_ADDR", "127.0.0.1:8080"), "address to listen on")
	dbURL := fs.String("db", env("PROFILED_DB", defaultDB), "the service's store: sqlite:PATH or mysql://USER[:PASS]@HOST:PORT/DB")
	var cfg service.Config
	fs.IntVar(&cfg.BruteForceThreshold, "brute-force-threshold", envInt("PROFILED_BRUTE_FORCE_THRESHOLD", 10), "failed logins for one account from one IP before it is blocked")
	fs.DurationVar(&cfg.BruteForceWindow, "brute-force-window", envDuration("PROFILED_BRUTE_FORCE_WINDOW", time.Hour), "how long a brute-force block lasts")
	fs.DurationVar(&cfg.EventRetention, "event-retention", envDuration("PROFILED_EVENT_RETENTION", 30*24*time.Hour), "how long user events (User.logs) are kept")
	fs.StringVar(&cfg.CustomDB.SQLiteDir, "custom-db-sqlite-dir", os.Getenv("PROFILED_CUSTOM_DB_SQLITE_DIR"), "allow sqlite: custom databases inside this directory only (default: none allowed; for demos and tests)")
	keys := addSecretKeyFlags(fs)
	var web webOptions
	fs.BoolVar(&web.introspection, "introspection", envBool("PROFILED_INTROSPECTION", true), "answer GraphQL introspection (__schema, __type) to anyone: GraphiQL, code generators and IDEs need it; the schema is public, so it is on by default")
	corsOrigins := fs.String("cors-origins", env("PROFILED_CORS_ORIGINS", ""), `comma-separated origins whose web pages may call the API from a browser (e.g. https://app.example.com); "*" for any; none by default`)
	corsCredentials := fs.Bool("cors-credentials", envBool("PROFILED_CORS_CREDENTIALS", false), `let those pages send cookies and HTTP authentication (refused with "*"); the API needs only the bearer token`)
	var hashing passwords.Config
	fs.IntVar(&hashing.BcryptCost, "bcrypt-cost", envInt("PROFILED_BCRYPT_COST", passwords.DefaultBcryptCost), "bcrypt work factor of new password hashes (4..14); stored hashes of a lower cost are replaced at the next login")
	issuer := fs.String("issuer", env("PROFILED_ISSUER", ""), "public URL of the OpenID Provider and hosted sign-in pages (e.g. https://id.example.com); empty: no OpenID Provider")
	algFlag := signingAlgFlag(fs, "signing-alg", firstKeyUsage)
	var lim limits
	fs.IntVar(&lim.tokenCache, "token-cache-size", envInt("PROFILED_TOKEN_CACHE_SIZE", auth.DefaultVerifiedCache), "verified tokens remembered so a token seen again skips its signature check until it expires (split in 16 shards: rounded down to a multiple of 16, at least 16); 0 turns the cache off")
	fs.Int64Var(&lim.scriptCompiledMiB, "script-compiled-mib", int64(envInt("PROFILED_SCRIPT_COMPILED_MIB", sandbox.DefaultMaxCompiledBytes>>20)), "MiB the compiled script modules of all connections may take together (estimated at 5× a module's size plus 256 KiB); least recently used ones are closed beyond it and compiled again on their next call")
	staleAfter, err := jobStaleAfterFlag(fs)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if cfg.JobStaleAfter, err = staleAfter(); err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	alg, err := algFlag()
	if err != nil {
		return err
	}
	origins, err := server.ParseOrigins(*corsOrigins, *corsCredentials)
	if err != nil {
		return fmt.Errorf("--cors-origins / PROFILED_CORS_ORIGINS: %w", err)
	}
	if !origins.Empty() {
		web.cors = &server.CORS{Origins: origins, Credentials: *corsCredentials}
	}
	log := newLogger(stderr)
	cfg.Logger = log

	if _, err := passwords.New(hashing); err != nil {
		return fmt.Errorf("--bcrypt-cost / PROFILED_BCRYPT_COST: %w", err)
	}
	app, err := open(ctx, *dbURL, keys, log, cfg, web, *issuer, alg, hashing, lim)
	if err != nil {
		return err
	}
	defer app.Close(context.WithoutCancel(ctx))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{
		Handler:           app.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "profiled listening on http://%s (GraphQL at /graphql, playground at /)\n", ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "store", app.dialect, "signing_alg", app.keyring.Algorithm())
	if algSet(fs) && alg != app.keyring.Algorithm() {
		// The store already had a key: --signing-alg only chooses the first.
		log.Warn("the store's signing key keeps its algorithm; run `profiled keys rotate --alg "+string(alg)+"` to change it",
			"signing_alg", app.keyring.Algorithm(), "asked", alg)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go app.purgeEvents(ctx)
	go app.reloadKeys(ctx)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// jobStaleAfterFlag defines --job-stale-after on fs, defaulting to
// PROFILED_JOB_STALE_AFTER (or service.DefaultJobStaleAfter); it fails
// when that variable is not a duration. Once fs is parsed, get returns the
// setting, or an error naming it when service.ValidateJobStaleAfter
// refuses it (checked before the store is opened: service.New would
// panic). Every command that runs jobs uses it (serve, users import and
// export): processes sharing a store should agree on it.
func jobStaleAfterFlag(fs *flag.FlagSet) (get func() (time.Duration, error), err error) {
	d := service.DefaultJobStaleAfter
	if v := os.Getenv("PROFILED_JOB_STALE_AFTER"); v != "" {
		if d, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("PROFILED_JOB_STALE_AFTER=%q is not a duration (e.g. 30s, 2m): %w", v, err)
		}
	}
	p := fs.Duration("job-stale-after", d, "how long an import/export job's record may go without a heartbeat before the job is marked failed (interrupted); at least 1s")
	return func() (time.Duration, error) {
		if err := service.ValidateJobStaleAfter(*p); err != nil {
			return 0, fmt.Errorf("--job-stale-after / PROFILED_JOB_STALE_AFTER: %w", err)
		}
		return *p, nil
	}, nil
}

// app is the wired service.
type app struct {
	store   *db.DB
	dialect string
	keyring *auth.Keyring
	svc     *service.Service
	handler http.Handler
	closers []func(context.Context) error
	log     *slog.Logger
}

// webOptions are serve's settings for browsers and tools.
type webOptions struct {
	introspection bool
	cors          *server.CORS // nil: no cross-origin calls
}

func envBool(name string, def bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// limits are serve's memory settings.
type limits struct {
	tokenCache        int   // --token-cache-size: 0 = off
	scriptCompiledMiB int64 // --script-compiled-mib
}

func (l limits) check() error {
	if l.tokenCache < 0 {
		return fmt.Errorf("--token-cache-size / PROFILED_TOKEN_CACHE_SIZE: %d is negative (0 turns the cache off)", l.tokenCache)
	}
	if l.scriptCompiledMiB < 1 || l.scriptCompiledMiB > 1<<20 {
		return fmt.Errorf("--script-compiled-mib / PROFILED_SCRIPT_COMPILED_MIB: %d is out of range (1..1048576 MiB)", l.scriptCompiledMiB)
	}
	return nil
}

// verifiedCache is auth.Config.VerifiedCache for --token-cache-size.
func (l limits) verifiedCache() int {
	if l.tokenCache == 0 {
		return -1 // off
	}
	return l.tokenCache
}

func open(ctx context.Context, dbURL string, keys secretKeyFlags, log *slog.Logger, cfg service.Config, web webOptions, issuer string, alg auth.Algorithm, hashing passwords.Config, lim limits) (*app, error) {
	store, keyFile, err := openStore(ctx, dbURL, keys, log)
	if err != nil {
		return nil, err
	}
	kcfg := auth.Config{Algorithm: alg, VerifiedCache: lim.verifiedCache()}
	if issuer != "" {
		kcfg.ExtraIssuers = []string{strings.TrimSuffix(issuer, "/")}
	}
	keyring, err := auth.New(ctx, store, kcfg)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	a := &app{store: store, dialect: store.Dialect(), keyring: keyring, log: log}
	cfg.CustomDB.Own = db.OwnStore(store.Config())
	if keyFile != "" {
		cfg.CustomDB.Own.Files = append(cfg.CustomDB.Own.Files, keyFile)
	}
	scripts, rt, err := newScripts(ctx, log, store, sandbox.Config{MaxCompiledBytes: lim.scriptCompiledMiB << 20})
	if err != nil {
		store.Close()
		return nil, err
	}
	a.closers = append(a.closers, rt.Close)
	hasher, err := passwords.New(hashing)
	if err != nil {
		store.Close()
		return nil, err
	}
	a.svc = service.New(store, hasher, keyring, scripts, cfg)
	var extra map[string]http.Handler
	if issuer != "" {
		// The OpenID Provider and the hosted sign-in pages.
		p, err := oidc.New(oidc.Config{Issuer: issuer, Service: a.svc, Keyring: keyring, Logger: log})
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("--issuer: %w", err)
		}
		extra = p.Routes()
	}
	a.handler = server.New(server.Options{
		Extra:    extra,
		Resolver: &graph.Resolver{Service: a.svc, Logger: log},
		Keyring:  keyring,
		Store:    store,
		Logger:   log,
		// Admin users' tokens die with their rights (blocked, deleted,
		// scopes withdrawn), not at expiry.
		RecheckManagement:    a.svc.RecheckManagementCaller,
		DisableIntrospection: !web.introspection,
		CORS:                 web.cors,
		AppWebOrigins:        a.svc.WebOrigins,
		Collectors:           memoryCollectors(rt, keyring),
	})
	return a, nil
}

func (a *app) Close(ctx context.Context) {
	for _, c := range a.closers {
		if err := c(ctx); err != nil {
			a.log.Warn("close", "err", err)
		}
	}
	a.store.Close()
}

// reloadKeys re-reads the signing keys every 30 s: a key added by
// `profiled keys rotate` starts signing, retired keys leave the JWKS.
func (a *app) reloadKeys(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.keyring.Reload(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("reload signing keys", "err", err)
			}
		}
	}
}

// purgeEvents applies the event retention, and marks failed the jobs whose
// process died (no heartbeat for the job stale-after, --job-stale-after),
// at start and then every minute (Job also does it when a job is read).
func (a *app) purgeEvents(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := a.svc.PurgeEvents(ctx); err != nil {
			a.log.Warn("purge events", "err", err)
		} else if n > 0 {
			a.log.Info("purged events", "count", n)
		}
		if n, err := a.svc.PurgeOIDC(ctx); err != nil {
			a.log.Warn("purge expired sign-ins", "err", err)
		} else if n > 0 {
			a.log.Info("purged expired sign-in requests and sessions", "count", n)
		}
		if n, err := a.svc.RecoverJobs(ctx); err != nil {
			a.log.Warn("recover jobs", "err", err)
		} else if n > 0 {
			a.log.Info("marked interrupted jobs failed", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// redactURL hides the password of a store URL.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	cred := u[scheme+3 : at]
	if i := strings.Index(cred, ":"); i >= 0 {
		return u[:scheme+3] + cred[:i] + ":****" + u[at:]
	}
	return u
}
