package frontend

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/profiled/profiled/internal/testenv"
)

// dash is a server with a DATABASE connection "main" and users, and a
// Chromium signed in to its dashboard.
type dash struct {
	srv *testenv.Server
	c   testenv.Client
	ids map[string]string // email → user id
}

const longEmail = "a.very.long.local.part.that.does.not.fit.on.a.phone@an-extremely-long-subdomain-of-the-company.example.com"

func newDash(t *testing.T) *dash {
	t.Helper()
	srv := startServer(t, testenv.Options{})
	d := &dash{srv: srv, c: srv.GraphQL(nil), ids: map[string]string{}}
	d.must(t, `mutation { createConnection(input: { name: "main", strategy: DATABASE }) { name } }`)
	for i, email := range []string{"ada@example.com", "grace@example.com", "alan@example.com", longEmail} {
		var out struct {
			CreateUser struct{ ID string }
		}
		r := d.must(t, fmt.Sprintf(`mutation { createUser(input: { connection: "main", email: %q, password: "correct horse", name: "User %d", picture: "data:image/gif;base64,R0lGODlhAQABAAAAACw=" }) { id } }`, email, i))
		testenv.NoError(t, jsonUnmarshal(r.Data, &out))
		d.ids[email] = out.CreateUser.ID
	}
	return d
}

func (d *dash) must(t *testing.T, q string) testenv.Response {
	t.Helper()
	r := d.c.Query(t, d.srv.Admin, q, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("%s: %s", q, r.Raw)
	}
	return r
}

// signIn pastes token on the sign-in page and submits it.
func (d *dash) signIn(token string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(d.srv.HTTP.URL+"/dashboard/signin"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SetValue(chromedp.CSS(`#token`), token),
		chromedp.Click(chromedp.CSS(`#signin-submit`)))
}

// signedIn signs the browser in with the admin token unless it is.
func (d *dash) signedIn(t *testing.T, ctx contextT) {
	t.Helper()
	if text(t, ctx, `location.protocol === 'about:' ? '' : (sessionStorage.getItem('profiled.token') || '')`) == d.srv.Admin {
		return
	}
	run(t, ctx, d.signIn(d.srv.Admin), chromedp.WaitVisible(chromedp.CSS(`#logins-chart`)))
}

