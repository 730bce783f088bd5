package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
)

// The metadata term index (search.TermsTable): the store writes a user's
// rows with the user, in the same transaction, updates a source's rows
// (the changed paths only) whenever that metadata changes, and deletes them
// with the user. The table has its primary key only — no index by user, no
// foreign key: every row to delete is computed from the stored metadata, so
// each indexed value costs one index entry. (A row left behind could only
// add a candidate, which the search's exact test on the users row drops.) The *DB methods that write users run in a transaction of their
// own when called outside one (see db.go), so the rows never lag.

const (
	qStoredUser = `SELECT user_metadata, app_metadata, email_verified, phone_verified, blocked, connection FROM users WHERE id = ?`
	termColumns = 5
	// maxTermRows keeps one INSERT under SQLite's and MySQL's placeholder
	// limits (32,766 and 65,535).
	maxTermRows = 4000
	// maxTermDeleteRows keeps one DELETE's WHERE (an OR of ANDs) far under
	// SQLite's expression depth limit (1,000: it refuses 997 rows).
	maxTermDeleteRows = 200
)

// termRow is one row of the index; num is the value as a number when its
// text is a JSON number (numeric ranges read it).
type termRow struct {
	source, path, value, userID string
	num                         sql.NullFloat64
}

// jsonNumber matches the JSON number grammar (RFC 8259 §6).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

func newTermRow(source, path, value, userID string) termRow {
	r := termRow{source: source, path: path, value: value, userID: userID}
	if jsonNumber.MatchString(value) {
		if f, err := strconv.ParseFloat(value, 64); err == nil && !math.IsInf(f, 0) {
			r.num = sql.NullFloat64{Float64: f, Valid: true}
		}
	}
	return r
}

// metadataTerms appends the rows of one metadata object: one per path that
// holds a value (objects and lists with an empty value, then their
// members), none for nulls. Array levels are skipped, as Auth0's search
// does: every element of a list at path gets a row at path (objects in a
// list are walked with the list's path as their prefix), so
// app_metadata.roles:admin finds ["admin", "dev"] and
// user_metadata.addresses.city:Paris finds [{"city": "Paris"}].
func metadataTerms(rows []termRow, source, userID string, m map[string]any) []termRow {
	seen := map[[2]string]bool{}
	add := func(path, value string) {
		key := [2]string{search.TermPrefix(path, search.TermPathMax), search.TermPrefix(value, search.TermValueMax)}
		if !seen[key] {
			seen[key] = true
			rows = append(rows, newTermRow(source, key[0], key[1], userID))
		}
	}
	var walk func(prefix string, m map[string]any)
	var elems func(path string, list []any)
	member := func(path string, v any) {
		switch sub := v.(type) {
		case map[string]any:
			walk(path, sub)
		case policy.Metadata:
			walk(path, sub)
		case []any:
			elems(path, sub)
		}
	}
	elems = func(path string, list []any) {
		for _, e := range list {
			value, container, ok := termValue(e)
			if !ok {
				continue
			}
			if !container {
				add(path, value)
				continue
			}
			member(path, e)
		}
	}
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			value, container, ok := termValue(v)
			if !ok {
				continue
			}
			add(path, value)
			if container {
				member(path, v)
			}
		}
	}
	walk("", m)
	return rows
}

// termValue is the indexed text of a metadata value: what the search's
// exact test reads at its path (JSON_UNQUOTE / CAST of the value), "" for
// an object or a list (container), and !ok for null.
func termValue(v any) (value string, container, ok bool) {
	switch v := v.(type) {
	case nil:
		return "", false, false
	case string:
		return v, false, true
	case bool:
		if v {
			return "true", false, true
		}
		return "false", false, true
	case json.Number:
		return string(v), false, true
	case map[string]any, policy.Metadata, []any:
		return "", true, true
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) == 0 || b[0] == '{' || b[0] == '[' {
		return "", true, true
	}
	if b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s, false, true
		}
	}
	return string(b), false, true
}

// encodedTerms appends the rows of one metadata object as stored (JSON):
// every row is made from the stored form, read back as the store reads it,
// so the rows a write inserts are exactly those a later write computes to
// delete (whatever Go types or invalid UTF-8 the caller's map held).
// Unreadable JSON makes no rows.
func encodedTerms(rows []termRow, source, userID, encoded string) []termRow {
	m, err := decodeObject(encoded)
	if err != nil {
		return rows
	}
	return metadataTerms(rows, source, userID, m)
}

// userTerms returns the rows of both of a user's stored metadata objects.
func userTerms(rows []termRow, userID, um, am string) []termRow {
	rows = encodedTerms(rows, search.SourceUser, userID, um)
	return encodedTerms(rows, search.SourceApp, userID, am)
}

