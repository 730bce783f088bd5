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

// Credentials are what a login handler receives: the password and the
// email or the username the user typed (one of them may be empty; Username
// is set only on connections that allow logging in by username).
type Credentials struct {
	Email, Username, Password string
}

// LoginWith adapts a login handler that also accepts a username: find the
// user by c.Email, or by c.Username when the email is empty, check the
// password, then return the profile, ErrWrongCredentials, or ErrBlocked
// (only after the password matched) for a disabled account.
//
//	//go:wasmexport login
//	func login() int32 { return sdk.LoginWith(loginUser) }
func LoginWith(fn func(c Credentials) (*Profile, error)) int32 {
	return serve(func(a *args) (*Profile, error) {
		var c Credentials
		c.Email, c.Password = a.str(), a.str()
		if a.more() {
			c.Username = a.str()
		}
		if a.err != nil {
			return nil, a.err
		}
		return fn(c)
	}, false)
}

// Lookup is what a get_user handler receives: the email, or the username
// (on connections that allow logging in by username) when Email is empty.
type Lookup struct {
	Email, Username string
}

// GetUserWith is GetUser for handlers that also look users up by username.
func GetUserWith(fn func(k Lookup) (*Profile, error)) int32 {
	return serve(func(a *args) (*Profile, error) {
		var k Lookup
		k.Email = a.str()
		if a.more() {
			k.Username = a.str()
		}
		if a.err != nil {
			return nil, a.err
		}
		return fn(k)
	}, true)
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
	n   int // arguments left to read
	err error
}

// more reports whether an optional trailing argument is present (a host
// older than the argument sends fewer).
func (a *args) more() bool { return a.err == nil && a.n > 0 }

func (a *args) str() string {
	if a.err != nil {
		return ""
	}
	a.n--
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
	a.n--
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
		n, err := a.d.List()
		if err != nil {
			a.err = errMalformedArgs
		}
		a.n = n
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
	case errors.Is(err, ErrBlocked):
		return abi.StatusBlocked
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
