package sdk

import (
	"errors"
	"runtime"

	"github.com/profiled/profiled/abi"
)

// Login adapts a login handler: find the user by email, check the password
// (BcryptCompare), return the profile, or ErrWrongCredentials when the email
// is unknown or the password does not match.
//
//	//go:wasmexport login
//	func login() int32 { return sdk.Login(loginUser) }
func Login(fn func(email, password string) (*Profile, error)) int32 {
	return serve(func(a *args) (*Profile, error) {
		email, password := a.str(), a.str()
		if a.err != nil {
			return nil, a.err
		}
		return fn(email, password)
	}, false)
}

// GetUser adapts a get_user handler: return the profile of the user with
// that email (no password check), or ErrUserNotFound (returning nil, nil
// means not found too).
func GetUser(fn func(email string) (*Profile, error)) int32 {
	return serve(func(a *args) (*Profile, error) {
		email := a.str()
		if a.err != nil {
			return nil, a.err
		}
		return fn(email)
	}, true)
}

// Create adapts a create handler: insert the user (hash the password
// first); return ErrUserExists when the email (or username) is taken,
// Validation("...") for invalid input. Returning a profile is optional.
func Create(fn func(u NewUser) (*Profile, error)) int32 {
	return serve(func(a *args) (*Profile, error) {
		if a.err != nil {
			return nil, a.err
		}
		u, err := decodeNewUser(&a.d)
		if err != nil {
			return nil, errors.New("sdk: malformed create arguments")
		}
		return fn(u)
	}, false)
}

// Verify adapts a verify handler: mark the user's email as verified; return
// ErrUserNotFound when there is no such user.
func Verify(fn func(email string) error) int32 {
	return serve(func(a *args) (*Profile, error) {
		email := a.str()
		if a.err != nil {
			return nil, a.err
		}
		return nil, fn(email)
	}, false)
}

// ChangePassword adapts a change_password handler: store a hash of
// newPassword for the user; ErrUserNotFound when nothing was updated.
func ChangePassword(fn func(email, newPassword string) error) int32 {
	return serve(func(a *args) (*Profile, error) {
		email, pw := a.str(), a.str()
		if a.err != nil {
			return nil, a.err
		}
		return nil, fn(email, pw)
	}, false)
}

// Delete adapts a delete handler: id is the user_id that login/get_user
// returned. Deleting a user that is already gone should succeed.
func Delete(fn func(id string) error) int32 {
	return serve(func(a *args) (*Profile, error) {
		id := a.str()
		if a.err != nil {
			return nil, a.err
		}
		return nil, fn(id)
	}, false)
}

// ChangeEmail adapts a change_email handler: set the user's email to
// newEmail with verified as its verification status; ErrUserNotFound when
// there is no such user, ErrUserExists when newEmail is taken.
func ChangeEmail(fn func(email, newEmail string, verified bool) error) int32 {
	return serve(func(a *args) (*Profile, error) {
		email, newEmail, verified := a.str(), a.str(), a.bool()
		if a.err != nil {
			return nil, a.err
		}
		return nil, fn(email, newEmail, verified)
	}, false)
}

var errMalformedArgs = errors.New("sdk: malformed call arguments")

// args reads the positional arguments of a call (a List).
type args struct {
	d   abi.Decoder
	err error
}

func (a *args) str() string {
	if a.err != nil {
		return ""
	}
	s, err := a.d.String()
	if err != nil {
		a.err = errMalformedArgs
	}
	return s
}

func (a *args) bool() bool {
	if a.err != nil {
		return false
	}
	v, err := a.d.Bool()
	if err != nil {
		a.err = errMalformedArgs
	}
	return v
}

// serve runs one action: it reads the arguments, runs h, turns its outcome
// into a Status and a result, and recovers a panic (StatusPanic: the host
// then discards the instance).
func serve(h func(a *args) (*Profile, error), nilIsNotFound bool) (st int32) {
	defer func() {
		if r := recover(); r != nil {
			msg := "panic: " + panicMessage(r)
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			Log(msg + "\n" + string(buf))
			setResult([]byte(msg))
			st = int32(abi.StatusPanic)
		}
	}()
	var a args
	raw, err := readReply(hostCallArgs())
	if err != nil {
		a.err = err
	} else {
		a.d.Reset(raw)
		if _, err := a.d.List(); err != nil {
			a.err = errMalformedArgs
		}
	}
	p, err := h(&a)
	if err != nil {
		return int32(fail(err))
	}
	if p == nil {
		if nilIsNotFound {
			return int32(abi.StatusUserNotFound)
		}
		return int32(abi.StatusOK)
	}
	b, err := p.encode(make([]byte, 0, 256))
	if err != nil {
		return int32(fail(errors.New("sdk: profile: " + err.Error())))
	}
	if err := setResult(b); err != nil {
		return int32(abi.StatusError)
	}
	return int32(abi.StatusOK)
}

func fail(err error) abi.Status {
	var ve *ValidationError
	switch {
	case errors.Is(err, ErrWrongCredentials):
		return abi.StatusWrongCredentials
	case errors.Is(err, ErrUserNotFound):
		return abi.StatusUserNotFound
	case errors.Is(err, ErrUserExists):
		return abi.StatusUserExists
	case errors.As(err, &ve):
		setResult([]byte(ve.Message))
		return abi.StatusValidation
	}
	setResult([]byte(err.Error()))
	return abi.StatusError
}

func setResult(b []byte) error { return status(hostResultSet(bptr(b), uint32(len(b)))) }

func panicMessage(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case interface{ String() string }:
		return v.String()
	}
	return "(non-string panic value)"
}

// The ABI marker: the host refuses modules without it.
//
//go:wasmexport profiled_abi_v1
func abiV1() {}
