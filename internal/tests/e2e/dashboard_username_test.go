package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/profiled/profiled/client"
)

// selectConnection chooses a connection in the create-user dialog as a
// person would (the change event the page listens to fires).
func selectConnection(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SetValue(chromedp.CSS(`#new-connection`), name),
		jsStep(`document.getElementById('new-connection').dispatchEvent(new Event('change'))`),
	)
}

// TestDashboardUsernames drives the dashboard in headless Chromium: a
// connection is created with "Requires username" and another has it
// turned on in its settings; the create-user dialog asks for a username
// exactly when the chosen connection requires one, says so when it is
// missing, and shows the server's refusals (a username breaking the rules,
// a username taken) next to the field; the user list and the user page
// show the username; and the new user signs in by username.
func TestDashboardUsernames(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, sqliteStore, nil)
	bg := context.Background()
	createDBConnection(t, e, "main")
	createDBConnection(t, e, "crew")

	run(t, ctx,
		chromedp.Navigate(e.srv.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SetValue(chromedp.CSS(`#token`), e.admin),
		chromedp.Click(chromedp.CSS(`#signin-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#logins-chart`)))

	t.Run("create a connection requiring usernames", func(t *testing.T) {
		run(t, ctx, page(e, "/connections"),
			chromedp.WaitVisible(chromedp.CSS(`#create-connection-form`)),
			chromedp.SetValue(chromedp.CSS(`#conn-name`), "staff"),
			chromedp.Click(chromedp.CSS(`#conn-requires-username`)),
			chromedp.Click(chromedp.CSS(`#create-connection-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#connection-requires-username`)))
		wantContains(t, "the summary", text(t, ctx, "#connection-requires-username"), "username or email")
		c, err := client.GetConnection(bg, e.adminClient(), "staff")
		mustNoErr(t, err)
		if !c.Connection.RequiresUsername {
			t.Fatal("staff was created without requiresUsername")
		}
		run(t, ctx, page(e, "/connections"), chromedp.WaitVisible(chromedp.CSS(`#connection-table`)))
		wantContains(t, "the list", text(t, ctx, "#connection-table"), "username or email")
		screenshot(t, ctx, "connection-requires-username")
	})

	t.Run("turn requiresUsername on in the settings", func(t *testing.T) {
		run(t, ctx, page(e, "/connections/crew"), chromedp.WaitVisible(chromedp.CSS(`#set-requires-username`)))
		wantContains(t, "the summary before", text(t, ctx, "#connection-requires-username"), "email (usernames are not used")
		run(t, ctx,
			chromedp.Click(chromedp.CSS(`#set-requires-username`)),
			chromedp.Click(chromedp.CSS(`#settings-save`)),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="settings-status"][contains(., "Settings saved")]`)))
		wantContains(t, "the summary after", text(t, ctx, "#connection-requires-username"), "username or email")
		c, err := client.GetConnection(bg, e.adminClient(), "crew")
		mustNoErr(t, err)
		if !c.Connection.RequiresUsername {
			t.Fatal("the setting was not saved")
		}
	})

	var annID string
	t.Run("create users with usernames", func(t *testing.T) {
		run(t, ctx, page(e, "/users"),
			chromedp.WaitVisible(chromedp.CSS(`#create-user-open`)),
			chromedp.Click(chromedp.CSS(`#create-user-open`)),
			chromedp.WaitVisible(chromedp.CSS(`#new-email`)),
			selectConnection("main"))
		if visible := get(t, ctx, chromedp.Evaluate[bool](`!document.getElementById('new-username').closest('.field').hidden`)); visible {
			t.Fatal("the username field shows for a connection that does not require one")
		}
		run(t, ctx, selectConnection("staff"), chromedp.WaitVisible(chromedp.CSS(`#new-username`)),
			chromedp.SetValue(chromedp.CSS(`#new-email`), "ann@example.com"),
			chromedp.SetValue(chromedp.CSS(`#new-password`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#create-user-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#new-username-error`)))
		wantContains(t, "a missing username", text(t, ctx, "#new-username-error"), "connection staff requires one")

		// The server's rules: a space is refused, next to the field.
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#new-username`), "ann lee"),
			chromedp.Click(chromedp.CSS(`#create-user-submit`)),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="new-username-error"][contains(., "Please check the value")]`)))
		if inv := get(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#new-username`), "aria-invalid")); inv.Value != "true" {
			t.Fatalf("the field is not marked invalid: %+v", inv)
		}
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#new-username`), "Ann_1"),
			chromedp.Click(chromedp.CSS(`#create-user-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-username`)))
		if got := text(t, ctx, "#user-username"); got != "ann_1" {
			t.Fatalf("the user page's username: %q", got)
		}
		u, err := e.store.UserByConnectionUsername(bg, "staff", "ann_1")
		mustNoErr(t, err)
		annID = u.ID

		// A username another user of the connection has.
		run(t, ctx, page(e, "/users"),
			chromedp.WaitVisible(chromedp.CSS(`#create-user-open`)),
			chromedp.Click(chromedp.CSS(`#create-user-open`)),
			chromedp.WaitVisible(chromedp.CSS(`#new-email`)),
			selectConnection("staff"),
			chromedp.SetValue(chromedp.CSS(`#new-email`), "other@example.com"),
			chromedp.SetValue(chromedp.CSS(`#new-username`), "ANN_1"),
			chromedp.SetValue(chromedp.CSS(`#new-password`), "correct horse battery"),
			chromedp.Click(chromedp.CSS(`#create-user-submit`)),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="new-username-error"][contains(., "already has this username")]`)))
		screenshot(t, ctx, "create-user-username-taken")
	})

	t.Run("the list and the sign-in", func(t *testing.T) {
		run(t, ctx, page(e, "/users"), chromedp.WaitVisible(chromedp.CSS(`#user-table`)))
		table := text(t, ctx, "#user-table")
		wantContains(t, "the username column", table, "Username")
		wantContains(t, "ann's username", table, "ann_1")
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#user-search`), `username:ann_1`),
			chromedp.Click(chromedp.CSS(`#user-search-submit`)),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="user-count"][contains(., "1 user matches")]`)))
		res, err := client.LoginByUsername(bg, e.client(""), "staff", "Ann_1", "correct horse battery")
		mustNoErr(t, err)
		if res.Login.User.Id != annID || res.Login.User.Username == nil || *res.Login.User.Username != "ann_1" {
			t.Fatalf("login by username: %+v", res.Login.User)
		}
		_, err = client.LoginByUsername(bg, e.client(""), "main", "ann_1", "correct horse battery")
		wantCode(t, err, "BAD_USER_INPUT")
		if !strings.Contains(err.Error(), "does not let its users log in by username") {
			t.Fatalf("username on main: %v", err)
		}
	})

	t.Run("an admin signs in to the dashboard by username", func(t *testing.T) {
		_, err := client.CreateConnection(bg, e.adminClient(), client.ConnectionInput{Name: "admins", Strategy: client.StrategyDatabase,
			RequiresUsername: ptr(true), AdminScopes: []string{"read:users", "read:connections"}})
		mustNoErr(t, err)
		_, err = client.CreateUser(bg, e.adminClient(), client.CreateUserInput{Connection: "admins", Email: "boss@example.com", Username: ptr("boss"), Password: ptr("correct horse battery")})
		mustNoErr(t, err)
		signInAs := func(conn, id, password string) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(
				page(e, "/signin"),
				chromedp.SetValue(chromedp.CSS(`#admin-connection`), conn),
				chromedp.SetValue(chromedp.CSS(`#admin-email`), id),
				chromedp.SetValue(chromedp.CSS(`#admin-password`), password),
				chromedp.Click(chromedp.CSS(`#admin-signin-submit`)))
		}
		// Each wait is for the sentence itself: the error slots are on the
		// page, empty, before the answer comes.
		run(t, ctx, signInAs("admins", "boss", "wrong horse battery"),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="admin-password-error"][contains(., "Wrong connection, username or password")]`)))
		run(t, ctx, signInAs("main", "boss", "correct horse battery"),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="admin-email-error"][contains(., "does not let its users log in by username")]`)))
		run(t, ctx, signInAs("admins", "BOSS", "correct horse battery"), chromedp.WaitVisible(chromedp.CSS(`#logins-chart`)))
		if scopes := get(t, ctx, chromedp.Evaluate[string](`JSON.parse(atob(sessionStorage.getItem('profiled.token').split('.')[1].replace(/-/g,'+').replace(/_/g,'/'))).scope`)); scopes != "read:users read:connections" {
			t.Fatalf("the management token's scopes: %q", scopes)
		}
	})
}