// newUserTerms is userTerms for a user about to be inserted, whose
// metadata maps u.UserMetadata and u.AppMetadata were encoded into um and
// am: a map that decoding its encoded form gives back as it is (plainJSON)
// makes its rows directly, without decoding um or am again (a third of an
// import's CPU on the client went to that decoding).
func newUserTerms(rows []termRow, u policy.User, um, am string) []termRow {
	if plainObject(u.UserMetadata) {
		rows = metadataTerms(rows, search.SourceUser, u.ID, u.UserMetadata)
	} else {
		rows = encodedTerms(rows, search.SourceUser, u.ID, um)
	}
	if plainObject(u.AppMetadata) {
		return metadataTerms(rows, search.SourceApp, u.ID, u.AppMetadata)
	}
	return encodedTerms(rows, search.SourceApp, u.ID, am)
}

// plainObject reports whether decodeObject gives m back unchanged from
// its JSON encoding (nil encodes as {}): see plainJSON.
func plainObject(m map[string]any) bool {
	for k, e := range m {
		if !utf8.ValidString(k) || !plainJSON(e) {
			return false
		}
	}
	return true
}

// plainJSON reports whether v holds only what decoding gives back
// unchanged from its JSON encoding: non-nil objects (map[string]any or
// policy.Metadata) with valid UTF-8 keys, non-nil lists ([]any), valid
// UTF-8 strings, booleans, json.Number and nil. Anything else (a float64,
// a struct, a nil map, which encodes as null, invalid UTF-8, which
// encoding replaces) is not.
func plainJSON(v any) bool {
	switch v := v.(type) {
	case nil, bool, json.Number:
		return true
	case string:
		return utf8.ValidString(v)
	case map[string]any:
		return v != nil && plainObject(v)
	case policy.Metadata:
		return v != nil && plainObject(v)
	case []any:
		if v == nil {
			return false
		}
		for _, e := range v {
			if !plainJSON(e) {
				return false
			}
		}
		return true
	}
	return false
}

// insertTerms writes rows, in statements of at most maxTermRows rows, and
// returns how many it inserted. A row already there is left as it is.
func (q *queries) insertTerms(ctx context.Context, rows []termRow) (int64, error) {
	return insertTerms(ctx, q.dialect, q.w.exec, rows)
}

func insertTerms(ctx context.Context, dialect string, exec func(ctx context.Context, query string, args ...any) (sql.Result, error), rows []termRow) (int64, error) {
	verb := "INSERT OR IGNORE INTO "
	if dialect == DialectMySQL {
		verb = "INSERT IGNORE INTO "
	}
	var inserted int64
	err := eachTermStatement(rows, maxTermRows, verb+search.TermsTable+" (source, path, value, user_id, num) VALUES ", ", ", "(?, ?, ?, ?, ?)", true,
		func(query string, args []any) error {
			res, err := exec(ctx, query, args...)
			if err != nil {
				return translate(err, "index metadata", search.TermsTable)
			}
			n, err := res.RowsAffected()
			inserted += n
			return err
		})
	return inserted, err
}

