// Package wasmbin reads and rewrites just enough of the WebAssembly binary
// format for Profiled: list a module's imports and exports with their
// function types (to inspect an uploaded script without compiling it), and
// merge the data segments the Go linker emits (tens of thousands of tiny
// active segments, which make every instantiation re-evaluate as many offset
// expressions: 6 ms instead of 1 ms per instance).
//
// It imports only the standard library. It checks the structure it reads
// (section bounds, LEB128 encodings) but does not validate code: wazero does
// that when it compiles the module.
package wasmbin

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// Section ids used here.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secExport    = 7
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// External kinds of imports and exports.
const (
	KindFunc   = 0
	KindTable  = 1
	KindMemory = 2
	KindGlobal = 3
)

var magic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// ErrNotWasm: the bytes are not a WebAssembly 1.0 binary module.
var ErrNotWasm = errors.New("not a WebAssembly module (bad magic number or version)")

// FuncType is a function signature; value types are the binary codes
// (0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64).
type FuncType struct {
	Params, Results []byte
}

// I32 is the binary code of the i32 value type.
const I32 = 0x7f

// Import is one import.
type Import struct {
	Module, Name string
	Kind         byte
	Type         *FuncType // functions only; nil for other kinds
	Table        *Limits   // tables only
}

// Limits are a table's or a memory's declared size limits.
type Limits struct {
	Min    uint32
	Max    uint32
	HasMax bool
}

// Export is one export.
type Export struct {
	Name string
	Kind byte
	Type *FuncType // functions only
}

// Info is what Inspect reads from a module.
type Info struct {
	Imports      []Import
	Exports      []Export
	DataSegments int
	// Tables are the tables the module defines (its table section).
	Tables []Limits
	// Functions is the number of functions the module defines.
	Functions int
	// CodeBytes is the size of the code section.
	CodeBytes int
}

// Export returns the export named name.
func (in *Info) Export(name string) (Export, bool) {
	for _, e := range in.Exports {
		if e.Name == name {
			return e, true
		}
	}
	return Export{}, false
}

type section struct {
	id         byte
	start, end int // payload bounds in the module
	hdr        int // offset of the id byte
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("malformed module at byte %d: %s", r.off, fmt.Sprintf(format, a...))
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) u32() uint32 {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if v > 0xffffffff {
				r.fail("u32 out of range")
			}
			return uint32(v)
		}
	}
	r.fail("LEB128 too long")
	return 0
}

// s32 reads a signed LEB128 i32 (an i32.const immediate).
func (r *reader) s32() int32 {
	var v int64
	shift := 0
	for ; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= int64(c&0x7f) << shift
		if c < 0x80 {
			shift += 7
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return int32(v)
		}
	}
	r.fail("LEB128 too long")
	return 0
}

func (r *reader) bytes(n uint32) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)-r.off) {
		r.fail("length %d past the end", n)
		return nil
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v
}

func (r *reader) name() string { return string(r.bytes(r.u32())) }

func sections(b []byte) ([]section, error) {
	if len(b) < 8 || !bytes.Equal(b[:8], magic) {
		return nil, ErrNotWasm
	}
	r := &reader{b: b, off: 8}
	var out []section
	for r.off < len(b) && r.err == nil {
		hdr := r.off
		id := r.byte()
		size := r.u32()
		start := r.off
		r.bytes(size)
		if r.err == nil {
			out = append(out, section{id: id, start: start, end: r.off, hdr: hdr})
		}
	}
	return out, r.err
}

