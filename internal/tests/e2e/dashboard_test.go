package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/profiled/profiled/internal/testenv"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// browser starts a headless Chromium for one test (testenv.Browser),
// bounded at 5 minutes.
func browser(t *testing.T) context.Context {
	return testenv.Browser(t, 5*time.Minute, false)
}

// run runs browser steps in order, failing the test on error.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	get(t, ctx, chromedp.Steps(steps...))
}

// get runs one browser action that returns a value. A step that cannot
// finish (a selector that never shows up) fails after a bound, with the
// page's text to say why.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		page, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("%v; the page:\n%s", err, page)
	}
	return v
}

// screenshot saves the whole page as artifacts/dashboard-NAME.png at the
// repository root.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, chromedp.FullScreenshot(100))
	dir := filepath.Join("..", "..", "..", "artifacts") // from internal/tests/e2e
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dashboard-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// page opens a dashboard path and waits until the page has rendered.
func page(e *env, path string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(e.srv.URL+"/dashboard"+path),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready] h1`)),
	)
}

// text is the visible text of the first element matching the CSS selector.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

func wantContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%s = %q, want it to contain %q", what, got, want)
	}
}

func TestDashboardBrowser(t *testing.T) {
	ctx := browser(t)
	e := newScriptEnv(t, sqliteStore)
	bg := context.Background()
	admin := e.adminClient()
	_, err := client.CreateConnection(bg, admin, client.ConnectionInput{Name: "main", Strategy: client.StrategyDatabase})
	mustNoErr(t, err)
	var ada string
	for _, u := range []struct{ email, name string }{{"ada@example.com", "Ada Lovelace"}, {"grace@example.com", "Grace Hopper"}, {"alan@example.com", "Alan Turing"}} {
		res, err := client.CreateUser(bg, admin, client.CreateUserInput{Connection: "main", Email: u.email, Password: ptr("correct horse"), Name: ptr(u.name)})
		mustNoErr(t, err)
		if u.email == "ada@example.com" {
			ada = res.CreateUser.Id
		}
	}
	_, err = client.Login(bg, e.client(""), "main", "grace@example.com", "correct horse")
	mustNoErr(t, err)
	_, err = client.Login(bg, e.client(""), "main", "grace@example.com", "wrong password")
	wantCode(t, err, "INVALID_CREDENTIALS")

	t.Run("sign in and home", func(t *testing.T) {
		run(t, ctx,
			chromedp.Navigate(e.srv.URL+"/dashboard"),
			chromedp.WaitVisible(chromedp.CSS(`#token`)),
			chromedp.SetValue(chromedp.CSS(`#token`), "not a token"),
			chromedp.Click(chromedp.CSS(`#signin-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#token-error`)))
		wantContains(t, "the sign-in error", text(t, ctx, "#token-error"), "not a JWT")
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#token`), e.admin),
			chromedp.Click(chromedp.CSS(`#signin-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#logins-chart`)))
		wantContains(t, "the users tile", text(t, ctx, "#stat-users"), "3")
		wantContains(t, "the chart's title", get(t, ctx, chromedp.TextContent(chromedp.CSS("#chart-title"))), "1 successful and 1 failed logins")
		screenshot(t, ctx, "home")
	})

	t.Run("search a user", func(t *testing.T) {
		run(t, ctx, page(e, "/users"), chromedp.WaitVisible(chromedp.CSS(`#user-table`)))
		wantContains(t, "the count", text(t, ctx, "#user-count"), "3 users")
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#user-search`), `email:"grace@example.com"`),
			chromedp.Click(chromedp.CSS(`#user-search-submit`)))
		if r := e.raw(e.admin, `{ users(query: "email:x@example.com") { totalCount } }`, nil); r.code() != "" {
			t.Fatalf("the API refuses a valid search query: %s", r.code())
		}
		run(t, ctx, chromedp.WaitVisible(chromedp.Search(`//p[@id="user-count"][contains(., "1 user matches")]`)))
		table := text(t, ctx, "#user-table")
		wantContains(t, "the results", table, "grace@example.com")
		if strings.Contains(table, "ada@example.com") {
			t.Fatalf("results hold a user the query excludes: %q", table)
		}
		screenshot(t, ctx, "users-search")

		// A query the language refuses is explained next to the box.
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#user-search`), `email:(`),
			chromedp.Click(chromedp.CSS(`#user-search-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-search-error`)))
		wantContains(t, "the search error", text(t, ctx, "#user-search-error"), "This search cannot run")
	})

	t.Run("edit user_metadata", func(t *testing.T) {
		run(t, ctx, page(e, "/users/"+ada),
			chromedp.WaitVisible(chromedp.CSS(`#user-metadata`)),
			chromedp.SetValue(chromedp.CSS(`#user-metadata`), `{"lang": "fr", "theme": {`),
			chromedp.Click(chromedp.CSS(`#user-metadata-save`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-metadata-error`)))
		wantContains(t, "the JSON error", text(t, ctx, "#user-metadata-error"), "not valid JSON")
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#user-metadata`), `{"lang": "fr", "theme": {"color": "teal"}}`),
			chromedp.Click(chromedp.CSS(`#user-metadata-save`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-metadata-status`)))
		wantContains(t, "the status", text(t, ctx, "#user-metadata-status"), "saved")
		u, err := e.store.UserByID(bg, ada)
		mustNoErr(t, err)
		got, _ := json.Marshal(u.UserMetadata)
		if string(got) != `{"lang":"fr","theme":{"color":"teal"}}` {
			t.Fatalf("stored user_metadata = %s", got)
		}
		run(t, ctx, chromedp.Click(chromedp.CSS(`#tab-raw`)), chromedp.WaitVisible(chromedp.CSS(`#raw-json`)))
		wantContains(t, "the raw JSON", text(t, ctx, "#raw-json"), `"teal"`)
		run(t, ctx, chromedp.Click(chromedp.CSS(`#tab-details`)))
		screenshot(t, ctx, "user")
	})

	t.Run("legacy email is read-only with its reason", func(t *testing.T) {
		now := e.clock.Now()
		conn := service.Connection{
			Connection:    policy.Connection{Name: "legacy-crm", Strategy: policy.StrategyCustomDatabase, SyncUserProfile: true, Actions: map[policy.Action]bool{policy.ActionLogin: true}},
			Configuration: map[string]any{}, CreatedAt: now, UpdatedAt: now,
		}
		mustNoErr(t, e.store.InsertConnection(bg, conn))
		u := policy.User{
			ID: policy.UserIDFor(conn.Name, "7"), Connection: conn.Name, Email: "legacy@example.com", Name: "Legacy Lee",
			UserMetadata: policy.Metadata{}, AppMetadata: policy.Metadata{},
			Identities: []policy.Identity{{Connection: conn.Name, Provider: policy.ProviderCustomDatabase, UserID: "7"}},
			CreatedAt:  now, UpdatedAt: now,
		}
		mustNoErr(t, e.store.InsertUser(bg, u))
		run(t, ctx, page(e, "/users/"+u.ID), chromedp.WaitVisible(chromedp.CSS(`#email-reason`)))
		wantContains(t, "the reason", text(t, ctx, "#email-reason"), "change it in the custom database; the profile refreshes at the user's next login")
		if !get(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#email-input`), "readonly")).Exists {
			t.Fatal("the email field is editable")
		}
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#email-submit').length`)); n != 0 {
			t.Fatal("a legacy user's email has a submit button")
		}
		wantContains(t, "the nickname reason", text(t, ctx, "#profile-nickname-reason"), "turn off syncUserProfile")
		screenshot(t, ctx, "user-legacy")
	})

	t.Run("block a user and see login refused", func(t *testing.T) {
		run(t, ctx, page(e, "/users/"+ada),
			chromedp.Click(chromedp.CSS(`#block-toggle`)),
			chromedp.WaitVisible(chromedp.CSS(`#actions-status`)))
		wantContains(t, "the status", text(t, ctx, "#actions-status"), "blocked")
		wantContains(t, "the badges", text(t, ctx, "#user-badges"), "blocked")
		_, err := client.Login(bg, e.client(""), "main", "ada@example.com", "correct horse")
		wantCode(t, err, "USER_BLOCKED")
		run(t, ctx, page(e, "/users/"+ada), chromedp.Click(chromedp.CSS(`#tab-history`)), chromedp.WaitVisible(chromedp.CSS(`#history`)))
		wantContains(t, "the history", text(t, ctx, "#history"), "block")
		screenshot(t, ctx, "user-blocked")
	})

	t.Run("upload a script and try it", func(t *testing.T) {
		legacy := newLegacyDB(t)
		legacy.add(t, "legacy.sam@example.com", "legacy-secret-pw", "sam", "Sam Legacy")
		_, err := client.CreateConnection(bg, admin, client.ConnectionInput{
			Name: "crm", Strategy: client.StrategyCustomDatabase, DatabaseURL: ptr(legacy.url),
			Configuration: obj(map[string]any{"BCRYPT_COST": "4"}),
		})
		mustNoErr(t, err)
		wasm := filepath.Join(t.TempDir(), "mysql.wasm")
		mustNoErr(t, os.WriteFile(wasm, script(t, "templates/mysql"), 0o644))
		before, err := e.store.CountUsers(bg)
		mustNoErr(t, err)

		run(t, ctx, page(e, "/connections/crm"),
			chromedp.Click(chromedp.CSS(`#script-upload`)),
			chromedp.WaitVisible(chromedp.CSS(`#script-file-error`)))
		wantContains(t, "the upload error", text(t, ctx, "#script-file-error"), "Choose a .wasm file")
		run(t, ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#script-file`), []string{wasm}),
			chromedp.Click(chromedp.CSS(`#script-upload`)),
			chromedp.WaitVisible(chromedp.CSS(`#script-status`)))
		wantContains(t, "the upload status", text(t, ctx, "#script-status"), "get_user")

		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#try-email`), "legacy.sam@example.com"),
			chromedp.SetValue(chromedp.CSS(`#try-password`), "legacy-secret-pw"),
			chromedp.Click(chromedp.CSS(`#try-run`)),
			chromedp.WaitVisible(chromedp.CSS(`#try-profile`)))
		wantContains(t, "the outcome", text(t, ctx, "#try-outcome"), "returned a profile")
		wantContains(t, "the profile", text(t, ctx, "#try-profile"), `"email": "legacy.sam@example.com"`)
		body := text(t, ctx, "body")
		if strings.Contains(body, "legacy-secret-pw") {
			t.Fatal("the page shows the tried password")
		}
		screenshot(t, ctx, "connection-try")

		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#try-password`), "not-the-password"),
			chromedp.Click(chromedp.CSS(`#try-run`)),
			chromedp.WaitVisible(chromedp.CSS(`#try-outcome.error`)))
		wantContains(t, "the failed outcome", text(t, ctx, "#try-outcome"), "refused this email and password")
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#try-action`), "GET_USER"),
			chromedp.SetValue(chromedp.CSS(`#try-email`), "nobody@example.com"),
			chromedp.Click(chromedp.CSS(`#try-run`)),
			chromedp.WaitVisible(chromedp.Search(`//p[@id="try-outcome"][contains(., "no user")]`)))

		after, err := e.store.CountUsers(bg)
		mustNoErr(t, err)
		if after != before {
			t.Fatalf("trying the script changed the number of users: %d → %d", before, after)
		}
		r := e.raw(e.admin, `mutation { tryConnectionScript(connection: "crm", action: LOGIN, email: "legacy.sam@example.com", password: "legacy-secret-pw") { ok profile attributes logs durationMs } }`, nil)
		if len(r.Errors) > 0 || !strings.Contains(r.Raw, `"ok":true`) || strings.Contains(r.Raw, "legacy-secret-pw") || strings.Contains(r.Raw, "$2a$") {
			t.Fatalf("tryConnectionScript = %s", r.Raw)
		}
		if r := e.raw(e.token(policy.ScopeReadConnections), `mutation { tryConnectionScript(connection: "crm", action: GET_USER, email: "a@example.com") { ok } }`, nil); r.code() != "FORBIDDEN" {
			t.Fatalf("without update:connections: %s", r.Raw)
		}
	})

	// Last, as it changes the tab's viewport: phone width.
	t.Run("phone width", func(t *testing.T) {
		run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile), page(e, "/users/"+ada))
		screenshot(t, ctx, "user-phone")
		run(t, ctx, page(e, "/connections"))
		screenshot(t, ctx, "connections-phone")
	})
}

