package sandbox

import (
	"bytes"
	"encoding/binary"

	"github.com/profiled/profiled/abi"
)

// A tiny WebAssembly assembler for the hostile corpus: each module is
// written as instruction bytes (the opcodes named below, as in the spec's
// text format) and assembled into a binary module here, so the corpus needs
// no external tool (wat2wasm, wasm-tools) and costs nothing to build.
//
// Every module built by hmod is a reactor of ABI v1: it exports memory,
// _initialize, profiled_abi_v1 and login; imports come first in the function
// index space, then _initialize (0+nimp), profiled_abi_v1 (1+nimp), login
// (2+nimp), then the extra functions.

// Opcodes used by the corpus.
const (
	opUnreachable = 0x00
	opNop         = 0x01
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opCall        = 0x10
	opDrop        = 0x1a
	opSelect      = 0x1b
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opI32Const    = 0x41
	opI32LtS      = 0x48
	opI32GtU      = 0x4b
	opI32LtU      = 0x49
	opI32Add      = 0x6a
	opRefNull     = 0xd0
	opPrefixFC    = 0xfc
	opTableGrow   = 15 // after 0xfc
	opTableFill   = 17 // after 0xfc
	tFuncref      = 0x70
	tI32          = 0x7f
	tEmpty        = 0x40
)

func leb(v uint32) []byte { return appendLEB(nil, v) }

func appendLEB(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func sleb(v int32) []byte {
	var b []byte
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

func i32c(v int32) []byte { return append([]byte{opI32Const}, sleb(v)...) }

func wstr(s string) []byte { return append(leb(uint32(len(s))), s...) }

func vec(items ...[]byte) []byte {
	b := leb(uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func section(id byte, payload []byte) []byte {
	return append(append([]byte{id}, leb(uint32(len(payload)))...), payload...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// ftype is a function type: params and results as value type bytes.
type ftype struct{ params, results []byte }

func (f ftype) enc() []byte {
	return cat([]byte{0x60}, vec(bytesOf(f.params)...), vec(bytesOf(f.results)...))
}

func bytesOf(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i, c := range b {
		out[i] = []byte{c}
	}
	return out
}

// himport is an import; for a function, typ is its type.
type himport struct {
	module, name string
	kind         byte
	typ          ftype
	raw          []byte // descriptor after the kind byte, for non-functions
}

// hfunc is an extra function: its type and body (locals + code, without the
// final end).
type hfunc struct {
	typ    ftype
	locals []byte // one i32 local per byte (value type)
	code   []byte
}

// hmod describes one hostile module.
type hmod struct {
	imports []himport
	table   []byte   // table section payload entries (one table), nil for none
	login   hfunc    // login's locals and code (returns i32)
	extra   []hfunc  // more functions
	data    [][]byte // active data segments at offsets 0, 4096, 8192, ...
	memMin  uint32   // pages (default 2)
}

// host returns the import of profiled.NAME with its ABI signature.
func host(name string) himport {
	for _, hf := range abi.HostFuncs {
		if hf.Name == name {
			return himport{module: abi.ImportModule, name: name, typ: ftype{params: bytes.Repeat([]byte{tI32}, hf.Params), results: []byte{tI32}}}
		}
	}
	panic("no host function " + name)
}

func (m hmod) build() []byte {
	var types [][]byte
	typeIdx := func(f ftype) uint32 {
		e := f.enc()
		for i, t := range types {
			if bytes.Equal(t, e) {
				return uint32(i)
			}
		}
		types = append(types, e)
		return uint32(len(types) - 1)
	}
	var imps [][]byte
	nimp := uint32(0)
	for _, im := range m.imports {
		e := cat(wstr(im.module), wstr(im.name), []byte{im.kind})
		if im.kind == 0 {
			e = append(e, leb(typeIdx(im.typ))...)
			nimp++
		} else {
			e = append(e, im.raw...)
		}
		imps = append(imps, e)
	}
	void := ftype{}
	ret := ftype{results: []byte{tI32}}
	funcs := []hfunc{{typ: void}, {typ: void}, {typ: ret, locals: m.login.locals, code: m.login.code}}
	funcs = append(funcs, m.extra...)
	var fidx, codes [][]byte
	for _, f := range funcs {
		fidx = append(fidx, leb(typeIdx(f.typ)))
		var locals []byte
		if len(f.locals) == 0 {
			locals = leb(0)
		} else {
			var groups [][]byte
			for _, t := range f.locals {
				groups = append(groups, []byte{1, t})
			}
			locals = vec(groups...)
		}
		body := cat(locals, f.code, []byte{opEnd})
		codes = append(codes, cat(leb(uint32(len(body))), body))
	}
	memMin := m.memMin
	if memMin == 0 {
		memMin = 2
	}
	exports := [][]byte{
		cat(wstr(abi.MemoryExport), []byte{2}, leb(0)),
		cat(wstr(abi.InitializeExport), []byte{0}, leb(nimp)),
		cat(wstr(abi.VersionExport), []byte{0}, leb(nimp+1)),
		cat(wstr(abi.ExportLogin), []byte{0}, leb(nimp+2)),
	}
	var segs [][]byte
	for i, d := range m.data {
		segs = append(segs, cat([]byte{0}, i32c(int32(i*4096)), []byte{opEnd}, wstr(string(d))))
	}
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	// Types are collected while encoding imports and functions: encode the
	// function section first, then emit in section order.
	funcSec := section(3, vec(fidx...))
	out = append(out, section(1, vec(types...))...)
	if len(imps) > 0 {
		out = append(out, section(2, vec(imps...))...)
	}
	out = append(out, funcSec...)
	if m.table != nil {
		out = append(out, section(4, vec(m.table))...)
	}
	out = append(out, section(5, vec(cat([]byte{0}, leb(memMin))))...)
	out = append(out, section(7, vec(exports...))...)
	out = append(out, section(10, vec(codes...))...)
	if len(segs) > 0 {
		out = append(out, section(11, vec(segs...))...)
	}
	return out
}

// callHost is the code of "call the import at index fn with args".
func callHost(fn uint32, args ...int32) []byte {
	var b []byte
	for _, a := range args {
		b = append(b, i32c(a)...)
	}
	return cat(b, []byte{opCall}, leb(fn))
}

// replyAsError ends login: it copies the host's reply (at most 512 bytes)
// to offset 60000 and returns StatusError with it as the message. imports
// must include reply_read at index rr and result_set at index rs; the
// host's return value is on the stack and is kept in local 0.
func replyAsError(rr, rs uint32) []byte {
	return cat(
		[]byte{opLocalSet, 0},
		callHost(rr, 60000, 512), // n = reply_read(60000, 512)
		[]byte{opLocalSet, 1},
		// len = n < 512 ? n : 512 (n >= 0 here; a negative n is an errno)
		[]byte{opLocalGet, 1}, i32c(512), []byte{opLocalGet, 1}, i32c(512), []byte{opI32LtU, opSelect, opLocalSet, 1},
		i32c(60000), []byte{opLocalGet, 1}, []byte{opCall}, leb(rs), []byte{opDrop},
		i32c(int32(abi.StatusError)),
	)
}

// le32 is a little-endian u32, for data segments.
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
