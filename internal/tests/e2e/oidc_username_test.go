package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

// usernameConnection creates a DATABASE connection with requiresUsername
// and signs up a user on it.
func usernameConnection(t *testing.T, e *env, name, email, username string) string {
	t.Helper()
	r := e.raw(e.admin, `mutation($n: String!) { createConnection(input: {name: $n, strategy: DATABASE, requiresUsername: true}) { name } }`, map[string]any{"n": name})
	wantOK(t, "create connection "+name, r)
	su, err := client.Signup(context.Background(), e.client(""), name, email, "correct horse battery", &username, nil)
	mustNoErr(t, err)
	return su.Signup.Id
}

// TestOIDCSignInByUsername: the authorization-code flow of a relying
// party nobody here wrote (golang.org/x/oauth2 with PKCE, coreos/go-oidc
// verifying the ID token), signing in on the hosted page in a real
// headless Chromium by username. The connection requires usernames, so
// the page asks for "Username or email" (Auth0's Universal Login for such
// a connection); an unknown username and a wrong password read the same;
// the username matches in any case; the email still works.
func TestOIDCSignInByUsername(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		id := usernameConnection(t, e, "main", "ann@example.com", "ann")
		web := newRP(t, e, service.AppRegularWeb, "Web shop")
		bctx := browser(t)

		attempt := func(identifier, password string) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(
				chromedp.WaitVisible(chromedp.CSS(`#username`)),
				chromedp.Clear(chromedp.CSS(`#username`)),
				chromedp.SendKeys(chromedp.CSS(`#username`), identifier),
				chromedp.SendKeys(chromedp.CSS(`#password`), password),
				// The page's error goes first, so a wait for #error below
				// finds the answer's page, not this one.
				jsStep(`document.getElementById('error')?.remove()`),
				chromedp.Click(chromedp.CSS(`#submit`)),
			)
		}
		run(t, bctx, chromedp.Navigate(web.srv.URL+"/start"), chromedp.WaitVisible(chromedp.CSS(`#username`)))
		label := text(t, bctx, `label[for=username]`)
		run(t, bctx, attempt("nobody", "correct horse battery"), chromedp.WaitVisible(chromedp.CSS(`#error`)))
		errUnknown := text(t, bctx, `#error`)
		run(t, bctx, attempt("ann", "wrong horse battery"), chromedp.WaitVisible(chromedp.CSS(`#error`)))
		errWrong := text(t, bctx, `#error`)
		if label != "Username or email" {
			t.Fatalf("the identifier's label: %q", label)
		}
		if errUnknown != "Wrong username, email or password." || errWrong != errUnknown {
			t.Fatalf("unknown username %q, wrong password %q: want the same sentence", errUnknown, errWrong)
		}
		run(t, bctx, attempt("ANN", "correct horse battery"), chromedp.WaitVisible(chromedp.CSS(`#rp-done`)))
		tok, idt, claims := web.tokens()
		if idt.Subject != id || claims["email"] != "ann@example.com" || idt.Issuer != e.issuer {
			t.Fatalf("ID token: sub %q (want %q) claims %v", idt.Subject, id, claims)
		}
		if r := meEmail(t, e, tok.AccessToken); r.code() != "" || !strings.Contains(string(r.Data), "ann@example.com") {
			t.Fatalf("me with the OP's access token: %+v", r)
		}

		// The email in the same field, in a fresh browser.
		other := newRP(t, e, service.AppSPA, "SPA")
		b2 := browser(t)
		run(t, b2, chromedp.Navigate(other.srv.URL+"/start"), attempt("ann@example.com", "correct horse battery"), chromedp.WaitVisible(chromedp.CSS(`#rp-done`)))
		if _, idt, _ := other.tokens(); idt.Subject != id {
			t.Fatalf("by email: sub %q", idt.Subject)
		}
	})
}

// jsStep runs a JavaScript expression in the page as a browser step.
func jsStep(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool]("("+expr+", true)")(ctx, t)
		return chromedp.Void{}, err
	}
}

var reErrorText = regexp.MustCompile(`<p class="error" role="alert" id="error">([^<]*)</p>`)

// hostedPage is a browser-like client on one sign-in request of the
// hosted page: it keeps the request's id and CSRF token and posts the
// form again and again, as a person retrying would.
type hostedPage struct {
	t        *testing.T
	e        *env
	hc       *http.Client
	ar, csrf string
	body     string
}

func openHostedPage(t *testing.T, e *env, app oidcApp) *hostedPage {
	t.Helper()
	return openHostedPageWith(t, e, app, oauth2.GenerateVerifier())
}