// TestDashboardAPI checks the dashboard's own API on both stores.
func TestDashboardAPI(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		bg := context.Background()
		admin := e.adminClient()
		_, err := client.CreateConnection(bg, admin, client.ConnectionInput{Name: "main", Strategy: client.StrategyDatabase})
		mustNoErr(t, err)
		res, err := client.CreateUser(bg, admin, client.CreateUserInput{Connection: "main", Email: "ada@example.com", Password: ptr("correct horse")})
		mustNoErr(t, err)
		_, err = client.UpdateUser(bg, admin, res.CreateUser.Id, client.UpdateUserInput{Blocked: ptr(true)})
		mustNoErr(t, err)
		_, err = client.Login(bg, e.client(""), "main", "ada@example.com", "correct horse")
		wantCode(t, err, "USER_BLOCKED")
		_, err = client.Login(bg, e.client(""), "main", "nobody@example.com", "correct horse")
		wantCode(t, err, "INVALID_CREDENTIALS")

		r := e.raw(e.token(policy.ScopeReadUsers), `{ stats { users blocked migrated notMigrated retentionDays
			usersByConnection { connection strategy users blocked } loginsPerDay { day success failure } } }`, nil)
		if len(r.Errors) > 0 {
			t.Fatal(r.Raw)
		}
		var data struct {
			Stats struct {
				Users, Blocked, RetentionDays int
				UsersByConnection             []struct {
					Connection, Strategy string
					Users, Blocked       int
				}
				LoginsPerDay []struct {
					Day              string
					Success, Failure int
				}
			}
		}
		mustNoErr(t, json.Unmarshal(r.Data, &data))
		st := data.Stats
		if st.Users != 1 || st.Blocked != 1 || st.RetentionDays != 30 || len(st.UsersByConnection) != 1 || st.UsersByConnection[0].Strategy != "DATABASE" {
			t.Fatalf("stats = %+v", st)
		}
		last := st.LoginsPerDay[len(st.LoginsPerDay)-1]
		if len(st.LoginsPerDay) != 30 || last.Day != e.clock.Now().UTC().Format(time.DateOnly) || last.Success != 0 || last.Failure != 2 {
			t.Fatalf("loginsPerDay = %+v", st.LoginsPerDay)
		}
		if r := e.raw(e.token(policy.ScopeReadConnections), `{ stats { users } }`, nil); r.code() != "FORBIDDEN" {
			t.Fatalf("stats without read:users: %s", r.Raw)
		}

		r = e.raw(e.token(policy.ScopeReadUsers, policy.ScopeUpdateUsersAppMetadata), `query($id: ID!) { user(id: $id) { fieldRules { field updatable code reason } } }`, map[string]any{"id": res.CreateUser.Id})
		if len(r.Errors) > 0 || !strings.Contains(r.Raw, `{"field":"appMetadata","updatable":true,"code":null,"reason":null}`) ||
			!strings.Contains(r.Raw, `{"field":"email","updatable":false,"code":"FORBIDDEN"`) {
			t.Fatalf("fieldRules = %s", r.Raw)
		}
	})
}

