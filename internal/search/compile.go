package search

import (
	"regexp"
	"strconv"
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
			if wordFields[name] && (t.op == opEq || t.op == opPrefix) {
				c.word(&bt)
				continue
			}
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
	case kindIdent:
		// identities[*].<key>: the key is a fixed name from the field table.
		if c.d == MySQL {
			c.w("EXISTS (SELECT 1 FROM JSON_TABLE(users.identities, '$[*]' COLUMNS (c VARCHAR(255) COLLATE utf8mb4_bin PATH '$." + t.f.col + "')) AS ic WHERE ")
			c.pred(t, "ic.c", true)
		} else {
			c.w("EXISTS (SELECT 1 FROM json_each(users.identities) AS ic WHERE ")
			c.pred(t, "json_extract(ic.value, '$."+t.f.col+"')", true)
		}
		c.w(")")
	case kindDomain:
		e := "substr(email, instr(email, '@') + 1)"
		if c.d == MySQL {
			e = "SUBSTRING_INDEX(email, '@', -1)"
		}
		c.pred(t, "(CASE WHEN email LIKE '%@%' THEN "+e+" END)", true)
	default:
		col := t.f.col
		if t.f.kind == kindFold {
			col = "LOWER(" + col + ")"
		}
		c.pred(t, col, t.f.nullable)
	}
}

// word writes a bare term's match of a whole word of a name field (words
// are separated by spaces): the value, case-insensitively, between spaces
// or the ends; a prefix term matches the start of a word.
func (c *compiler) word(t *term) {
	v := " " + strings.ToLower(t.v.(string))
	if t.op == opEq {
		v += " "
	}
	if c.d == MySQL {
		c.w("(LOCATE(")
		c.arg(v)
		c.w(", CONCAT(' ', LOWER(", t.f.col, "), ' ')) > 0)")
		return
	}
	c.w("(instr(' ' || LOWER(", t.f.col, ") || ' ', ")
	c.arg(v)
	c.w(") > 0)")
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
	case opSuffix:
		v := c.value(t.f, t.v).(string)
		if c.d == MySQL {
			c.w("RIGHT(", e, ", ")
		} else {
			c.w("substr(", e, ", -")
		}
		c.arg(utf8.RuneCountInString(v))
		c.w(") = ")
		c.arg(v)
	case opContains:
		if c.d == MySQL {
			c.w("LOCATE(")
			c.arg(c.value(t.f, t.v))
			c.w(", ", e, ") > 0")
		} else {
			c.w("instr(", e, ", ")
			c.arg(c.value(t.f, t.v))
			c.w(") > 0")
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
		if f.kind == kindFold || f.kind == kindEmail || f.kind == kindDomain {
			return strings.ToLower(v)
		}
		return v
	case dateVal:
		return formatTime(v.t)
	}
	return v
}

