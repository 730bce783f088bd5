package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// rp is a relying party nobody here wrote: coreos/go-oidc verifies the ID
// token, golang.org/x/oauth2 runs the code flow with PKCE (S256). It
// serves /start (redirects to the provider) and /callback (exchanges the
// code and shows who signed in) on its own loopback server.
type rp struct {
	t        *testing.T
	e        *env
	srv      *httptest.Server
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
	app      service.Application

	mu      sync.Mutex
	state   string
	pkce    string
	nonce   string
	token   *oauth2.Token
	idToken *gooidc.IDToken
	claims  map[string]any
	lastErr string
}

func newRP(t *testing.T, e *env, typ service.ApplicationType, name string) *rp {
	t.Helper()
	r := &rp{t: t, e: e}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	// Created through the API, as an admin would.
	res := e.raw(e.admin, `mutation($in: CreateApplicationInput!) { createApplication(input: $in) { application { id } clientSecret } }`,
		map[string]any{"in": map[string]any{"name": name, "type": string(typ),
			"redirectURIs": []string{r.srv.URL + "/callback"}, "logoutURLs": []string{r.srv.URL + "/bye"}}})
	var created struct {
		CreateApplication struct {
			Application  struct{ ID string }
			ClientSecret *string
		}
	}
	if res.code() != "" || jsonUnmarshal(res.Data, &created) != nil {
		t.Fatalf("createApplication: %+v", res)
	}
	secret := ""
	if created.CreateApplication.ClientSecret != nil {
		secret = *created.CreateApplication.ClientSecret
	}
	if (secret != "") != (typ == service.AppRegularWeb || typ == service.AppM2M) {
		t.Fatalf("a %s application's secret: %q", typ, secret)
	}
	app, err := e.svc.Application(context.Background(), created.CreateApplication.Application.ID)
	mustNoErr(t, err)
	if secret != "" && (app.SecretHash == secret || strings.Contains(app.SecretHash, secret)) {
		t.Fatal("the secret is stored as it is")
	}
	r.app = app
	provider, err := gooidc.NewProvider(context.Background(), e.issuer)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	r.conf = oauth2.Config{ClientID: app.ID, ClientSecret: secret, Endpoint: provider.Endpoint(),
		RedirectURL: r.srv.URL + "/callback", Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}}
	r.verifier = provider.Verifier(&gooidc.Config{ClientID: app.ID})
	return r
}

func (r *rp) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch req.URL.Path {
	case "/start":
		r.state, r.pkce, r.nonce = oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		http.Redirect(w, req, r.conf.AuthCodeURL(r.state, oauth2.S256ChallengeOption(r.pkce), gooidc.Nonce(r.nonce)), http.StatusFound)
	case "/callback":
		q := req.URL.Query()
		if e := q.Get("error"); e != "" {
			r.lastErr = e
			fmt.Fprintf(w, `<p id="rp-error">%s</p>`, html.EscapeString(e))
			return
		}
		if q.Get("state") != r.state {
			http.Error(w, "bad state", http.StatusBadRequest)
			return
		}
		tok, err := r.conf.Exchange(req.Context(), q.Get("code"), oauth2.VerifierOption(r.pkce))
		if err != nil {
			r.lastErr = err.Error()
			fmt.Fprintf(w, `<p id="rp-error">%s</p>`, html.EscapeString(err.Error()))
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := r.verifier.Verify(req.Context(), raw)
		if err == nil && idt.Nonce != r.nonce {
			err = fmt.Errorf("nonce mismatch")
		}
		if err != nil {
			r.lastErr = err.Error()
			fmt.Fprintf(w, `<p id="rp-error">%s</p>`, html.EscapeString(err.Error()))
			return
		}
		claims := map[string]any{}
		_ = idt.Claims(&claims)
		r.token, r.idToken, r.claims = tok, idt, claims
		fmt.Fprintf(w, `<p id="rp-done">signed in as %s</p>`, html.EscapeString(idt.Subject))
	case "/bye":
		fmt.Fprint(w, `<p id="rp-bye">signed out</p>`)
	default:
		http.NotFound(w, req)
	}
}

func (r *rp) tokens() (*oauth2.Token, *gooidc.IDToken, map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.token, r.idToken, r.claims
}