// Inspect reads the imports, exports (with function types) and the number
// of data segments of a module.
func Inspect(b []byte) (*Info, error) {
	secs, err := sections(b)
	if err != nil {
		return nil, err
	}
	var types []FuncType
	var funcTypes []uint32 // type index per function (imports first)
	info := &Info{}
	for _, s := range secs {
		r := &reader{b: b[:s.end], off: s.start}
		switch s.id {
		case secType:
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				if r.byte() != 0x60 {
					r.fail("expected a function type")
					break
				}
				var ft FuncType
				ft.Params = append([]byte(nil), r.bytes(r.u32())...)
				ft.Results = append([]byte(nil), r.bytes(r.u32())...)
				types = append(types, ft)
			}
		case secImport:
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				im := Import{Module: r.name(), Name: r.name(), Kind: r.byte()}
				switch im.Kind {
				case KindFunc:
					t := r.u32()
					funcTypes = append(funcTypes, t)
					if int(t) < len(types) {
						im.Type = &types[t]
					} else {
						r.fail("import type index %d out of range", t)
					}
				case KindTable:
					r.byte()
					l := readLimits(r)
					im.Table = &l
				case KindMemory:
					skipLimits(r)
				case KindGlobal:
					r.byte()
					r.byte()
				default:
					r.fail("unknown import kind %d", im.Kind)
				}
				info.Imports = append(info.Imports, im)
			}
		case secFunction:
			n := r.u32()
			info.Functions = int(n)
			for i := uint32(0); i < n && r.err == nil; i++ {
				funcTypes = append(funcTypes, r.u32())
			}
		case secTable:
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				r.byte() // element type
				info.Tables = append(info.Tables, readLimits(r))
			}
		case secCode:
			info.CodeBytes = s.end - s.start
		case secExport:
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				ex := Export{Name: r.name(), Kind: r.byte()}
				idx := r.u32()
				if ex.Kind == KindFunc && r.err == nil {
					if int(idx) >= len(funcTypes) || int(funcTypes[idx]) >= len(types) {
						r.fail("export %q: function index %d out of range", ex.Name, idx)
						break
					}
					ex.Type = &types[funcTypes[idx]]
				}
				info.Exports = append(info.Exports, ex)
			}
		case secData:
			info.DataSegments = int(r.u32())
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	return info, nil
}

func readLimits(r *reader) Limits {
	switch r.byte() {
	case 0x00:
		return Limits{Min: r.u32()}
	case 0x01:
		return Limits{Min: r.u32(), Max: r.u32(), HasMax: true}
	default:
		r.fail("bad limits")
	}
	return Limits{}
}

func skipLimits(r *reader) {
	switch r.byte() {
	case 0x00:
		r.u32()
	case 0x01:
		r.u32()
		r.u32()
	default:
		r.fail("bad limits")
	}
}

// segment is an active data segment of memory 0 with an i32.const offset.
type segment struct {
	offset uint32
	data   []byte
}

// MergeStats says what MergeDataSegments did.
type MergeStats struct {
	Before, After int
	// Skipped explains why nothing was merged (empty when merged).
	Skipped string
}

// MaxGap is the largest run of zero bytes MergeDataSegments fills in to join
// two segments.
const MaxGap = 4096

