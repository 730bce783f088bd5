package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/profiled/profiled/internal/service"
)

// TestDashboardApplications creates an application in the dashboard: the
// secret shows once, the application is listed, a rotation shows a new one.
func TestDashboardApplications(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, sqliteStore, nil)
	run(t, ctx,
		chromedp.Navigate(e.srv.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SetValue(chromedp.CSS(`#token`), e.admin),
		chromedp.Click(chromedp.CSS(`#signin-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#logins-chart`)),
		page(e, "/applications"),
		chromedp.WaitVisible(chromedp.CSS(`#create-application-form`)),
		chromedp.SetValue(chromedp.CSS(`#app-name`), "Shop"),
		chromedp.SetValue(chromedp.CSS(`#app-type`), "REGULAR_WEB"),
		chromedp.SetValue(chromedp.CSS(`#app-redirects`), "https://shop.example/callback"),
		chromedp.Click(chromedp.CSS(`#create-application-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#client-secret`)),
		chromedp.WaitVisible(chromedp.CSS(`#application-table`)),
	)
	secret := text(t, ctx, "#client-secret")
	wantContains(t, "the table", text(t, ctx, "#application-table"), "https://shop.example/callback")
	apps, err := e.svc.Applications(context.Background())
	mustNoErr(t, err)
	if len(apps) != 1 || apps[0].Name != "Shop" || len(secret) < 40 {
		t.Fatalf("apps %+v, secret %q", apps, secret)
	}
	if _, err := e.svc.AuthenticateApplication(context.Background(), apps[0].ID, secret); err != nil {
		t.Fatalf("the secret shown does not authenticate: %v", err)
	}
	// A bad redirect URI is refused next to its field.
	run(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#app-name`), "Bad"),
		chromedp.SetValue(chromedp.CSS(`#app-redirects`), "http://evil.example/cb"),
		chromedp.Click(chromedp.CSS(`#create-application-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#create-application-form [role=alert]:not(:empty), #create-application-error:not(:empty)`)),
	)
	body := get(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if !strings.Contains(body, "loopback") {
		t.Fatalf("no refusal shown:\n%s", body)
	}

	// A user signed in to the application through the OpenID Provider:
	// the user page lists the device and the authorized application, and
	// Unlink revokes the refresh token.
	createDBConnection(t, e, "main")
	web := createApp(t, e, service.AppRegularWeb, service.ApplicationSpec{})
	userID := oidcUser(t, e, "dev@example.com")
	tok := signInTokens(t, e, web, "dev@example.com")
	run(t, ctx,
		page(e, "/users/"+url.PathEscape(userID)),
		chromedp.Click(chromedp.CSS(`#tab-authorized-applications`)),
		chromedp.WaitVisible(chromedp.CSS(`#authorized-apps`)),
	)
	wantContains(t, "authorized applications", text(t, ctx, "#authorized-apps"), "App REGULAR_WEB")
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#tab-devices`)),
		chromedp.WaitVisible(chromedp.CSS(`#devices`)),
	)
	wantContains(t, "devices", text(t, ctx, "#devices"), "Go HTTP client")
	get(t, ctx, chromedp.Evaluate[bool](`window.confirm = () => true; true`))
	run(t, ctx,
		chromedp.Click(chromedp.CSS(`#devices button[data-id]`)),
		chromedp.WaitVisible(chromedp.CSS(`#user-devices p.muted`)),
	)
	_, err = refresh(web, tok.RefreshToken)
	wantOAuthError(t, "refresh after Unlink in the dashboard", err, "invalid_grant")
}
