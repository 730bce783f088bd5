//go:build !wasip1

package sdk

import (
	"unsafe"

	"github.com/profiled/profiled/abi"
)

// Outside the sandbox (a host build, go vet, an IDE) every host function
// fails with ErrnoNoCall, so the SDK and the scripts that use it compile and
// vet on any platform but only run under Profiled.

const noCall = -int32(abi.ErrnoNoCall)

func hostCallArgs() int32                                { return noCall }
func hostReplyRead(unsafe.Pointer, uint32) int32         { return 0 }
func hostResultSet(unsafe.Pointer, uint32) int32         { return noCall }
func hostDBQuery(unsafe.Pointer, uint32) int32           { return noCall }
func hostDBExec(unsafe.Pointer, uint32) int32            { return noCall }
func hostBcryptHash(unsafe.Pointer, uint32, int32) int32 { return noCall }
func hostArgon2idHash(unsafe.Pointer, uint32, uint32, uint32, uint32) int32 {
	return noCall
}
func hostBcryptCompare(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	return noCall
}
func hostArgon2idCompare(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	return noCall
}
func hostConfigGet(unsafe.Pointer, uint32) int32 { return noCall }
func hostLog(unsafe.Pointer, uint32) int32       { return noCall }
func hostDBBegin() int32                         { return noCall }
func hostDBCommit() int32                        { return noCall }
func hostDBRollback() int32                      { return noCall }
func hostPasswordVerify(unsafe.Pointer, uint32, unsafe.Pointer, uint32) int32 {
	return noCall
}
func hostHashCompute(unsafe.Pointer, uint32) int32 { return noCall }
