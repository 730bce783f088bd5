package graph

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefBool(b *bool) bool { return b != nil && *b }

func millis(ms *int) *time.Duration {
	if ms == nil {
		return nil
	}
	d := time.Duration(*ms) * time.Millisecond
	return &d
}

// scopes converts a list of scope names from the API; nil (not asked)
// stays nil, an empty list stays a non-nil empty list (clear).
func scopes(names []string) []policy.Scope {
	if names == nil {
		return nil
	}
	out := make([]policy.Scope, len(names))
	for i, n := range names {
		out[i] = policy.Scope(n)
	}
	return out
}

// scopeNames converts scopes for the API; never nil.
func scopeNames(scopes []policy.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

const (
	cursorPrefix    = "u1:"
	logCursorPrefix = "l1:"
)

// encodeCursor makes an opaque cursor from a user id.
func encodeCursor(id string) string { return encodeWith(cursorPrefix, id) }

// decodeCursor returns the user id of a cursor; BAD_USER_INPUT when it is
// not one of ours.
func decodeCursor(c string) (string, error) { return decodeWith(cursorPrefix, c) }

func encodeLogCursor(id string) string { return encodeWith(logCursorPrefix, id) }

func decodeLogCursor(c string) (string, error) { return decodeWith(logCursorPrefix, c) }

func encodeWith(prefix, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + id))
}

func decodeWith(prefix, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), prefix) || len(b) == len(prefix) {
		return "", &service.Error{Code: service.CodeBadUserInput, Field: "after", Message: "after is not a valid cursor"}
	}
	return strings.TrimPrefix(string(b), prefix), nil
}

// nullIfNotFound turns NOT_FOUND into "no error" for fields that answer
// null when the thing does not exist (user, me, connection).
func nullIfNotFound(err error) error {
	if code, _ := service.CodeOf(err); code == service.CodeNotFound {
		return nil
	}
	return err
}
