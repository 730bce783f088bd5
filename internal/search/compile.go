package search

import (
	"strings"
	"unicode/utf8"
)

// Dialect is the SQL dialect to compile to.
type Dialect int

const (
	MySQL  Dialect = iota + 1 // MySQL 8 / MariaDB 10.6+ (JSON_TABLE)
	SQLite                    // SQLite 3.38+ (JSON functions)
)

// SQL compiles the query to a boolean SQL expression over the table users
// (unaliased, so it can be embedded as "... FROM users WHERE <where>") and
// its arguments, bound in order to the ? placeholders. The text holds only
// fixed fragments and placeholders; it never fails on a parsed query.
func (q *Query) SQL(d Dialect) (where string, args []any) {
	if q.root == nil {
		return "1=1", nil
	}
	c := &compiler{d: d}
	c.node(q.root)
	return c.b.String(), c.args
}

// ScanSQL is SQL without the metadata term index (TermsTable): each
// metadata term is only its exact test on the JSON column, so the database
// reads every user's metadata. It selects the same users as SQL; it is the
// reference the index is checked and measured against.
func (q *Query) ScanSQL(d Dialect) (where string, args []any) {
	if q.root == nil {
		return "1=1", nil
	}
	c := &compiler{d: d, noIndex: true}
	c.node(q.root)
	return c.b.String(), c.args
}

type compiler struct {
	d       Dialect
	noIndex bool // ScanSQL
	b       strings.Builder
	args    []any
}

func (c *compiler) w(s ...string) {
	for _, x := range s {
		c.b.WriteString(x)
	}
}

func (c *compiler) arg(v any) { c.b.WriteString("?"); c.args = append(c.args, v) }

func (c *compiler) node(n node) {
	switch n := n.(type) {
	case andNode:
		c.list(n.kids, " AND ")
	case orNode:
		c.list(n.kids, " OR ")
	case notNode:
		// A leaf is NULL where a column or path is absent; COALESCE makes
		// that "no match" before negating (two-valued NOT).
		c.w("NOT COALESCE(")
		c.node(n.x)
		c.w(", 0)")
	case *term:
		c.term(n)
	}
}

func (c *compiler) list(kids []node, op string) {
	c.w("(")
	for i, k := range kids {
		if i > 0 {
			c.w(op)
		}
		c.node(k)
	}
	c.w(")")
}

func (c *compiler) term(t *term) {
	if t.f == nil { // bare: any of the default fields
		c.w("(")
		for i, name := range bareFields {
			if i > 0 {
				c.w(" OR ")
			}
			bt := *t
			bt.f = rootFields[name]
			c.term(&bt)
		}
		c.w(")")
		return
	}
	switch t.f.kind {
	case kindMeta:
		c.meta(t)
	case kindRole:
		c.role(t)
	case kindIdentConn:
		if c.d == MySQL {
			c.w("EXISTS (SELECT 1 FROM JSON_TABLE(users.identities, '$[*]' COLUMNS (c VARCHAR(255) COLLATE utf8mb4_bin PATH '$.connection')) AS ic WHERE ")
			c.pred(t, "ic.c", true)
		} else {
			c.w("EXISTS (SELECT 1 FROM json_each(users.identities) AS ic WHERE ")
			c.pred(t, "json_extract(ic.value, '$.connection')", true)
		}
		c.w(")")
	default:
		col := t.f.col
		if t.f.kind == kindFold {
			col = "LOWER(" + col + ")"
		}
		c.pred(t, col, t.f.nullable)
	}
}

// pred writes the predicate of t on the column expression e, in
// parentheses.
func (c *compiler) pred(t *term, e string, nullable bool) {
	c.w("(")
	defer c.w(")")
	switch t.op {
	case opExists:
		switch {
		case nullable && t.f.kind.text():
			c.w(e, " IS NOT NULL AND ", e, " <> ''")
		case nullable:
			c.w(e, " IS NOT NULL")
		case t.f.kind.text():
			c.w(e, " <> ''")
		default:
			c.w("1=1")
		}
	case opEq:
		if d, ok := t.v.(dateVal); ok && d.day {
			c.w(e, " >= ")
			c.arg(formatTime(d.t))
			c.w(" AND ", e, " < ")
			c.arg(formatTime(d.t.AddDate(0, 0, 1)))
			return
		}
		c.w(e, " = ")
		c.arg(c.value(t.f, t.v))
	case opPrefix:
		p := c.value(t.f, t.v).(string)
		c.w(e, " >= ")
		c.arg(p)
		if hi, ok := successor(p); ok {
			c.w(" AND ", e, " < ")
			c.arg(hi)
		}
	case opRange:
		if t.lo.open && t.hi.open {
			if nullable {
				c.w(e, " IS NOT NULL")
			} else {
				c.w("1=1")
			}
			return
		}
		if !t.lo.open {
			c.bound(t.f, e, t.lo, true)
		}
		if !t.hi.open {
			if !t.lo.open {
				c.w(" AND ")
			}
			c.bound(t.f, e, t.hi, false)
		}
	}
}

