package search

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on a query.
const (
	MaxQueryBytes = 2048
	MaxDepth      = 20
	MaxTerms      = 64
)

// Error is a query, sort or cursor the package refuses. Pos is the 1-based
// character position in the query (0 when the error has no position: sort
// and cursor errors).
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("at %d: %s", e.Pos, e.Msg)
	}
	return e.Msg
}

// ---- lexer ----

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tPhrase
	tColon
	tLParen
	tRParen
	tLBracket
	tRBracket
	tLBrace
	tRBrace
	tMinus // '-' starting a term: NOT
)

type token struct {
	kind tokKind
	off  int    // byte offset of the token's first character
	text string // WORD and PHRASE: the value, escapes resolved, without a trailing wildcard
	raw  string // the token as written (for keywords and messages)
	// WORD only: star is true when the word ends with an unescaped *;
	// innerStar is the byte offset of an unescaped * elsewhere (-1: none).
	star      bool
	innerStar int
	stars     int // unescaped '*' in the word
}

func (t token) keyword(k string) bool { return t.kind == tWord && t.raw == k }

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tPhrase:
		return "a phrase"
	case tWord:
		return strconv.Quote(t.raw)
	}
	return "'" + t.raw + "'"
}

var punct = map[byte]tokKind{
	':': tColon, '(': tLParen, ')': tRParen, '[': tLBracket, ']': tRBracket, '{': tLBrace, '}': tRBrace,
}

type lexer struct {
	src  string
	toks []token
}

func (l *lexer) errAt(off int, format string, a ...any) *Error {
	return &Error{Pos: utf8.RuneCountInString(l.src[:off]) + 1, Msg: fmt.Sprintf(format, a...)}
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src}
	i := 0
	// In a value (right after "field:") and inside a range, ':' is an
	// ordinary character: RFC 3339 times need no escaping.
	inRange := false
	for i < len(src) {
		r, n := utf8.DecodeRuneInString(src[i:])
		afterColon := len(l.toks) > 0 && l.toks[len(l.toks)-1].kind == tColon && l.toks[len(l.toks)-1].off+1 == i
		switch {
		case r == ':' && (afterColon || inRange):
			t, next, err := l.word(i, true)
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, t)
			i = next
		case unicode.IsSpace(r):
			i += n
		case r == '-' && !afterColon && !inRange && i+1 < len(src) && !unicode.IsSpace(rune(src[i+1])) && src[i+1] != '-' && src[i+1] != ')':
			l.toks = append(l.toks, token{kind: tMinus, off: i, raw: "-"})
			i++
		case r == '"':
			t, next, err := l.phrase(i)
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, t)
			i = next
		case r < utf8.RuneSelf && punct[byte(r)] != 0:
			switch r {
			case '[', '{':
				inRange = true
			case ']', '}':
				inRange = false
			}
			l.toks = append(l.toks, token{kind: punct[byte(r)], off: i, raw: string(r)})
			i++
		default:
			t, next, err := l.word(i, afterColon || inRange)
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, t)
			i = next
		}
	}
	l.toks = append(l.toks, token{kind: tEOF, off: len(src)})
	return l.toks, nil
}