// refresh exchanges a refresh token through x/oauth2.
func (r *rp) refresh(refreshToken string) (*oauth2.Token, error) {
	return r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

func signInThroughBrowser(t *testing.T, bctx context.Context, r *rp, email, password string) {
	t.Helper()
	run(t, bctx,
		chromedp.Navigate(r.srv.URL+"/start"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`#submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#rp-done`)),
	)
}

func meEmail(t *testing.T, e *env, accessToken string) gqlResponse {
	t.Helper()
	catchUp(e)
	return e.raw(accessToken, `{ me { id email } }`, nil)
}

// catchUp moves the test clock (the keyring's) to the wall clock: the
// OpenID Provider's library stamps iat and nbf with the wall clock, and a
// slow run (-race) can leave the frozen test clock behind by more than the
// leeway.
func catchUp(e *env) {
	if d := time.Since(e.clock.Now()); d > 0 {
		e.clock.Advance(d)
	}
}

func TestOIDCBrowserSignIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		su, err := client.Signup(ctx, e.client(""), "main", "ann@example.com", "correct horse battery", nil, nil)
		mustNoErr(t, err)
		userID := su.Signup.Id

		web := newRP(t, e, service.AppRegularWeb, "Web shop")
		bctx := browser(t)
		signInThroughBrowser(t, bctx, web, "ann@example.com", "correct horse battery")

		tok, idt, claims := web.tokens()
		if idt.Subject != userID || claims["email"] != "ann@example.com" || idt.Issuer != e.issuer {
			t.Fatalf("ID token: sub %q iss %q claims %v", idt.Subject, idt.Issuer, claims)
		}
		if tok.RefreshToken == "" || tok.AccessToken == "" {
			t.Fatalf("tokens: %+v", tok)
		}
		// The access token works on the API as the user's own.
		if r := meEmail(t, e, tok.AccessToken); r.code() != "" || !strings.Contains(string(r.Data), "ann@example.com") {
			t.Fatalf("me with the OP's access token: %+v", r)
		}

		// Refresh: rotation gives a new refresh token and a working access token.
		nt, err := web.refresh(tok.RefreshToken)
		mustNoErr(t, err)
		if nt.RefreshToken == "" || nt.RefreshToken == tok.RefreshToken {
			t.Fatalf("rotation: old %q new %q", tok.RefreshToken, nt.RefreshToken)
		}
		if r := meEmail(t, e, nt.AccessToken); r.code() != "" {
			t.Fatalf("me after refresh: %+v", r)
		}

		// SSO: a second application signs in in the same browser without
		// the password form.
		spa := newRP(t, e, service.AppSPA, "Dashboard SPA")
		run(t, bctx, chromedp.Navigate(spa.srv.URL+"/start"), chromedp.WaitVisible(chromedp.CSS(`#rp-done`)))
		_, idt2, _ := spa.tokens()
		if idt2.Subject != userID {
			t.Fatalf("SSO subject %q", idt2.Subject)
		}

		// Devices: one per application; Unlink the web shop's and its
		// refresh token is refused.
		// The user sees them in self-service (me) with the OP's token.
		var mine struct {
			Me struct {
				Devices []struct {
					ID, Name, ClientID string
					Application        struct{ Name string }
				}
				AuthorizedApplications []struct {
					ID          string
					Application struct{ Name string }
				}
			}
		}
		catchUp(e)
		r := e.raw(nt.AccessToken, `{ me { devices { id name clientId application { name } } authorizedApplications { id application { name } } } }`, nil)
		if r.code() != "" || jsonUnmarshal(r.Data, &mine) != nil {
			t.Fatalf("me devices: %+v", r)
		}
		if len(mine.Me.Devices) != 2 || len(mine.Me.AuthorizedApplications) != 2 {
			t.Fatalf("me: %s", r.Data)
		}
		webDevice := ""
		for _, d := range mine.Me.Devices {
			if d.ClientID == web.app.ID {
				webDevice = d.ID
				if !strings.Contains(d.Name, "Chrome") || d.Application.Name != "Web shop" {
					t.Fatalf("device %+v", d)
				}
			}
		}
		// An admin unlinks it (the Devices tab's Unlink).
		r = e.raw(e.admin, `mutation($id: ID!) { unlinkDevice(id: $id) { id } }`, map[string]any{"id": webDevice})
		if r.code() != "" {
			t.Fatalf("unlinkDevice: %+v", r)
		}
		if _, err := web.refresh(nt.RefreshToken); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("refresh after unlink: %v", err)
		}

		// The events name the application.
		r = e.raw(e.admin, `query($id: ID!) { user(id: $id) { logs(first: 100) { edges { node { type detail } } } } }`, map[string]any{"id": userID})
		logs := string(r.Data)
		for _, want := range []string{service.EventTokenExchange, service.EventRefresh, service.EventDeviceUnlinked, "Web shop"} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %q: %s", want, logs)
			}
		}

		// Logout ends the login session: the next sign-in shows the form.
		endSession := e.issuer + "/v2/logout?client_id=" + url.QueryEscape(web.app.ID) + "&post_logout_redirect_uri=" + url.QueryEscape(web.srv.URL+"/bye")
		run(t, bctx, chromedp.Navigate(endSession), chromedp.WaitVisible(chromedp.CSS(`#rp-bye`)))
		run(t, bctx, chromedp.Navigate(web.srv.URL+"/start"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	})
}

