package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
	"github.com/profiled/profiled/internal/service"
)

// SearchUsers runs a user search (package search compiles the query, sort
// and cursor to parameterized SQL) on the users table itself, so a write is
// found at once. Page sizes are those of ListUsers (DefaultPageSize,
// MaxPageSize). The total counts the matching users with the same WHERE;
// the page and the count are two statements, so a write between them can
// make them disagree by that write.
func (q *queries) SearchUsers(ctx context.Context, p service.SearchParams) ([]service.SearchHit, int, error) {
	s, err := buildSearch(q.dialect, p, "users", false)
	if err != nil {
		return nil, 0, err
	}
	return q.runSearch(ctx, s)
}

// runSearch runs a compiled search: the page, then the count.
func (q *queries) runSearch(ctx context.Context, s searchSQL) ([]service.SearchHit, int, error) {
	x := q.searchRunner()
	var rows []userRow
	if err := x.sel(ctx, &rows, s.page, s.pageArgs...); err != nil {
		return nil, 0, translate(err, "search users", "users")
	}
	var total int
	if err := x.get(ctx, &total, s.count, s.countArgs...); err != nil {
		return nil, 0, translate(err, "count searched users", "users")
	}
	hits := make([]service.SearchHit, 0, len(rows))
	for i := range rows {
		u, err := rows[i].user()
		if err != nil {
			return nil, 0, err
		}
		hits = append(hits, service.SearchHit{User: u, Cursor: s.sort.Cursor(sortValue(s.sort.Field(), u), u.ID)})
	}
	return hits, total, nil
}

// searchRunner is q.r without SQLite's statement cache: search statements
// are built per query and the cache keeps every text it sees forever. (In a
// transaction, uncached texts already run as text.)
func (q *queries) searchRunner() runner {
	if p, ok := q.r.(poolRunner); ok {
		p.cache = nil
		return p
	}
	return q.r
}

// searchSQL is a compiled search: the page and the count statements.
type searchSQL struct {
	sort      search.Sort
	page      string
	pageArgs  []any
	count     string
	countArgs []any
}

// buildSearch compiles p for the dialect; from is the table clause ("users",
// or with index hints for the benchmark's full-scan baseline) and scan
// leaves the metadata term index out (search.Query.ScanSQL). Errors wrap
// service.ErrBadQuery and the *search.Error.
func buildSearch(dialect string, p service.SearchParams, from string, scan bool) (searchSQL, error) {
	bad := func(err error) (searchSQL, error) {
		return searchSQL{}, fmt.Errorf("db: search: %w: %w", service.ErrBadQuery, err)
	}
	d := search.SQLite
	if dialect == DialectMySQL {
		d = search.MySQL
	}
	pq, err := search.Parse(p.Query)
	if err != nil {
		return bad(err)
	}
	sort, err := search.ParseSort(p.Sort)
	if err != nil {
		return bad(err)
	}
	where, args := pq.SQL(d)
	if scan {
		where, args = pq.ScanSQL(d)
	}
	s := searchSQL{
		sort:      sort,
		count:     "SELECT COUNT(*) FROM " + from + " WHERE " + where,
		countArgs: args,
	}
	pageWhere, pageArgs := where, append([]any(nil), args...)
	if p.After != "" {
		after, afterArgs, err := sort.After(p.After)
		if err != nil {
			return bad(err)
		}
		pageWhere = "(" + where + ") AND (" + after + ")"
		pageArgs = append(pageArgs, afterArgs...)
	}
	s.page = "SELECT " + userColumns + " FROM " + from + " WHERE " + pageWhere +
		" ORDER BY " + sort.OrderBy() + " LIMIT ?"
	s.pageArgs = append(pageArgs, pageSize(p.Limit))
	return s, nil
}

// sortValue is u's value of a sortable field as the users table holds it
// (nil where the column is NULL), for the hit's cursor.
func sortValue(field string, u policy.User) any {
	switch field {
	case "email":
		return nullIfEmpty(strings.ToLower(u.Email))
	case "email_verified":
		return u.EmailVerified
	case "username":
		return nullIfEmpty(u.Username)
	case "name":
		return u.Name
	case "given_name":
		return u.GivenName
	case "family_name":
		return u.FamilyName
	case "nickname":
		return u.Nickname
	case "connection":
		return u.Connection
	case "blocked":
		return u.Blocked
	case "logins_count":
		return u.LoginsCount
	case "created_at":
		return u.CreatedAt
	case "updated_at":
		return u.UpdatedAt
	case "last_login":
		if u.LastLogin == nil {
			return nil
		}
		return *u.LastLogin
	}
	return nil // user_id: the id is the cursor's own
}
