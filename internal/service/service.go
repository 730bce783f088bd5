package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// Hasher hashes and verifies the passwords the service holds.
type Hasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) (bool, error)
	// DummyVerify does the work of a Verify against no user, so that an
	// unknown user takes as long as a wrong password.
	DummyVerify(password string)
	NeedsRehash(hash string) bool
}

// Tokens issues the tokens a successful login returns.
type Tokens interface {
	// IssueUser signs the self-service access token of u, valid for
	// expiresIn.
	IssueUser(u policy.User) (accessToken string, expiresIn time.Duration, err error)
	// IssueIDToken signs an OpenID Connect ID token for u (asked for with
	// TokenRequest.IDToken: a signature is most of a cheap login's CPU).
	IssueIDToken(u policy.User) (string, error)
	// IssueAPI signs an access token for the API with the identifier
	// audience, for user, carrying grant (its scope claim, and its
	// permissions claim when grant.Permissions is non-nil). The token is for
	// that API, never for this service (Verify refuses it).
	IssueAPI(user policy.User, audience string, grant policy.APITokenGrant) (token string, expiresIn time.Duration, err error)
	// IssueManagement signs a management access token carrying scopes for
	// subject, valid for ttl (the login of a user of a connection that
	// grants admin scopes).
	IssueManagement(scopes []policy.Scope, subject string, ttl time.Duration) (string, error)
}

// ScriptCall is one call of a connection's action script.
type ScriptCall struct {
	Action policy.Action
	Email  string
	// Username goes to login and get_user (the script decides how to use
	// it; empty when unknown).
	Username    string
	Password    string
	NewEmail    string
	NewPassword string
	ID          string
	Verified    bool
	// User is the profile to create (create action).
	User map[string]any
}

// ScriptResult is what a script call returned.
type ScriptResult struct {
	Profile *policy.Profile
	// Attributes are the raw attributes the script returned (for the
	// dashboard's "try" panel).
	Attributes map[string]any
	Logs       []string
	Duration   time.Duration
}

// Script outcomes that are answers, not failures. A Scripts implementation
// returns these (possibly wrapped) for the script's typed errors, a *Error
// with CodeScriptError, CodeScriptTimeout, CodeConnectionUnavailable or
// CodeBadUserInput for the others.
var (
	ErrScriptWrongCredentials = errors.New("script: wrong email or password")
	ErrScriptUserNotFound     = errors.New("script: user not found")
	ErrScriptUserExists       = errors.New("script: user already exists")
	ErrScriptUnsupported      = errors.New("script: action not supported by the connection's module")
	// ErrScriptBlocked: login's password matched but the custom database
	// says the account is disabled.
	ErrScriptBlocked = errors.New("script: user blocked")
	// ErrScriptValidation is wrapped by the *Error (CodeBadUserInput) of a
	// script's validation message: an answer meant for the end user, shown
	// as it is, not a failure logged under an error id.
	ErrScriptValidation = errors.New("script: invalid input")
)

// Scripts runs custom-database action scripts.
type Scripts interface {
	// Inspect validates a module and lists the actions it exports.
	Inspect(ctx context.Context, wasm []byte) ([]policy.Action, error)
	// Run runs one action of the connection's module.
	Run(ctx context.Context, c Connection, call ScriptCall) (ScriptResult, error)
}

// Config holds the service's settings.
type Config struct {
	Limits policy.Limits
	// RBACLimits bound roles and permissions (zero fields: Auth0's limits).
	RBACLimits policy.RBACLimits
	// ReservedAudiences may not be API identifiers: this service's own
	// token audience (a token for it must never come from an API's settings).
	ReservedAudiences []string
	// Now is the clock (injected so tests control time). Default time.Now.
	Now func() time.Time
	// BruteForceThreshold failed logins for one account from one IP block
	// that pair for BruteForceWindow. Defaults 10 and 1 h.
	BruteForceThreshold int
	BruteForceWindow    time.Duration
	// EventRetention is how long events (User.logs) are kept. Default 30 days.
	EventRetention time.Duration
	// AdminTokenTTL is the lifetime of the management token a login on a
	// connection that grants admin scopes returns. Default 1 h.
	AdminTokenTTL time.Duration
	// JobStaleAfter is how long a pending or running job's record may go
	// without a refresh before the job is taken for interrupted (its
	// process died) and marked failed; running jobs are refreshed every
	// JobHeartbeat(JobStaleAfter). Zero means DefaultJobStaleAfter; any
	// other value must pass ValidateJobStaleAfter (New panics otherwise:
	// validate what users give first, as `profiled serve` does). Every
	// process sharing a store should use the same value.
	JobStaleAfter time.Duration
	// CustomDB says which databases custom-database connections may name
	// (by default: no sqlite: URL, never the service's own store).
	CustomDB CustomDBConfig
	Logger   *slog.Logger
}