// TestDashboardAdminSignIn: an administrator signs in with an account of a
// connection whose users hold admin scopes, and the dashboard works with
// the management token the login returns; wrong credentials and an account
// without admin scopes are told next to the form. The connection page
// shows a refused grant's reason next to the admin-scope checkboxes.
func TestDashboardAdminSignIn(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e := newEnv(t, sqliteStore, nil)
	bg := context.Background()
	admin := e.adminClient()
	_, err := client.CreateConnection(bg, admin, client.ConnectionInput{Name: "staff", Strategy: client.StrategyDatabase, AdminScopes: []string{"read:users", "read:connections"}})
	mustNoErr(t, err)
	createDBConnection(t, e, "main")
	for _, u := range []struct{ conn, email string }{{"staff", "boss@example.com"}, {"main", "ada@example.com"}, {"main", "grace@example.com"}} {
		_, err := client.CreateUser(bg, admin, client.CreateUserInput{Connection: u.conn, Email: u.email, Password: ptr("correct horse")})
		mustNoErr(t, err)
	}
	signInAs := func(conn, email, password string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			page(e, "/signin"),
			chromedp.SetValue(chromedp.CSS(`#admin-connection`), conn),
			chromedp.SetValue(chromedp.CSS(`#admin-email`), email),
			chromedp.SetValue(chromedp.CSS(`#admin-password`), password),
			chromedp.Click(chromedp.CSS(`#admin-signin-submit`)))
	}

	t.Run("wrong password", func(t *testing.T) {
		run(t, ctx, signInAs("staff", "boss@example.com", "wrong password"), chromedp.WaitVisible(chromedp.CSS(`#admin-password-error`)))
		wantContains(t, "the error", text(t, ctx, "#admin-password-error"), "Wrong connection, email or password")
		if v := get(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#admin-password`), "aria-invalid")); !v.Exists {
			t.Fatal("the password field is not marked invalid")
		}
		if n := get(t, ctx, chromedp.Evaluate[int](`sessionStorage.length`)); n != 0 {
			t.Fatal("a failed sign-in stored a token")
		}
		screenshot(t, ctx, "signin-admin-error")
	})

	t.Run("an account without admin scopes", func(t *testing.T) {
		run(t, ctx, signInAs("main", "ada@example.com", "correct horse"), chromedp.WaitVisible(chromedp.CSS(`#admin-signin-error`)))
		wantContains(t, "the error", text(t, ctx, "#admin-signin-error"), "This account holds no admin scopes")
	})

	t.Run("sign in and see the users", func(t *testing.T) {
		run(t, ctx, signInAs("staff", "boss@example.com", "correct horse"), chromedp.WaitVisible(chromedp.CSS(`#stats-tiles`)))
		wantContains(t, "the session", text(t, ctx, "#session"), "2 scopes")
		run(t, ctx, page(e, "/users"), chromedp.WaitVisible(chromedp.CSS(`#user-table`)))
		table := text(t, ctx, "#user-table")
		for _, email := range []string{"boss@example.com", "ada@example.com", "grace@example.com"} {
			wantContains(t, "the users list", table, email)
		}
		if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#create-user-form, #block-toggle').length`)); n != 0 {
			t.Fatal("the dashboard offers writes the token's scopes do not allow")
		}
		screenshot(t, ctx, "signin-admin-users")
		run(t, ctx, page(e, "/connections"), chromedp.WaitVisible(chromedp.CSS(`#connection-table`)))
		wantContains(t, "the connections list", text(t, ctx, "#connection-table"), "read:users, read:connections")
	})

	t.Run("a refused grant says why", func(t *testing.T) {
		run(t, ctx, page(e, "/signin"),
			chromedp.SetValue(chromedp.CSS(`#token`), e.token(policy.ScopeReadConnections, policy.ScopeUpdateConnections, policy.ScopeReadUsers)),
			chromedp.Click(chromedp.CSS(`#signin-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#stats-tiles`)),
			page(e, "/connections/staff"),
			chromedp.WaitVisible(chromedp.CSS(`#set-admin-scopes`)))
		wantContains(t, "the summary", text(t, ctx, "#connection-admin-scopes"), "read:users, read:connections")
		wantContains(t, "the checkbox note", text(t, ctx, "#set-admin-scopes"), "your token lacks it")
		run(t, ctx,
			chromedp.Click(chromedp.CSS(`#set-admin-scopes-update-users`)),
			chromedp.Click(chromedp.CSS(`#settings-save`)),
			chromedp.WaitVisible(chromedp.CSS(`#set-admin-scopes-error`)))
		wantContains(t, "the refusal", text(t, ctx, "#set-admin-scopes-error"), "lacks update:users")
		c, err := e.store.ConnectionByName(bg, "staff")
		mustNoErr(t, err)
		if len(c.AdminScopes) != 2 {
			t.Fatalf("a refused grant changed the connection: %v", c.AdminScopes)
		}
		screenshot(t, ctx, "connection-admin-scopes")
	})
}