func (c *compiler) bound(f *field, e string, b bound, lower bool) {
	if d, ok := b.v.(dateVal); ok && d.day {
		// A day bound covers the whole day.
		t := d.t
		if lower != b.incl { // lower exclusive or upper inclusive: the next day
			t = t.AddDate(0, 0, 1)
		}
		if lower {
			c.w(e, " >= ")
		} else {
			c.w(e, " < ")
		}
		c.arg(formatTime(t))
		return
	}
	op := map[[2]bool]string{{true, true}: " >= ", {true, false}: " > ", {false, true}: " <= ", {false, false}: " < "}[[2]bool{lower, b.incl}]
	c.w(e, op)
	c.arg(c.value(f, b.v))
}

// value is the argument for a typed value of f.
func (c *compiler) value(f *field, v any) any {
	switch v := v.(type) {
	case string:
		if f.kind == kindFold || f.kind == kindEmail {
			return strings.ToLower(v)
		}
		return v
	case dateVal:
		return formatTime(v.t)
	}
	return v
}

// meta writes a metadata term: a lookup in the term index (see TermsTable)
// that narrows the candidates, and the exact test of the value at the path,
// in its text form.
func (c *compiler) meta(t *term) {
	col := t.f.col
	c.w("(")
	defer c.w(")")
	if !c.noIndex {
		c.w("users.id IN (SELECT user_id FROM " + TermsTable + " WHERE source = ")
		c.arg(termSource(col))
		c.w(" AND path = ")
		c.arg(TermPrefix(strings.TrimPrefix(t.f.name, col+"."), TermPathMax))
		if t.op != opExists {
			c.w(" AND value = ")
			c.arg(TermPrefix(t.v.(string), TermValueMax))
		}
		c.w(") AND ")
	}
	if c.d == MySQL {
		if t.op == opExists {
			c.w("COALESCE(JSON_TYPE(JSON_EXTRACT(", col, ", ")
			c.arg(t.path)
			c.w(")), 'NULL') <> 'NULL'")
			return
		}
		// A scalar's text: JSON_UNQUOTE gives a string as is and a number
		// as written; null, objects and lists match no value (null would
		// unquote to 'null', a list to its JSON text).
		// As bytes: utf8mb4_bin would ignore trailing spaces ("a" = "a ").
		c.w("CAST(JSON_UNQUOTE(JSON_EXTRACT(", col, ", ")
		c.arg(t.path)
		c.w(")) AS BINARY) = CAST(")
		c.arg(t.v)
		c.w(" AS BINARY) AND JSON_TYPE(JSON_EXTRACT(", col, ", ")
		c.arg(t.path)
		c.w(")) NOT IN ('NULL', 'OBJECT', 'ARRAY')")
		return
	}
	if t.op == opExists {
		c.w("COALESCE(json_type(", col, ", ")
		c.arg(t.path)
		c.w("), 'null') <> 'null'")
		return
	}
	// A scalar's text: a string's value (json_extract), a number as written
	// and true/false (->, the JSON text; json_extract would turn 1.50 into
	// 1.5 and 1e2 into 100.0); null, objects and lists match no value.
	c.w("CASE json_type(", col, ", ")
	c.arg(t.path)
	c.w(") WHEN 'text' THEN json_extract(", col, ", ")
	c.arg(t.path)
	c.w(") WHEN 'null' THEN NULL WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE ", col, " -> ")
	c.arg(t.path)
	c.w(" END = ")
	c.arg(t.v)
}

// successor returns the least string greater than every string starting
// with p in code-point order (p's last rune incremented, dropping maximal
// ones), and false when there is none.
func successor(p string) (string, bool) {
	rs := []rune(p)
	for len(rs) > 0 {
		r := rs[len(rs)-1]
		switch {
		case r == utf8.MaxRune:
			rs = rs[:len(rs)-1]
			continue
		case r == 0xD7FF:
			r = 0xE000 // skip the surrogates
		default:
			r++
		}
		rs[len(rs)-1] = r
		return string(rs), true
	}
	return "", false
}