// meta writes a metadata term. With the index (SQL), it is a lookup in the
// term index (see TermsTable), which skips array levels as Auth0 does; the
// lookup alone answers when the path and value are shorter than what the
// index cuts them to, and is followed by the exact test on the JSON column
// otherwise (a cut value only narrows). Prefixes and ranges are answered
// from the index alone: a prefix or text bound must be shorter than
// TermValueMax (Parse checks), and a range whose bounds are numbers
// compares the values that are JSON numbers (the index's num column).
//
// Without the index (ScanSQL) it is the exact test on the JSON column,
// where an array holding scalars is looked into at the last level of the
// path only.
func (c *compiler) meta(t *term) {
	col := t.f.col
	path := strings.TrimPrefix(t.f.name, col+".")
	exact := utf8.RuneCountInString(path) < TermPathMax
	if t.op == opEq {
		exact = exact && utf8.RuneCountInString(t.v.(string)) < TermValueMax
	}
	c.w("(")
	defer c.w(")")
	if c.noIndex {
		c.metaScan(t)
		return
	}
	c.w("users.id IN (SELECT user_id FROM " + TermsTable + " WHERE source = ")
	c.arg(termSource(col))
	c.w(" AND path = ")
	c.arg(TermPrefix(path, TermPathMax))
	switch t.op {
	case opEq:
		c.w(" AND value = ")
		c.arg(TermPrefix(t.v.(string), TermValueMax))
	case opPrefix:
		p := t.v.(string)
		c.w(" AND value >= ")
		c.arg(p)
		if hi, ok := successor(p); ok {
			c.w(" AND value < ")
			c.arg(hi)
		}
	case opRange:
		col := "value"
		lo, hi, numeric := numericBounds(t)
		if numeric {
			col = "num"
		}
		if numeric {
			c.w(" AND num IS NOT NULL")
		} else {
			// Objects and lists have an empty value: a text range never
			// matches the empty text.
			c.w(" AND value <> ''")
		}
		if !t.lo.open {
			c.w(" AND ", col, map[bool]string{true: " >= ", false: " > "}[t.lo.incl])
			if numeric {
				c.arg(lo)
			} else {
				c.arg(t.lo.v)
			}
		}
		if !t.hi.open {
			c.w(" AND ", col, map[bool]string{true: " <= ", false: " < "}[t.hi.incl])
			if numeric {
				c.arg(hi)
			} else {
				c.arg(t.hi.v)
			}
		}
	}
	c.w(")")
	if t.op == opEq && !exact || t.op == opExists && !exact {
		c.w(" AND ")
		c.metaScan(t)
	}
}

