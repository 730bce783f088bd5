// Package store is the vocabulary a store implementation (package db) shares
// with the layers that use it: the errors it translates its driver's errors
// to at its boundary, and the records more than one layer reads. It imports
// only the standard library, so auth can name them without importing the
// service; service re-exports them under the same names.
package store

import (
	"errors"
	"time"
)

// Store errors. Implementations translate driver errors to these at their
// boundary (MySQL 1062 / SQLite UNIQUE → ErrConflict, no rows → ErrNotFound).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the store cannot be reached.
	ErrUnavailable = errors.New("store unavailable")
)

// SigningKey is a token-signing key kept in the store.
type SigningKey struct {
	KID        string
	PrivatePEM []byte // PKCS#8 PEM
	CreatedAt  time.Time
	// RetiresAt is when the key stops verifying tokens (zero: never; set
	// on the older keys by a rotation).
	RetiresAt time.Time
}
