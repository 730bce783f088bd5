package search

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sort is a parsed sort: a sortable root field and a direction.
type Sort struct {
	f    *field
	desc bool
}

// ParseSort parses "field:1" or "field:-1" ("" is user_id:1). Errors are
// *Error.
func ParseSort(s string) (Sort, error) {
	if s == "" {
		return Sort{f: rootFields["user_id"]}, nil
	}
	name, dir, ok := strings.Cut(s, ":")
	if !ok || (dir != "1" && dir != "-1") {
		return Sort{}, &Error{Msg: fmt.Sprintf("bad sort %q: expected field:1 or field:-1", s)}
	}
	f := rootFields[name]
	if f == nil || !f.sortable {
		return Sort{}, &Error{Msg: fmt.Sprintf("bad sort %q: %q is not a sortable field (a root field other than identities.connection; metadata cannot be sorted)", s, name)}
	}
	return Sort{f: f, desc: dir == "-1"}, nil
}

func (s Sort) field() *field {
	if s.f == nil {
		return rootFields["user_id"]
	}
	return s.f
}

// Field is the field sorted on ("user_id", "created_at", ...).
func (s Sort) Field() string { return s.field().name }

// Desc reports a descending sort.
func (s Sort) Desc() bool { return s.desc }

// String is the canonical form, "field:1" or "field:-1".
func (s Sort) String() string {
	if s.desc {
		return s.Field() + ":-1"
	}
	return s.Field() + ":1"
}

// OrderBy is the ORDER BY list (without the keywords): the column, then id,
// both in the sort's direction.
func (s Sort) OrderBy() string {
	dir := " ASC"
	if s.desc {
		dir = " DESC"
	}
	if s.field().col == "id" {
		return "id" + dir
	}
	return s.field().col + dir + ", id" + dir
}

type cursorJSON struct {
	S  string          `json:"s"`
	V  json.RawMessage `json:"v,omitempty"`
	ID string          `json:"id"`
}

// Cursor encodes the position of a row whose sort value is v (string,
// int64, bool, time.Time, or nil when absent; ignored for user_id) and id.
func (s Sort) Cursor(v any, id string) string {
	if sn := s.String(); s.field().col == "id" && plainJSON(id) && plainJSON(sn) {
		// What json.Marshal writes for cursorJSON{S, ID} when neither
		// string needs an escape (a listing makes one cursor a row).
		// TestCursorFastPath and FuzzCursor hold it to cursorJSONOf.
		b := make([]byte, 0, len(`{"s":"","id":""}`)+len(sn)+len(id))
		b = append(append(append(b, `{"s":"`...), sn...), `","id":"`...)
		b = append(append(b, id...), `"}`...)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return s.cursorJSONOf(v, id)
}

// plainJSON reports a string encoding/json writes as it is between quotes:
// printable ASCII without ", \, <, > or &.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// cursorJSONOf is Cursor through encoding/json.
func (s Sort) cursorJSONOf(v any, id string) string {
	if t, ok := v.(time.Time); ok {
		v = formatTime(t)
	}
	c := cursorJSON{S: s.String(), ID: id}
	if s.field().col != "id" {
		c.V, _ = json.Marshal(v)
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// After returns the condition selecting the rows after the cursor in the
// sort's order (keyset pagination) and its arguments. A cursor that does
// not decode or was made for another sort is an *Error.
func (s Sort) After(cursor string) (string, []any, error) {
	return s.after(cursor, "id")
}

// ByID reports a sort on user_id, whose order is the id's alone.
func (s Sort) ByID() bool { return s.field().col == "id" }

// AfterID is After for a sort ByID, on the id column idCol ("t.user_id"
// of a table holding user ids in the users' id order) instead of users.id.
func (s Sort) AfterID(cursor, idCol string) (string, []any, error) {
	if !s.ByID() {
		return "", nil, &Error{Msg: "AfterID: the sort " + s.String() + " is not by user_id"}
	}
	return s.after(cursor, idCol)
}

func (s Sort) after(cursor, idCol string) (string, []any, error) {
	bad := func(why string) (string, []any, error) {
		return "", nil, &Error{Msg: "bad cursor: " + why}
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return bad("it does not decode")
	}
	var c cursorJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.ID == "" {
		return bad("it does not decode")
	}
	if c.S != s.String() {
		return bad(fmt.Sprintf("it was made for the sort %q, not %q", c.S, s.String()))
	}
	f := s.field()
	gt, ge := " > ", " >= "
	if s.desc {
		gt, ge = " < ", " <= "
	}
	if f.col == "id" {
		return idCol + gt + "?", []any{c.ID}, nil
	}
	v, err := cursorValue(f, c.V)
	if err != nil {
		return bad(err.Error())
	}
	col := f.col
	switch {
	case v == nil && s.desc: // NULLs come last: only NULLs after this one
		return col + " IS NULL AND id < ?", []any{c.ID}, nil
	case v == nil: // NULLs come first: the NULLs after this one, then all others
		return "(" + col + " IS NULL AND id > ?) OR " + col + " IS NOT NULL", []any{c.ID}, nil
	}
	// col >= v first, so that an index on col serves it as a range.
	where := "(" + col + ge + "? AND (" + col + gt + "? OR id" + gt + "?))"
	if s.desc && f.nullable {
		where += " OR " + col + " IS NULL"
	}
	return where, []any{v, v, c.ID}, nil
}

func cursorValue(f *field, raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		if f.nullable {
			return nil, nil
		}
		return nil, fmt.Errorf("no %s value", f.name)
	}
	wrong := fmt.Errorf("the %s value is not of its type", f.name)
	switch f.kind {
	case kindBool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil, wrong
		}
		return b, nil
	case kindInt:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, wrong
		}
		return n, nil
	}
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return nil, wrong
	}
	if f.kind == kindDate {
		if _, err := time.ParseInLocation(TimeLayout, str, time.UTC); err != nil || len(str) != len(TimeLayout) {
			return nil, wrong
		}
	}
	return str, nil
}
