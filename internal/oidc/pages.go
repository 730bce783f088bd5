package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// Cookies of the hosted pages.
const (
	SessionCookie = "profiled_session"
	csrfCookie    = "profiled_csrf"
)

const styleCSS = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1d2330}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem;font-size:.9rem}
input,select{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #aab;border-radius:4px;font-size:1rem}
button{margin-top:1.2rem;width:100%;padding:.6rem;border:0;border-radius:4px;background:#2d5bd7;color:#fff;font-size:1rem}
.error{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:4px;margin-bottom:.8rem}
.help{font-size:.8rem;color:#4a5160;margin:.2rem 0 0}
.alt{margin-top:1rem;font-size:.9rem;text-align:center}.providers:empty{display:none}`

func serveStyle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(styleCSS))
}

var pages = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title><link rel="stylesheet" href="/login/style.css"></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert" id="error">{{.Error}}</p>{{end}}
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if .Form}}
<form method="post" action="{{.Action}}" id="form">
<input type="hidden" name="authRequestID" value="{{.AuthRequestID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{if gt (len .Connections) 1}}<label for="connection">Sign in with</label>
<select id="connection" name="connection">{{range .Connections}}<option value="{{.}}"{{if eq . $.Connection}} selected{{end}}>{{.}}</option>{{end}}</select>
{{else}}{{range .Connections}}<input type="hidden" name="connection" value="{{.}}">{{end}}{{end}}
{{if and .Usernames (not .Signup)}}<label for="username">Username or email</label><input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{{.Email}}">
{{else}}<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="{{if .Signup}}email{{else}}username{{end}}" required value="{{.Email}}">
{{if .Usernames}}<label for="username">Username</label><input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" value="{{.Username}}" aria-describedby="username-help">
<p class="help" id="username-help">Needed where the connection asks for one: at most 15 letters, digits and signs such as _ . + -; not an email address.</p>
{{end}}{{end}}<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="{{if .Signup}}new-password{{else}}current-password{{end}}" required>
<button type="submit" id="submit">{{if .Signup}}Sign up{{else}}Continue{{end}}</button>
</form>
<div class="providers" id="providers"></div>
<p class="alt">{{if .Signup}}Have an account? <a href="/login?authRequestID={{.AuthRequestID}}">Sign in</a>{{else}}No account? <a href="/signup?authRequestID={{.AuthRequestID}}" id="signup-link">Sign up</a>{{end}}</p>
{{end}}
</main></body></html>`))

type pageData struct {
	Title, Error, Message string
	Form, Signup          bool
	Action                string
	AuthRequestID, CSRF   string
	Connections           []string
	Connection, Email     string
	// Usernames: one of Connections lets its users sign in by username
	// (requiresUsername). The sign-in form then asks for "Username or
	// email" (as Auth0's Universal Login does for such a connection) and
	// the sign-up form for a username beside the email.
	Usernames bool
	Username  string
}

// securityHeaders: no external assets, no inline anything, no framing;
// forms post only here and (through the redirect that follows a
// successful sign-in) to the application's redirect URI.
func securityHeaders(w http.ResponseWriter, formTargets ...string) {
	h := w.Header()
	formAction := "'self'"
	for _, t := range formTargets {
		if u, err := url.Parse(t); err == nil && u.Scheme != "" && u.Host != "" {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (p *Provider) render(w http.ResponseWriter, status int, d pageData, formTargets ...string) {
	securityHeaders(w, formTargets...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.Execute(w, d)
}

// errorPage says what went wrong in words that reveal nothing internal.
func (p *Provider) errorPage(w http.ResponseWriter, status int, msg string) {
	p.render(w, status, pageData{Title: "Sign-in problem", Error: msg})
}

const msgBadLink = "This sign-in link is invalid or has expired. Go back to the application and try again."

func (p *Provider) cookie(name, value string, maxAge int, sameSite http.SameSite) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: p.secure, SameSite: sameSite}
}

// csrfToken is bound to the browser (a cookie) and to the sign-in request.
func csrfFor(browser, authRequestID string) string {
	h := sha256.Sum256([]byte("csrf\x00" + browser + "\x00" + authRequestID))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func (p *Provider) browserCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		return c.Value
	}
	v, _ := randomID()
	http.SetCookie(w, p.cookie(csrfCookie, v, 0, http.SameSiteStrictMode))
	return v
}

func (p *Provider) checkCSRF(r *http.Request, authRequestID string) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(csrfFor(c.Value, authRequestID))) == 1
}

