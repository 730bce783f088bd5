package sdk_test

import (
	"errors"
	"fmt"

	"github.com/profiled/profiled/sdk"
)

// A handler is plain Go: the adapter (sdk.Login here, exported as the
// login action with //go:wasmexport login) decodes the call, runs it and
// encodes what it returns. Outside the sandbox every host function fails,
// as this run shows: test a script with `profiled script test`, which runs
// it in the real sandbox against a real database.
func Example_handler() {
	loginUser := func(email, password string) (*sdk.Profile, error) {
		var p sdk.Profile
		var hash string
		err := sdk.QueryRow("SELECT id, email, password FROM users WHERE email = ?", email).
			Scan(&p.UserID, &p.Email, &hash)
		switch {
		case errors.Is(err, sdk.ErrNoRows):
			return nil, sdk.ErrWrongCredentials // unknown email: same answer as a wrong password
		case err != nil:
			return nil, err // a failure: logged, shown to the connection's admins only
		}
		ok, err := sdk.BcryptCompare(hash, password)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, sdk.ErrWrongCredentials
		}
		return &p, nil
	}
	// In the script: func login() int32 { return sdk.Login(loginUser) }
	_, err := loginUser("ann@example.com", "correct horse")
	fmt.Println(err)
	// Output: sdk: not inside an action call
}

// Validation refuses an input with a message shown to the end user as it
// is; the outcome errors (ErrUserExists, ...) are compared with errors.Is.
func ExampleValidation() {
	create := func(u sdk.NewUser) (*sdk.Profile, error) {
		if len(u.Password) < 10 {
			return nil, sdk.Validation("the password needs at least 10 characters")
		}
		return &sdk.Profile{UserID: "42", Email: u.Email}, nil
	}
	_, err := create(sdk.NewUser{Email: "bob@example.com", Password: "hunter2"})
	var v *sdk.ValidationError
	fmt.Println(errors.As(err, &v), v.Message)
	fmt.Println(errors.Is(fmt.Errorf("insert: %w", sdk.ErrUserExists), sdk.ErrUserExists))
	// Output:
	// true the password needs at least 10 characters
	// true
}
