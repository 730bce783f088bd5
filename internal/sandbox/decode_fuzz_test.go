package sandbox

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/policy"
)

// FuzzDecodeProfile feeds arbitrary bytes to the decoder of a script's
// result (what result_set hands the host) and the normalization package
// scripting applies to it: neither panics, the decoder refuses only with a
// *ScriptError, and what both accept has a non-empty user id and decodes
// the same way twice.
func FuzzDecodeProfile(f *testing.F) {
	for _, v := range []any{
		map[string]any{"user_id": "42", "email": "Ann@Example.com", "email_verified": true, "name": "Ann"},
		map[string]any{"id": int64(7), "user_metadata": map[string]any{"a": []any{int64(1), "x"}}, "app_metadata": nil},
		map[string]any{"user_id": " ", "email": "x"},
		map[string]any{"user_id": "1", "app_metadata": "not an object"},
		map[string]any{"user_id": "1", "email": strings.Repeat("a", 300) + "@example.com"},
		map[string]any{"user_id": "1", "identities": []any{map[string]any{"provider": "x"}}, "extra": 1.5},
		[]any{"not", "a", "map"},
		"string",
	} {
		b, err := abi.AppendValue(nil, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{byte(abi.TagMap), 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, err := decodeProfile(b)
		if err != nil {
			var se *ScriptError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v is not a *ScriptError", err, err)
			}
			return
		}
		if raw == nil {
			t.Fatal("accepted without a result")
		}
		p, err := policy.NormalizeProfile(raw)
		if err != nil {
			return
		}
		if strings.TrimSpace(p.UserID) == "" {
			t.Fatalf("accepted without a user id: %+v %v", p, raw)
		}
		raw2, err2 := decodeProfile(b)
		p2, _ := policy.NormalizeProfile(raw2)
		if err2 != nil || !reflect.DeepEqual(p, p2) || !reflect.DeepEqual(raw, raw2) {
			t.Fatalf("not deterministic: %+v / %+v (%v)", p, p2, err2)
		}
	})
}

// FuzzDecodeStatement feeds arbitrary bytes to the decoder of db_query and
// db_exec requests: it never panics, and what it accepts is scalar
// arguments only.
func FuzzDecodeStatement(f *testing.F) {
	for _, args := range [][]any{
		{},
		{int64(1), "x", nil, true, 1.5, []byte{1, 2}},
		{[]any{int64(1)}},
		{map[string]any{"a": int64(1)}},
	} {
		b := abi.AppendString(abi.AppendList(nil, 2), "SELECT ?")
		b = abi.AppendList(b, len(args))
		for _, a := range args {
			var err error
			if b, err = abi.AppendValue(b, a); err != nil {
				f.Fatal(err)
			}
		}
		f.Add(b)
	}
	f.Add([]byte{byte(abi.TagList), 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, args, err := decodeStatement(b)
		if err != nil {
			return
		}
		for i, a := range args {
			switch a.(type) {
			case []any, map[string]any:
				t.Fatalf("argument %d is a %T", i, a)
			}
		}
	})
}
