package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/service"
)

// These tests drive the OpenID Provider over plain HTTP (a cookie jar
// plays the browser) and x/oauth2 for the token endpoint.

const rpRedirect = "http://127.0.0.1:9/callback" // never contacted: the redirect is read, not followed

type oidcApp struct {
	service.Application
	secret string
	conf   oauth2.Config
}

func createApp(t *testing.T, e *env, typ service.ApplicationType, spec service.ApplicationSpec) oidcApp {
	t.Helper()
	spec.Name, spec.Type = ptr("App "+string(typ)), typ
	if !spec.SetRedirectURIs {
		spec.SetRedirectURIs, spec.RedirectURIs = true, []string{rpRedirect}
	}
	app, secret, err := e.svc.CreateApplication(context.Background(), service.Operator(), spec)
	mustNoErr(t, err)
	return oidcApp{Application: app, secret: secret, conf: oauth2.Config{ClientID: app.ID, ClientSecret: secret,
		Endpoint:    oauth2.Endpoint{AuthURL: e.issuer + "/authorize", TokenURL: e.issuer + "/oauth/token"},
		RedirectURL: rpRedirect, Scopes: []string{"openid", "email", "offline_access"}}}
}

// browserClient follows redirects on the provider only.
func browserClient(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), "http://127.0.0.1:9/") || !strings.HasPrefix(req.URL.Host, "127.0.0.1") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

var (
	reAuthReq = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)
	reCSRF    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// authorize opens authURL and, when the sign-in form shows, signs in.
// It returns the last response (a redirect to the RP, or a page).
func authorize(t *testing.T, e *env, hc *http.Client, authURL, email, password string) *http.Response {
	t.Helper()
	return authorizeOn(t, e, hc, authURL, "main", email, password)
}

