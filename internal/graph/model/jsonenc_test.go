package model

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/profiled/profiled/internal/policy"
)

// sameAsEncodingJSON fails unless appendJSON writes v exactly as
// encoding/json.Marshal does (or both fail).
func sameAsEncodingJSON(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := appendJSON(nil, v)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%#v: error %v, encoding/json's %v", v, gerr, werr)
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, "", "plain", `quote " backslash \ slash /`,
		"<script>&amp;</script>", "\b\f\n\r\t\x00\x01\x1f\x7f", "line\u2028para\u2029end",
		"héllo wörld ✓ 日本 🎉", "bad \xff\xfe utf8 \xe2\x80", "\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa",
		json.Number("0"), json.Number("-12.5e+10"), json.Number("1E3"), json.Number(""), json.Number("01"), json.Number("1."), json.Number("abc"),
		float64(1e21), float64(0.000001), float64(-0.0), int64(42), 3, uint8(7),
		[]any{}, []any(nil), []any{1, "a", nil, []any{true}},
		map[string]any{}, map[string]any(nil),
		map[string]any{"b": 1, "a": "x", "B": []any{map[string]any{"z": nil, "y": json.Number("2")}}, "<k>": "&", "é": "ü", "": "empty"},
		policy.Metadata{"plan": "pro", "nested": policy.Metadata{"k": "v"}},
		map[string]any{"many": map[string]any{"k01": 1, "k02": 2, "k03": 3, "k04": 4, "k05": 5, "k06": 6, "k07": 7, "k08": 8, "k09": 9, "k10": 10, "k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17, "k18": 18}},
		map[string]any{"ch": make(chan int)}, // unsupported: both fail
	} {
		sameAsEncodingJSON(t, v)
	}
}

// FuzzAppendJSONString: any string, as a value and as a key, is written
// as encoding/json writes it.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "<>&", "\u2028", "\xff", "\x00", "日本", "\xe2\x80", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAsEncodingJSON(t, s)
		sameAsEncodingJSON(t, map[string]any{s: s, "n": json.Number(s)})
	})
}

// TestMarshalMetadata: the JSON scalar writes objects (keys sorted), and
// null for a nil map.
func TestMarshalMetadata(t *testing.T) {
	var b bytes.Buffer
	MarshalMetadata(Metadata{"b": "<2>", "a": json.Number("1")}).MarshalGQL(&b)
	if got, want := b.String(), `{"a":1,"b":"\u003c2\u003e"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	b.Reset()
	MarshalMetadata(nil).MarshalGQL(&b)
	if b.String() != "null" {
		t.Fatalf("nil: got %s", b.String())
	}
}
