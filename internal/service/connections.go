package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/dburl"
	"github.com/profiled/profiled/internal/policy"
)

// MaxScriptTimeout bounds a connection's script deadline.
const MaxScriptTimeout = 60 * time.Second

// MaxScriptBytes bounds an uploaded module.
const MaxScriptBytes = 32 << 20

// ConnectionSpec is a new connection or a change to one; nil fields are
// left as they are (or take their defaults on create).
type ConnectionSpec struct {
	Name            string
	Strategy        policy.Strategy
	ImportMode      *bool
	SyncUserProfile *bool
	DatabaseURL     *string
	Configuration   map[string]any
	ScriptTimeout   *time.Duration
	// AdminScopes, when non-nil, replaces the management scopes the
	// connection grants its users at login (empty: none). DATABASE only;
	// see policy.ValidateAdminScopes and policy.CanGrantAdminScopes.
	AdminScopes []policy.Scope
	// RequiresUsername: users have a username and may log in with it
	// (DATABASE and CUSTOM_DATABASE only).
	RequiresUsername *bool
}

// Operator is the caller of the service's own tools (the CLI, which holds
// the store itself): every management scope.
func Operator() policy.Caller {
	c := policy.Caller{Subject: "operator", Scopes: make(map[policy.Scope]bool, len(policy.ManagementScopes))}
	for _, sc := range policy.ManagementScopes {
		c.Scopes[sc] = true
	}
	return c
}

