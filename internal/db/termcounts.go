package db

import (
	"cmp"
	"context"
	"database/sql"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
)

// The term counts (table term_counts, migrations 56 and 57): how many
// users each term matches, so that a one-term search's totalCount reads a
// few rows instead of one index entry per match. A term is a key of the
// metadata term index (source, path, value), or a counted profile field's
// value (search.SourceField, the field's name, search.FieldValue). Each
// term's count is split over termShards rows (shard = termShard of the
// user id), so that two writers touching the same term (plan = pro) in
// parallel most often update different rows; the count is the sum.
//
// Every write of the term index and of the counted fields changes the
// counts in the same transaction, through countTerms: a user's insert,
// update and delete, the import's INSERTs and LOAD DATA, the upsert's
// update. The changes are computed from the index rows each write inserts
// and deletes; when a statement did not change as many rows as computed
// (an index row left over, or missing, from an older profiled), the terms
// involved are counted again from the index (recountTerms).

const (
	termCountsTable = "term_counts"
	// termShards is the number of rows a term's count is split over.
	termShards = 16
	// maxCountRows keeps one upsert of counts (5 placeholders a row) under
	// the placeholder limits.
	maxCountRows = 4000
)

// countTermsOff turns the counts' upkeep off: the write benchmark's
// baseline (BenchmarkTermCountsWrites) only.
var countTermsOff bool

// termShard is the shard of a user id's counts: FNV-1a of the id.
func termShard(userID string) int {
	h := fnv.New32a()
	h.Write([]byte(userID))
	return int(h.Sum32() % termShards)
}

// termKey is a term of the counts.
type termKey struct{ source, path, value string }

// countKey is one row of the counts.
type countKey struct {
	termKey
	shard int
}

// termCounts are changes to the counts, by row. recount marks that the
// index rows of the metadata terms among them did not change as computed:
// countTerms counts those terms again instead.
type termCounts struct {
	delta   map[countKey]int64
	recount bool
}

func newTermCounts() *termCounts { return &termCounts{delta: map[countKey]int64{}} }

// addTerms adds d to the count of each index row's term.
func (c *termCounts) addTerms(rows []termRow, d int64) {
	for _, r := range rows {
		c.delta[countKey{termKey{r.source, r.path, r.value}, termShard(r.userID)}] += d
	}
}

// addFields adds d to the counts of u's counted fields' values.
func (c *termCounts) addFields(u policy.User, d int64) {
	shard := termShard(u.ID)
	for _, name := range search.CountedFields {
		c.delta[countKey{termKey{search.SourceField, name, fieldValue(u, name)}, shard}] += d
	}
}

// fieldValue is u's counted value of the counted field name.
func fieldValue(u policy.User, name string) string {
	f, _ := policy.LookupField(name)
	return search.FieldValue(f.Value(u))
}

// changeFields adds the changes of the counted fields from was to now
// (the same user).
func (c *termCounts) changeFields(was, now policy.User) {
	shard := termShard(now.ID)
	for _, name := range search.CountedFields {
		a, b := fieldValue(was, name), fieldValue(now, name)
		if a != b {
			c.delta[countKey{termKey{search.SourceField, name, a}, shard}]--
			c.delta[countKey{termKey{search.SourceField, name, b}, shard}]++
		}
	}
}

// wrote records an index write of want rows that changed got rows.
func (c *termCounts) wrote(want int, got int64) {
	if int64(want) != got {
		c.recount = true
	}
}

// countTerms writes c to the counts, in the caller's transaction: every
// writer of the term index or of a user's counted fields calls it after
// its writes (see above). The rows are updated in key order, so two
// writers lock shared rows in the same order. In an import batch's
// transaction the changes are gathered and written at its end
// (DB.WithImportTx).
func (q *queries) countTerms(ctx context.Context, c *termCounts) error {
	if countTermsOff {
		return nil
	}
	if at := q.countsAtEnd; at != nil {
		for k, d := range c.delta {
			at.delta[k] += d
		}
		at.recount = at.recount || c.recount
		return nil
	}
	if c.recount {
		var terms []termKey
		for k := range c.delta {
			if k.source != search.SourceField {
				terms = append(terms, k.termKey)
				delete(c.delta, k)
			}
		}
		if err := applyTermCounts(ctx, q.dialect, q.w.exec, c.delta); err != nil {
			return err
		}
		return q.recountTerms(ctx, terms)
	}
	return applyTermCounts(ctx, q.dialect, q.w.exec, c.delta)
}