// signInContext loads the sign-in request and its application.
func (p *Provider) signInContext(ctx context.Context, id string) (*authRequest, service.Application, error) {
	ar, _, err := p.storage.loadAuthRequest(ctx, id)
	if err != nil {
		return nil, service.Application{}, err
	}
	app, err := p.cfg.Service.Application(ctx, ar.ClientID)
	return ar, app, err
}

// passwordConnections are the application's connections that sign in with
// a password here, and those of them whose users may sign in by username
// (requiresUsername).
func (p *Provider) passwordConnections(ctx context.Context, app service.Application) (names []string, usernames map[string]bool, err error) {
	cs, err := p.cfg.Service.Connections(ctx)
	if err != nil {
		return nil, nil, err
	}
	usernames = map[string]bool{}
	for _, c := range cs {
		if (c.Strategy == policy.StrategyDatabase || c.Strategy == policy.StrategyCustomDatabase) && app.AllowsConnection(c.Name) {
			names = append(names, c.Name)
			if c.RequiresUsername {
				usernames[c.Name] = true
			}
		}
	}
	return names, usernames, nil
}

// loginRequest is the service's login for what the sign-in form holds: on
// a connection with requiresUsername an identifier without '@' is a
// username and one with '@' an email (Auth0's "username or email"; a
// username can never be an email address); elsewhere it is an email.
func loginRequest(connection, identifier, password string, byUsername bool) service.LoginRequest {
	req := service.LoginRequest{Connection: connection, Password: password, Token: service.TokenRequest{NoTokens: true}}
	if byUsername && !strings.Contains(identifier, "@") {
		req.Username = identifier
	} else {
		req.Email = identifier
	}
	return req
}

func (p *Provider) callback(w http.ResponseWriter, r *http.Request, id string) {
	http.Redirect(w, r, AuthorizePath+"/callback?id="+url.QueryEscape(id), http.StatusSeeOther)
}

// login is the hosted sign-in page. A browser with a live login session
// whose user the application accepts is signed in without a password
// (unless the application asked prompt=login).
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	p.passwordPage(w, r, false)
}

func (p *Provider) signup(w http.ResponseWriter, r *http.Request) {
	p.passwordPage(w, r, true)
}