// eachTermStatement builds head + one (sep one)... for at most max rows at
// a time, one's four placeholders bound to a row's columns, and
// hands each statement to run.
func eachTermStatement(rows []termRow, max int, head, sep, one string, withNum bool, run func(query string, args []any) error) error {
	for len(rows) > 0 {
		n := min(len(rows), max)
		var b strings.Builder
		b.Grow(len(head) + n*(len(sep)+len(one)))
		b.WriteString(head)
		args := make([]any, 0, n*termColumns)
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(one)
			args = append(args, r.source, r.path, r.value, r.userID)
			if withNum {
				args = append(args, r.num)
			}
		}
		if err := run(b.String(), args); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// replaceTerms brings the rows of one source of a user from those of the
// stored metadata (old) to those of the new (now), both as stored (JSON):
// it deletes the rows only old has and inserts the rows only now has, by
// primary key (the table has no other index to keep up), and adds the
// changes of the counts to c.
func (q *queries) replaceTerms(ctx context.Context, c *termCounts, source, userID, old, now string) error {
	was := encodedTerms(nil, source, userID, old)
	will := encodedTerms(nil, source, userID, now)
	in := func(rows []termRow) map[termRow]bool {
		set := make(map[termRow]bool, len(rows))
		for _, r := range rows {
			set[r] = true
		}
		return set
	}
	wasSet, willSet := in(was), in(will)
	var gone, added []termRow
	for _, r := range was {
		if !willSet[r] {
			gone = append(gone, r)
		}
	}
	for _, r := range will {
		if !wasSet[r] {
			added = append(added, r)
		}
	}
	deleted, err := q.deleteTerms(ctx, gone)
	if err != nil {
		return err
	}
	c.wrote(len(gone), deleted)
	c.addTerms(gone, -1)
	inserted, err := q.insertTerms(ctx, added)
	if err != nil {
		return err
	}
	c.wrote(len(added), inserted)
	c.addTerms(added, 1)
	return nil
}

// deleteTerms deletes rows by primary key, maxTermDeleteRows at a time,
// and returns how many it deleted.
func (q *queries) deleteTerms(ctx context.Context, rows []termRow) (int64, error) {
	var deleted int64
	err := eachTermStatement(rows, maxTermDeleteRows, "DELETE FROM "+search.TermsTable+" WHERE ", " OR ", "(source = ? AND path = ? AND value = ? AND user_id = ?)", false,
		func(query string, args []any) error {
			res, err := q.w.exec(ctx, query, args...)
			if err != nil {
				return translate(err, "unindex metadata", search.TermsTable)
			}
			n, err := res.RowsAffected()
			deleted += n
			return err
		})
	return deleted, err
}

// storedUser is what a user write reads of the stored user: the metadata
// columns as they are (the index rows to delete are computed from them)
// and the counted fields (search.CountedFields).
type storedUser struct {
	UM            string `db:"user_metadata"`
	AM            string `db:"app_metadata"`
	EmailVerified bool   `db:"email_verified"`
	PhoneVerified bool   `db:"phone_verified"`
	Blocked       bool   `db:"blocked"`
	Connection    string `db:"connection"`
}

// counted is the user id with the stored counted fields.
func (s storedUser) counted(id string) policy.User {
	return policy.User{ID: id, EmailVerified: s.EmailVerified, PhoneVerified: s.PhoneVerified, Blocked: s.Blocked, Connection: s.Connection}
}

// storedMetadata reads a user's stored metadata columns as they are, and
// its counted fields.
func (q *queries) storedMetadata(ctx context.Context, id string) (storedUser, error) {
	var stored storedUser
	query := qStoredUser
	if q.dialect == DialectMySQL {
		// The rows to delete are computed from what this reads: it must
		// be the latest committed metadata, held until the write.
		query += " FOR UPDATE"
	}
	if err := q.w.get(ctx, &stored, query, id); err != nil {
		return storedUser{}, translate(err, fmt.Sprintf("user %q", id), "users")
	}
	return stored, nil
}

// syncTerms rewrites the rows of the metadata objects of u that differ
// from what is stored (um and am: u's encoded objects), and the term
// counts of those rows and of the counted fields, before u is written;
// fields gives the user whose counted fields the write stores, from the
// stored one. A user whose metadata and counted fields did not change (a
// login refresh, a profile edit) costs one primary-key read.
func (q *queries) syncTerms(ctx context.Context, u policy.User, um, am string, fields func(stored policy.User) policy.User) error {
	stored, err := q.storedMetadata(ctx, u.ID)
	if err != nil {
		return err
	}
	c := newTermCounts()
	if stored.UM != um {
		if err := q.replaceTerms(ctx, c, search.SourceUser, u.ID, stored.UM, um); err != nil {
			return err
		}
	}
	if stored.AM != am {
		if err := q.replaceTerms(ctx, c, search.SourceApp, u.ID, stored.AM, am); err != nil {
			return err
		}
	}
	was := stored.counted(u.ID)
	now := fields(was)
	now.ID = u.ID
	c.changeFields(was, now)
	return q.countTerms(ctx, c)
}

// unindexUser deletes the rows of a user about to be deleted, and takes
// the user out of the term counts; ErrNotFound when there is no such user.
func (q *queries) unindexUser(ctx context.Context, id string) error {
	stored, err := q.storedMetadata(ctx, id)
	if err != nil {
		return err
	}
	c := newTermCounts()
	if err := q.replaceTerms(ctx, c, search.SourceUser, id, stored.UM, "{}"); err != nil {
		return err
	}
	if err := q.replaceTerms(ctx, c, search.SourceApp, id, stored.AM, "{}"); err != nil {
		return err
	}
	c.addFields(stored.counted(id), -1)
	return q.countTerms(ctx, c)
}

// countNewUsers adds users just inserted (their users rows and their
// index rows, terms) to the term counts: inserted is how many index rows
// the insert wrote. Every path that inserts users calls it in the same
// transaction (InsertUser, the import's INSERTs and LOAD DATA).
func (q *queries) countNewUsers(ctx context.Context, users []policy.User, terms []termRow, inserted int64) error {
	c := newTermCounts()
	c.wrote(len(terms), inserted)
	c.addTerms(terms, 1)
	for _, u := range users {
		c.addFields(u, 1)
	}
	return q.countTerms(ctx, c)
}