func TestOIDCClientCredentials(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		createDBConnection(t, e, "main")
		_, err := client.Signup(ctx, e.client(""), "main", "bob@example.com", "correct horse battery", nil, nil)
		mustNoErr(t, err)
		admin := policy.Caller{Scopes: map[policy.Scope]bool{policy.ScopeReadUsers: true, policy.ScopeUpdateClients: true}}
		// Granting a scope needs a token that holds it.
		r := e.raw(e.token(policy.ScopeCreateClients), `mutation { createApplication(input: {name: "Nightly sync", type: M2M, managementScopes: ["read:users"]}) { clientSecret } }`, nil)
		if r.code() != "FORBIDDEN" {
			t.Fatalf("granting read:users without holding it: %+v", r)
		}
		var created struct {
			CreateApplication struct {
				Application  struct{ ID string }
				ClientSecret string
			}
		}
		r = e.raw(e.admin, `mutation { createApplication(input: {name: "Nightly sync", type: M2M, managementScopes: ["read:users"]}) { application { id } clientSecret } }`, nil)
		if r.code() != "" || jsonUnmarshal(r.Data, &created) != nil {
			t.Fatalf("createApplication: %+v", r)
		}
		app, secret := service.Application{ID: created.CreateApplication.Application.ID}, created.CreateApplication.ClientSecret
		provider, err := gooidc.NewProvider(ctx, e.issuer)
		mustNoErr(t, err)
		cc := clientcredentials.Config{ClientID: app.ID, ClientSecret: secret, TokenURL: provider.Endpoint().TokenURL}
		tok, err := cc.Token(ctx)
		mustNoErr(t, err)
		catchUp(e)
		r = e.raw(tok.AccessToken, `{ users { edges { node { email } } } }`, nil)
		if r.code() != "" || !strings.Contains(string(r.Data), "bob@example.com") {
			t.Fatalf("users with the M2M token: %+v", r)
		}
		// It holds only what the application is granted.
		r = e.raw(tok.AccessToken, `mutation { createConnection(input: {name: "x", strategy: DATABASE}) { name } }`, nil)
		if r.code() != "FORBIDDEN" {
			t.Fatalf("createConnection with a read:users token: %+v", r)
		}
		// A scope the application is not granted is refused; so is a wrong secret.
		cc.Scopes = []string{"delete:users"}
		if _, err := cc.Token(ctx); err == nil || !strings.Contains(err.Error(), "invalid_scope") {
			t.Fatalf("asking delete:users: %v", err)
		}
		cc.Scopes, cc.ClientSecret = nil, secret+"x"
		if _, err := cc.Token(ctx); err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("wrong secret: %v", err)
		}
		// Withdrawing the scope kills the token at once.
		_, err = e.svc.UpdateApplication(ctx, admin, app.ID, service.ApplicationSpec{SetManagementScopes: true})
		mustNoErr(t, err)
		// Rotating the secret: the old one stops working.
		r = e.raw(e.admin, `mutation($id: ID!) { rotateApplicationSecret(id: $id) { clientSecret } }`, map[string]any{"id": app.ID})
		if r.code() != "" || !strings.Contains(string(r.Data), "clientSecret") {
			t.Fatalf("rotate: %+v", r)
		}
		cc.ClientSecret = secret
		if _, err := cc.Token(ctx); err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("old secret after rotation: %v", err)
		}
		if r := e.raw(tok.AccessToken, `{ users { edges { node { email } } } }`, nil); r.code() != "UNAUTHENTICATED" {
			t.Fatalf("token after its scope was withdrawn: %+v", r)
		}
	})
}