func (d *dash) page(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(d.srv.HTTP.URL+"/dashboard"+path),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready] h1`)))
}

func text(t *testing.T, ctx contextT, js string) string {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[string](js))
}

// overflowJS lists what is wider than the viewport or than its card.
const overflowJS = `(() => {
  const w = document.documentElement.clientWidth;
  const bad = [];
  if (document.documentElement.scrollWidth > w) bad.push('the page: ' + document.documentElement.scrollWidth + ' px > ' + w);
  for (const el of document.querySelectorAll('main h1, main .card, main .card *')) {
    if (el.matches('.table-wrap') && el.scrollWidth > el.clientWidth + 1) bad.push('a table scrolls sideways: ' + el.scrollWidth + ' px in ' + el.clientWidth);
    if (el.closest('pre, .table-wrap')) continue;
    const r = el.getBoundingClientRect();
    const card = el.closest('.card');
    const edge = card ? card.getBoundingClientRect().right : w;
    if (r.width > 0 && r.right > Math.min(w, edge) + 1) bad.push(el.tagName + (el.id ? '#' + el.id : '') + ' ' + Math.round(r.right) + ' px: ' + el.innerText.slice(0, 50));
  }
  return bad.slice(0, 10).join('\n');
})()`

// TestDashboardDefects: each defect seen in Chromium, checked there.
func TestDashboardDefects(t *testing.T) {
	ctx := browser(t, false)
	d := newDash(t)

	t.Run("forged signature refused at sign-in", func(t *testing.T) {
		parts := strings.Split(d.srv.Admin, ".")
		sig := []byte(parts[2])
		sig[5] ^= 1 // still base64url, no longer the signature
		if sig[5] == parts[2][5] {
			t.Fatal("the signature did not change")
		}
		forged := parts[0] + "." + parts[1] + "." + string(sig)
		run(t, ctx, d.signIn(forged), chromedp.WaitVisible(chromedp.CSS(`#token-error`)))
		msg := text(t, ctx, `document.getElementById('token-error').innerText`)
		if !strings.Contains(msg, "server") {
			t.Fatalf("the sign-in error = %q", msg)
		}
		if p := text(t, ctx, `location.pathname + '|' + (sessionStorage.getItem('profiled.token') || '')`); p != "/dashboard/signin|" {
			t.Fatalf("after a forged token: %q", p)
		}
	})

	t.Run("email card without null", func(t *testing.T) {
		d.signedIn(t, ctx)
		run(t, ctx, d.page("/users/"+d.ids["ada@example.com"]), chromedp.WaitVisible(chromedp.CSS(`#email-form`)))
		card := text(t, ctx, `document.getElementById('email-form').closest('.card').innerText`)
		if strings.Contains(card, "null") || !strings.Contains(card, "Mark the new address verified") {
			t.Fatalf("the email card: %q", card)
		}
	})

	t.Run("empty search says so", func(t *testing.T) {
		d.signedIn(t, ctx)
		run(t, ctx, d.page("/users"), chromedp.WaitVisible(chromedp.CSS(`#user-table`)),
			chromedp.SetValue(chromedp.CSS(`#user-search`), `email:"nobody@example.com"`),
			chromedp.Click(chromedp.CSS(`#user-search-submit`)),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="user-count"][contains(., "0 users")]`)))
		res := text(t, ctx, `document.getElementById('user-results').innerText`)
		if strings.Contains(res, "null") || !strings.Contains(res, "No users match") {
			t.Fatalf("the results: %q", res)
		}
	})

	t.Run("long email fits a phone", func(t *testing.T) {
		d.signedIn(t, ctx)
		run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		for _, p := range []struct{ name, path, wait string }{
			{"user", "/users/" + d.ids[longEmail], "#email-form"},
			{"users", "/users?q=" + url.QueryEscape("email:a.very.long*"), "#user-table"},
		} {
			run(t, ctx, d.page(p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
			screenshot(t, ctx, "dashboard-phone-"+p.name)
			if over := text(t, ctx, overflowJS); over != "" {
				t.Errorf("%s overflows at 390 px:\n%s", p.path, over)
			}
		}
		run(t, ctx, chromedp.EmulateViewport(1280, 900))
	})
}

// TestDashboardUserPages: the user page's tabs, Raw JSON in Auth0's shape,
// the history paged and filtered with user agent and IP, and the users
// list's sorting, avatars and create dialog.
func TestDashboardUserPages(t *testing.T) {
	ctx := browser(t, false)
	d := newDash(t)
	for range 30 {
		r := d.c.Query(t, "", `mutation { login(connection: "main", email: "ada@example.com", password: "correct horse") { expiresIn } }`, nil)
		if len(r.Errors) > 0 {
			t.Fatal(r.Raw)
		}
	}
	d.signedIn(t, ctx)
	ada := d.ids["ada@example.com"]

	t.Run("tabs", func(t *testing.T) {
		run(t, ctx, d.page("/users/"+ada), chromedp.WaitVisible(chromedp.CSS(`#email-form`)))
		labels := text(t, ctx, `[...document.querySelectorAll('[role=tab]')].map(b => b.innerText).join('|')`)
		if labels != "Details|Identity provider attributes|History|Devices|Authorized applications|Roles|Permissions|Raw JSON" {
			t.Fatalf("tabs = %q", labels)
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(`#tab-identities`)), chromedp.WaitVisible(chromedp.CSS(`#panel-identities .identity`)))
		if vis := text(t, ctx, `String(document.getElementById('panel-details').hidden) + '|' + location.hash`); vis != "true|#identities" {
			t.Fatalf("after choosing a tab: %q", vis)
		}
	})

	t.Run("raw JSON in Auth0's shape", func(t *testing.T) {
		run(t, ctx, d.page("/users/"+ada+"?x=1"), chromedp.Click(chromedp.CSS(`#tab-raw`)), chromedp.WaitVisible(chromedp.CSS(`#raw-json`)))
		var u map[string]any
		testenv.NoError(t, jsonUnmarshal([]byte(text(t, ctx, `document.getElementById('raw-json').textContent`)), &u))
		for _, k := range []string{"user_id", "email", "email_verified", "user_metadata", "app_metadata", "identities", "created_at", "updated_at", "last_login", "last_ip", "logins_count", "name", "picture"} {
			if _, ok := u[k]; !ok {
				t.Errorf("no %s in %v", k, u)
			}
		}
		for k := range u {
			if strings.ToLower(k) != k {
				t.Errorf("key %s is not snake_case", k)
			}
		}
		if u["user_id"] != ada || u["logins_count"] != float64(30) {
			t.Errorf("user_id %v, logins_count %v", u["user_id"], u["logins_count"])
		}
		ids, _ := u["identities"].([]any)
		if len(ids) != 1 || ids[0].(map[string]any)["connection"] != "main" || ids[0].(map[string]any)["user_id"] == nil || ids[0].(map[string]any)["isSocial"] != false {
			t.Errorf("identities = %v", u["identities"])
		}
	})

	t.Run("history pages and filters", func(t *testing.T) {
		run(t, ctx, d.page("/users/"+ada+"?y=1"), chromedp.Click(chromedp.CSS(`#tab-history`)), chromedp.WaitVisible(chromedp.CSS(`#history`)))
		rows := func() int {
			return get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#history tbody tr').length`))
		}
		if n := rows(); n != 25 {
			t.Fatalf("first page: %d rows", n)
		}
		table := text(t, ctx, `document.getElementById('history').innerText`)
		if !strings.Contains(table, "127.0.0.1") || !strings.Contains(table, "Go-http-client") {
			t.Fatalf("the history shows no IP or user agent: %q", table[:min(len(table), 400)])
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(`#history-more`)),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="history-count"][contains(., "31 of 31")]`)))
		if more := text(t, ctx, `String(document.getElementById('history-more').hidden)`); more != "true" {
			t.Fatal("more events offered after the last page")
		}
		run(t, ctx, chromedp.SetValue(chromedp.CSS(`#history-filter`), "create"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('history-filter').dispatchEvent(new Event('input'))`),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="history-count"][contains(., "1 of 31")]`)))
	})

	t.Run("users list: sort, avatars, create dialog", func(t *testing.T) {
		run(t, ctx, d.page("/users"), chromedp.WaitVisible(chromedp.CSS(`#user-table`)))
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#user-table img.avatar').length`)); n != 4 {
			t.Errorf("%d avatars", n)
		}
		first := func() string {
			return text(t, ctx, `document.querySelector('#user-table tbody tr .user-link').innerText`)
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(`#sort-email`)),
			chromedp.WaitVisible(chromedp.CSS(`th[aria-sort=ascending] #sort-email`)))
		if f := first(); f != longEmail {
			t.Errorf("first by email ascending: %q", f)
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(`#sort-email`)),
			chromedp.WaitVisible(chromedp.CSS(`th[aria-sort=descending] #sort-email`)))
		if f := first(); f != "grace@example.com" {
			t.Errorf("first by email descending: %q", f)
		}
		if open := text(t, ctx, `String(document.getElementById('create-user-dialog').open)`); open != "false" {
			t.Fatal("the create dialog is open before it is asked for")
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(`#create-user-open`)),
			chromedp.WaitVisible(chromedp.CSS(`#create-user-dialog #new-email`)),
			chromedp.SetValue(chromedp.CSS(`#new-email`), "new@example.com"),
			chromedp.SetValue(chromedp.CSS(`#new-password`), "correct horse"),
			chromedp.Click(chromedp.CSS(`#create-user-submit`)),
			chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "new@example.com")]`)))
		screenshot(t, ctx, "dashboard-new-user")
	})
}
