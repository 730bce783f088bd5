package abi

import (
	"errors"
	"math"
	"time"
)

// Tag is the first byte of an encoded value.
//
// The value encoding (all integers little-endian):
//
//	Null   0x00
//	False  0x01
//	True   0x02
//	Int    0x03 i64
//	Float  0x04 f64 (IEEE 754 bits)
//	String 0x05 u32 n, n bytes of UTF-8
//	Bytes  0x06 u32 n, n bytes
//	Time   0x07 i64 unix seconds, u32 nanoseconds (UTC)
//	List   0x08 u32 n, n values
//	Map    0x09 u32 n, n × (u32 klen, klen bytes of UTF-8 key, value)
type Tag byte

// The value tags.
const (
	TagNull   Tag = 0x00
	TagFalse  Tag = 0x01
	TagTrue   Tag = 0x02
	TagInt    Tag = 0x03
	TagFloat  Tag = 0x04
	TagString Tag = 0x05
	TagBytes  Tag = 0x06
	TagTime   Tag = 0x07
	TagList   Tag = 0x08
	TagMap    Tag = 0x09
)

// MaxDepth bounds the nesting of lists and maps a Decoder accepts.
const MaxDepth = 32

// Errors of the codec.
var (
	// ErrMalformed: the bytes are not a well-formed encoding (truncated,
	// unknown tag, nesting deeper than MaxDepth, a count larger than the
	// bytes left could hold).
	ErrMalformed = errors.New("abi: malformed value encoding")
	// ErrUnsupported: AppendValue was given a Go type it cannot encode.
	ErrUnsupported = errors.New("abi: value type not supported")
)

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func appendU64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

// AppendNull appends a Null.
func AppendNull(b []byte) []byte { return append(b, byte(TagNull)) }

// AppendBool appends True or False.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, byte(TagTrue))
	}
	return append(b, byte(TagFalse))
}

// AppendInt appends an Int.
func AppendInt(b []byte, v int64) []byte { return appendU64(append(b, byte(TagInt)), uint64(v)) }

// AppendFloat appends a Float.
func AppendFloat(b []byte, v float64) []byte {
	return appendU64(append(b, byte(TagFloat)), math.Float64bits(v))
}

// AppendString appends a String.
func AppendString(b []byte, s string) []byte {
	b = appendU32(append(b, byte(TagString)), uint32(len(s)))
	return append(b, s...)
}

// AppendBytes appends Bytes.
func AppendBytes(b []byte, v []byte) []byte {
	b = appendU32(append(b, byte(TagBytes)), uint32(len(v)))
	return append(b, v...)
}

// AppendTime appends a Time.
func AppendTime(b []byte, t time.Time) []byte {
	b = appendU64(append(b, byte(TagTime)), uint64(t.Unix()))
	return appendU32(b, uint32(t.Nanosecond()))
}

// AppendList appends the header of a List of n values; the caller appends
// the n values next.
func AppendList(b []byte, n int) []byte { return appendU32(append(b, byte(TagList)), uint32(n)) }

// AppendMap appends the header of a Map of n entries; the caller appends n
// times AppendKey then a value.
func AppendMap(b []byte, n int) []byte { return appendU32(append(b, byte(TagMap)), uint32(n)) }

// AppendKey appends a map key (no tag).
func AppendKey(b []byte, k string) []byte {
	return append(appendU32(b, uint32(len(k))), k...)
}

