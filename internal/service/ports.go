// Package service is the use-case layer of Profiled: load → decide (policy)
// → run script (sandbox) → save, in one transaction. It declares the small
// interfaces it needs (Store, Scripts, ...); db/ and sandbox/ implement them.
//
// Its import rules are written in internal/archtest: it imports policy,
// search, importer, store and dburl, never db, sandbox, graph or net/http.
package service

import (
	"context"
	"errors"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/store"
)

// Store errors (declared in package store, which auth shares).
// Implementations translate driver errors to these at their boundary
// (MySQL 1062 / SQLite UNIQUE → ErrConflict, no rows → ErrNotFound).
var (
	ErrNotFound = store.ErrNotFound
	ErrConflict = store.ErrConflict
	// ErrUnavailable: the store cannot be reached.
	ErrUnavailable = store.ErrUnavailable
)

// Connection is a stored connection: what the policy needs plus the
// settings only the service uses.
type Connection struct {
	policy.Connection
	// DatabaseURL is the custom database the scripts may query
	// ("mysql://..." or "sqlite:PATH"). Never returned by the API.
	DatabaseURL string
	// Configuration is the connection's settings and secrets handed to the
	// scripts. Never returned by the API, never logged.
	Configuration map[string]any
	// Script is the WebAssembly module (nil when none is set), ScriptSHA256
	// its hex digest. Actions (in the embedded policy.Connection) lists its
	// exports.
	Script       []byte
	ScriptSHA256 string
	// ScriptTimeout is the per-call deadline (0: the default, 20 s).
	ScriptTimeout time.Duration
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ListUsersParams selects a page of users ordered by id.
type ListUsersParams struct {
	After string // exclusive lower bound on id; "" = from the start
	Limit int
}

// ErrBadQuery: a search query, sort or cursor the store cannot run.
var ErrBadQuery = errors.New("bad search query")

// SearchParams selects a page of a user search.
type SearchParams struct {
	Query string // the query language (Lucene subset); "" = all users
	Sort  string // "field:1" (ascending) or "field:-1"; "" = by id
	After string // a SearchHit.Cursor of the previous page; "" = first page
	Limit int
	// Count asks for the number of matching users in all; without it the
	// store runs no count and returns 0.
	Count bool
}

// SearchHit is one user of a search page with the cursor of its position.
type SearchHit struct {
	User   policy.User
	Cursor string
}

// SigningKey is a token-signing key kept in the store.
type SigningKey = store.SigningKey

// Queries are the store's operations; a transaction and the store itself
// both offer them (outside a transaction each call is its own).
type Queries interface {
	// UserByID returns ErrNotFound when there is no such user.
	UserByID(ctx context.Context, id string) (policy.User, error)
	// UserByIDForUpdate is UserByID that also locks the row until the
	// transaction ends (SELECT ... FOR UPDATE on MySQL; SQLite transactions
	// take the write lock at BEGIN).
	UserByIDForUpdate(ctx context.Context, id string) (policy.User, error)
	// UserByConnectionEmail returns ErrNotFound when absent. Emails are
	// stored lower-cased; the argument is compared as given.
	UserByConnectionEmail(ctx context.Context, connection, email string) (policy.User, error)
	// UserByConnectionUsername returns ErrNotFound when absent (and for
	// ""). The argument is compared as given (a DATABASE connection's
	// usernames are stored lower-cased).
	UserByConnectionUsername(ctx context.Context, connection, username string) (policy.User, error)
	UsersByEmail(ctx context.Context, email string) ([]policy.User, error)
	ListUsers(ctx context.Context, p ListUsersParams) ([]policy.User, error)
	// SearchUsers returns a page of the users matching p.Query (the user
	// search query language; "" = every user) in p.Sort order, after the
	// position p.After (a cursor of a previous hit; "" = from the start),
	// and, with p.Count, the number of matching users in all (0 without).
	// A bad query, sort or cursor is an error wrapping ErrBadQuery whose
	// message says where and what was expected.
	SearchUsers(ctx context.Context, p SearchParams) (hits []SearchHit, total int, err error)
	CountUsers(ctx context.Context) (int, error)
	// InsertUser returns ErrConflict when the id, or the (connection, email)
	// pair, or a non-empty (connection, username) pair already exists.
	InsertUser(ctx context.Context, u policy.User) error
	// UpdateUser writes every field of u; ErrNotFound when absent,
	// ErrConflict on a unique clash.
	UpdateUser(ctx context.Context, u policy.User) error
	// DeleteUser returns ErrNotFound when absent.
	DeleteUser(ctx context.Context, id string) error

	// ConnectionByName returns ErrNotFound when absent. The module bytes
	// (Script) are not read — they can be megabytes and connections are
	// read on every login; ScriptSHA256 tells whether one is set.
	ConnectionByName(ctx context.Context, name string) (Connection, error)
	// ConnectionByNameForUpdate is ConnectionByName inside a transaction
	// that will write the connection: it locks the row until the
	// transaction ends (SELECT ... FOR UPDATE on MySQL; SQLite transactions
	// hold the write lock from BEGIN), so no concurrent update is lost or
	// undone by this one's write of every column.
	ConnectionByNameForUpdate(ctx context.Context, name string) (Connection, error)
	// ConnectionByNameForShare is ConnectionByName inside a transaction
	// that adds users to the connection: it reads the latest committed row
	// and holds a shared lock on it until the transaction ends (LOCK IN
	// SHARE MODE on MySQL; plain on SQLite, serialized at BEGIN), so a
	// concurrent ConnectionByNameForUpdate waits for this transaction, and
	// this read waits for that one.
	ConnectionByNameForShare(ctx context.Context, name string) (Connection, error)
	// ConnectionInUse reports whether the connection has any user or any
	// pending or running import job. In a transaction that first took the
	// connection with ConnectionByNameForUpdate, the answer holds until it
	// ends: the writers of users take the connection with
	// ConnectionByNameForShare, and an import checks it on every batch.
	ConnectionInUse(ctx context.Context, name string) (bool, error)
	// ConnectionScript returns the connection's module bytes (nil when
	// none); ErrNotFound when there is no such connection.
	ConnectionScript(ctx context.Context, name string) ([]byte, error)
	// Connections lists all connections ordered by name (without modules).
	Connections(ctx context.Context) ([]Connection, error)
	// InsertConnection returns ErrConflict when the name exists.
	InsertConnection(ctx context.Context, c Connection) error
	// UpdateConnection writes every field of c; when c.Script is empty the
	// stored module and its digest are kept. ErrNotFound when absent.
	UpdateConnection(ctx context.Context, c Connection) error

	// SigningKeys lists the keys, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// InsertSigningKey returns ErrConflict when the kid exists.
	InsertSigningKey(ctx context.Context, k SigningKey) error

	// InsertEvent records one event (ID is set by the caller).
	InsertEvent(ctx context.Context, e Event) error
	// EventsByUser lists a user's events newest first; Before is an
	// exclusive cursor (an event ID) or "".
	EventsByUser(ctx context.Context, userID string, p ListEventsParams) ([]Event, error)
	// EventsByUsers returns, for each of the users, their newest limit
	// events newest first (a user without events is absent from the map).
	EventsByUsers(ctx context.Context, userIDs []string, limit int) (map[string][]Event, error)
	// DeleteEventsBefore removes events older than t (retention).
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)

	// RecordLoginFailure adds one failed attempt for (key, ip) at now and
	// returns how many consecutive failures the pair has. Key identifies the
	// account ("connection|email").
	RecordLoginFailure(ctx context.Context, key, ip string, now time.Time) (int, error)
	// LoginFailures returns the pair's consecutive failures and the time of
	// the last one (zero count when none).
	LoginFailures(ctx context.Context, key, ip string) (count int, last time.Time, err error)
	// ResetLoginFailures clears the pair's counter; ip == "" clears every
	// IP's counter for key.
	ResetLoginFailures(ctx context.Context, key, ip string) error
	// ForgiveLoginFailure takes back one attempt RecordLoginFailure counted
	// (an attempt that ended without checking the password).
	ForgiveLoginFailure(ctx context.Context, key, ip string) error

	// Roles, APIs and their assignments (ports_rbac.go).
	RBACQueries
}

// Event is one entry of a user's history (User.logs). It never carries
// secrets.
type Event struct {
	ID         string // sortable: later events have greater IDs
	Time       time.Time
	Type       string // e.g. "login", "login_failed", "signup", "update", "block", "change_password", "delete"
	UserID     string // may be "" for a failed login of an unknown user
	Connection string
	IP         string
	UserAgent  string
	Success    bool
	Detail     string // a short human description (field names, error code), never a secret
}

// ListEventsParams selects a page of events, newest first.
type ListEventsParams struct {
	Before string
	Limit  int
}

// Store is the service's own store.
type Store interface {
	Queries
	JobStore
	StatsQueries
	// WithTx runs fn in one transaction: committed when fn returns nil,
	// rolled back otherwise. Serialization failures (MySQL deadlock 1213,
	// lock wait timeout 1205, SQLite BUSY) are retried a few times by
	// running fn again, so fn must have no effect outside the transaction.
	WithTx(ctx context.Context, fn func(tx Queries) error) error
	// Ping reports whether the store answers (for /healthz).
	Ping(ctx context.Context) error
}
