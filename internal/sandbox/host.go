package sandbox

import (
	"context"
	"strconv"

	"github.com/tetratelabs/wazero/api"

	"github.com/profiled/profiled/abi"
)

// hostFunc is a host function body: it runs inside a call (cs != nil) and
// returns a length (>= 0) or -errno.
type hostFunc func(ctx context.Context, cs *callState, mem api.Memory, p []uint64) int32

// instantiateHost builds the "profiled" host module: the only doors out of
// the sandbox (ABI.md documents each function).
func (r *Runtime) instantiateHost(ctx context.Context) error {
	impl := map[string]hostFunc{
		abi.FnCallArgs:        r.callArgs,
		abi.FnReplyRead:       r.replyRead,
		abi.FnResultSet:       r.resultSet,
		abi.FnDBQuery:         r.dbQuery,
		abi.FnDBExec:          r.dbExec,
		abi.FnBcryptHash:      r.bcryptHash,
		abi.FnBcryptCompare:   r.bcryptCompare,
		abi.FnArgon2idHash:    r.argon2idHash,
		abi.FnArgon2idCompare: r.argon2idCompare,
		abi.FnConfigGet:       r.configGet,
		abi.FnLog:             r.log,
		abi.FnDBBegin:         r.dbBegin,
		abi.FnDBCommit:        r.dbCommit,
		abi.FnDBRollback:      r.dbRollback,
		abi.FnPasswordVerify:  r.passwordVerify,
		abi.FnHashCompute:     r.hashCompute,
	}
	b := r.wr.NewHostModuleBuilder(abi.ImportModule)
	for _, hf := range abi.HostFuncs {
		f := impl[hf.Name]
		params := make([]api.ValueType, hf.Params)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				cs, _ := ctx.Value(callKey{}).(*callState)
				if cs == nil {
					stack[0] = api.EncodeI32(-int32(abi.ErrnoNoCall))
					return
				}
				stack[0] = api.EncodeI32(f(ctx, cs, mod.Memory(), stack))
			}), params, []api.ValueType{api.ValueTypeI32}).
			Export(hf.Name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// fail sets the reply to msg and returns -errno.
func (cs *callState) fail(e abi.Errno, msg string) int32 {
	cs.reply = []byte(msg)
	return -int32(e)
}

// ok sets the reply and returns its length.
func (cs *callState) ok(reply []byte) int32 {
	cs.reply = reply
	return int32(len(reply))
}

// limit records a limit hit (the call fails whatever the guest does next)
// and returns -ErrnoLimit.
func (cs *callState) limit(msg string) int32 {
	if cs.fatal == "" {
		cs.fatal = msg
	}
	return cs.fail(abi.ErrnoLimit, msg)
}

// countHostCall enforces MaxHostCalls; it returns 0 or -ErrnoLimit.
func (cs *callState) countHostCall(what string) int32 {
	cs.hostCalls++
	if max := cs.m.rt.cfg.MaxHostCalls; cs.hostCalls > max {
		return cs.limit("the script made more than " + strconv.Itoa(max) + " database/hashing calls (" + what + ") in one call")
	}
	return 0
}

// read copies n bytes at ptr out of guest memory (at most MaxResultBytes).
func (cs *callState) read(mem api.Memory, ptr, n uint32) ([]byte, int32) {
	if max := cs.m.rt.cfg.MaxResultBytes; int64(n) > int64(max) {
		return nil, cs.limit("a request of " + strconv.FormatUint(uint64(n), 10) + " bytes exceeds the limit of " + strconv.Itoa(max))
	}
	v, okRead := mem.Read(ptr, n)
	if !okRead {
		return nil, cs.fail(abi.ErrnoInval, "pointer out of range")
	}
	return append([]byte(nil), v...), 0
}

func (cs *callState) readString(mem api.Memory, ptr, n uint32) (string, int32) {
	b, e := cs.read(mem, ptr, n)
	return string(b), e
}

// call_args() -> len: the reply is the call's argument List.
func (r *Runtime) callArgs(_ context.Context, cs *callState, _ api.Memory, _ []uint64) int32 {
	return cs.ok(cs.args)
}

// reply_read(ptr, cap) -> len: copies min(cap, len) bytes of the reply.
func (r *Runtime) replyRead(_ context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	ptr, n := uint32(p[0]), uint32(p[1])
	k := min(uint64(n), uint64(len(cs.reply)))
	if k > 0 && !mem.Write(ptr, cs.reply[:k]) {
		return -int32(abi.ErrnoInval)
	}
	return int32(len(cs.reply))
}

// result_set(ptr, len) -> 0: the action's result.
func (r *Runtime) resultSet(_ context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	ptr, n := uint32(p[0]), uint32(p[1])
	if max := r.cfg.MaxResultBytes; int64(n) > int64(max) {
		return cs.limit("the script's result is " + strconv.FormatUint(uint64(n), 10) + " bytes, over the limit of " + strconv.Itoa(max))
	}
	b, e := cs.read(mem, ptr, n)
	if e != 0 {
		return e
	}
	cs.result = b
	return 0
}

// config_get(key_ptr, key_len) -> len: the reply is the encoded value.
func (r *Runtime) configGet(_ context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	key, e := cs.readString(mem, uint32(p[0]), uint32(p[1]))
	if e != 0 {
		return e
	}
	v, ok := cs.m.config[key]
	if !ok {
		return cs.fail(abi.ErrnoNotFound, "no configuration key "+strconv.Quote(key))
	}
	return cs.ok(v)
}

// log(ptr, len) -> 0.
func (r *Runtime) log(_ context.Context, cs *callState, mem api.Memory, p []uint64) int32 {
	n := min(uint32(p[1]), maxLogLineBytes+1)
	line, e := cs.readString(mem, uint32(p[0]), n)
	if e != 0 {
		return e
	}
	cs.log(line)
	return 0
}
