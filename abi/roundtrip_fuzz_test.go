package abi

import (
	"bytes"
	"testing"
	"time"
)

// FuzzRoundTrip checks that decoding inverts encoding: for any bytes the
// Decoder accepts, the decoded value re-encodes to bytes that decode, to
// the end, into an equal value. (FuzzDecoder only checks that a decoded
// value re-encodes. Bytes are not compared: maps encode in Go's map order.)
func FuzzRoundTrip(f *testing.F) {
	for _, v := range []any{
		nil, true, int64(-1), 1.5, "héllo", []byte{0, 1}, time.Unix(1700000000, 5).UTC(),
		[]any{int64(1), "x", nil, []any{}},
		map[string]any{"b": int64(2), "a": map[string]any{"": nil}},
	} {
		b, err := AppendValue(nil, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b)
		v, err := d.Value()
		if err != nil {
			return
		}
		once, err := AppendValue(nil, v)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		d2 := NewDecoder(once)
		v2, err := d2.Value()
		if err != nil {
			t.Fatalf("the re-encoding does not decode: %v (%x)", err, once)
		}
		if d2.Remaining() != 0 {
			t.Fatalf("%d bytes left after decoding a re-encoding", d2.Remaining())
		}
		if !same(v, v2) {
			t.Fatalf("round trip changed the value: %#v then %#v", v, v2)
		}
	})
}

// same is reflect.DeepEqual with NaN equal to NaN and []byte compared by
// content.
func same(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || x != x && y != y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !same(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !same(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}