// Service is the use-case layer.
type Service struct {
	store   Store
	hasher  Hasher
	tokens  Tokens
	scripts Scripts
	cfg     Config
	log     *slog.Logger
	// eventSeq orders events recorded in the same instant.
	eventSeq atomic.Uint32
	// conns keeps connections for logins (conncache.go).
	conns connCache
	// jobTicks, when set (tests: SetJobHeartbeatTicks), replaces the
	// heartbeat's ticker: every value received is one heartbeat.
	jobTicks <-chan time.Time
}

// New builds the service. scripts may be nil (custom-database connections
// then answer CONNECTION_UNAVAILABLE). It panics on a Config.JobStaleAfter
// that ValidateJobStaleAfter refuses (a programming error: callers
// validate settings users give before building the service).
func New(store Store, hasher Hasher, tokens Tokens, scripts Scripts, cfg Config) *Service {
	if cfg.Limits == (policy.Limits{}) {
		cfg.Limits = policy.DefaultLimits()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BruteForceThreshold <= 0 {
		cfg.BruteForceThreshold = 10
	}
	if cfg.BruteForceWindow <= 0 {
		cfg.BruteForceWindow = time.Hour
	}
	if cfg.EventRetention <= 0 {
		cfg.EventRetention = 30 * 24 * time.Hour
	}
	if cfg.AdminTokenTTL <= 0 {
		cfg.AdminTokenTTL = DefaultAdminTokenTTL
	}
	if cfg.JobStaleAfter == 0 {
		cfg.JobStaleAfter = DefaultJobStaleAfter
	}
	if err := ValidateJobStaleAfter(cfg.JobStaleAfter); err != nil {
		panic(fmt.Sprintf("service.New: Config.JobStaleAfter: %v", err))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if t, ok := tokens.(interface{ OwnAudience() string }); ok {
		cfg.ReservedAudiences = append(append([]string(nil), cfg.ReservedAudiences...), t.OwnAudience())
	}
	return &Service{store: store, hasher: hasher, tokens: tokens, scripts: scripts, cfg: cfg, log: cfg.Logger}
}

// DefaultAdminTokenTTL is the lifetime of the management token an admin
// connection's login returns, unless Config.AdminTokenTTL says otherwise.
const DefaultAdminTokenTTL = time.Hour

// Limits returns the policy limits in force.
func (s *Service) Limits() policy.Limits { return s.cfg.Limits }

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// Client describes who is on the other end of a request (for events and
// brute-force protection).
type Client struct {
	IP        string
	UserAgent string
}

type clientKey struct{}

// WithClient attaches the client's address and user agent to ctx.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

func clientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// DefaultScriptTimeout is a script call's deadline unless the connection
// sets its own.
const DefaultScriptTimeout = 20 * time.Second

// ScriptTimeout returns the connection's script deadline.
func ScriptTimeout(c Connection) time.Duration {
	if c.ScriptTimeout > 0 {
		return c.ScriptTimeout
	}
	return DefaultScriptTimeout
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// storeErr turns a store error into a typed service error for what the
// caller asked about ("user", "connection").
func storeErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return &Error{Code: CodeNotFound, Message: what + " not found", Err: err}
	case errors.Is(err, ErrConflict):
		return &Error{Code: CodeUserExists, Message: what + " already exists", Err: err}
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var r *policy.Refusal
	if errors.As(err, &r) {
		return err
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}
