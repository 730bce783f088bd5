package db

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// timeLayout is how times are written: UTC, microseconds, fixed width (so
// SQLite TEXT values sort and compare as times; MySQL parses it into
// DATETIME(6)).
const timeLayout = "2006-01-02 15:04:05.000000"

// dbTime writes a time as timeLayout in UTC and reads back a DATETIME
// (MySQL, parseTime) or a TEXT (SQLite) as UTC.
type dbTime struct{ time.Time }

func (t dbTime) Value() (driver.Value, error) { return formatTime(t.Time), nil }

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	case nil:
		return errors.New("db: NULL time")
	}
	return fmt.Errorf("db: cannot read a time from %T", src)
}

func (t *dbTime) parse(s string) error {
	for _, layout := range []string{
		"2006-01-02 15:04:05.999999999",
		time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999Z07:00",
	} {
		if v, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("db: bad stored time %q", s)
}

// nullTime is a nullable dbTime.
type nullTime struct {
	T     dbTime
	Valid bool
}

func newNullTime(t *time.Time) nullTime {
	if t == nil {
		return nullTime{}
	}
	return nullTime{T: dbTime{*t}, Valid: true}
}

func (n nullTime) Value() (driver.Value, error) {
	if !n.Valid {
		return nil, nil
	}
	return n.T.Value()
}

func (n *nullTime) Scan(src any) error {
	if src == nil {
		*n = nullTime{}
		return nil
	}
	n.Valid = true
	return n.T.Scan(src)
}

func (n nullTime) ptr() *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.T.Time
	return &t
}

// nullIfEmpty stores "" as NULL (unique keys ignore NULLs).
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// encodeObject writes a metadata-like map as a JSON object ({} for nil).
func encodeObject(m map[string]any) (string, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeObject reads a JSON object into a non-nil map; numbers are
// json.Number, so integers of any size round-trip.
func decodeObject(s string) (map[string]any, error) {
	m := map[string]any{}
	if s == "" {
		return m, nil
	}
	if pm, ok := parseObject(s); ok {
		return pm, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil { // "null"
		m = map[string]any{}
	}
	return m, nil
}

// storedIdentity is the stored form of policy.Identity: field names are
// fixed here, not by the Go struct.
type storedIdentity struct {
	Connection  string         `json:"connection"`
	Provider    string         `json:"provider"`
	UserID      string         `json:"user_id"`
	IsSocial    bool           `json:"is_social"`
	ProfileData map[string]any `json:"profile_data"`
}

func encodeIdentities(ids []policy.Identity) (string, error) {
	out := make([]storedIdentity, len(ids))
	for i, id := range ids {
		pd := map[string]any(id.ProfileData)
		if pd == nil {
			pd = map[string]any{}
		}
		out[i] = storedIdentity{id.Connection, id.Provider, id.UserID, id.IsSocial, pd}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// decodeIdentities reads the stored identities: parseIdentities for the
// form encodeIdentities writes, encoding/json (decodeIdentitiesJSON) for
// anything else.
func decodeIdentities(s string) ([]policy.Identity, error) {
	if ids, ok := parseIdentities(s); ok {
		return ids, nil
	}
	return decodeIdentitiesJSON(s)
}

// parseIdentities reads a JSON list of identity objects whose keys are
// exactly the stored names (any subset, any order) with values of their
// types, as decodeIdentitiesJSON reads them, without reflection: every
// listed user's row holds one. ok is false for anything else (another
// key, a key in another case, which encoding/json would match, a null or
// a number where a string is, invalid JSON), and the caller asks
// encoding/json. TestParseIdentitiesMatchesEncodingJSON and
// FuzzParseIdentities hold it to decodeIdentitiesJSON.
func parseIdentities(s string) ([]policy.Identity, bool) {
	p := jsonReader{s: s}
	p.space()
	if p.i >= len(s) || s[p.i] != '[' {
		return nil, false
	}
	v, ok := p.value(0)
	if !ok {
		return nil, false
	}
	p.space()
	list, isList := v.([]any)
	if p.i != len(s) || !isList {
		return nil, false
	}
	out := make([]policy.Identity, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		var id policy.Identity
		for k, x := range m {
			switch k {
			case "connection", "provider", "user_id":
				str, ok := x.(string)
				if !ok {
					return nil, false
				}
				switch k {
				case "connection":
					id.Connection = str
				case "provider":
					id.Provider = str
				default:
					id.UserID = str
				}
			case "is_social":
				b, ok := x.(bool)
				if !ok {
					return nil, false
				}
				id.IsSocial = b
			case "profile_data":
				switch pd := x.(type) {
				case map[string]any:
					id.ProfileData = pd
				case nil:
				default:
					return nil, false
				}
			default:
				return nil, false
			}
		}
		if id.ProfileData == nil {
			id.ProfileData = map[string]any{}
		}
		out = append(out, id)
	}
	return out, true
}

// decodeIdentitiesJSON reads the stored identities with encoding/json.
func decodeIdentitiesJSON(s string) ([]policy.Identity, error) {
	var raw []json.RawMessage
	if s != "" {
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return nil, err
		}
	}
	out := make([]policy.Identity, 0, len(raw))
	for _, r := range raw {
		var si struct {
			storedIdentity
			ProfileData json.RawMessage `json:"profile_data"`
		}
		if err := json.Unmarshal(r, &si); err != nil {
			return nil, err
		}
		pd, err := decodeObject(string(si.ProfileData))
		if err != nil {
			return nil, err
		}
		out = append(out, policy.Identity{
			Connection: si.Connection, Provider: si.Provider, UserID: si.UserID,
			IsSocial: si.IsSocial, ProfileData: pd,
		})
	}
	return out, nil
}

// encodeActions writes the set as a sorted JSON list of the true entries.
func encodeActions(a map[policy.Action]bool) string {
	list := make([]string, 0, len(a))
	for k, v := range a {
		if v {
			list = append(list, string(k))
		}
	}
	sort.Strings(list)
	b, _ := json.Marshal(list)
	return string(b)
}

// encodeScopes stores a connection's admin scopes as a JSON list, in the
// order given ("[]" for none).
func encodeScopes(scopes []policy.Scope) string {
	list := make([]string, len(scopes))
	for i, s := range scopes {
		list[i] = string(s)
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// decodeScopes reads the list back; nil when it is empty.
func decodeScopes(s string) ([]policy.Scope, error) {
	var list []string
	if s != "" {
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, err
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]policy.Scope, len(list))
	for i, v := range list {
		out[i] = policy.Scope(v)
	}
	return out, nil
}

// decodeActions reads the list back as a non-nil set.
func decodeActions(s string) (map[policy.Action]bool, error) {
	var list []string
	if s != "" {
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, err
		}
	}
	m := make(map[policy.Action]bool, len(list))
	for _, a := range list {
		m[policy.Action(a)] = true
	}
	return m, nil
}
