package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/profiled/profiled/internal/server"
	"github.com/profiled/profiled/internal/service"
)

func TestOIDCHostedPages(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	createDBConnection(t, e, "main")
	oidcUser(t, e, "hp@example.com")
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	hc := browserClient(t)

	res, err := hc.Get(app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	mustNoErr(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self' http://127.0.0.1:9"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(string(body), "<script") || strings.Contains(string(body), "style=") || strings.Contains(string(body), "https://") {
		t.Errorf("the page has inline script, inline style or external assets:\n%s", body)
	}
	if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", res.Header)
	}
	ar := reAuthReq.FindStringSubmatch(string(body))[1]

	// A post without the form's CSRF token is refused (login CSRF).
	res, err = hc.PostForm(e.issuer+"/login", url.Values{"authRequestID": {ar}, "connection": {"main"}, "email": {"hp@example.com"}, "password": {"correct horse battery"}})
	mustNoErr(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("post without csrf: %d", res.StatusCode)
	}

	// Unknown user and wrong password read the same; nothing internal shows.
	page := func(email, password string) int {
		return authorize(t, e, browserClient(t), app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), email, password).StatusCode
	}
	s1, s2 := page("hp@example.com", "wrong"), page("nobody@example.com", "wrong")
	if s1 != http.StatusUnauthorized || s2 != http.StatusUnauthorized {
		t.Fatalf("wrong password %d, unknown user %d", s1, s2)
	}

	// Error pages say nothing about the request or the server.
	for _, path := range []string{"/login?authRequestID=nope", "/login?authRequestID=" + strings.Repeat("x", 5000), "/signup", "/login?authRequestID=%27%3Cscript%3E"} {
		res, err := http.Get(e.issuer + path)
		mustNoErr(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "invalid or has expired") ||
			strings.Contains(string(b), "<script") || strings.Contains(strings.ToLower(string(b)), "sql") || strings.Contains(string(b), "nope") {
			t.Fatalf("%s: %d\n%s", path, res.StatusCode, b)
		}
	}

	// Sign-up through the hosted page, then the code flow finishes.
	v := oauth2.GenerateVerifier()
	hc = browserClient(t)
	res, err = hc.Get(app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	mustNoErr(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	ar = reAuthReq.FindStringSubmatch(string(body))[1]
	res, err = hc.Get(e.issuer + "/signup?authRequestID=" + ar)
	mustNoErr(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	csrf := reCSRF.FindStringSubmatch(string(body))[1]
	res, err = hc.PostForm(e.issuer+"/signup", url.Values{"authRequestID": {ar}, "csrf": {csrf}, "connection": {"main"}, "email": {"new@example.com"}, "password": {"a fine long password"}})
	mustNoErr(t, err)
	res.Body.Close()
	tok, err := app.conf.Exchange(context.Background(), codeFrom(t, res), oauth2.VerifierOption(v))
	mustNoErr(t, err)
	if r := meEmail(t, e, tok.AccessToken); !strings.Contains(string(r.Data), "new@example.com") {
		t.Fatalf("me after sign-up: %+v", r)
	}
	// The session cookie is HttpOnly and SameSite.
	for _, c := range res.Cookies() {
		if c.Name == "profiled_session" && (!c.HttpOnly || c.SameSite != http.SameSiteLaxMode) {
			t.Fatalf("session cookie %+v", c)
		}
	}
}

func TestOIDCAllowedWebOrigins(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	createApp(t, e, service.AppSPA, service.ApplicationSpec{SetWebOrigins: true, WebOrigins: []string{"https://spa.example:8443/"}})
	// The server's CORS allow-list reads the origins as it does in serve.
	allow := server.NewAppOrigins(e.svc.WebOrigins, 0)
	for origin, want := range map[string]bool{"https://spa.example:8443": true, "https://spa.example": false, "http://spa.example:8443": false, "": false, "null": false} {
		if got := allow.AllowOrigin(origin); got != want {
			t.Errorf("AllowOrigin(%q) = %v", origin, got)
		}
	}
}

func TestOIDCCustomDatabaseSignIn(t *testing.T) {
	e := newScriptEnv(t, sqliteStore)
	l := newLegacyDB(t)
	l.add(t, "legacy@example.com", "legacy password", "leg", "Legacy User")
	customConnection(t, e, "legacy", l, true, false)
	app := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	v := oauth2.GenerateVerifier()
	res := authorizeOn(t, e, browserClient(t), app.conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), "legacy", "legacy@example.com", "legacy password")
	tok, err := app.conf.Exchange(context.Background(), codeFrom(t, res), oauth2.VerifierOption(v))
	mustNoErr(t, err)
	// The user was migrated by the login script on the way.
	us, err := e.svc.UsersByEmail(context.Background(), "legacy@example.com")
	mustNoErr(t, err)
	if len(us) != 1 || !us[0].Migrated || us[0].Name != "Legacy User" {
		t.Fatalf("migrated user: %+v", us)
	}
	if r := meEmail(t, e, tok.AccessToken); !strings.Contains(string(r.Data), "legacy@example.com") {
		t.Fatalf("me: %+v", r)
	}
}

func TestOIDCPasswordGrant(t *testing.T) {
	e := newEnv(t, sqliteStore, nil)
	createDBConnection(t, e, "main")
	oidcUser(t, e, "pg@example.com")
	ctx := context.Background()
	off := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	_, err := off.conf.PasswordCredentialsToken(ctx, "pg@example.com", "correct horse battery")
	wantOAuthError(t, "password grant not enabled", err, "unauthorized_client")

	on := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{SetGrantTypes: true,
		GrantTypes: []string{service.GrantAuthorizationCode, service.GrantPassword}, SetConnections: true, Connections: []string{"main"}})
	tok, err := on.conf.PasswordCredentialsToken(ctx, "pg@example.com", "correct horse battery")
	mustNoErr(t, err)
	if r := meEmail(t, e, tok.AccessToken); !strings.Contains(string(r.Data), "pg@example.com") {
		t.Fatalf("me: %+v", r)
	}
	_, err = on.conf.PasswordCredentialsToken(ctx, "pg@example.com", "wrong")
	wantOAuthError(t, "wrong password", err, "invalid_grant")
	bad := on.conf
	bad.ClientSecret = "nope"
	_, err = bad.PasswordCredentialsToken(ctx, "pg@example.com", "correct horse battery")
	wantOAuthError(t, "wrong client secret", err, "invalid_client")
}
