package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/profiled/profiled/client"
)

// bearer sends a token with every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// Log in on a connection, then call a management operation with a token,
// and read the code of a refusal. The server here is a stand-in answering
// as `profiled serve` does at /graphql.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(fakeProfiled))
	defer srv.Close()
	ctx := context.Background()

	// No token: the public operations.
	anon := graphql.NewClient(srv.URL+"/graphql", http.DefaultClient)
	res, err := client.Login(ctx, anon, "main", "ann@example.com", "correct horse")
	if err != nil {
		fmt.Println(err)
		return
	}
	u := res.Login.User
	fmt.Println("logged in:", *u.Email, u.EmailVerified, res.Login.AccessToken != "")

	// A user token cannot call management operations: FORBIDDEN.
	user := graphql.NewClient(srv.URL+"/graphql", &http.Client{Transport: bearer{res.Login.AccessToken}})
	_, err = client.GetUser(ctx, user, u.Id)
	var list gqlerror.List
	if errors.As(err, &list) {
		fmt.Println("refused:", list[0].Extensions["code"])
	}
	// Output:
	// logged in: ann@example.com true true
	// refused: FORBIDDEN
}

// Log in by username on a connection with requiresUsername (a DATABASE or
// custom-database connection with Auth0's "Requires Username"). Login,
// by email, is unchanged; on a connection without requiresUsername the
// server refuses a username with BAD_USER_INPUT (field "username"), and a
// wrong username or password is INVALID_CREDENTIALS, the same error as
// for an unknown username.
func ExampleLoginByUsername() {
	srv := httptest.NewServer(http.HandlerFunc(fakeProfiled))
	defer srv.Close()
	ctx := context.Background()
	anon := graphql.NewClient(srv.URL+"/graphql", http.DefaultClient)

	res, err := client.LoginByUsername(ctx, anon, "staff", "ann", "correct horse")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logged in:", *res.Login.User.Username, res.Login.AccessToken != "")

	_, err = client.LoginByUsername(ctx, anon, "main", "ann", "correct horse")
	var list gqlerror.List
	if errors.As(err, &list) {
		fmt.Println("refused:", list[0].Extensions["code"], list[0].Extensions["field"])
	}
	// Output:
	// logged in: ann true
	// refused: BAD_USER_INPUT username
}

// fakeProfiled answers Login and refuses everything else as a user token
// would be refused.
func fakeProfiled(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OperationName string
		Variables     map[string]any
	}
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &req)
	w.Header().Set("Content-Type", "application/json")
	if req.OperationName == "LoginByUsername" {
		if req.Variables["connection"] != "staff" {
			io.WriteString(w, `{"errors":[{"message":"connection \"main\" does not let its users log in by username: give the email","path":["login"],
				"extensions":{"code":"BAD_USER_INPUT","field":"username"}}],"data":null}`)
			return
		}
		io.WriteString(w, `{"data":{"login":{"accessToken":"eyJ.user.token","idToken":"eyJ.id","expiresIn":3600,
			"user":{"id":"staff|1","connection":"staff","email":"ann@example.com","username":"ann","emailVerified":true,"identities":[]}}}}`)
		return
	}
	if req.OperationName == "Login" && r.Header.Get("Authorization") == "" {
		io.WriteString(w, `{"data":{"login":{"accessToken":"eyJ.user.token","idToken":"eyJ.id","expiresIn":3600,
			"user":{"id":"main|1","connection":"main","email":"ann@example.com","emailVerified":true,"identities":[]}}}}`)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		io.WriteString(w, `{"errors":[{"message":"a valid bearer token is required","extensions":{"code":"UNAUTHENTICATED"}}],"data":null}`)
		return
	}
	io.WriteString(w, `{"errors":[{"message":"a user token cannot call management operations","path":["user"],"extensions":{"code":"FORBIDDEN"}}],"data":{"user":null}}`)
}
