package db

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
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
