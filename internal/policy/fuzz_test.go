package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func decodeObject(s string) (Metadata, bool) {
	var m Metadata
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, false
	}
	return m, true
}

// FuzzMergeMetadata checks MergeMetadata's contract on arbitrary JSON
// objects: old is never mutated, the result is never nil, null removes,
// other patch keys replace, keys not named are kept, {} clears, and
// metadataChanged agrees with the merge.
func FuzzMergeMetadata(f *testing.F) {
	f.Add(`{"a":1,"b":{"c":2}}`, `{"a":null,"b":{"d":3}}`)
	f.Add(`{"a":1}`, `{}`)
	f.Add(`null`, `{"x":[1,2]}`)
	f.Add(`{}`, `null`)
	f.Add(`{"k":"v"}`, `{"k":"v","z":null}`)
	f.Fuzz(func(t *testing.T, oldJSON, patchJSON string) {
		old, ok1 := decodeObject(oldJSON)
		patch, ok2 := decodeObject(patchJSON)
		if !ok1 || !ok2 {
			return
		}
		before, _ := json.Marshal(old)
		got := MergeMetadata(old, patch)
		if after, _ := json.Marshal(old); string(after) != string(before) {
			t.Fatalf("old mutated: %s → %s", before, after)
		}
		if got == nil {
			t.Fatal("nil result")
		}
		if patch != nil && len(patch) == 0 {
			if len(got) != 0 {
				t.Fatalf("{} did not clear: %v", got)
			}
		} else {
			for k, v := range patch {
				gv, present := got[k]
				if v == nil && present {
					t.Fatalf("key %q set to null still present", k)
				}
				if v != nil && !reflect.DeepEqual(gv, v) {
					t.Fatalf("key %q = %v, want %v", k, gv, v)
				}
			}
			for k, v := range old {
				if _, named := patch[k]; !named && !reflect.DeepEqual(got[k], v) {
					t.Fatalf("key %q not named in the patch changed", k)
				}
			}
			for k := range got {
				_, inOld := old[k]
				_, inPatch := patch[k]
				if !inOld && !inPatch {
					t.Fatalf("key %q came from nowhere", k)
				}
			}
		}
		same := (len(got) == 0 && len(old) == 0) || reflect.DeepEqual(got, old)
		if metadataChanged(old, patch) == same {
			t.Fatalf("metadataChanged = %v but merge equal = %v", !same, same)
		}
	})
}

// FuzzValidateMetadata checks that ValidateMetadata never panics, refuses
// only with BAD_USER_INPUT on the right field, and that what it accepts
// obeys the rules.
func FuzzValidateMetadata(f *testing.F) {
	f.Add(`{"a":1}`, false)
	f.Add(`{"a.b":1}`, false)
	f.Add(`{"x":{"$y":[{"":1}]}}`, true)
	f.Add(`{"email":"x"}`, true)
	f.Add(`{"k":"`+strings.Repeat("x", 300)+`"}`, false)
	f.Fuzz(func(t *testing.T, data string, app bool) {
		m, ok := decodeObject(data)
		if !ok {
			return
		}
		lim := Limits{MetadataMaxBytes: 256}
		err := ValidateMetadata(m, app, lim)
		if err != nil {
			var r *Refusal
			field := FieldUserMetadata
			if app {
				field = FieldAppMetadata
			}
			if !errors.As(err, &r) || r.Reason != ReasonBadInput || r.Field != field {
				t.Fatalf("bad refusal %#v", err)
			}
			return
		}
		if n, err := MetadataSize(m); err != nil || n > lim.MetadataMaxBytes {
			t.Fatalf("accepted %d bytes (%v)", n, err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch t2 := v.(type) {
			case map[string]any:
				for k, e := range t2 {
					if k == "" || strings.ContainsAny(k, ".$") {
						t.Fatalf("accepted key %q", k)
					}
					walk(e)
				}
			case []any:
				for _, e := range t2 {
					walk(e)
				}
			}
		}
		walk(map[string]any(m))
		if app {
			for k := range m {
				if ReservedAppMetadataKey(k) {
					t.Fatalf("accepted reserved app key %q", k)
				}
			}
		}
	})
}