// numericBounds reports whether a metadata range compares numbers: every
// bound given is a number (JSON grammar).
func numericBounds(t *term) (lo, hi float64, ok bool) {
	num := func(b bound) (float64, bool) {
		if b.open {
			return 0, true
		}
		s, _ := b.v.(string)
		if !jsonNumber.MatchString(s) {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	lo, okLo := num(t.lo)
	hi, okHi := num(t.hi)
	return lo, hi, okLo && okHi && !(t.lo.open && t.hi.open)
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// metaScan writes the exact test of a metadata term on the JSON column.
func (c *compiler) metaScan(t *term) {
	col := t.f.col
	if t.op == opExists {
		if c.d == MySQL {
			c.w("COALESCE(JSON_TYPE(JSON_EXTRACT(", col, ", ")
			c.arg(t.path)
			c.w(")), 'NULL') <> 'NULL'")
		} else {
			c.w("COALESCE(json_type(", col, ", ")
			c.arg(t.path)
			c.w("), 'null') <> 'null'")
		}
		return
	}
	// scalar writes the text of the scalar at the path (NULL for null,
	// objects and lists). MySQL: JSON_UNQUOTE gives a string as is and a
	// number as written, compared as bytes (utf8mb4_bin would ignore
	// trailing spaces). SQLite: a string's value (json_extract), a number
	// as written and true/false (->, the JSON text; json_extract would turn
	// 1.50 into 1.5).
	scalar := func() {
		if c.d == MySQL {
			c.w("(CASE WHEN JSON_TYPE(JSON_EXTRACT(", col, ", ")
			c.arg(t.path)
			c.w(")) IN ('NULL', 'OBJECT', 'ARRAY') THEN NULL ELSE CAST(JSON_UNQUOTE(JSON_EXTRACT(", col, ", ")
			c.arg(t.path)
			c.w(")) AS BINARY) END)")
			return
		}
		c.w("(CASE json_type(", col, ", ")
		c.arg(t.path)
		c.w(") WHEN 'text' THEN json_extract(", col, ", ")
		c.arg(t.path)
		c.w(") WHEN 'null' THEN NULL WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE ", col, " -> ")
		c.arg(t.path)
		c.w(" END)")
	}
	text := func(v any) {
		if c.d == MySQL {
			c.w("CAST(")
			c.arg(v)
			c.w(" AS BINARY)")
			return
		}
		c.arg(v)
	}
	cmp := func(op string, v any) { scalar(); c.w(op); text(v) }
	switch t.op {
	case opEq:
		c.w("(")
		cmp(" = ", t.v)
		// A list at the path: its string elements.
		if c.d == MySQL {
			c.w(" OR (JSON_TYPE(JSON_EXTRACT(", col, ", ")
			c.arg(t.path)
			c.w(")) = 'ARRAY' AND JSON_CONTAINS(JSON_EXTRACT(", col, ", ")
			c.arg(t.path)
			c.w("), JSON_QUOTE(")
			c.arg(t.v)
			c.w(")))")
		} else {
			c.w(" OR (json_type(", col, ", ")
			c.arg(t.path)
			c.w(") = 'array' AND EXISTS (SELECT 1 FROM json_each(", col, ", ")
			c.arg(t.path)
			c.w(") AS je WHERE je.type = 'text' AND je.value = ")
			c.arg(t.v)
			c.w("))")
		}
		c.w(")")
	case opPrefix, opRange:
		lo, hi, numeric := numericBounds(t)
		if numeric {
			c.numericScan(t, scalar, lo, hi)
			return
		}
		// text: the scalar at the path, or a string element of a list there.
		conds := func(e func(), arg func(any)) {
			c.w("(")
			e()
			c.w(" <> ")
			arg("")
			if t.op == opPrefix {
				p := t.v.(string)
				c.w(" AND ")
				e()
				c.w(" >= ")
				arg(p)
				if hi, ok := successor(p); ok {
					c.w(" AND ")
					e()
					c.w(" < ")
					arg(hi)
				}
			} else {
				if !t.lo.open {
					c.w(" AND ")
					e()
					c.w(map[bool]string{true: " >= ", false: " > "}[t.lo.incl])
					arg(t.lo.v)
				}
				if !t.hi.open {
					c.w(" AND ")
					e()
					c.w(map[bool]string{true: " <= ", false: " < "}[t.hi.incl])
					arg(t.hi.v)
				}
			}
			c.w(")")
		}
		c.w("(")
		conds(scalar, text)
		if c.d == MySQL {
			c.w(" OR (JSON_TYPE(JSON_EXTRACT(", col, ", ")
			c.arg(t.path)
			c.w(")) = 'ARRAY' AND EXISTS (SELECT 1 FROM JSON_TABLE(JSON_EXTRACT(", col, ", ")
			c.arg(t.path)
			c.w("), '$[*]' COLUMNS (i FOR ORDINALITY, v LONGTEXT PATH '$')) AS je WHERE JSON_TYPE(JSON_EXTRACT(", col, ", CONCAT(")
			c.arg(t.path)
			c.w(", '[', je.i - 1, ']'))) = 'STRING' AND ")
			conds(func() { c.w("CAST(je.v AS BINARY)") }, text)
			c.w("))")
		} else {
			c.w(" OR (json_type(", col, ", ")
			c.arg(t.path)
			c.w(") = 'array' AND EXISTS (SELECT 1 FROM json_each(", col, ", ")
			c.arg(t.path)
			c.w(") AS je WHERE je.type = 'text' AND ")
			conds(func() { c.w("je.value") }, text)
			c.w("))")
		}
		c.w(")")
	}
}

// numericScan writes a numeric range on the scalar at a metadata path:
// values whose text is a JSON number, compared as numbers.
func (c *compiler) numericScan(t *term, scalar func(), lo, hi float64) {
	{
		// Values whose text is a JSON number, compared as numbers.
		if c.d == MySQL {
			scalar()
			c.w(" REGEXP ")
			c.arg(jsonNumber.String())
		} else {
			scalar()
			c.w(" GLOB '*[0-9]*' AND ")
			scalar()
			c.w(" NOT GLOB '*[^0-9eE.+-]*' AND ")
			scalar()
			c.w(" NOT GLOB '[+.eE]*'")
		}
		num := func(op string, v float64) {
			c.w(" AND ")
			if c.d == MySQL {
				c.w("CAST(")
				scalar()
				c.w(" AS DOUBLE)")
			} else {
				c.w("CAST(")
				scalar()
				c.w(" AS REAL)")
			}
			c.w(op)
			c.arg(v)
		}
		if !t.lo.open {
			num(map[bool]string{true: " >= ", false: " > "}[t.lo.incl], lo)
		}
		if !t.hi.open {
			num(map[bool]string{true: " <= ", false: " < "}[t.hi.incl], hi)
		}
	}
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
