package service

import (
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

func TestApplicationSpecRefusals(t *testing.T) {
	d := func(v time.Duration) *time.Duration { return &v }
	holder := policy.Caller{Scopes: map[policy.Scope]bool{policy.ScopeReadUsers: true}}
	for _, c := range []struct {
		name  string
		typ   ApplicationType
		spec  ApplicationSpec
		field string
	}{
		{"wildcard redirect", AppSPA, ApplicationSpec{SetRedirectURIs: true, RedirectURIs: []string{"https://*.example.com/cb"}}, "redirectURIs"},
		{"http non-loopback", AppRegularWeb, ApplicationSpec{SetRedirectURIs: true, RedirectURIs: []string{"http://shop.example/cb"}}, "redirectURIs"},
		{"javascript", AppNative, ApplicationSpec{SetRedirectURIs: true, RedirectURIs: []string{"javascript:alert(1)"}}, "redirectURIs"},
		{"fragment", AppSPA, ApplicationSpec{SetRedirectURIs: true, RedirectURIs: []string{"https://a.example/cb#x"}}, "redirectURIs"},
		{"relative", AppSPA, ApplicationSpec{SetRedirectURIs: true, RedirectURIs: []string{"/cb"}}, "redirectURIs"},
		{"user info", AppSPA, ApplicationSpec{SetRedirectURIs: true, RedirectURIs: []string{"https://evil@a.example/cb"}}, "redirectURIs"},
		{"origin with path", AppSPA, ApplicationSpec{SetWebOrigins: true, WebOrigins: []string{"https://a.example/app"}}, "webOrigins"},
		{"client_credentials on SPA", AppSPA, ApplicationSpec{SetGrantTypes: true, GrantTypes: []string{GrantClientCredentials}}, "grantTypes"},
		{"code on M2M", AppM2M, ApplicationSpec{SetGrantTypes: true, GrantTypes: []string{GrantAuthorizationCode}}, "grantTypes"},
		{"scopes on SPA", AppSPA, ApplicationSpec{SetManagementScopes: true, ManagementScopes: []policy.Scope{policy.ScopeReadUsers}}, "managementScopes"},
		{"unknown scope", AppM2M, ApplicationSpec{SetManagementScopes: true, ManagementScopes: []policy.Scope{"admin:everything"}}, "managementScopes"},
		{"scope not held", AppM2M, ApplicationSpec{SetManagementScopes: true, ManagementScopes: []policy.Scope{policy.ScopeDeleteUsers}}, "managementScopes"},
		{"zero lifetime", AppSPA, ApplicationSpec{AccessTokenTTL: d(0)}, "accessTokenLifetime"},
		{"too long", AppSPA, ApplicationSpec{IDTokenTTL: d(MaxTokenLifetime + time.Second)}, "idTokenLifetime"},
		{"idle over absolute", AppSPA, ApplicationSpec{Refresh: &RefreshTokenSpec{AbsoluteLifetime: d(time.Hour), IdleLifetime: d(2 * time.Hour)}}, "refreshToken.idleLifetime"},
		{"SPA without rotation", AppSPA, ApplicationSpec{Refresh: &RefreshTokenSpec{Rotation: new(bool)}}, "refreshToken.rotation"},
		{"reuse interval", AppSPA, ApplicationSpec{Refresh: &RefreshTokenSpec{ReuseInterval: d(2 * time.Hour)}}, "refreshToken.reuseInterval"},
		{"name with markup", AppSPA, ApplicationSpec{Name: ptrTo("<b>x</b>")}, "name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := Application{Type: c.typ, ApplicationSettings: defaultSettings(c.typ)}
			err := applyApplicationSpec(&app, holder, c.spec)
			var se *Error
			if err == nil || !asError(err, &se) || se.Field != c.field || strings.Contains(se.Message, "%!") {
				t.Fatalf("got %v (field %q), want a refusal on %s", err, fieldOf(se), c.field)
			}
		})
	}
	// Accepted: loopback http, native custom scheme, origins normalised.
	app := Application{Type: AppNative, ApplicationSettings: defaultSettings(AppNative)}
	err := applyApplicationSpec(&app, holder, ApplicationSpec{SetRedirectURIs: true, RedirectURIs: []string{"http://127.0.0.1:7000/cb", "com.example.app:/cb", "http://localhost/cb"},
		SetWebOrigins: true, WebOrigins: []string{"https://a.example/"}})
	if err != nil || app.WebOrigins[0] != "https://a.example" {
		t.Fatalf("%v %v", err, app.WebOrigins)
	}
}

func ptrTo[T any](v T) *T { return &v }

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	*target = e
	return ok
}

func fieldOf(e *Error) string {
	if e == nil {
		return ""
	}
	return e.Field
}

func TestDeviceName(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36":           "Headless Chrome on Linux",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0":                                    "Firefox on Windows",
		"":               "Unknown device",
		"weird\x00agent": "weirdagent",
	} {
		if got := DeviceName(ua); got != want {
			t.Errorf("DeviceName(%q) = %q, want %q", ua, got, want)
		}
	}
}