func (p *Provider) passwordPage(w http.ResponseWriter, r *http.Request, signup bool) {
	ctx := r.Context()
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		p.errorPage(w, http.StatusMethodNotAllowed, "This page only answers GET and POST.")
		return
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			p.errorPage(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
	}
	id := r.URL.Query().Get("authRequestID")
	if r.Method == http.MethodPost {
		id = r.PostForm.Get("authRequestID")
	}
	ar, app, err := p.signInContext(ctx, id)
	if err != nil {
		if code, _ := service.CodeOf(err); code == service.CodeNotFound {
			p.errorPage(w, http.StatusBadRequest, msgBadLink)
			return
		}
		p.cfg.Logger.ErrorContext(ctx, "hosted sign-in", "err", err)
		p.errorPage(w, http.StatusServiceUnavailable, "Sign-in is unavailable right now. Try again later.")
		return
	}
	if ar.IsDone {
		p.errorPage(w, http.StatusBadRequest, msgBadLink)
		return
	}
	conns, usernames, err := p.passwordConnections(ctx, app)
	if err != nil {
		p.cfg.Logger.ErrorContext(ctx, "hosted sign-in connections", "err", err)
		p.errorPage(w, http.StatusServiceUnavailable, "Sign-in is unavailable right now. Try again later.")
		return
	}
	browser := p.browserCSRF(w, r)
	d := pageData{Title: "Sign in to " + app.Name, Form: true, Signup: signup, Action: LoginPath, AuthRequestID: id,
		CSRF: csrfFor(browser, id), Connections: conns, Usernames: len(usernames) > 0}
	if signup {
		d.Title, d.Action = "Sign up for "+app.Name, SignupPath
	}
	if len(conns) > 0 {
		d.Connection = conns[0]
	}

	if r.Method == http.MethodGet {
		if !signup && !slices.Contains(ar.Prompt, zoidc.PromptLogin) {
			if u, ls, err := p.cfg.Service.LoginSessionUser(ctx, p.sessionCookie(r)); err == nil && app.AllowsConnection(u.Connection) &&
				maxAgeOK(ar.MaxAge, ls.AuthenticatedAt) {
				p.finish(w, r, ar, u, ls.AuthenticatedAt)
				return
			}
		}
		if slices.Contains(ar.Prompt, zoidc.PromptNone) {
			p.redirectError(w, r, ar, "login_required")
			return
		}
		if len(conns) == 0 {
			p.errorPage(w, http.StatusBadRequest, "This application has no connection to sign in with.")
			return
		}
		p.render(w, http.StatusOK, d, ar.RedirectURI)
		return
	}

	// POST: a password sign-in or sign-up.
	if !p.checkCSRF(r, id) {
		p.errorPage(w, http.StatusForbidden, "This form has expired. Go back to the application and try again.")
		return
	}
	conn := r.PostForm.Get("connection")
	email := strings.TrimSpace(r.PostForm.Get("email"))
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	identifier := email
	if !signup && email == "" {
		// The sign-in form's "Username or email" field.
		identifier = username
	}
	d.Email, d.Username = identifier, username
	if conn != "" && slices.Contains(conns, conn) {
		d.Connection = conn
	}
	if !slices.Contains(conns, conn) {
		d.Error = "Choose a connection to sign in with."
		p.render(w, http.StatusBadRequest, d, ar.RedirectURI)
		return
	}
	if identifier == "" || password == "" {
		d.Error = "Enter your email and your password."
		if d.Usernames && !signup {
			d.Error = "Enter your username or email, and your password."
		}
		p.render(w, http.StatusBadRequest, d, ar.RedirectURI)
		return
	}
	if !signup && email != "" && username != "" {
		// The form sends one field; a post with both is not from it.
		d.Error = "Enter your username or your email, not both."
		p.render(w, http.StatusBadRequest, d, ar.RedirectURI)
		return
	}
	if signup {
		create := policy.Create{Email: email, Password: password}
		if usernames[conn] {
			create.Username = username
		}
		if _, err := p.cfg.Service.Signup(ctx, conn, create); err != nil {
			d.Error = signupMessage(err)
			p.render(w, statusOf(err), d, ar.RedirectURI)
			return
		}
	}
	res, err := p.cfg.Service.LoginWith(ctx, loginRequest(conn, identifier, password, usernames[conn] && !signup))
	if err != nil {
		status := statusOf(err)
		d.Error = loginMessage(err)
		if usernames[conn] {
			d.Error = loginMessageUsername(err)
			if badInput(err) {
				status = http.StatusUnauthorized // as a wrong username
			}
		}
		p.render(w, status, d, ar.RedirectURI)
		return
	}
	user := res.User
	tok, err := p.cfg.Service.StartLoginSession(ctx, user)
	if err != nil {
		p.cfg.Logger.ErrorContext(ctx, "start login session", "err", err)
	} else {
		http.SetCookie(w, p.cookie(SessionCookie, tok, int(service.LoginSessionTTL/time.Second), http.SameSiteLaxMode))
	}
	p.finish(w, r, ar, user, time.Now())
}

func maxAgeOK(maxAge *uint, authenticated time.Time) bool {
	return maxAge == nil || time.Since(authenticated) <= time.Duration(*maxAge)*time.Second
}

func (p *Provider) finish(w http.ResponseWriter, r *http.Request, ar *authRequest, u policy.User, authTime time.Time) {
	securityHeaders(w, ar.RedirectURI)
	if err := p.storage.completeAuthRequest(r.Context(), ar.ID, u, authTime); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "complete sign-in", "err", err)
		p.errorPage(w, http.StatusServiceUnavailable, "Sign-in is unavailable right now. Try again later.")
		return
	}
	p.callback(w, r, ar.ID)
}

