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
// MaxPageSize). With p.Count, the total counts the matching users with the
// same condition; the page and the count are two statements, so a write
// between them can make them disagree by that write. Without it no count
// runs and the total is 0.
//
// A query that is one metadata term the term index answers alone
// (search.Query.IndexTerm: "app_metadata.plan:pro"), sorted by user_id,
// never reads the JSON columns: its page is an ordered range of the index's
// primary key, in id order from the cursor, joined to users for the page's
// rows only. However many users match, a page reads first+1 index entries
// and users rows.
//
// A query that is one term the store counts (search.Query.CountTerm: that
// metadata term, or email_verified:false, blocked:true, connection:X) is
// counted from the term counts (termcounts.go), whatever the sort: the sum
// of the term's shards, a few rows however many users match. Other
// queries count with the page's condition (a term-index range for one
// metadata term the counts do not hold).
func (q *queries) SearchUsers(ctx context.Context, p service.SearchParams) ([]service.SearchHit, int, error) {
	s, err := buildSearch(q.dialect, p, searchPlan{from: "users"})
	if err != nil {
		return nil, 0, err
	}
	return q.runSearch(ctx, s)
}

// runSearch runs a compiled search: the page, then the count when it has
// one.
func (q *queries) runSearch(ctx context.Context, s searchSQL) ([]service.SearchHit, int, error) {
	x := q.searchRunner()
	var rows []userRow
	if err := x.sel(ctx, &rows, s.page, s.pageArgs...); err != nil {
		return nil, 0, translate(err, "search users", "users")
	}
	var total int
	if s.count != "" {
		if err := x.get(ctx, &total, s.count, s.countArgs...); err != nil {
			return nil, 0, translate(err, "count searched users", "users")
		}
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

// searchSQL is a compiled search: the page statement, and the count
// statement ("" when not counting).
type searchSQL struct {
	sort      search.Sort
	page      string
	pageArgs  []any
	count     string
	countArgs []any
}

// searchPlan chooses how buildSearch compiles a search. from is the users
// table clause ("users", or with index hints for the benchmark's full-scan
// baseline); scan leaves the metadata term index out (search.Query.ScanSQL)
// and generic compiles every query as one condition on users (the plan of
// every query before the term-index plan: an IN subquery on the index,
// every match read and sorted), both for the benchmark's baselines.
//
// countIndex counts as before the term counts (termcounts.go): from the
// term index or users, for the benchmark's baseline.
type searchPlan struct {
	from                      string
	scan, generic, countIndex bool
}

// buildSearch compiles p for the dialect. Errors wrap service.ErrBadQuery
// and the *search.Error.
func buildSearch(dialect string, p service.SearchParams, plan searchPlan) (searchSQL, error) {
	bad := func(err error) (searchSQL, error) {
		return searchSQL{}, fmt.Errorf("db: search: %w: %w", service.ErrBadQuery, err)
	}
	pq, err := search.Parse(p.Query)
	if err != nil {
		return bad(err)
	}
	sort, err := search.ParseSort(p.Sort)
	if err != nil {
		return bad(err)
	}
	s, err := planSearch(dialect, p, plan, pq, sort)
	if err != nil {
		return bad(err)
	}
	if p.Count && !plan.scan && !plan.generic && !plan.countIndex {
		if source, path, value, ok := pq.CountTerm(); ok {
			s.count, s.countArgs = qTermCount, []any{source, path, value}
		}
	}
	return s, nil
}

// planSearch compiles the page and the count of p (see buildSearch).
func planSearch(dialect string, p service.SearchParams, plan searchPlan, pq *search.Query, sort search.Sort) (searchSQL, error) {
	d := search.SQLite
	if dialect == DialectMySQL {
		d = search.MySQL
	}
	if !plan.scan && !plan.generic && sort.ByID() {
		if where, args, ok := pq.IndexTerm("t"); ok {
			return indexTermSearch(dialect, p, sort, where, args)
		}
	}
	where, args := pq.SQL(d)
	if plan.scan {
		where, args = pq.ScanSQL(d)
	}
	s := searchSQL{sort: sort}
	if p.Count {
		s.count = "SELECT COUNT(*) FROM " + plan.from + " WHERE " + where
		s.countArgs = args
	}
	pageWhere, pageArgs := where, append([]any(nil), args...)
	if p.After != "" {
		after, afterArgs, err := sort.After(p.After)
		if err != nil {
			return searchSQL{}, err
		}
		pageWhere = "(" + where + ") AND (" + after + ")"
		pageArgs = append(pageArgs, afterArgs...)
	}
	s.page = "SELECT " + userColumns + " FROM " + plan.from + " WHERE " + pageWhere +
		" ORDER BY " + sort.OrderBy() + " LIMIT ?"
	s.pageArgs = append(pageArgs, pageSize(p.Limit))
	return s, nil
}

// indexTermSearch compiles a search by id for one term the index answers
// alone (where and args select its rows in the index aliased t): the page
// walks the index's primary key (source, path, value, user_id) in id order
// from the cursor and looks each of its first rows up in users (the join
// order is forced: SQLite's CROSS JOIN, MySQL's STRAIGHT_JOIN), and the
// count counts the range without reading users. Every index row has its
// user (the store writes and deletes them together).
func indexTermSearch(dialect string, p service.SearchParams, sort search.Sort, where string, args []any) (searchSQL, error) {
	s := searchSQL{sort: sort}
	if p.Count {
		s.count = "SELECT COUNT(*) FROM " + search.TermsTable + " AS t WHERE " + where
		s.countArgs = args
	}
	pageWhere, pageArgs := where, append([]any(nil), args...)
	if p.After != "" {
		after, afterArgs, err := sort.AfterID(p.After, "t.user_id")
		if err != nil {
			return searchSQL{}, err
		}
		pageWhere += " AND " + after
		pageArgs = append(pageArgs, afterArgs...)
	}
	dir := " ASC"
	if sort.Desc() {
		dir = " DESC"
	}
	sel, join := "SELECT ", " CROSS JOIN "
	if dialect == DialectMySQL {
		sel, join = "SELECT STRAIGHT_JOIN ", " JOIN "
	}
	s.page = sel + userColumns + " FROM " + search.TermsTable + " AS t" + join + "users ON users.id = t.user_id WHERE " +
		pageWhere + " ORDER BY t.user_id" + dir + " LIMIT ?"
	s.pageArgs = append(pageArgs, pageSize(p.Limit))
	return s, nil
}

// sortValue is u's value of a sortable field as the users table holds it
// (nil where the column is NULL), for the hit's cursor. The value comes
// from the profile's table of fields (policy.ProfileFields).
func sortValue(field string, u policy.User) any {
	f, ok := policy.LookupField(field)
	if !ok || !f.Sort || f.Column == "id" {
		return nil // user_id: the id is the cursor's own
	}
	v := f.Value(u)
	if s, isString := v.(string); isString {
		if f.Kind == policy.KindEmail {
			s = strings.ToLower(s)
		}
		if f.Nullable {
			return nullIfEmpty(s)
		}
		return s
	}
	return v
}
