package wasmbin

import (
	"errors"
	"fmt"
)

// Section ids used by LimitStack.
const (
	secMemory = 5
	secGlobal = 6
)

// StackGlobalExport is the name under which LimitStack exports its
// counter (the host reads it after a trap to tell a stack overflow).
const StackGlobalExport = "profiled_stack_used"

// ErrStackLimit is the trap message a module rewritten by LimitStack hits:
// wasm "unreachable" in the prologue of the function that went over.
var ErrStackLimit = errors.New("call stack over the limit")

// FrameEstimate is LimitStack's estimate, in bytes, of one frame of a
// function with the given parameters and locals and body length in
// instructions: a fixed overhead, 16 bytes per local (value and spill
// slot), 4 bytes per instruction (spilled temporaries).
func FrameEstimate(paramsAndLocals, instructions uint64) uint64 {
	return 64 + 16*paramsAndLocals + 4*instructions
}

// LimitStack bounds the native call stack a module can use: every
// function defined by the module adds its FrameEstimate to a new mutable
// global in its prologue, traps (unreachable) when the sum exceeds limit,
// and subtracts it on every way out (its end, and each return, which
// becomes a branch to a block wrapping the body). wazero keeps the wasm
// call stack outside linear memory and lets it grow to about 100 MB per
// call; with this rewrite it stays within about limit (the estimates are
// generous upper bounds of wazero's frames).
//
// It decodes every instruction, and refuses modules it cannot rewrite
// safely: exception handling, threads, tail calls (wazero's default
// features have none of them), malformed code.
func LimitStack(b []byte, limit uint32) ([]byte, error) {
	secs, err := sections(b)
	if err != nil {
		return nil, err
	}
	var types []FuncType
	var typeSec, globalSec, codeSec *section
	var funcTypes []uint32 // defined functions only
	importedGlobals := uint32(0)
	definedGlobals := uint32(0)
	for i := range secs {
		s := &secs[i]
		r := &reader{b: b[:s.end], off: s.start}
		switch s.id {
		case secType:
			typeSec = s
			n := r.u32()
			for j := uint32(0); j < n && r.err == nil; j++ {
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
			for j := uint32(0); j < n && r.err == nil; j++ {
				r.name()
				r.name()
				switch r.byte() {
				case KindFunc:
					r.u32()
				case KindTable:
					r.byte()
					readLimits(r)
				case KindMemory:
					readLimits(r)
				case KindGlobal:
					r.byte()
					r.byte()
					importedGlobals++
				default:
					r.fail("unknown import kind")
				}
			}
		case secFunction:
			n := r.u32()
			for j := uint32(0); j < n && r.err == nil; j++ {
				funcTypes = append(funcTypes, r.u32())
			}
		case secGlobal:
			globalSec = s
			definedGlobals = r.u32()
		case secCode:
			codeSec = s
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if codeSec == nil {
		return b, nil
	}
	g := importedGlobals + definedGlobals
	extraTypes := map[string]uint32{} // results → index of a () -> results type
	var newTypes []FuncType

	blockType := func(results []byte) []byte {
		switch len(results) {
		case 0:
			return []byte{0x40}
		case 1:
			return []byte{results[0]}
		}
		k := string(results)
		idx, ok := extraTypes[k]
		if !ok {
			idx = uint32(len(types) + len(newTypes))
			extraTypes[k] = idx
			newTypes = append(newTypes, FuncType{Results: append([]byte(nil), results...)})
		}
		return appendS33(nil, int64(idx))
	}

	r := &reader{b: b[:codeSec.end], off: codeSec.start}
	n := r.u32()
	if int(n) != len(funcTypes) {
		return nil, fmt.Errorf("malformed module: %d function bodies for %d functions", n, len(funcTypes))
	}
	code := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		body := r.bytes(size)
		if r.err != nil {
			break
		}
		if int(funcTypes[i]) >= len(types) {
			return nil, fmt.Errorf("malformed module: function %d has type %d out of range", i, funcTypes[i])
		}
		ft := types[funcTypes[i]]
		nb, err := rewriteBody(body, ft, g, limit, blockType)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		code = appendU32(code, uint32(len(nb)))
		code = append(code, nb...)
	}
	if r.err != nil {
		return nil, r.err
	}

	// The new global: (mut i32) = 0.
	global := []byte{I32, 0x01, 0x41, 0x00, 0x0b}
	var globalPayload []byte
	if globalSec != nil {
		gr := &reader{b: b[:globalSec.end], off: globalSec.start}
		cnt := gr.u32()
		globalPayload = appendU32(nil, cnt+1)
		globalPayload = append(globalPayload, b[gr.off:globalSec.end]...)
		globalPayload = append(globalPayload, global...)
	} else {
		globalPayload = append(appendU32(nil, 1), global...)
	}
	var typePayload []byte
	if len(newTypes) > 0 {
		all := append(append([]FuncType(nil), types...), newTypes...)
		typePayload = appendU32(nil, uint32(len(all)))
		for _, t := range all {
			typePayload = append(typePayload, 0x60)
			typePayload = appendU32(typePayload, uint32(len(t.Params)))
			typePayload = append(typePayload, t.Params...)
			typePayload = appendU32(typePayload, uint32(len(t.Results)))
			typePayload = append(typePayload, t.Results...)
		}
	}

	out := make([]byte, 0, len(b)+len(b)/8)
	out = append(out, b[:8]...)
	emit := func(id byte, payload []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(payload)))
		out = append(out, payload...)
	}
	exportEntry := appendU32(nil, uint32(len(StackGlobalExport)))
	exportEntry = append(exportEntry, StackGlobalExport...)
	exportEntry = append(exportEntry, KindGlobal)
	exportEntry = appendU32(exportEntry, g)
	hasExports := false
	for _, s := range secs {
		hasExports = hasExports || s.id == secExport
	}
	globalDone, exportDone := globalSec != nil, hasExports
	for _, s := range secs {
		if !globalDone && s.id != secCustom && order(s.id) > order(secGlobal) {
			emit(secGlobal, globalPayload)
			globalDone = true
		}
		if !exportDone && s.id != secCustom && order(s.id) > order(secExport) {
			emit(secExport, append(appendU32(nil, 1), exportEntry...))
			exportDone = true
		}
		switch {
		case s.id == secType && typePayload != nil:
			emit(secType, typePayload)
		case s.id == secGlobal:
			emit(secGlobal, globalPayload)
			globalDone = true
		case s.id == secCode:
			emit(secCode, code)
		case s.id == secExport:
			er := &reader{b: b[:s.end], off: s.start}
			cnt := er.u32()
			p := appendU32(nil, cnt+1)
			p = append(p, b[er.off:s.end]...)
			p = append(p, exportEntry...)
			emit(secExport, p)
		default:
			out = append(out, b[s.hdr:s.end]...)
		}
	}
	if !globalDone {
		emit(secGlobal, globalPayload)
	}
	if !exportDone {
		emit(secExport, append(appendU32(nil, 1), exportEntry...))
	}
	if typeSec == nil && len(newTypes) > 0 {
		return nil, errors.New("malformed module: functions without a type section")
	}
	return out, nil
}

