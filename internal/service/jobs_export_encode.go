package service

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/importer"
	"github.com/profiled/profiled/internal/policy"
)

// exportValue is field f of u as a JSON-able value; ok false when unset.
// Profile fields take their value from policy.ProfileFields; the id, the
// connection and identities are written as they are; any other name is a
// metadata path (user_metadata.a.b).
func exportValue(u policy.User, f string) (any, bool) {
	switch f {
	case importer.FieldUserID:
		return u.ID, true
	case importer.FieldConnection:
		return u.Connection, true
	case importer.FieldIdentities:
		ids := make([]map[string]any, 0, len(u.Identities))
		for _, id := range u.Identities {
			m := map[string]any{"connection": id.Connection, "provider": id.Provider, "user_id": id.UserID, "isSocial": id.IsSocial}
			if len(id.ProfileData) > 0 {
				m["profileData"] = id.ProfileData
			}
			ids = append(ids, m)
		}
		return ids, true
	}
	if spec, ok := policy.LookupField(f); ok && spec.Get != nil {
		switch v := spec.Value(u).(type) {
		case nil:
			return nil, false
		case string:
			return v, v != ""
		case time.Time:
			return v.UTC().Format(time.RFC3339Nano), true
		case policy.Metadata:
			return orEmpty(v), true
		default:
			return v, true
		}
	}
	root, path, _ := strings.Cut(f, ".")
	var m map[string]any = u.UserMetadata
	if root == importer.FieldAppMetadata {
		m = u.AppMetadata
	}
	var v any = m
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			if md, isMD := v.(policy.Metadata); isMD {
				obj, ok = md, true
			}
		}
		if !ok {
			return nil, false
		}
		if v, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func orEmpty(m policy.Metadata) policy.Metadata {
	if m == nil {
		return policy.Metadata{}
	}
	return m
}

// ndjsonLine writes the fields in order; metadata subfields are nested
// under their object, so the line re-imports.
func ndjsonLine(u policy.User, fields []string) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	write := func(k string, v any) error {
		enc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(enc)
		return nil
	}
	nested := map[string]map[string]any{}
	var order []string
	for _, f := range fields {
		v, ok := exportValue(u, f)
		if !ok {
			continue
		}
		if root, path, sub := strings.Cut(f, "."); sub {
			if nested[root] == nil {
				nested[root] = map[string]any{}
				order = append(order, root)
			}
			setPath(nested[root], strings.Split(path, "."), v)
			continue
		}
		if err := write(f, v); err != nil {
			return nil, err
		}
	}
	for _, root := range order {
		if err := write(root, nested[root]); err != nil {
			return nil, err
		}
	}
	b.WriteString("}\n")
	return []byte(b.String()), nil
}

func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// csvLine writes one CSV record: strings quoted with OWASP CSV-injection
// escaping, booleans and numbers bare, times (ISO 8601) as they are,
// objects and arrays as quoted JSON, unset fields empty.
func csvLine(u policy.User, fields []string) []byte {
	cells := make([]string, len(fields))
	for i, f := range fields {
		v, ok := exportValue(u, f)
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case string:
			if f == "created_at" || f == "updated_at" || f == "last_login" {
				cells[i] = x
			} else {
				cells[i] = csvString(x)
			}
		case bool:
			cells[i] = strconv.FormatBool(x)
		case int64:
			cells[i] = strconv.FormatInt(x, 10)
		case json.Number:
			cells[i] = x.String()
		case float64:
			cells[i] = strconv.FormatFloat(x, 'g', -1, 64)
		default:
			b, err := json.Marshal(x)
			if err != nil {
				continue
			}
			cells[i] = csvString(string(b))
		}
	}
	return []byte(strings.Join(cells, ",") + "\n")
}

// csvString quotes s for CSV, doubling inner quotes, and prefixes a
// leading formula character (= + - @ tab CR) with ' so spreadsheets show
// it as text (OWASP CSV injection).
func csvString(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		s = "'" + s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