// CreateConnection stores a new connection on behalf of caller. Errors:
// FORBIDDEN without create:connections (policy.OpCreateConnection), or
// when adminScopes name a scope the caller does not hold;
// BAD_USER_INPUT for an invalid name, strategy, URL, timeout or
// adminScopes (and "connection exists").
func (s *Service) CreateConnection(ctx context.Context, caller policy.Caller, spec ConnectionSpec) (Connection, error) {
	if err := policy.Authorize(caller, policy.OpCreateConnection); err != nil {
		return Connection{}, err
	}
	if err := policy.ValidateConnectionName(spec.Name); err != nil {
		return Connection{}, err
	}
	if !spec.Strategy.Valid() {
		return Connection{}, &Error{Code: CodeBadUserInput, Field: "strategy", Message: fmt.Sprintf("unknown strategy %q", spec.Strategy)}
	}
	now := s.now()
	c := Connection{
		Connection:    policy.Connection{Name: spec.Name, Strategy: spec.Strategy, SyncUserProfile: true, Actions: map[policy.Action]bool{}},
		Configuration: map[string]any{},
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := applyConnectionSpec(&c, caller, spec); err != nil {
		return Connection{}, err
	}
	if err := s.checkCustomDBURL(ctx, c.DatabaseURL); err != nil {
		return Connection{}, err
	}
	if err := needsDatabaseURL(c); err != nil {
		return Connection{}, err
	}
	if err := s.store.InsertConnection(ctx, c); err != nil {
		if code := storeErr("connection", err); isCode(code, CodeUserExists) {
			return Connection{}, &Error{Code: CodeBadUserInput, Field: "name", Message: fmt.Sprintf("a connection named %q already exists", spec.Name), Err: err}
		}
		return Connection{}, storeErr("connection", err)
	}
	return c, nil
}

// UpdateConnection changes a connection's settings on behalf of caller:
// FORBIDDEN without update:connections (policy.OpUpdateConnection), when
// a changed adminScopes names a scope the caller does not hold, or adds a
// scope while the connection has users or an import in progress
// (policy.CanAddAdminScopes); BAD_USER_INPUT for an invalid value.
// Nothing changes on an error.
func (s *Service) UpdateConnection(ctx context.Context, caller policy.Caller, name string, spec ConnectionSpec) (Connection, error) {
	if err := policy.Authorize(caller, policy.OpUpdateConnection); err != nil {
		return Connection{}, err
	}
	var out Connection
	err := s.store.WithTx(ctx, func(tx Queries) error {
		// Locked until the end: this transaction writes every column back,
		// and must neither undo a concurrent change (a revoked scope) nor
		// count users a concurrent signup is adding.
		c, err := tx.ConnectionByNameForUpdate(ctx, name)
		if err != nil {
			return storeErr("connection", err)
		}
		old := c.AdminScopes
		spec.Strategy = c.Strategy
		if err := applyConnectionSpec(&c, caller, spec); err != nil {
			return err
		}
		if spec.DatabaseURL != nil {
			if err := s.checkCustomDBURL(ctx, c.DatabaseURL); err != nil {
				return err
			}
			if err := needsDatabaseURL(c); err != nil {
				return err
			}
		}
		if added := policy.AddedScopes(old, c.AdminScopes); len(added) > 0 {
			inUse, err := tx.ConnectionInUse(ctx, name)
			if err != nil {
				return storeErr("connection", err)
			}
			if err := policy.CanAddAdminScopes(c.Connection, added, inUse); err != nil {
				return err
			}
		}
		c.UpdatedAt = s.now()
		if err := tx.UpdateConnection(ctx, c); err != nil {
			return storeErr("connection", err)
		}
		out = c
		return nil
	})
	return out, err
}

// SetConnectionScript reads a WebAssembly module (at most MaxScriptBytes)
// from r, validates it and makes it connection name's script, on behalf of
// caller: FORBIDDEN without update:connections (policy.OpUpdateConnection,
// decided before r is read); BAD_USER_INPUT for an empty, oversized or
// invalid module, or a connection that runs no scripts.
func (s *Service) SetConnectionScript(ctx context.Context, caller policy.Caller, name string, r io.Reader) (Connection, error) {
	if err := policy.Authorize(caller, policy.OpUpdateConnection); err != nil {
		return Connection{}, err
	}
	wasm, err := io.ReadAll(io.LimitReader(r, MaxScriptBytes+1))
	if err != nil {
		return Connection{}, &Error{Code: CodeBadUserInput, Field: "wasm", Message: "could not read the uploaded module", Err: err}
	}
	if len(wasm) == 0 {
		return Connection{}, &Error{Code: CodeBadUserInput, Field: "wasm", Message: "the module is empty"}
	}
	if len(wasm) > MaxScriptBytes {
		return Connection{}, &Error{Code: CodeBadUserInput, Field: "wasm", Message: fmt.Sprintf("the module is larger than %d MiB", MaxScriptBytes>>20)}
	}
	c, err := s.store.ConnectionByName(ctx, name)
	if err != nil {
		return Connection{}, storeErr("connection", err)
	}
	if c.Strategy != policy.StrategyCustomDatabase {
		return Connection{}, &Error{Code: CodeBadUserInput, Field: "connection", Message: "only CUSTOM_DATABASE connections run scripts"}
	}
	if s.scripts == nil {
		return Connection{}, &Error{Code: CodeConnectionUnavailable, Message: "scripts are not enabled on this server"}
	}
	if err := needsDatabaseURL(c); err != nil {
		return Connection{}, err
	}
	if err := s.checkCustomDBURL(ctx, c.DatabaseURL); err != nil {
		return Connection{}, err
	}
	actions, err := s.scripts.Inspect(ctx, wasm)
	if err != nil {
		return Connection{}, err
	}
	sum := sha256.Sum256(wasm)
	var out Connection
	err = s.store.WithTx(ctx, func(tx Queries) error {
		c, err := tx.ConnectionByNameForUpdate(ctx, name)
		if err != nil {
			return storeErr("connection", err)
		}
		c.Script = wasm
		c.ScriptSHA256 = hex.EncodeToString(sum[:])
		c.Actions = map[policy.Action]bool{}
		for _, a := range actions {
			c.Actions[a] = true
		}
		c.UpdatedAt = s.now()
		if err := tx.UpdateConnection(ctx, c); err != nil {
			return storeErr("connection", err)
		}
		out = c
		return nil
	})
	return out, err
}

// ConnectionByName returns NOT_FOUND when there is no such connection.
func (s *Service) ConnectionByName(ctx context.Context, name string) (Connection, error) {
	c, err := s.store.ConnectionByName(ctx, name)
	return c, storeErr("connection", err)
}

// Connections lists every connection.
func (s *Service) Connections(ctx context.Context) ([]Connection, error) {
	cs, err := s.store.Connections(ctx)
	return cs, storeErr("connections", err)
}

// applyConnectionSpec validates spec and applies it to c; the caller
// decides only on adminScopes (the operation's own scope is checked by the
// API). On an error c may be half changed and must not be stored.
func applyConnectionSpec(c *Connection, caller policy.Caller, spec ConnectionSpec) error {
	custom := c.Strategy == policy.StrategyCustomDatabase
	if spec.ImportMode != nil {
		if *spec.ImportMode && !custom {
			return &Error{Code: CodeBadUserInput, Field: "importMode", Message: "importMode applies to CUSTOM_DATABASE connections only"}
		}
		c.ImportMode = *spec.ImportMode
	}
	if spec.SyncUserProfile != nil {
		c.SyncUserProfile = *spec.SyncUserProfile
	}
	if spec.RequiresUsername != nil {
		if *spec.RequiresUsername && c.Strategy != policy.StrategyDatabase && !custom {
			return &Error{Code: CodeBadUserInput, Field: "requiresUsername", Message: "requiresUsername applies to DATABASE and CUSTOM_DATABASE connections only"}
		}
		c.RequiresUsername = *spec.RequiresUsername
	}
	if spec.DatabaseURL != nil {
		if !custom && *spec.DatabaseURL != "" {
			return &Error{Code: CodeBadUserInput, Field: "databaseURL", Message: "databaseURL applies to CUSTOM_DATABASE connections only"}
		}
		if err := ValidateDatabaseURL(*spec.DatabaseURL); err != nil {
			return err
		}
		c.DatabaseURL = *spec.DatabaseURL
	}
	if spec.Configuration != nil {
		for k, v := range spec.Configuration {
			if k == "" {
				return &Error{Code: CodeBadUserInput, Field: "configuration", Message: "configuration keys must not be empty"}
			}
			switch v.(type) {
			case map[string]any, []any:
				return &Error{Code: CodeBadUserInput, Field: "configuration", Message: fmt.Sprintf("configuration value %q must be a string, number or boolean", k)}
			}
		}
		c.Configuration = spec.Configuration
	}
	if spec.ScriptTimeout != nil {
		d := *spec.ScriptTimeout
		if d < 100*time.Millisecond || d > MaxScriptTimeout {
			return &Error{Code: CodeBadUserInput, Field: "scriptTimeoutMs", Message: fmt.Sprintf("scriptTimeoutMs must be between 100 and %d", MaxScriptTimeout/time.Millisecond)}
		}
		c.ScriptTimeout = d
	}
	if spec.AdminScopes != nil {
		scopes, err := policy.ValidateAdminScopes(c.Strategy, spec.AdminScopes)
		if err != nil {
			return err
		}
		// Granting needs every scope of the resulting list; leaving the
		// list as it is needs nothing (an editor lacking a scope may still
		// change the connection's other settings).
		if !policy.SameScopes(scopes, c.AdminScopes) {
			if err := policy.CanGrantAdminScopes(caller, scopes); err != nil {
				return err
			}
		}
		c.AdminScopes = scopes
	}
	return nil
}

// needsDatabaseURL: a custom-database connection's scripts run against
// its database; without one every call would fail.
func needsDatabaseURL(c Connection) error {
	if c.Strategy == policy.StrategyCustomDatabase && c.DatabaseURL == "" {
		return &Error{Code: CodeBadUserInput, Field: "databaseURL", Message: "a CUSTOM_DATABASE connection needs a databaseURL: the database its scripts query"}
	}
	return nil
}

// ValidateDatabaseURL checks a custom database URL's form without ever
// echoing it (it may hold a password).
func ValidateDatabaseURL(raw string) error {
	bad := func(why string) error {
		return &Error{Code: CodeBadUserInput, Field: "databaseURL", Message: "databaseURL " + why}
	}
	switch {
	case raw == "":
		return nil
	case strings.HasPrefix(raw, "sqlite:"), strings.HasPrefix(raw, "mysql:"):
		// The sandbox opens it with the same parser; its errors never
		// hold the userinfo.
		if _, err := dburl.Parse(raw); err != nil {
			return bad("is invalid: " + strings.TrimPrefix(err.Error(), dburl.ErrBadURL.Error()+": "))
		}
		return nil
	}
	return bad("must start with mysql:// or sqlite:")
}

func isCode(err error, c Code) bool {
	got, ok := CodeOf(err)
	return ok && got == c
}