// applyTermCounts adds delta to the counts (upserts, in key order), then
// deletes the rows it brought to zero.
func applyTermCounts(ctx context.Context, dialect string, exec func(ctx context.Context, query string, args ...any) (sql.Result, error), delta map[countKey]int64) error {
	keys := make([]countKey, 0, len(delta))
	var down []countKey
	for k, d := range delta {
		if d != 0 {
			keys = append(keys, k)
		}
		if d < 0 {
			down = append(down, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, compareCountKeys)
	upsert := " ON CONFLICT (source, path, value, shard) DO UPDATE SET n = n + excluded.n"
	if dialect == DialectMySQL {
		upsert = " ON DUPLICATE KEY UPDATE n = n + VALUES(n)"
	}
	for len(keys) > 0 {
		k := keys[:min(len(keys), maxCountRows)]
		keys = keys[len(k):]
		var b strings.Builder
		b.WriteString("INSERT INTO " + termCountsTable + " (source, path, value, shard, n) VALUES ")
		args := make([]any, 0, 5*len(k))
		for i, key := range k {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, key.source, key.path, key.value, key.shard, delta[key])
		}
		b.WriteString(upsert)
		if _, err := exec(ctx, b.String(), args...); err != nil {
			return translate(err, "count terms", termCountsTable)
		}
	}
	slices.SortFunc(down, compareCountKeys)
	for len(down) > 0 {
		k := down[:min(len(down), maxTermDeleteRows)]
		down = down[len(k):]
		var b strings.Builder
		b.WriteString("DELETE FROM " + termCountsTable + " WHERE n = 0 AND (")
		args := make([]any, 0, 4*len(k))
		for i, key := range k {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("(source = ? AND path = ? AND value = ? AND shard = ?)")
			args = append(args, key.source, key.path, key.value, key.shard)
		}
		b.WriteString(")")
		if _, err := exec(ctx, b.String(), args...); err != nil {
			return translate(err, "count terms", termCountsTable)
		}
	}
	return nil
}

func compareCountKeys(a, b countKey) int {
	return cmp.Or(strings.Compare(a.source, b.source), strings.Compare(a.path, b.path),
		strings.Compare(a.value, b.value), cmp.Compare(a.shard, b.shard))
}

// recountTerms sets the counts of metadata terms from the index, reading
// (on MySQL with a shared lock, so the latest committed rows, held until
// the transaction ends) each term's user ids.
func (q *queries) recountTerms(ctx context.Context, terms []termKey) error {
	slices.SortFunc(terms, func(a, b termKey) int {
		return cmp.Or(strings.Compare(a.source, b.source), strings.Compare(a.path, b.path), strings.Compare(a.value, b.value))
	})
	terms = slices.Compact(terms)
	read := "SELECT user_id FROM " + search.TermsTable + " WHERE source = ? AND path = ? AND value = ?"
	if q.dialect == DialectMySQL {
		read += " LOCK IN SHARE MODE"
	}
	for _, t := range terms {
		var ids []string
		if err := q.w.sel(ctx, &ids, read, t.source, t.path, t.value); err != nil {
			return translate(err, "recount terms", search.TermsTable)
		}
		if _, err := q.w.exec(ctx, "DELETE FROM "+termCountsTable+" WHERE source = ? AND path = ? AND value = ?", t.source, t.path, t.value); err != nil {
			return translate(err, "recount terms", termCountsTable)
		}
		delta := map[countKey]int64{}
		for _, id := range ids {
			delta[countKey{t, termShard(id)}]++
		}
		if err := applyTermCounts(ctx, q.dialect, q.w.exec, delta); err != nil {
			return err
		}
	}
	return nil
}

// qTermCount is the count of one term: the sum of its shards.
const qTermCount = "SELECT COALESCE(SUM(n), 0) FROM " + termCountsTable + " WHERE source = ? AND path = ? AND value = ?"