// order is a section's position in the binary format's required order.
func order(id byte) int {
	switch id {
	case secType:
		return 1
	case secImport:
		return 2
	case secFunction:
		return 3
	case secTable:
		return 4
	case secMemory:
		return 5
	case 13: // tag
		return 6
	case secGlobal:
		return 7
	case secExport:
		return 8
	case 8: // start
		return 9
	case 9: // element
		return 10
	case secDataCount:
		return 11
	case secCode:
		return 12
	case secData:
		return 13
	}
	return 0
}

func appendS33(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// rewriteBody wraps one function body (locals + code) with the stack
// accounting of LimitStack.
func rewriteBody(body []byte, ft FuncType, g, limit uint32, blockType func([]byte) []byte) ([]byte, error) {
	r := &reader{b: body}
	groups := r.u32()
	locals := uint64(len(ft.Params))
	for i := uint32(0); i < groups && r.err == nil; i++ {
		locals += uint64(r.u32())
		r.byte()
	}
	if r.err != nil {
		return nil, r.err
	}
	codeStart := r.off
	// First pass: count instructions and check the code decodes.
	count, err := walk(body[codeStart:], nil)
	if err != nil {
		return nil, err
	}
	est := FrameEstimate(locals, count)
	cost := uint32(min(est, uint64(limit)+1))

	out := append([]byte(nil), body[:codeStart]...)
	// Prologue: g += cost; if g > limit: unreachable.
	out = append(out, 0x23)
	out = appendU32(out, g)
	out = append(out, 0x41)
	out = appendS33(out, int64(int32(cost)))
	out = append(out, 0x6a, 0x24) // i32.add, global.set
	out = appendU32(out, g)
	out = append(out, 0x23)
	out = appendU32(out, g)
	out = append(out, 0x41)
	out = appendS33(out, int64(int32(limit)))
	out = append(out, 0x4b, 0x04, 0x40, 0x00, 0x0b) // i32.gt_u, if, unreachable, end
	out = append(out, 0x02)
	out = append(out, blockType(ft.Results)...)
	if _, err := walk(body[codeStart:], &out); err != nil {
		return nil, err
	}
	// The original final end now closes the wrapping block; epilogue.
	out = append(out, 0x23)
	out = appendU32(out, g)
	out = append(out, 0x41)
	out = appendS33(out, int64(int32(cost)))
	out = append(out, 0x6b, 0x24) // i32.sub, global.set
	out = appendU32(out, g)
	out = append(out, 0x0b)
	return out, nil
}

// walk decodes the instructions of a function's code (ending with the
// function's end) and returns their number. With out, it appends them,
// each return turned into a branch to the block that wraps the body.
func walk(code []byte, out *[]byte) (uint64, error) {
	r := &reader{b: code}
	depth := 0
	var n uint64
	for r.err == nil {
		if r.off >= len(code) {
			return 0, errors.New("code without its final end")
		}
		start := r.off
		op := r.byte()
		n++
		switch {
		case op == 0x0f: // return → br to the wrapping block
			if out != nil {
				*out = append(*out, 0x0c)
				*out = appendU32(*out, uint32(depth))
			}
			continue
		case op == 0x02 || op == 0x03 || op == 0x04:
			depth++
			blockTypeImm(r)
		case op == 0x0b:
			if depth == 0 {
				if r.off != len(code) {
					return 0, errors.New("bytes after the function's end")
				}
				if out != nil {
					*out = append(*out, code[start:r.off]...)
				}
				return n, nil
			}
			depth--
		case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x1a || op == 0x1b:
		case op == 0x0c || op == 0x0d:
			r.u32()
		case op == 0x0e:
			k := r.u32()
			for i := uint32(0); i <= k && r.err == nil; i++ {
				r.u32()
			}
		case op == 0x10:
			r.u32()
		case op == 0x11:
			r.u32()
			r.u32()
		case op == 0x1c:
			k := r.u32()
			r.bytes(k)
		case op >= 0x20 && op <= 0x26:
			r.u32()
		case op >= 0x28 && op <= 0x3e:
			r.u32()
			r.u32()
		case op == 0x3f || op == 0x40:
			r.byte()
		case op == 0x41:
			r.s32()
		case op == 0x42:
			s64(r)
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op >= 0x45 && op <= 0xc4:
		case op == 0xd0:
			r.byte()
		case op == 0xd1:
		case op == 0xd2:
			r.u32()
		case op == 0xfc:
			switch sub := r.u32(); {
			case sub <= 7:
			case sub == 8:
				r.u32()
				r.byte()
			case sub == 9, sub == 13, sub == 15, sub == 16, sub == 17:
				r.u32()
			case sub == 10:
				r.byte()
				r.byte()
			case sub == 11:
				r.byte()
			case sub == 12, sub == 14:
				r.u32()
				r.u32()
			default:
				return 0, fmt.Errorf("unsupported instruction 0xfc %d", sub)
			}
		case op == 0xfd:
			switch sub := r.u32(); {
			case sub <= 11, sub == 92, sub == 93:
				r.u32()
				r.u32()
			case sub == 12, sub == 13:
				r.bytes(16)
			case sub >= 21 && sub <= 34:
				r.byte()
			case sub >= 84 && sub <= 91:
				r.u32()
				r.u32()
				r.byte()
			}
		default:
			return 0, fmt.Errorf("unsupported instruction 0x%02x", op)
		}
		if out != nil && r.err == nil {
			*out = append(*out, code[start:r.off]...)
		}
	}
	return 0, r.err
}

func blockTypeImm(r *reader) {
	if r.off >= len(r.b) {
		r.fail("unexpected end")
		return
	}
	switch c := r.b[r.off]; {
	case c == 0x40 || c == 0x7f || c == 0x7e || c == 0x7d || c == 0x7c || c == 0x7b || c == 0x70 || c == 0x6f:
		r.off++
	default:
		s64(r) // s33 type index
	}
}

func s64(r *reader) {
	for i := 0; i < 10; i++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail("LEB128 too long")
}
