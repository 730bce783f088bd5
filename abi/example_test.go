package abi_test

import (
	"fmt"

	"github.com/profiled/profiled/abi"
)

// A value crosses the boundary in the ABI's encoding: here a result as a
// script would push it with result_set, written with the Append functions
// and read back with a Decoder, as the host does.
func Example() {
	b := abi.AppendMap(nil, 2)
	b = abi.AppendKey(b, "email")
	b = abi.AppendString(b, "ann@example.com")
	b = abi.AppendKey(b, "email_verified")
	b = abi.AppendBool(b, true)
	fmt.Printf("% x\n", b[:5])

	d := abi.NewDecoder(b)
	n, err := d.Map()
	if err != nil {
		panic(err)
	}
	for range n {
		k, _ := d.Key()
		v, err := d.Value()
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s=%v\n", k, v)
	}
	fmt.Println("left:", d.Remaining())
	// Output:
	// 09 02 00 00 00
	// email=ann@example.com
	// email_verified=true
	// left: 0
}

// AppendValue encodes the Go values the encoding has a tag for (see its
// list); Decoder.Value decodes any value back. Other types are refused.
func ExampleAppendValue() {
	b, err := abi.AppendValue(nil, []any{int64(7), "x", nil})
	if err != nil {
		panic(err)
	}
	v, err := abi.NewDecoder(b).Value()
	fmt.Println(v, err)
	_, err = abi.AppendValue(nil, struct{}{})
	fmt.Println(err != nil)
	// Output:
	// [7 x <nil>] <nil>
	// true
}
