// Package scripting adapts the WebAssembly sandbox to the service's Scripts
// port: it keeps one sandbox module per connection, loads a connection's
// module bytes only when its script (or settings) changed, and translates
// the sandbox's outcomes into the service's errors.
//
// It imports service and sandbox; neither imports it. cmd wires it.
package scripting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/sandbox"
	"github.com/profiled/profiled/internal/service"
)

// ScriptLoader reads a module by its digest (the store keeps modules out
// of the connection records read on every login, once per content).
type ScriptLoader interface {
	ScriptModule(ctx context.Context, sha256 string) ([]byte, error)
}

// Runner implements service.Scripts.
type Runner struct {
	rt     *sandbox.Runtime
	loader ScriptLoader

	mu      sync.Mutex
	modules map[string]loaded // by connection name
}

type loaded struct {
	key string // what the module was built from, without the bytes
	mod *sandbox.Module
}

// New returns a Runner over rt.
func New(rt *sandbox.Runtime, loader ScriptLoader) *Runner {
	return &Runner{rt: rt, loader: loader, modules: map[string]loaded{}}
}

// Inspect validates a module for upload.
func (r *Runner) Inspect(ctx context.Context, wasm []byte) ([]policy.Action, error) {
	exports, err := r.rt.Inspect(ctx, wasm)
	if err != nil {
		return nil, translate(err)
	}
	actions := make([]policy.Action, len(exports))
	for i, a := range exports {
		actions[i] = policy.Action(a)
	}
	return actions, nil
}

// Run runs one action of the connection's module.
func (r *Runner) Run(ctx context.Context, c service.Connection, call service.ScriptCall) (service.ScriptResult, error) {
	m, err := r.module(ctx, c)
	if err != nil {
		return service.ScriptResult{}, err
	}
	res, err := m.Run(ctx, sandbox.Call{
		Action: sandbox.Action(call.Action), Email: call.Email, Username: call.Username, Password: call.Password, NewEmail: call.NewEmail,
		NewPassword: call.NewPassword, ID: call.ID, Verified: call.Verified, User: call.User,
	})
	out := service.ScriptResult{Logs: res.Logs, Duration: res.Duration, Attributes: res.Attributes}
	if err == nil {
		out.Profile, err = profile(call.Action, res.Attributes)
	}
	if err != nil {
		return out, translate(err)
	}
	return out, nil
}

// profile normalizes the profile login, get_user and create returned (nil
// when the action returns none, or the script returned none). A profile the
// policy refuses is the script's error.
func profile(a policy.Action, raw map[string]any) (*policy.Profile, error) {
	switch a {
	case policy.ActionLogin, policy.ActionGetUser, policy.ActionCreate:
	default:
		return nil, nil
	}
	if raw == nil {
		return nil, nil
	}
	p, err := policy.NormalizeProfile(raw)
	if err != nil {
		return nil, &sandbox.ScriptError{Message: "invalid profile: " + err.Error()}
	}
	return &p, nil
}

// module returns the connection's module, (re)building it when the
// script's digest, the database URL, the configuration or the timeout
// changed since the last call.
func (r *Runner) module(ctx context.Context, c service.Connection) (*sandbox.Module, error) {
	key, err := specKey(c)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	cur, ok := r.modules[c.Name]
	r.mu.Unlock()
	if ok && cur.key == key {
		return cur.mod, nil
	}
	wasm := c.Script
	var load func(context.Context) ([]byte, error)
	if len(wasm) == 0 && c.ScriptSHA256 != "" {
		if wasm, err = r.read(ctx, c); err != nil {
			return nil, err
		}
		// The sandbox keeps no copy: after its compiled code was evicted
		// (sandbox.Config.MaxCompiledBytes) it reads the bytes again.
		load = func(ctx context.Context) ([]byte, error) { return r.read(ctx, c) }
	}
	if len(wasm) == 0 {
		return nil, &service.Error{Code: service.CodeConnectionUnavailable, Message: fmt.Sprintf("connection %q has no script module", c.Name)}
	}
	m, err := r.rt.Module(ctx, sandbox.Spec{
		Connection: c.Name, Wasm: wasm, Load: load, DatabaseURL: c.DatabaseURL,
		Configuration: c.Configuration, Timeout: service.ScriptTimeout(c),
	})
	if err != nil {
		return nil, translate(err)
	}
	r.mu.Lock()
	r.modules[c.Name] = loaded{key: key, mod: m}
	r.mu.Unlock()
	return m, nil
}

