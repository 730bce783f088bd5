package sdk

import (
	"unsafe"

	"github.com/profiled/profiled/abi"
)

func bptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

func sptr(s string) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

// readReply turns a host function's result into the reply bytes (n >= 0) or
// a *HostError (n < 0) carrying the reply as its message.
func readReply(n int32) ([]byte, error) {
	if n < 0 {
		e := &HostError{Errno: abi.Errno(-n)}
		if e.Errno != abi.ErrnoNoCall {
			if m := hostReplyRead(nil, 0); m > 0 {
				buf := make([]byte, m)
				hostReplyRead(bptr(buf), uint32(m))
				e.Message = string(buf)
			}
		}
		return nil, e
	}
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	hostReplyRead(bptr(buf), uint32(n))
	return buf, nil
}

// status turns a host function's result that carries no data into an error.
func status(n int32) error {
	if n >= 0 {
		return nil
	}
	_, err := readReply(n)
	return err
}