func authorizeOn(t *testing.T, e *env, hc *http.Client, authURL, connection, email, password string) *http.Response {
	t.Helper()
	res, err := hc.Get(authURL)
	mustNoErr(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="form"`) {
		return res
	}
	ar, csrf := reAuthReq.FindStringSubmatch(string(body)), reCSRF.FindStringSubmatch(string(body))
	if ar == nil || csrf == nil {
		t.Fatalf("sign-in page without its fields:\n%s", body)
	}
	res, err = hc.PostForm(e.issuer+"/login", url.Values{"authRequestID": {ar[1]}, "csrf": {csrf[1]},
		"connection": {connection}, "email": {email}, "password": {password}})
	mustNoErr(t, err)
	res.Body.Close()
	return res
}

// codeFrom reads the code of a redirect to the RP (failing on an error).
func codeFrom(t *testing.T, res *http.Response) string {
	t.Helper()
	loc, err := res.Location()
	if err != nil {
		t.Fatalf("no redirect (status %d)", res.StatusCode)
	}
	if !strings.HasPrefix(loc.String(), rpRedirect) || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s", loc)
	}
	return loc.Query().Get("code")
}

func oidcUser(t *testing.T, e *env, email string) string {
	t.Helper()
	r, err := client.Signup(context.Background(), e.client(""), "main", email, "correct horse battery", nil, nil)
	mustNoErr(t, err)
	return r.Signup.Id
}

// signInTokens runs the whole code flow with PKCE and returns the tokens.
func signInTokens(t *testing.T, e *env, app oidcApp, email string) *oauth2.Token {
	t.Helper()
	v := oauth2.GenerateVerifier()
	res := authorize(t, e, browserClient(t), app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), email, "correct horse battery")
	tok, err := app.conf.Exchange(context.Background(), codeFrom(t, res), oauth2.VerifierOption(v))
	mustNoErr(t, err)
	return tok
}

func refresh(app oidcApp, rt string) (*oauth2.Token, error) {
	return app.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: rt}).Token()
}

func wantOAuthError(t *testing.T, what string, err error, code string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), code) {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

func TestOIDCPKCEDowngrades(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	ctx := context.Background()
	createDBConnection(t, e, "main")
	oidcUser(t, e, "pk@example.com")
	spa := createApp(t, e, service.AppSPA, service.ApplicationSpec{})
	web := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})

	redirectError := func(what string, res *http.Response, code string) {
		t.Helper()
		loc, err := res.Location()
		if err != nil || !strings.HasPrefix(loc.String(), rpRedirect) || loc.Query().Get("error") != code || loc.Query().Get("code") != "" {
			t.Fatalf("%s: status %d location %v, want error=%s", what, res.StatusCode, loc, code)
		}
	}
	// A public client without PKCE, or with the plain method, is refused
	// before any sign-in.
	res, err := browserClient(t).Get(spa.conf.AuthCodeURL("st"))
	mustNoErr(t, err)
	redirectError("no code_challenge", res, "invalid_request")
	res, err = browserClient(t).Get(spa.conf.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123"), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
	mustNoErr(t, err)
	redirectError("plain", res, "invalid_request")

	// Missing and wrong verifiers are refused; the right one works once.
	v := oauth2.GenerateVerifier()
	code := codeFrom(t, authorize(t, e, browserClient(t), spa.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), "pk@example.com", "correct horse battery"))
	_, err = spa.conf.Exchange(ctx, code)
	wantOAuthError(t, "no verifier", err, "code_verifier required")
	_, err = spa.conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	wantOAuthError(t, "wrong verifier", err, "invalid_grant")
	other := spa.conf
	other.RedirectURL = "http://127.0.0.1:9/other"
	_, err = other.Exchange(ctx, code, oauth2.VerifierOption(v))
	wantOAuthError(t, "redirect_uri mismatch", err, "invalid_grant")
	_, err = spa.conf.Exchange(ctx, code, oauth2.VerifierOption(v))
	mustNoErr(t, err)
	_, err = spa.conf.Exchange(ctx, code, oauth2.VerifierOption(v))
	wantOAuthError(t, "code replay", err, "invalid_grant")

	// A confidential client that sent a challenge must send its verifier.
	v = oauth2.GenerateVerifier()
	code = codeFrom(t, authorize(t, e, browserClient(t), web.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), "pk@example.com", "correct horse battery"))
	_, err = web.conf.Exchange(ctx, code)
	wantOAuthError(t, "confidential client without its verifier", err, "code_verifier required")
	// Another client cannot redeem it either.
	_, err = spa.conf.Exchange(ctx, code, oauth2.VerifierOption(v))
	wantOAuthError(t, "another client's code", err, "invalid_")

	// Open redirect: an unregistered redirect_uri is never redirected to.
	for _, evil := range []string{"https://evil.example/cb", rpRedirect + "/../evil", rpRedirect + "?x=1", "http://127.0.0.1:9/callback#frag"} {
		bad := spa.conf
		bad.RedirectURL = evil
		res, err := browserClient(t).Get(bad.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		mustNoErr(t, err)
		if loc, _ := res.Location(); loc != nil || res.StatusCode < 400 {
			t.Fatalf("redirect_uri %q: status %d location %v", evil, res.StatusCode, loc)
		}
	}
	// Registering one that could redirect anywhere is refused.
	for _, bad := range []string{"https://*.example.com/cb", "javascript:alert(1)", "http://evil.example/cb", "/relative"} {
		_, _, err := e.svc.CreateApplication(ctx, service.Operator(), service.ApplicationSpec{Name: ptr("x"), Type: service.AppSPA, SetRedirectURIs: true, RedirectURIs: []string{bad}})
		if code, _ := service.CodeOf(err); code != service.CodeBadUserInput {
			t.Fatalf("redirect URI %q registered: %v", bad, err)
		}
	}
	// A logout redirect to an unregistered URL is refused.
	res, err = browserClient(t).Get(e.issuer + "/v2/logout?client_id=" + spa.ID + "&post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/"))
	mustNoErr(t, err)
	if loc, _ := res.Location(); loc != nil && strings.Contains(loc.String(), "evil") {
		t.Fatalf("logout redirected to %s", loc)
	}
}

// A sign-in without offline_access gets no refresh token, but the
// application is still listed as authorized; revoking the grant removes it.
func TestOIDCGrantWithoutRefreshToken(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	createDBConnection(t, e, "main")
	userID := oidcUser(t, e, "gr@example.com")
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	app.conf.Scopes = []string{"openid", "email"}
	if tok := signInTokens(t, e, app, "gr@example.com"); tok.RefreshToken != "" {
		t.Fatal("a refresh token without offline_access")
	}
	r := e.raw(e.admin, `query($id: ID!) { user(id: $id) { authorizedApplications { id scopes application { id } } devices { id } } }`, map[string]any{"id": userID})
	var got struct {
		User struct {
			AuthorizedApplications []struct {
				ID          string
				Scopes      []string
				Application struct{ ID string }
			}
			Devices []struct{ ID string }
		}
	}
	if jsonUnmarshal(r.Data, &got) != nil || len(got.User.AuthorizedApplications) != 1 || got.User.AuthorizedApplications[0].Application.ID != app.ID || len(got.User.Devices) != 0 {
		t.Fatalf("after a sign-in without offline_access: %s", r.Raw)
	}
	if r := e.raw(e.admin, `mutation($id: ID!) { revokeGrant(id: $id) { id } }`, map[string]any{"id": got.User.AuthorizedApplications[0].ID}); r.code() != "" {
		t.Fatalf("revokeGrant: %s", r.Raw)
	}
	r = e.raw(e.admin, `query($id: ID!) { user(id: $id) { authorizedApplications { id } } }`, map[string]any{"id": userID})
	if !strings.Contains(string(r.Data), `"authorizedApplications":[]`) {
		t.Fatalf("after revokeGrant: %s", r.Data)
	}
}

func TestOIDCRefreshReuse(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		createDBConnection(t, e, "main")
		userID := oidcUser(t, e, "re@example.com")
		app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
		tok := signInTokens(t, e, app, "re@example.com")
		t2, err := refresh(app, tok.RefreshToken)
		mustNoErr(t, err)
		// The rotated token used again: the whole family dies, the newest
		// token included.
		_, err = refresh(app, tok.RefreshToken)
		wantOAuthError(t, "reuse", err, "invalid_grant")
		_, err = refresh(app, t2.RefreshToken)
		wantOAuthError(t, "the family after reuse", err, "invalid_grant")
		r := e.raw(e.admin, `query($id: ID!) { user(id: $id) { devices { id } logs(first: 50) { edges { node { type detail } } } } }`, map[string]any{"id": userID})
		if !strings.Contains(string(r.Data), service.EventRefreshReuse) || !strings.Contains(string(r.Data), `"devices":[]`) {
			t.Fatalf("after reuse: %s", r.Data)
		}

		// With a reuse interval, an immediate retry of the previous token
		// is accepted (the clock does not move).
		lenient := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{Refresh: &service.RefreshTokenSpec{ReuseInterval: ptr(time.Minute)}})
		tok = signInTokens(t, e, lenient, "re@example.com")
		_, err = refresh(lenient, tok.RefreshToken)
		mustNoErr(t, err)
		t3, err := refresh(lenient, tok.RefreshToken)
		mustNoErr(t, err)
		// Past the interval it is reuse.
		e.clock.Advance(2 * time.Minute)
		_, err = refresh(lenient, tok.RefreshToken)
		wantOAuthError(t, "reuse past the interval", err, "invalid_grant")
		_, err = refresh(lenient, t3.RefreshToken)
		wantOAuthError(t, "family after reuse past the interval", err, "invalid_grant")

		// Another client cannot use it; the revocation endpoint revokes it.
		tok = signInTokens(t, e, app, "re@example.com")
		other := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
		_, err = refresh(other, tok.RefreshToken)
		wantOAuthError(t, "another client's token", err, "invalid_grant")
		form := url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}
		req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.ID, app.secret)
		res, err := http.DefaultClient.Do(req)
		mustNoErr(t, err)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		_, err = refresh(app, tok.RefreshToken)
		wantOAuthError(t, "after revocation", err, "invalid_grant")
	})
}

// TestOIDCRevocationAlwaysRevokes: the revocation endpoint revokes every
// refresh token it is given, with the refresh_token hint or none. The
// OpenID library used to try a token we did not claim as a refresh token
// as one of its encrypted opaque tokens, and about one random token in 17
// "decrypted" to a token ID and subject: the endpoint answered 200 and the
// token stayed valid (TestOIDCRefreshReuse failed now and then at "after
// revocation"). 100 tokens: that bug leaves one valid with a probability
// of 1 - (16/17)^100 > 99.7%.
func TestOIDCRevocationAlwaysRevokes(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	ctx := context.Background()
	createDBConnection(t, e, "main")
	oidcUser(t, e, "rv@example.com")
	us, err := e.svc.UsersByEmail(ctx, "rv@example.com")
	mustNoErr(t, err)
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	for i := range 100 {
		tok, _, err := e.svc.IssueRefreshToken(ctx, service.NewDevice{App: app.Application, User: us[0], Scopes: []string{"openid", "offline_access"}})
		mustNoErr(t, err)
		form := url.Values{"token": {tok}}
		if i%2 == 0 {
			form.Set("token_type_hint", "refresh_token")
		}
		req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.ID, app.secret)
		res, err := http.DefaultClient.Do(req)
		mustNoErr(t, err)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("revoke %d: status %d", i, res.StatusCode)
		}
		if _, err := e.svc.CheckRefreshToken(ctx, tok); !errors.Is(err, service.ErrInvalidGrant) {
			t.Fatalf("token %d (hint %q) still valid after the revocation endpoint answered 200: %v", i, form.Get("token_type_hint"), err)
		}
	}
}

func TestOIDCRefreshExpiryAndLimits(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	ctx := context.Background()
	createDBConnection(t, e, "main")
	oidcUser(t, e, "ex@example.com")
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{Refresh: &service.RefreshTokenSpec{
		AbsoluteLifetime: ptr(3 * time.Hour), IdleLifetime: ptr(time.Hour), MaxActive: ptr(2)}})

	// Idle: unused for longer than the idle lifetime.
	tok := signInTokens(t, e, app, "ex@example.com")
	e.clock.Advance(61 * time.Minute)
	_, err := refresh(app, tok.RefreshToken)
	wantOAuthError(t, "idle", err, "invalid_grant")

	// Absolute: used every 50 minutes, it still ends 3 hours after sign-in.
	tok = signInTokens(t, e, app, "ex@example.com")
	rt := tok.RefreshToken
	for i := 0; i < 3; i++ {
		e.clock.Advance(50 * time.Minute)
		nt, err := refresh(app, rt)
		mustNoErr(t, err)
		rt = nt.RefreshToken
	}
	e.clock.Advance(40 * time.Minute) // 3h10 after sign-in, 40 min after the last use
	_, err = refresh(app, rt)
	wantOAuthError(t, "absolute", err, "invalid_grant")

	// Limits: a third sign-in revokes the oldest of two devices.
	t1 := signInTokens(t, e, app, "ex@example.com")
	e.clock.Advance(time.Minute)
	t2 := signInTokens(t, e, app, "ex@example.com")
	e.clock.Advance(time.Minute)
	t3 := signInTokens(t, e, app, "ex@example.com")
	_, err = refresh(app, t1.RefreshToken)
	wantOAuthError(t, "oldest beyond the limit", err, "invalid_grant")
	for _, tk := range []*oauth2.Token{t2, t3} {
		_, err := refresh(app, tk.RefreshToken)
		mustNoErr(t, err)
	}
	ds, err := e.svc.Devices(ctx, mustUserID(t, e, "ex@example.com"))
	mustNoErr(t, err)
	if len(ds) != 2 {
		t.Fatalf("devices: %d", len(ds))
	}
}

func mustUserID(t *testing.T, e *env, email string) string {
	t.Helper()
	us, err := e.svc.UsersByEmail(context.Background(), email)
	mustNoErr(t, err)
	if len(us) != 1 {
		t.Fatalf("users with %s: %d", email, len(us))
	}
	return us[0].ID
}

func TestOIDCRefreshRevokedWithTheUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		createDBConnection(t, e, "main")
		app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
		update := func(id, input string) {
			t.Helper()
			r := e.raw(e.admin, `mutation($id: ID!) { updateUser(id: $id, input: `+input+`) { id } }`, map[string]any{"id": id})
			if r.code() != "" {
				t.Fatalf("updateUser %s: %+v", input, r)
			}
		}
		// Blocked.
		id := oidcUser(t, e, "bl@example.com")
		tok := signInTokens(t, e, app, "bl@example.com")
		update(id, `{blocked: true}`)
		// The Devices tab shows at once that nothing works any more.
		if r := e.raw(e.admin, `query($id: ID!) { user(id: $id) { devices { id } } }`, map[string]any{"id": id}); !strings.Contains(string(r.Data), `"devices":[]`) {
			t.Fatalf("devices of a blocked user: %s", r.Data)
		}
		_, err := refresh(app, tok.RefreshToken)
		wantOAuthError(t, "blocked user", err, "invalid_grant")
		update(id, `{blocked: false}`)
		_, err = refresh(app, tok.RefreshToken)
		wantOAuthError(t, "unblocked user's old token", err, "invalid_grant")

		// Password changed.
		id = oidcUser(t, e, "pw@example.com")
		hc := browserClient(t)
		v := oauth2.GenerateVerifier()
		res := authorize(t, e, hc, app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), "pw@example.com", "correct horse battery")
		tok, err = app.conf.Exchange(context.Background(), codeFrom(t, res), oauth2.VerifierOption(v))
		mustNoErr(t, err)
		// The browser's login session signs in again without the form...
		res, err = hc.Get(app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
		mustNoErr(t, err)
		res.Body.Close()
		codeFrom(t, res)
		update(id, `{password: "another long password"}`)
		_, err = refresh(app, tok.RefreshToken)
		wantOAuthError(t, "password changed", err, "invalid_grant")
		// ...until the password changes.
		res, err = hc.Get(app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
		mustNoErr(t, err)
		res.Body.Close()
		if loc, _ := res.Location(); res.StatusCode != http.StatusOK || loc != nil {
			t.Fatalf("SSO after a password change: %d %v", res.StatusCode, loc)
		}

		// Deleted.
		id = oidcUser(t, e, "de@example.com")
		tok = signInTokens(t, e, app, "de@example.com")
		if r := e.raw(e.admin, `mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": id}); r.code() != "" {
			t.Fatalf("deleteUser: %+v", r)
		}
		_, err = refresh(app, tok.RefreshToken)
		wantOAuthError(t, "deleted user", err, "invalid_grant")

		// A blocked user cannot sign in on the hosted page either, and the
		// page says only that.
		id = oidcUser(t, e, "bp@example.com")
		update(id, `{blocked: true}`)
		v = oauth2.GenerateVerifier()
		res = authorize(t, e, browserClient(t), app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), "bp@example.com", "correct horse battery")
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("blocked sign-in: %d", res.StatusCode)
		}
	})
}