// AppendValue appends any of: nil, bool, the integer types, float32/64,
// string, []byte, time.Time, []any, []string, map[string]any,
// map[string]string, or a value with a `String() string` method whose type
// is not otherwise known (e.g. json.Number), encoded as a String. Other
// types give ErrUnsupported. Nesting deeper than MaxDepth gives ErrMalformed.
func AppendValue(b []byte, v any) ([]byte, error) { return appendValue(b, v, 0) }

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return b, ErrMalformed
	}
	switch x := v.(type) {
	case nil:
		return AppendNull(b), nil
	case bool:
		return AppendBool(b, x), nil
	case int:
		return AppendInt(b, int64(x)), nil
	case int8:
		return AppendInt(b, int64(x)), nil
	case int16:
		return AppendInt(b, int64(x)), nil
	case int32:
		return AppendInt(b, int64(x)), nil
	case int64:
		return AppendInt(b, x), nil
	case uint:
		return AppendInt(b, int64(x)), nil
	case uint8:
		return AppendInt(b, int64(x)), nil
	case uint16:
		return AppendInt(b, int64(x)), nil
	case uint32:
		return AppendInt(b, int64(x)), nil
	case uint64:
		if x > math.MaxInt64 {
			return AppendFloat(b, float64(x)), nil
		}
		return AppendInt(b, int64(x)), nil
	case float32:
		return AppendFloat(b, float64(x)), nil
	case float64:
		return AppendFloat(b, x), nil
	case string:
		return AppendString(b, x), nil
	case []byte:
		return AppendBytes(b, x), nil
	case time.Time:
		return AppendTime(b, x), nil
	case *time.Time:
		if x == nil {
			return AppendNull(b), nil
		}
		return AppendTime(b, *x), nil
	case []any:
		b = AppendList(b, len(x))
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case []string:
		b = AppendList(b, len(x))
		for _, e := range x {
			b = AppendString(b, e)
		}
		return b, nil
	case map[string]any:
		b = AppendMap(b, len(x))
		var err error
		for k, e := range x {
			b = AppendKey(b, k)
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case map[string]string:
		b = AppendMap(b, len(x))
		for k, e := range x {
			b = AppendString(AppendKey(b, k), e)
		}
		return b, nil
	case interface{ String() string }:
		return AppendString(b, x.String()), nil
	}
	return b, ErrUnsupported
}

// Decoder reads encoded values from a byte slice. Bytes returns views of
// that slice; everything else is copied. The zero Decoder is empty.
type Decoder struct {
	buf []byte
	off int
}

// NewDecoder returns a Decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Reset makes d read b from the start.
func (d *Decoder) Reset(b []byte) { d.buf, d.off = b, 0 }

// Remaining is the number of bytes not yet read.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Peek returns the tag of the next value without consuming it.
func (d *Decoder) Peek() (Tag, error) {
	if d.off >= len(d.buf) {
		return 0, ErrMalformed
	}
	return Tag(d.buf[d.off]), nil
}

func (d *Decoder) u32() (uint32, error) {
	if len(d.buf)-d.off < 4 {
		return 0, ErrMalformed
	}
	p := d.buf[d.off:]
	d.off += 4
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24, nil
}

func (d *Decoder) u64() (uint64, error) {
	if len(d.buf)-d.off < 8 {
		return 0, ErrMalformed
	}
	p := d.buf[d.off:]
	d.off += 8
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56, nil
}

func (d *Decoder) tag() (Tag, error) {
	if d.off >= len(d.buf) {
		return 0, ErrMalformed
	}
	t := Tag(d.buf[d.off])
	d.off++
	return t, nil
}

func (d *Decoder) expect(want Tag) error {
	t, err := d.tag()
	if err != nil {
		return err
	}
	if t != want {
		d.off--
		return ErrMalformed
	}
	return nil
}

