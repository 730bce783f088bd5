//go:build wasip1

package sdk

import "unsafe"

// The host functions of sandbox/ABI.md. Every pointer is an address in this
// module's linear memory; the host copies what it reads before returning and
// writes only into the buffers named here.

//go:wasmimport profiled call_args
func hostCallArgs() int32

//go:wasmimport profiled reply_read
func hostReplyRead(p unsafe.Pointer, n uint32) int32

//go:wasmimport profiled result_set
func hostResultSet(p unsafe.Pointer, n uint32) int32

//go:wasmimport profiled db_query
func hostDBQuery(p unsafe.Pointer, n uint32) int32

//go:wasmimport profiled db_exec
func hostDBExec(p unsafe.Pointer, n uint32) int32

//go:wasmimport profiled bcrypt_hash
func hostBcryptHash(p unsafe.Pointer, n uint32, cost int32) int32

//go:wasmimport profiled bcrypt_compare
func hostBcryptCompare(hp unsafe.Pointer, hn uint32, pp unsafe.Pointer, pn uint32) int32

//go:wasmimport profiled argon2id_hash
func hostArgon2idHash(p unsafe.Pointer, n uint32, t, m, threads uint32) int32

//go:wasmimport profiled argon2id_compare
func hostArgon2idCompare(hp unsafe.Pointer, hn uint32, pp unsafe.Pointer, pn uint32) int32

//go:wasmimport profiled config_get
func hostConfigGet(p unsafe.Pointer, n uint32) int32

//go:wasmimport profiled log
func hostLog(p unsafe.Pointer, n uint32) int32

//go:wasmimport profiled db_begin
func hostDBBegin() int32

//go:wasmimport profiled db_commit
func hostDBCommit() int32

//go:wasmimport profiled db_rollback
func hostDBRollback() int32

//go:wasmimport profiled password_verify
func hostPasswordVerify(hp unsafe.Pointer, hn uint32, pp unsafe.Pointer, pn uint32) int32

//go:wasmimport profiled hash_compute
func hostHashCompute(p unsafe.Pointer, n uint32) int32