// redirectError sends the browser back to the (already validated)
// redirect URI with an OAuth error.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, code string) {
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		p.errorPage(w, http.StatusBadRequest, msgBadLink)
		return
	}
	q := u.Query()
	q.Set("error", code)
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	u.RawQuery = q.Encode()
	_ = p.cfg.Service.DeleteAuthRequest(r.Context(), ar.ID)
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func statusOf(err error) int {
	var ref *policy.Refusal
	if errors.As(err, &ref) {
		// The policy refused the input (a weak password, a username
		// breaking the rules): the page says why.
		return http.StatusBadRequest
	}
	code, _ := service.CodeOf(err)
	switch code {
	case service.CodeInvalidCredentials, service.CodeUserBlocked:
		return http.StatusUnauthorized
	case service.CodeTooManyAttempts:
		return http.StatusTooManyRequests
	case service.CodeBadUserInput, service.CodeForbidden, service.CodeUserExists, service.CodeFieldNotUpdatable:
		return http.StatusBadRequest
	}
	return http.StatusServiceUnavailable
}

func loginMessage(err error) string {
	code, _ := service.CodeOf(err)
	switch code {
	case service.CodeInvalidCredentials:
		return "Wrong email or password."
	case service.CodeUserBlocked:
		return "This account is blocked."
	case service.CodeTooManyAttempts:
		return "Too many failed attempts. Try again later."
	}
	return "Sign-in is unavailable right now. Try again later."
}

// loginMessageUsername is loginMessage on a connection whose users sign in
// by username or email: an unknown username, an unknown email, a wrong
// password and a username breaking the connection's rules all read the
// same (a malformed one is refused before any attempt is counted, so it
// says nothing about who exists either).
func loginMessageUsername(err error) string {
	if code, _ := service.CodeOf(err); code == service.CodeInvalidCredentials || badInput(err) {
		return "Wrong username, email or password."
	}
	return loginMessage(err)
}

// badInput: the login was refused for its input before anything was
// checked (a username breaking the connection's rules is a policy
// refusal).
func badInput(err error) bool {
	var ref *policy.Refusal
	code, _ := service.CodeOf(err)
	return code == service.CodeBadUserInput || errors.As(err, &ref) && ref.Reason == policy.ReasonBadInput
}

func signupMessage(err error) string {
	var se *service.Error
	if errors.As(err, &se) {
		switch se.Code {
		case service.CodeUserExists:
			if se.Field == "username" {
				return "An account with this username already exists."
			}
			return "An account with this email already exists."
		case service.CodeBadUserInput, service.CodeForbidden:
			// The policy's messages are written for the caller (e.g. a
			// weak password, sign-up disabled).
			return se.Message
		}
	}
	var pe *policy.Refusal
	if errors.As(err, &pe) {
		return pe.Message
	}
	return "Sign-up is unavailable right now. Try again later."
}

func (p *Provider) sessionCookie(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// endLoginSession forgets the browser's login session and its cookie.
func (p *Provider) endLoginSession(w http.ResponseWriter, r *http.Request) {
	if v := p.sessionCookie(r); v != "" {
		if u, _, err := p.cfg.Service.LoginSessionUser(r.Context(), v); err == nil {
			p.cfg.Service.RecordApplicationEvent(r.Context(), service.EventLogout, u.ID, service.Application{Name: "hosted pages"}, nil, "")
		}
		if err := p.cfg.Service.EndLoginSession(r.Context(), v); err != nil {
			p.cfg.Logger.ErrorContext(r.Context(), "end login session", "err", err)
		}
	}
	http.SetCookie(w, p.cookie(SessionCookie, "", -1, http.SameSiteLaxMode))
}

// logout ends the login session and says so (the end-session endpoint
// redirects here when the application names no logout URL).
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost || r.Method == http.MethodGet && r.URL.Query().Has("end") {
		p.endLoginSession(w, r)
	}
	p.render(w, http.StatusOK, pageData{Title: "Signed out", Message: "You are signed out."})
}

var _ = op.AuthCallbackURL