// raw reads a u32 length and that many bytes (a view).
func (d *Decoder) raw() ([]byte, error) {
	n, err := d.u32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(len(d.buf)-d.off) {
		return nil, ErrMalformed
	}
	v := d.buf[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return v, nil
}

// Null consumes a Null and reports whether the next value was one (when it
// was not, nothing is consumed).
func (d *Decoder) Null() bool {
	if d.off < len(d.buf) && Tag(d.buf[d.off]) == TagNull {
		d.off++
		return true
	}
	return false
}

// Bool reads True or False.
func (d *Decoder) Bool() (bool, error) {
	t, err := d.tag()
	if err != nil {
		return false, err
	}
	switch t {
	case TagTrue:
		return true, nil
	case TagFalse:
		return false, nil
	}
	d.off--
	return false, ErrMalformed
}

// Int reads an Int.
func (d *Decoder) Int() (int64, error) {
	if err := d.expect(TagInt); err != nil {
		return 0, err
	}
	v, err := d.u64()
	return int64(v), err
}

// Float reads a Float.
func (d *Decoder) Float() (float64, error) {
	if err := d.expect(TagFloat); err != nil {
		return 0, err
	}
	v, err := d.u64()
	return math.Float64frombits(v), err
}

// String reads a String.
func (d *Decoder) String() (string, error) {
	if err := d.expect(TagString); err != nil {
		return "", err
	}
	v, err := d.raw()
	return string(v), err
}

// Bytes reads Bytes, or a String, as a view into the decoder's buffer.
func (d *Decoder) Bytes() ([]byte, error) {
	t, err := d.tag()
	if err != nil {
		return nil, err
	}
	if t != TagBytes && t != TagString {
		d.off--
		return nil, ErrMalformed
	}
	return d.raw()
}

// Time reads a Time.
func (d *Decoder) Time() (time.Time, error) {
	if err := d.expect(TagTime); err != nil {
		return time.Time{}, err
	}
	s, err := d.u64()
	if err != nil {
		return time.Time{}, err
	}
	ns, err := d.u32()
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(s), int64(ns)).UTC(), nil
}

// List reads a List header and returns its length.
func (d *Decoder) List() (int, error) {
	if err := d.expect(TagList); err != nil {
		return 0, err
	}
	return d.count()
}

// Map reads a Map header and returns its number of entries; read each entry
// with Key then a value.
func (d *Decoder) Map() (int, error) {
	if err := d.expect(TagMap); err != nil {
		return 0, err
	}
	return d.count()
}

// count reads a u32 count, refusing one larger than the bytes left (each
// element takes at least one byte), so a hostile count cannot make the reader
// allocate.
func (d *Decoder) count() (int, error) {
	n, err := d.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n) > uint64(len(d.buf)-d.off) {
		return 0, ErrMalformed
	}
	return int(n), nil
}

// Key reads a map key.
func (d *Decoder) Key() (string, error) {
	v, err := d.raw()
	return string(v), err
}

// Value reads any value: nil, bool, int64, float64, string, []byte (a copy),
// time.Time, []any or map[string]any.
func (d *Decoder) Value() (any, error) { return d.value(0) }

func (d *Decoder) value(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, ErrMalformed
	}
	t, err := d.Peek()
	if err != nil {
		return nil, err
	}
	switch t {
	case TagNull:
		d.off++
		return nil, nil
	case TagFalse, TagTrue:
		return d.Bool()
	case TagInt:
		return d.Int()
	case TagFloat:
		return d.Float()
	case TagString:
		return d.String()
	case TagBytes:
		v, err := d.Bytes()
		if err != nil {
			return nil, err
		}
		return append([]byte(nil), v...), nil
	case TagTime:
		return d.Time()
	case TagList:
		n, err := d.List()
		if err != nil {
			return nil, err
		}
		l := make([]any, n)
		for i := range l {
			if l[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return l, nil
	case TagMap:
		n, err := d.Map()
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, n)
		for i := 0; i < n; i++ {
			k, err := d.Key()
			if err != nil {
				return nil, err
			}
			if m[k], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, ErrMalformed
}

// Skip consumes the next value whatever it is.
func (d *Decoder) Skip() error { return d.skip(0) }

func (d *Decoder) skip(depth int) error {
	if depth > MaxDepth {
		return ErrMalformed
	}
	t, err := d.tag()
	if err != nil {
		return err
	}
	switch t {
	case TagNull, TagFalse, TagTrue:
		return nil
	case TagInt, TagFloat:
		_, err = d.u64()
		return err
	case TagString, TagBytes:
		_, err = d.raw()
		return err
	case TagTime:
		if _, err = d.u64(); err == nil {
			_, err = d.u32()
		}
		return err
	case TagList:
		n, err := d.count()
		for i := 0; err == nil && i < n; i++ {
			err = d.skip(depth + 1)
		}
		return err
	case TagMap:
		n, err := d.count()
		for i := 0; err == nil && i < n; i++ {
			if _, err = d.raw(); err == nil {
				err = d.skip(depth + 1)
			}
		}
		return err
	}
	d.off--
	return ErrMalformed
}