// MergeDataSegments rewrites the data section so that active segments of
// memory 0 with i32.const offsets that lie at most MaxGap bytes apart become
// one segment each, the gaps filled with zeros (memory starts zeroed, so the
// instance's initial memory is byte-for-byte the same). Every other section
// is copied unchanged.
//
// The module is returned unchanged (with Stats.Skipped saying why) when the
// rewrite could change its meaning: a passive segment or a segment of
// another memory (their indices are referenced by memory.init/data.drop), a
// data count section, a non-constant offset, or overlapping segments.
func MergeDataSegments(b []byte) ([]byte, MergeStats, error) {
	secs, err := sections(b)
	if err != nil {
		return nil, MergeStats{}, err
	}
	var data *section
	for i := range secs {
		switch secs[i].id {
		case secDataCount:
			return b, MergeStats{Skipped: "module has a data count section"}, nil
		case secData:
			data = &secs[i]
		}
	}
	if data == nil {
		return b, MergeStats{Skipped: "no data section"}, nil
	}
	r := &reader{b: b[:data.end], off: data.start}
	n := r.u32()
	segs := make([]segment, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		switch flags {
		case 0:
		case 2:
			if r.u32() != 0 {
				return b, MergeStats{Before: int(n), After: int(n), Skipped: "segment of another memory"}, nil
			}
		default:
			return b, MergeStats{Before: int(n), After: int(n), Skipped: "passive data segment"}, nil
		}
		if r.byte() != 0x41 { // i32.const
			return b, MergeStats{Before: int(n), After: int(n), Skipped: "non-constant segment offset"}, nil
		}
		off := uint32(r.s32())
		if r.byte() != 0x0b { // end
			return b, MergeStats{Before: int(n), After: int(n), Skipped: "non-constant segment offset"}, nil
		}
		d := r.bytes(r.u32())
		segs = append(segs, segment{offset: off, data: d})
	}
	if r.err != nil {
		return nil, MergeStats{}, r.err
	}
	if r.off != data.end {
		return nil, MergeStats{}, fmt.Errorf("malformed module: %d trailing bytes in the data section", data.end-r.off)
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].offset < segs[j].offset })
	merged := make([]segment, 0, 8)
	for _, s := range segs {
		if len(s.data) == 0 {
			continue // an empty active segment only bounds-checks its offset
		}
		if k := len(merged) - 1; k >= 0 {
			last := &merged[k]
			end := uint64(last.offset) + uint64(len(last.data))
			if uint64(s.offset) < end {
				return b, MergeStats{Before: len(segs), After: len(segs), Skipped: "overlapping data segments"}, nil
			}
			if gap := uint64(s.offset) - end; gap <= MaxGap {
				last.data = append(last.data, make([]byte, gap)...)
				last.data = append(last.data, s.data...)
				continue
			}
		}
		merged = append(merged, segment{offset: s.offset, data: append([]byte(nil), s.data...)})
	}
	// Keep empty segments' bounds checks meaningful: an empty segment past
	// the end of memory traps at instantiation; keep such a segment as is.
	for _, s := range segs {
		if len(s.data) == 0 {
			merged = append(merged, s)
		}
	}

	var payload []byte
	payload = appendU32(payload, uint32(len(merged)))
	for _, s := range merged {
		payload = append(payload, 0x00, 0x41)
		payload = appendS32(payload, int32(s.offset))
		payload = append(payload, 0x0b)
		payload = appendU32(payload, uint32(len(s.data)))
		payload = append(payload, s.data...)
	}
	out := make([]byte, 0, len(b)+len(payload)-(data.end-data.start))
	out = append(out, b[:data.hdr]...)
	out = append(out, secData)
	out = appendU32(out, uint32(len(payload)))
	out = append(out, payload...)
	out = append(out, b[data.end:]...)
	return out, MergeStats{Before: len(segs), After: len(merged)}, nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS32(b []byte, v int32) []byte {
	x := int64(v)
	for {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0) || (x == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// CapTables gives every table the module defines without a declared maximum
// its minimum as maximum (the Go linker declares none and never grows its
// table), so that table.grow fails (-1) instead of allocating, and
// table.fill and table.copy are bounded by the table's size. Tables with a
// maximum, and imported tables, are left as they are. The module is
// returned unchanged when no table lacks a maximum.
func CapTables(b []byte) ([]byte, error) {
	secs, err := sections(b)
	if err != nil {
		return nil, err
	}
	for _, s := range secs {
		if s.id != secTable {
			continue
		}
		r := &reader{b: b[:s.end], off: s.start}
		n := r.u32()
		payload := appendU32(nil, n)
		changed := false
		for i := uint32(0); i < n && r.err == nil; i++ {
			payload = append(payload, r.byte())
			l := readLimits(r)
			if !l.HasMax {
				l.Max, l.HasMax, changed = l.Min, true, true
			}
			payload = append(payload, 0x01)
			payload = appendU32(payload, l.Min)
			payload = appendU32(payload, l.Max)
		}
		if r.err != nil {
			return nil, r.err
		}
		if r.off != s.end {
			return nil, fmt.Errorf("malformed module: %d trailing bytes in the table section", s.end-r.off)
		}
		if !changed {
			return b, nil
		}
		out := make([]byte, 0, len(b)+len(payload))
		out = append(out, b[:s.hdr]...)
		out = append(out, secTable)
		out = appendU32(out, uint32(len(payload)))
		out = append(out, payload...)
		return append(out, b[s.end:]...), nil
	}
	return b, nil
}
