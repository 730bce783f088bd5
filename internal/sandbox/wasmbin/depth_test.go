package wasmbin_test

import (
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/sandbox/wasmbin"
)

// module is a one-function module (type () -> (), no imports) with the
// given body (locals + code + end).
func module(body []byte) []byte {
	b := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	b = append(b, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00) // type () -> ()
	b = append(b, 0x03, 0x02, 0x01, 0x00)             // function 0: type 0
	code := append([]byte{0x01, byte(len(body))}, body...)
	b = append(b, 0x0a, byte(len(code)))
	return append(b, code...)
}

// LimitStack refuses code it cannot decode rather than rewriting it
// wrongly: exception handling, tail calls, threads, unknown opcodes,
// truncated code.
func TestLimitStackRefusesWhatItCannotDecode(t *testing.T) {
	for name, body := range map[string][]byte{
		"try (exceptions)":    {0x00, 0x06, 0x40, 0x0b, 0x0b},
		"return_call":         {0x00, 0x12, 0x00, 0x0b},
		"atomic (threads)":    {0x00, 0xfe, 0x03, 0x00, 0x0b},
		"unknown 0xfc op":     {0x00, 0xfc, 0x40, 0x0b},
		"no final end":        {0x00, 0x01},
		"bytes after end":     {0x00, 0x0b, 0x01},
		"truncated i32.const": {0x00, 0x41},
	} {
		if _, err := wasmbin.LimitStack(module(body), 1<<20); err == nil {
			t.Errorf("%s: rewritten without an error", name)
		} else if strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A plain body is rewritten: a global and its export appear.
	out, err := wasmbin.LimitStack(module([]byte{0x00, 0x01, 0x0f, 0x0b}), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	info, err := wasmbin.Inspect(out)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := info.Export(wasmbin.StackGlobalExport); !ok || e.Kind != wasmbin.KindGlobal {
		t.Fatalf("no %s global export in the rewritten module", wasmbin.StackGlobalExport)
	}
}