// read reads the connection's module by its digest and checks it.
func (r *Runner) read(ctx context.Context, c service.Connection) ([]byte, error) {
	// By digest, not by connection name: the bytes are exactly those the
	// connection record (and the module's key) names, even when the
	// script was replaced since the record was read.
	wasm, err := r.loader.ScriptModule(ctx, c.ScriptSHA256)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The caller's deadline passed while the module was read:
			// a timeout like any other, not an internal error.
			return nil, &service.Error{Code: service.CodeScriptTimeout, Message: "the connection's script did not finish in time", Err: err}
		}
		if errors.Is(err, service.ErrNotFound) {
			// Replaced (and dropped) since the record was read.
			return nil, &service.Error{Code: service.CodeScriptError, Message: "the connection's script was replaced during the call; try again", Err: err}
		}
		return nil, &service.Error{Code: service.CodeInternal, Message: "internal error", Err: fmt.Errorf("load script of %s: %w", c.Name, err)}
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != c.ScriptSHA256 {
		return nil, &service.Error{Code: service.CodeInternal, Message: "internal error", Err: fmt.Errorf("load script of %s: the stored module does not match its digest", c.Name)}
	}
	return wasm, nil
}

func specKey(c service.Connection) (string, error) {
	cfg, err := json.Marshal(c.Configuration)
	if err != nil {
		return "", &service.Error{Code: service.CodeInternal, Message: "internal error", Err: err}
	}
	return fmt.Sprintf("%s\x00%s\x00%d\x00%s", c.ScriptSHA256, c.DatabaseURL, service.ScriptTimeout(c)/time.Millisecond, cfg), nil
}

// translate maps the sandbox's outcomes onto the service's errors.
func translate(err error) error {
	var ve *sandbox.ValidationError
	var se *sandbox.ScriptError
	var be *sandbox.CompiledBudgetError
	var sve *service.Error
	switch {
	case errors.As(err, &sve):
		return sve // reading the module again (Runner.read) failed
	case errors.As(err, &be):
		return &service.Error{Code: service.CodeScriptError, Message: fmt.Sprintf(
			"the connection's script module is too large for this server: it would take about %d MiB once compiled, over the server's budget of %d MiB for compiled scripts",
			be.Estimate>>20, be.Budget>>20), Err: err}
	case errors.Is(err, sandbox.ErrUnsupported):
		return fmt.Errorf("%w: %w", service.ErrScriptUnsupported, err)
	case errors.Is(err, sandbox.ErrWrongCredentials):
		return fmt.Errorf("%w: %w", service.ErrScriptWrongCredentials, err)
	case errors.Is(err, sandbox.ErrUserNotFound):
		return fmt.Errorf("%w: %w", service.ErrScriptUserNotFound, err)
	case errors.Is(err, sandbox.ErrUserExists):
		return fmt.Errorf("%w: %w", service.ErrScriptUserExists, err)
	case errors.Is(err, sandbox.ErrBlocked):
		return fmt.Errorf("%w: %w", service.ErrScriptBlocked, err)
	case errors.As(err, &ve):
		return &service.Error{Code: service.CodeBadUserInput, Message: userMessage(ve.Message), Err: fmt.Errorf("%w: %w", service.ErrScriptValidation, err)}
	case errors.Is(err, sandbox.ErrTimeout):
		return &service.Error{Code: service.CodeScriptTimeout, Message: "the connection's script did not finish in time", Err: err}
	case errors.Is(err, sandbox.ErrDatabaseUnavailable):
		return &service.Error{Code: service.CodeConnectionUnavailable, Message: "the custom database cannot be reached", Err: err}
	case errors.As(err, &se):
		return &service.Error{Code: service.CodeScriptError, Message: "the connection's script failed: " + se.Message, Err: err}
	case errors.Is(err, sandbox.ErrClosed):
		return &service.Error{Code: service.CodeScriptError, Message: "the connection's script was replaced during the call; try again", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &service.Error{Code: service.CodeScriptTimeout, Message: "the connection's script did not finish in time", Err: err}
	}
	return &service.Error{Code: service.CodeScriptError, Message: "the connection's script failed", Err: err}
}

// maxUserMessage bounds a script's validation message shown to end users.
const maxUserMessage = 300

// userMessage is a script's validation message as an end user sees it: one
// line of printable text, at most maxUserMessage bytes.
func userMessage(m string) string {
	m = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, m)), " ")
	if len(m) > maxUserMessage {
		cut := maxUserMessage
		for cut > 0 && !utf8.RuneStart(m[cut]) {
			cut--
		}
		m = m[:cut] + "…"
	}
	if m == "" {
		m = "the input was refused"
	}
	return m
}