func (l *lexer) phrase(start int) (token, int, error) {
	var b strings.Builder
	i := start + 1
	for i < len(l.src) {
		c := l.src[i]
		switch c {
		case '"':
			return token{kind: tPhrase, off: start, text: b.String(), raw: l.src[start : i+1]}, i + 1, nil
		case '\\':
			if i+1 >= len(l.src) {
				return token{}, 0, l.errAt(i, "expected a character after '\\'")
			}
			_, n := utf8.DecodeRuneInString(l.src[i+1:])
			b.WriteString(l.src[i+1 : i+1+n])
			i += 1 + n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return token{}, 0, l.errAt(start, "unterminated phrase: expected a closing '\"'")
}

// word lexes a WORD; in a value (colons true) ':' is part of it.
func (l *lexer) word(start int, colons bool) (token, int, error) {
	var b strings.Builder
	t := token{kind: tWord, off: start, innerStar: -1}
	i := start
	starAt := -1 // offset of the last unescaped * seen, if it was the last character so far
	for i < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[i:])
		if unicode.IsSpace(r) || r == '"' || r < utf8.RuneSelf && punct[byte(r)] != 0 && !(colons && r == ':') {
			break
		}
		if starAt >= 0 && t.innerStar < 0 {
			t.innerStar = starAt
		}
		starAt = -1
		switch r {
		case '\\':
			if i+1 >= len(l.src) {
				return token{}, 0, l.errAt(i, "expected a character after '\\'")
			}
			_, m := utf8.DecodeRuneInString(l.src[i+1:])
			b.WriteString(l.src[i+1 : i+1+m])
			i += 1 + m
			continue
		case '*':
			starAt = i
			t.stars++
		case '?':
			return token{}, 0, l.errAt(i, "'?' wildcards are not supported (escape it as '\\?')")
		case '~', '^':
			return token{}, 0, l.errAt(i, "%q (fuzzy and boost operators) is not supported (escape it as '\\%c')", r, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	t.raw = l.src[start:i]
	t.text = b.String()
	t.star = starAt >= 0
	return t, i, nil
}

// ---- AST ----

// node is a parsed query: and, or, not or term.
type node interface{ isNode() }

type andNode struct{ kids []node }
type orNode struct{ kids []node }
type notNode struct{ x node }

type termOp int

const (
	opEq       termOp = iota // field:value
	opPrefix                 // field:value*
	opRange                  // field:[lo TO hi]
	opExists                 // _exists_:field
	opSuffix                 // field:*value
	opContains               // field:*value*
)

// bound is one end of a range; open is "*".
type bound struct {
	open bool
	incl bool
	v    any // typed: string, int64, bool, dateVal
}

// dateVal is a date term: a whole day (day true) or an instant.
type dateVal struct {
	t   time.Time
	day bool
}

type term struct {
	f      *field // nil: bare term (the default fields)
	path   string // metadata: the JSON path ($."a"."b")
	op     termOp
	v      any // opEq and opPrefix: string, int64, bool or dateVal
	lo, hi bound
}

func (andNode) isNode() {}
func (orNode) isNode()  {}
func (notNode) isNode() {}
func (*term) isNode()   {}

// ---- parser ----

// Query is a parsed, checked query.
type Query struct {
	root   node // nil: every user
	fields map[string]bool
}

// Parse parses and checks q (fields, value types, limits). An empty or
// blank q matches every user. Errors are *Error.
func Parse(q string) (*Query, error) {
	if len(q) > MaxQueryBytes {
		return nil, &Error{Pos: 1, Msg: fmt.Sprintf("the query is longer than %d bytes", MaxQueryBytes)}
	}
	if !utf8.ValidString(q) {
		return nil, &Error{Pos: 1, Msg: "the query is not valid UTF-8"}
	}
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{src: q, toks: toks, fields: map[string]bool{}}
	if p.peek().kind == tEOF {
		return &Query{fields: p.fields}, nil
	}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.errAt(t, "unexpected ')' (no '(' to close)")
		}
		return nil, p.errAt(t, "expected AND, OR, NOT, a term or end of query, found %s", t.describe())
	}
	return &Query{root: root, fields: p.fields}, nil
}

// Empty reports a query without terms (every user matches): its SQL is
// the same text for every such query.
func (q *Query) Empty() bool { return q.root == nil }

// Fields returns the fields the query reads, sorted (a bare term reads
// email, name, nickname and username; metadata fields with their path). It
// lets a caller refuse app_metadata to a token that may not read it.
func (q *Query) Fields() []string {
	out := make([]string, 0, len(q.fields))
	for f := range q.fields {
		out = append(out, f)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

type parser struct {
	src    string
	toks   []token
	i      int
	terms  int
	fields map[string]bool
	// group is the field of a field:( ... ) group being parsed: its bare
	// terms and ranges are on that field.
	group *groupField
}

type groupField struct {
	f    *field
	path string
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, a ...any) *Error {
	return &Error{Pos: utf8.RuneCountInString(p.src[:t.off]) + 1, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) or(depth int) (node, error) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	kids := []node{first}
	for p.peek().keyword("OR") {
		p.next()
		n, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return orNode{kids}, nil
}

// startsUnary reports whether t can start a unary (for implicit AND).
func startsUnary(t token) bool {
	switch t.kind {
	case tWord:
		return !t.keyword("AND") && !t.keyword("OR")
	case tPhrase, tLParen, tLBracket, tLBrace, tMinus:
		return true
	}
	return false
}

func (p *parser) and(depth int) (node, error) {
	first, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	kids := []node{first}
	for {
		t := p.peek()
		if t.keyword("AND") {
			p.next()
		} else if !startsUnary(t) {
			break
		}
		n, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return andNode{kids}, nil
}

func (p *parser) unary(depth int) (node, error) {
	t := p.peek()
	if depth >= MaxDepth {
		return nil, p.errAt(t, "the query nests deeper than %d levels", MaxDepth)
	}
	if t.keyword("NOT") || t.kind == tMinus {
		p.next()
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	if t.kind == tLParen {
		p.next()
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			return nil, p.errAt(c, "expected ')' or AND, OR, NOT, a term, found %s", c.describe())
		}
		p.next()
		return x, nil
	}
	return p.term()
}

func (p *parser) term() (node, error) {
	t := p.peek()
	switch {
	case t.kind == tWord && (t.keyword("AND") || t.keyword("OR")):
		return nil, p.errAt(t, "expected a term, '(' or NOT before %s", t.raw)
	case (t.kind == tLBracket || t.kind == tLBrace) && p.group != nil:
		p.terms++
		if p.terms > MaxTerms {
			return nil, p.errAt(t, "the query has more than %d terms", MaxTerms)
		}
		return p.rangeValue(p.group.f, p.group.path)
	case t.kind != tWord && t.kind != tPhrase:
		if t.kind == tLBracket || t.kind == tLBrace {
			return nil, p.errAt(t, "a range needs a field (field:[a TO b])")
		}
		return nil, p.errAt(t, "expected a term, '(' or NOT, found %s", t.describe())
	}
	p.terms++
	if p.terms > MaxTerms {
		return nil, p.errAt(t, "the query has more than %d terms", MaxTerms)
	}
	p.next()
	if t.kind == tWord && p.peek().kind == tColon {
		if p.group != nil {
			return nil, p.errAt(t, "a field:( ... ) group holds values of %s only, not another field", p.group.f.name)
		}
		if t.star || t.innerStar >= 0 {
			return nil, p.errAt(t, "a field name cannot contain '*'")
		}
		p.next()
		if t.text == "_exists_" && t.raw == "_exists_" {
			return p.exists()
		}
		f, path, err := lookupField(t.text)
		if err != nil {
			return nil, p.errAt(t, "%s", err.Error())
		}
		p.fields[t.text] = true
		return p.value(f, path)
	}
	if p.group != nil {
		n, err := p.checkValue(t, p.group.f)
		if err != nil {
			return nil, err
		}
		n.path = p.group.path
		return n, nil
	}
	// A bare term.
	for _, name := range bareFields {
		p.fields[name] = true
	}
	v, err := p.checkValue(t, nil)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (p *parser) exists() (node, error) {
	t := p.next()
	if t.kind != tWord || t.star || t.innerStar >= 0 {
		return nil, p.errAt(t, "expected a field name after '_exists_:', found %s", t.describe())
	}
	f, path, err := lookupField(t.text)
	if err != nil {
		return nil, p.errAt(t, "%s", err.Error())
	}
	p.fields[t.text] = true
	return &term{f: f, path: path, op: opExists}, nil
}

func (p *parser) value(f *field, path string) (node, error) {
	t := p.peek()
	switch t.kind {
	case tWord, tPhrase:
		if t.keyword("AND") || t.keyword("OR") || t.keyword("NOT") {
			return nil, p.errAt(t, "expected a value after ':', found %s (quote it to search for the word)", t.raw)
		}
		p.next()
		n, err := p.checkValue(t, f)
		if err != nil {
			return nil, err
		}
		n.path = path
		if c := p.peek(); c.kind == tColon {
			return nil, p.errAt(c, "unexpected ':' after a value (escape it as '\\:' or quote the value)")
		}
		return n, nil
	case tLBracket, tLBrace:
		return p.rangeValue(f, path)
	case tLParen:
		// field:(a OR b): the group's terms are on field.
		if p.group != nil {
			return nil, p.errAt(t, "a field:( ... ) group cannot hold another field")
		}
		p.next()
		p.group = &groupField{f: f, path: path}
		x, err := p.or(1)
		p.group = nil
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tRParen {
			return nil, p.errAt(c, "expected ')' to close %s:( ... ), found %s", f.name, c.describe())
		}
		p.next()
		return x, nil
	}
	return nil, p.errAt(t, "expected a value, a phrase or a range after ':', found %s", t.describe())
}

// MinWildcardChars is how many literal characters a leading or inner
// wildcard needs (Auth0's rule: name:*ohn, not name:*oh).
const MinWildcardChars = 3

// checkValue makes the term field:t (f nil: a bare term).
func (p *parser) checkValue(t token, f *field) (*term, error) {
	if t.kind == tWord {
		if t.innerStar == t.off {
			// *abc (suffix) or *abc* (contains), on text columns.
			if t.stars > 2 || (t.stars == 2 && !t.star) {
				return nil, p.errAt(t, "a term may hold a leading and a trailing wildcard only (*abc, *abc*)")
			}
			if f == nil || !f.kind.column() {
				what := "a bare term"
				if f != nil {
					what = f.name
				}
				return nil, p.errAt(t, "leading wildcards are not supported on %s (prefix matches only: abc*)", what)
			}
			if utf8.RuneCountInString(t.text) < MinWildcardChars {
				return nil, p.errAt(t, "a leading wildcard needs at least %d characters after it", MinWildcardChars)
			}
			op := opSuffix
			if t.star {
				op = opContains
			}
			return &term{f: f, op: op, v: t.text}, nil
		}
		if t.innerStar >= 0 {
			return nil, p.errAt(token{off: t.innerStar}, "a wildcard may only start or end a term; escape a literal '*' as '\\*'")
		}
		if t.star {
			if t.text == "" {
				if f == nil {
					return nil, p.errAt(t, "a lone '*' is not a term; use _exists_:field")
				}
				return nil, p.errAt(t, "expected a value before '*'; use _exists_:%s to test presence", f.name)
			}
			if f != nil && !f.kind.text() && f.kind != kindMeta {
				return nil, p.errAt(t, "wildcards are not supported on %s field %s", f.kind, f.name)
			}
			if f != nil && f.kind == kindMeta && utf8.RuneCountInString(t.text) >= TermValueMax {
				return nil, p.errAt(t, "a metadata prefix must be shorter than %d characters", TermValueMax)
			}
			return &term{f: f, op: opPrefix, v: t.text}, nil
		}
	}
	v, err := f.parse(t.text)
	if err != nil {
		return nil, p.errAt(t, "%s", err.Error())
	}
	return &term{f: f, op: opEq, v: v}, nil
}

func (p *parser) rangeValue(f *field, path string) (node, error) {
	open := p.next()
	if f.kind == kindBool {
		return nil, p.errAt(open, "ranges are not supported on boolean field %s", f.name)
	}
	lo, err := p.bound(f, open.kind == tLBracket, "the lower bound")
	if err != nil {
		return nil, err
	}
	if to := p.peek(); !to.keyword("TO") {
		return nil, p.errAt(to, "expected 'TO', found %s", to.describe())
	}
	p.next()
	hi, err := p.bound(f, false, "the upper bound")
	if err != nil {
		return nil, err
	}
	c := p.next()
	switch c.kind {
	case tRBracket:
		hi.incl = true
	case tRBrace:
	default:
		return nil, p.errAt(c, "expected ']' or '}', found %s", c.describe())
	}
	return &term{f: f, path: path, op: opRange, lo: lo, hi: hi}, nil
}

func (p *parser) bound(f *field, incl bool, what string) (bound, error) {
	t := p.next()
	if t.kind != tWord && t.kind != tPhrase {
		return bound{}, p.errAt(t, "expected %s (a value or '*'), found %s", what, t.describe())
	}
	if t.kind == tWord {
		if t.keyword("TO") {
			return bound{}, p.errAt(t, "expected %s (a value or '*') before TO", what)
		}
		if t.star && t.text == "" && t.innerStar < 0 {
			return bound{open: true, incl: incl}, nil
		}
		if t.star || t.innerStar >= 0 {
			return bound{}, p.errAt(t, "wildcards are not allowed in a range bound")
		}
	}
	v, err := f.parse(t.text)
	if err != nil {
		return bound{}, p.errAt(t, "%s", err.Error())
	}
	return bound{v: v, incl: incl}, nil
}