// openHostedPageWith is openHostedPage for a code flow with this PKCE
// verifier (to exchange the code it ends with).
func openHostedPageWith(t *testing.T, e *env, app oidcApp, verifier string) *hostedPage {
	t.Helper()
	hc := browserClient(t)
	res, err := hc.Get(app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	mustNoErr(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	ar, csrf := reAuthReq.FindStringSubmatch(string(body)), reCSRF.FindStringSubmatch(string(body))
	if res.StatusCode != http.StatusOK || ar == nil || csrf == nil {
		t.Fatalf("sign-in page (%d):\n%s", res.StatusCode, body)
	}
	return &hostedPage{t: t, e: e, hc: hc, ar: ar[1], csrf: csrf[1], body: string(body)}
}

// post sends the form with these fields and returns the status and the
// page's error sentence ("" when none, e.g. on the redirect to the RP).
func (p *hostedPage) post(connection string, fields url.Values) (int, string) {
	p.t.Helper()
	return p.postTo("/login", connection, fields)
}

func (p *hostedPage) postTo(path, connection string, fields url.Values) (int, string) {
	p.t.Helper()
	v := url.Values{"authRequestID": {p.ar}, "csrf": {p.csrf}, "connection": {connection}}
	for k, vs := range fields {
		v[k] = vs
	}
	res, err := p.hc.PostForm(p.e.issuer+path, v)
	mustNoErr(p.t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if m := reErrorText.FindStringSubmatch(string(b)); m != nil {
		return res.StatusCode, m[1]
	}
	return res.StatusCode, ""
}

// TestOIDCHostedPageUsernameRefusals: the hosted page's bad inputs by
// username. A username on a connection without requiresUsername is taken
// as an email (so it is a wrong email, not a hint); both fields at once
// are refused before anything is checked; an unknown username, a
// malformed one and a wrong password read the same; a blocked user is
// told so only with the right password; ten wrong passwords by username
// (in changing case) lock the username, even for the right password,
// while the email login of the same user is counted apart.
func TestOIDCHostedPageUsernameRefusals(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	ctx := context.Background()
	usernameConnection(t, e, "staff", "ann@example.com", "ann")
	blocked := usernameConnection(t, e, "crew", "bo@example.com", "bo")
	if _, err := client.UpdateUser(ctx, e.adminClient(), blocked, client.UpdateUserInput{Blocked: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	createDBConnection(t, e, "plain")
	_, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "plain", Email: "cy@example.com", Password: ptr("correct horse battery"), Username: ptr("cy")})
	mustNoErr(t, err)

	// An application on the plain connection only: the page asks for an
	// email, and a username typed there is a wrong email.
	plainApp := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{Connections: []string{"plain"}, SetConnections: true})
	p := openHostedPage(t, e, plainApp)
	if !strings.Contains(p.body, `id="email"`) || strings.Contains(p.body, `id="username"`) {
		t.Fatalf("an email-only page:\n%s", p.body)
	}
	if st, msg := p.post("plain", url.Values{"username": {"cy"}, "password": {"correct horse battery"}}); st != http.StatusUnauthorized || msg != "Wrong email or password." {
		t.Fatalf("a username on a connection without requiresUsername: %d %q", st, msg)
	}
	if st, msg := p.post("plain", url.Values{"email": {"cy@example.com"}, "password": {"correct horse battery"}}); st != http.StatusFound || msg != "" {
		t.Fatalf("the same user by email: %d %q", st, msg)
	}

	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{Connections: []string{"staff", "crew"}, SetConnections: true})
	p = openHostedPage(t, e, app)
	if !strings.Contains(p.body, `<label for="username">Username or email</label>`) || strings.Contains(p.body, `id="email"`) {
		t.Fatalf("a username page:\n%s", p.body)
	}
	const wrong = "Wrong username, email or password."
	for _, tc := range []struct {
		name, conn string
		fields     url.Values
		status     int
		msg        string
	}{
		{"no identifier", "staff", url.Values{"password": {"correct horse battery"}}, http.StatusBadRequest, "Enter your username or email, and your password."},
		{"both fields", "staff", url.Values{"email": {"ann@example.com"}, "username": {"ann"}, "password": {"correct horse battery"}}, http.StatusBadRequest, "Enter your username or your email, not both."},
		{"unknown username", "staff", url.Values{"username": {"nobody"}, "password": {"correct horse battery"}}, http.StatusUnauthorized, wrong},
		{"malformed username", "staff", url.Values{"username": {"ann lee"}, "password": {"correct horse battery"}}, http.StatusUnauthorized, wrong},
		{"wrong password", "staff", url.Values{"username": {"ann"}, "password": {"wrong horse battery"}}, http.StatusUnauthorized, wrong},
		{"unknown email", "staff", url.Values{"username": {"nobody@example.com"}, "password": {"correct horse battery"}}, http.StatusUnauthorized, wrong},
		{"blocked, wrong password", "crew", url.Values{"username": {"bo"}, "password": {"wrong horse battery"}}, http.StatusUnauthorized, wrong},
		{"blocked, right password", "crew", url.Values{"username": {"bo"}, "password": {"correct horse battery"}}, http.StatusUnauthorized, "This account is blocked."},
	} {
		if st, msg := p.post(tc.conn, tc.fields); st != tc.status || msg != tc.msg {
			t.Errorf("%s: %d %q, want %d %q", tc.name, st, msg, tc.status, tc.msg)
		}
	}

	// Lockout: the wrong password above was the first failure for "ann";
	// nine more (in changing case) reach the threshold of ten.
	for i := range 9 {
		u := "ann"
		if i%2 == 1 {
			u = "ANN"
		}
		if st, msg := p.post("staff", url.Values{"username": {u}, "password": {"wrong horse battery"}}); st != http.StatusUnauthorized || msg != wrong {
			t.Fatalf("failure %d: %d %q", i+2, st, msg)
		}
	}
	if st, msg := p.post("staff", url.Values{"username": {"Ann"}, "password": {"correct horse battery"}}); st != http.StatusTooManyRequests || msg != "Too many failed attempts. Try again later." {
		t.Fatalf("after ten failures by username, the right password: %d %q", st, msg)
	}
	// Counted under the username: the email login is a separate account
	// key (as in login(email:)), and it signs in.
	if st, msg := p.post("staff", url.Values{"username": {"ann@example.com"}, "password": {"correct horse battery"}}); st != http.StatusFound || msg != "" {
		t.Fatalf("by email after the username's lockout: %d %q", st, msg)
	}
}

// TestOIDCHostedSignupWithUsername: the hosted sign-up page asks for a
// username beside the email where a connection requires one; the
// connection's rules are told in the page; the new user is signed in and
// can then sign in by username.
func TestOIDCHostedSignupWithUsername(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	wantOK(t, "connection", e.raw(e.admin, `mutation { createConnection(input: {name: "staff", strategy: DATABASE, requiresUsername: true}) { name } }`, nil))
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	p := openHostedPage(t, e, app)
	res, err := p.hc.Get(e.issuer + "/signup?authRequestID=" + url.QueryEscape(p.ar))
	mustNoErr(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `id="email"`) || !strings.Contains(string(body), `<label for="username">Username</label>`) {
		t.Fatalf("the sign-up page:\n%s", body)
	}
	signup := func(username string) (int, string) {
		return p.postTo("/signup", "staff", url.Values{"email": {"dee@example.com"}, "username": {username}, "password": {"correct horse battery"}})
	}
	if st, msg := signup(""); st != http.StatusBadRequest || !strings.Contains(msg, "username is required") {
		t.Fatalf("no username: %d %q", st, msg)
	}
	if st, msg := signup("dee lee"); st != http.StatusBadRequest || !strings.Contains(msg, "username") {
		t.Fatalf("a username breaking the rules: %d %q", st, msg)
	}
	if st, msg := signup("Dee"); st != http.StatusFound || msg != "" {
		t.Fatalf("sign-up: %d %q", st, msg)
	}
	u, err := e.store.UserByConnectionUsername(context.Background(), "staff", "dee")
	mustNoErr(t, err)
	if u.Email != "dee@example.com" {
		t.Fatalf("stored %+v", u)
	}
	p = openHostedPage(t, e, app)
	if st, msg := p.post("staff", url.Values{"username": {"dee"}, "password": {"correct horse battery"}}); st != http.StatusFound || msg != "" {
		t.Fatalf("sign-in by the new username: %d %q", st, msg)
	}
}

// TestOIDCHostedPageUsernameCustomDatabase: on a custom database with
// requiresUsername (Django's auth_user behind templates/django, legacy
// mode), the hosted page hands an entry without '@' to the login script
// as the username, and the code flow completes for the user the script
// found; a wrong password reads as on a DATABASE connection.
func TestOIDCHostedPageUsernameCustomDatabase(t *testing.T) {
	e := newScriptEnv(t, sqliteStore)
	dsn, db := djangoTable(t)
	const hash = "pbkdf2_sha256$1000$s4ltsalt$rEpMAmhKl2L4xgHQG8aqy7BmcoyzisVKu7zcts8AwTk=" // hunter22
	if _, err := db.Exec(`INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
		VALUES (1, ?, 0, 'ann', 'Ann', 'Lee', 'ann@example.com', 0, 1, NOW())`, hash); err != nil {
		t.Fatal(err)
	}
	e.gql.CustomConnection(t, e.admin, client.ConnectionInput{Name: "django", RequiresUsername: ptr(true), DatabaseURL: ptr(testmysql.URLOf(dsn))}, script(t, "templates/django"))
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	p := openHostedPage(t, e, app)
	if st, msg := p.post("django", url.Values{"username": {"ann"}, "password": {"hunter23"}}); st != http.StatusUnauthorized || msg != "Wrong username, email or password." {
		t.Fatalf("wrong password: %d %q", st, msg)
	}
	v := oauth2.GenerateVerifier()
	p = openHostedPageWith(t, e, app, v)
	res, err := p.hc.PostForm(e.issuer+"/login", url.Values{"authRequestID": {p.ar}, "csrf": {p.csrf}, "connection": {"django"}, "username": {"ann"}, "password": {"hunter22"}})
	mustNoErr(t, err)
	res.Body.Close()
	tok, err := app.conf.Exchange(context.Background(), codeFrom(t, res), oauth2.VerifierOption(v))
	mustNoErr(t, err)
	if r := meEmail(t, e, tok.AccessToken); !strings.Contains(string(r.Data), "ann@example.com") {
		t.Fatalf("me: %+v", r)
	}
}
