package sandbox

import (
	"sync"

	"github.com/profiled/profiled/abi"
)

// bigModule returns a valid script module of about size bytes, distinct for
// each seed: a login that returns a profile (user_id "42"), as a legacy
// login would, plus filler functions of arithmetic that are compiled like
// any code but never called. It stands for a large customer module (a Go
// script is 3-5 MB) and compiles much faster than building one from Go.
func bigModule(size, seed int) []byte {
	prof := bigModuleProfile()
	m := hmod{
		imports: hostileImports(),
		login:   hfunc{code: cat(callHost(1, 0, int32(len(prof))), []byte{opDrop}, i32c(0))},
		data:    [][]byte{prof},
	}
	const perFunc = 4 << 10
	total := 0
	for k := 0; total < size; k++ {
		// local0 = seed, then local0 = (local0 + c1) * c2 over and over:
		// the value stays live, so nothing is folded away.
		code := cat(i32c(int32(seed)), []byte{opLocalSet, 0})
		for i := 0; len(code) < perFunc; i++ {
			code = append(code, opLocalGet, 0)
			code = append(code, i32c(int32(k*7919+i))...)
			code = append(code, opI32Add)
			code = append(code, i32c(int32(i|1))...)
			code = append(code, opI32Mul, opLocalSet, 0)
		}
		code = append(code, opLocalGet, 0, opDrop)
		m.extra = append(m.extra, hfunc{locals: []byte{tI32}, code: code})
		total += len(code) + 8
	}
	return m.build()
}

const opI32Mul = 0x6c

// dataModule is bigModule's login with size bytes of data (distinct for
// each seed) in one data segment instead of code: wazero keeps the bytes
// with the compiled module, but has next to nothing to compile, so a
// stream of them is quick also under the race detector.
func dataModule(size, seed int) []byte {
	prof := bigModuleProfile()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(seed*31 + i*7)
	}
	copy(data, prof)
	return hmod{
		imports: hostileImports(),
		login:   hfunc{code: cat(callHost(1, 0, int32(len(prof))), []byte{opDrop}, i32c(0))},
		data:    [][]byte{data},
		memMin:  uint32(size>>16 + 2),
	}.build()
}

// bigModuleProfile is the profile bigModule's login returns, encoded once
// (a map's encoding follows its iteration order: the same bytes each time
// keep each seed's module the same).
var bigModuleProfile = sync.OnceValue(func() []byte {
	prof, err := abi.AppendValue(nil, map[string]any{"user_id": "42", "email": "ann@example.com"})
	if err != nil {
		panic(err)
	}
	return prof
})
