package abi

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestValueRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 30, 0, 123456789, time.UTC)
	in := map[string]any{
		"nil": nil, "t": true, "f": false, "i": int64(-42), "big": int64(math.MaxInt64),
		"fl": 3.5, "s": "héllo", "empty": "", "b": []byte{0, 1, 2}, "time": now,
		"list": []any{int64(1), "two", []any{}}, "map": map[string]any{"k": map[string]any{}},
	}
	b, err := AppendValue(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(b)
	out, err := d.Value()
	if err != nil || d.Remaining() != 0 {
		t.Fatalf("decode: %v, %d left", err, d.Remaining())
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", out, in)
	}
	d.Reset(b)
	if err := d.Skip(); err != nil || d.Remaining() != 0 {
		t.Fatalf("skip: %v", err)
	}
}

func TestAppendValueConversions(t *testing.T) {
	b, err := AppendValue(nil, []any{int32(7), uint8(8), float32(1.5), []string{"a"}, map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewDecoder(b).Value()
	want := []any{int64(7), int64(8), 1.5, []any{"a"}, map[string]any{"k": "v"}}
	if err != nil || !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, %v", v, err)
	}
	if _, err := AppendValue(nil, struct{}{}); err != ErrUnsupported {
		t.Fatalf("struct: want ErrUnsupported, got %v", err)
	}
}

// TestDecoderRefusesHostileInput: truncation, huge counts, deep nesting and
// unknown tags are errors, never panics or big allocations.
func TestDecoderRefusesHostileInput(t *testing.T) {
	deep := []byte{}
	for i := 0; i < MaxDepth+2; i++ {
		deep = AppendList(deep, 1)
	}
	deep = AppendNull(deep)
	for name, b := range map[string][]byte{
		"empty":       {},
		"unknown tag": {0x7f},
		"short int":   {byte(TagInt), 1, 2},
		"long string": {byte(TagString), 0xff, 0xff, 0xff, 0x7f, 'a'},
		"huge list":   {byte(TagList), 0xff, 0xff, 0xff, 0xff},
		"huge map":    {byte(TagMap), 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0},
		"deep":        deep,
	} {
		if _, err := NewDecoder(b).Value(); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
		if err := NewDecoder(b).Skip(); err == nil && name != "deep" {
			t.Errorf("%s: skipped without error", name)
		}
	}
}

func FuzzDecoder(f *testing.F) {
	b, _ := AppendValue(nil, map[string]any{"a": []any{int64(1), "x", nil, true}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b)
		if v, err := d.Value(); err == nil {
			if _, err := AppendValue(nil, v); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
		}
	})
}
