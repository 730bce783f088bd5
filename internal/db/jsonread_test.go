package db

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/policy"
)

// viaEncodingJSON is decodeObject as it was: encoding/json's Decoder with
// UseNumber into a map.
func viaEncodingJSON(s string) (map[string]any, error) {
	m := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// sameAsDecoder fails unless parseObject either declines s or reads it
// exactly as encoding/json does; it also checks that decodeObject's answer
// (fast path or not) equals encoding/json's.
func sameAsDecoder(t *testing.T, s string, mustParse bool) {
	t.Helper()
	want, werr := viaEncodingJSON(s)
	got, ok := parseObject(s)
	if ok {
		if werr != nil {
			t.Fatalf("%q: parsed %#v, encoding/json refuses it: %v", s, got, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", s, got, want)
		}
	} else if mustParse {
		t.Fatalf("%q: declined", s)
	}
	if s == "" {
		return // decodeObject reads "" as {} by design
	}
	dm, derr := decodeObject(s)
	if (derr != nil) != (werr != nil) {
		t.Fatalf("%q: decodeObject error %v, encoding/json's %v", s, derr, werr)
	}
	if derr == nil && want != nil && !reflect.DeepEqual(dm, want) {
		t.Fatalf("%q: decodeObject %#v, want %#v", s, dm, want)
	}
}

func TestParseObjectMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"lang":"en","theme":"dark","score":12}`,
		`{"a":-0.5e+10,"b":0,"c":1E3,"d":123456789012345678901234567890}`,
		`{"n":null,"t":true,"f":false,"l":[],"o":{},"x":[1,[2,[3,{"y":"z"}]]]}`,
		`{"dup":1,"dup":2}`,
		`{"esc":"q\" b\\ s\/ \b\f\n\r\t \u00e9 \u2028 \ud83c\udf89"}`,
		`{"lone":"\ud800 x \udc00 \ud800\u0041 \ud800\ud800"}`,
		"{\"raw\":\"h\xc3\xa9llo \xe2\x9c\x93\"}",
		"{\"bad\":\"\xff\xfe x \xe2\x80\"}", "{\"bad\\n\":\"\xff\\n\"}",
		"{\n\t\"spaced\" :\r\n [ 1 , 2 ]\n}\n",
		`{"k":"<>&"}`, `{"":""}`,
	} {
		sameAsDecoder(t, s, true)
	}
	for _, s := range []string{
		``, `null`, `[]`, `"s"`, `1`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{a:1}`, `{"a":01}`,
		`{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`,
		"{\"a\":\"ctl\x01\"}", `{"a":1} trailing`, `{"a":1}{"b":2}`, "\ufeff{}",
		strings.Repeat(`{"a":`, 150) + `1` + strings.Repeat(`}`, 150),
	} {
		sameAsDecoder(t, s, false)
	}
}

// FuzzParseObject: on any input, parseObject declines or agrees with
// encoding/json, and decodeObject agrees with encoding/json.
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}],"c":"\u00e9\ud83c\udf89"}`, "{\"x\":\"\xff\"}", `{"n":-1.5e-3}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAsDecoder(t, s, false)
	})
}

// BenchmarkDecodeObject: a listed user's metadata object read by
// decodeObject (parseObject) and by encoding/json's Decoder, as before.
func BenchmarkDecodeObject(b *testing.B) {
	const s = `{"lang":"en","roles":["reader","writer"],"score":42,"theme":"dark"}`
	b.Run("parseObject", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := decodeObject(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := viaEncodingJSON(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sameIdentities checks that decodeIdentities (parseIdentities where it
// accepts s) reads s as decodeIdentitiesJSON (encoding/json) does; with
// fast, that parseIdentities accepts it.
func sameIdentities(t *testing.T, s string, fast bool) {
	t.Helper()
	want, werr := decodeIdentitiesJSON(s)
	got, ok := parseIdentities(s)
	if fast && !ok {
		t.Fatalf("%q: parseIdentities declined", s)
	}
	if ok && (werr != nil || !reflect.DeepEqual(got, want)) {
		t.Fatalf("%q: parseIdentities %#v, encoding/json %#v (%v)", s, got, want, werr)
	}
	d, derr := decodeIdentities(s)
	if (derr != nil) != (werr != nil) || (derr == nil && !reflect.DeepEqual(d, want)) {
		t.Fatalf("%q: decodeIdentities %#v (%v), encoding/json %#v (%v)", s, d, derr, want, werr)
	}
}

func TestParseIdentitiesMatchesEncodingJSON(t *testing.T) {
	stored, err := encodeIdentities([]policy.Identity{
		{Connection: "main", Provider: "profiled", UserID: "u1"},
		{Connection: "legacy", Provider: "custom-database", UserID: "42", IsSocial: true,
			ProfileData: policy.Metadata{"plan": "pro", "n": json.Number("12345678901234567890"), "l": []any{1.5, nil, "<&>"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		stored, `[]`, ` [ ] `, `[{}]`, `[{"connection":"c"}]`,
		`[{"profile_data":null,"user_id":"x","is_social":false,"provider":"p","connection":"c"}]`,
		`[{"connection":"a","connection":"b","profile_data":{"x":1},"profile_data":{"y":2}}]`,
		"[{\"user_id\":\"\xff \\ud800\"}]",
	} {
		sameIdentities(t, s, true)
	}
	for _, s := range []string{
		``, `null`, `{}`, `[1]`, `[null]`, `["x"]`, `[{"Connection":"c"}]`, `[{"USER_ID":"x"}]`,
		`[{"connection":null}]`, `[{"connection":1}]`, `[{"is_social":"true"}]`, `[{"is_social":null}]`,
		`[{"profile_data":[]}]`, `[{"profile_data":"x"}]`, `[{"other":1}]`, `[{"connection":"c"}] x`,
		`[{"connection":"c"},]`, `[`,
	} {
		sameIdentities(t, s, false)
	}
}

// FuzzParseIdentities: on any input, parseIdentities declines or agrees
// with encoding/json, and decodeIdentities agrees with it.
func FuzzParseIdentities(f *testing.F) {
	for _, s := range []string{`[]`, `[{"connection":"main","provider":"profiled","user_id":"u1","is_social":false,"profile_data":{}}]`,
		`[{"Provider":"x","profile_data":null}]`, `[{"user_id":"\u00e9","profile_data":{"a":[1,{"b":-2e3}]}}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameIdentities(t, s, false)
	})
}
