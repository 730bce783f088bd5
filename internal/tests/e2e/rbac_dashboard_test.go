package e2e

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDashboardRBAC drives the dashboard in Chromium: a user's Roles tab
// (assign a role from the list, remove it) and Permissions tab (the source
// of each permission, assign one directly), and the Roles and APIs pages;
// every change is checked through the API too.
func TestDashboardRBAC(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, sqliteStore, nil)
	f := setupRBAC(t, e)
	userRoles := func() []string {
		var res userRBACResult
		data(t, "user roles", e.raw(e.admin, userRBAC, map[string]any{"id": f.user}), &res)
		var names []string
		for _, r := range res.User.Roles {
			names = append(names, r.Name)
		}
		return names
	}

	run(t, ctx,
		chromedp.Navigate(e.srv.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SetValue(chromedp.CSS(`#token`), e.admin),
		chromedp.Click(chromedp.CSS(`#signin-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-ready="Home"]`)))
	nav := text(t, ctx, "#nav")
	wantContains(t, "the navigation", nav, "Roles")
	wantContains(t, "the navigation", nav, "APIs")

	t.Run("roles tab", func(t *testing.T) {
		run(t, ctx, page(e, "/users/"+f.user),
			chromedp.Click(chromedp.CSS(`#tab-roles`)),
			chromedp.WaitVisible(chromedp.CSS(`#tab-roles[aria-selected="true"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-roles-empty`)),
			chromedp.WaitReady(chromedp.CSS(`#assign-role option[value="`+f.admin+`"]`)),
			chromedp.SetValue(chromedp.CSS(`#assign-role`), f.admin),
			chromedp.Click(chromedp.CSS(`#assign-role-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-roles`)))
		wantContains(t, "the roles table", text(t, ctx, "#user-roles"), "admin")
		wantContains(t, "the status", get(t, ctx, chromedp.TextContent(chromedp.CSS(`#roles-status`))), "Role admin assigned.")
		if got := userRoles(); !reflect.DeepEqual(got, []string{"admin"}) {
			t.Fatalf("roles through the API = %v", got)
		}
		// An empty choice is refused in the page, next to the list.
		run(t, ctx, chromedp.Click(chromedp.CSS(`#assign-role-submit`)), chromedp.WaitVisible(chromedp.CSS(`#roles-error`)))
		wantContains(t, "the empty-choice error", text(t, ctx, "#roles-error"), "Choose a role")
	})

	t.Run("permissions tab", func(t *testing.T) {
		run(t, ctx,
			chromedp.Click(chromedp.CSS(`#tab-permissions`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-permissions`)))
		if hidden := get(t, ctx, chromedp.Evaluate[bool](`document.getElementById('panel-roles').hidden`)); !hidden {
			t.Fatal("the Roles panel is still shown with the Permissions tab selected")
		}
		table := text(t, ctx, "#user-permissions")
		for _, want := range []string{"write:orders", "read:invoices", "Role: admin", ordersAPI} {
			wantContains(t, "the permissions table", table, want)
		}
		if strings.Contains(table, "Direct") {
			t.Fatalf("a direct permission before any was assigned: %q", table)
		}
		value, _ := json.Marshal(map[string]string{"api": ordersAPI, "name": "delete:orders"})
		run(t, ctx,
			chromedp.WaitReady(chromedp.CSS(`#assign-permission option[value='`+string(value)+`']`)),
			chromedp.SetValue(chromedp.CSS(`#assign-permission`), string(value)),
			chromedp.Click(chromedp.CSS(`#assign-permission-submit`)),
			chromedp.WaitVisible(chromedp.Search(`//table[@id="user-permissions"]//tr[contains(., "delete:orders")][contains(., "Direct")]`)))
		for _, panel := range []string{"#panel-permissions"} {
			if p := text(t, ctx, panel); strings.Contains(p, "null") || strings.Contains(p, "undefined") {
				t.Fatalf("%s shows a missing value as text: %q", panel, p)
			}
		}
		if os.Getenv("PROFILED_SCREENSHOTS") != "" {
			screenshot(t, ctx, "user-permissions")
		}
		var res userRBACResult
		data(t, "after assigning", e.raw(e.admin, userRBAC, map[string]any{"id": f.user}), &res)
		want := []string{billingAPI + " read:invoices: admin", ordersAPI + " delete:orders: direct", ordersAPI + " read:orders: admin", ordersAPI + " write:orders: admin"}
		if got := sourcesOf(res); !reflect.DeepEqual(got, want) {
			t.Fatalf("permissions through the API = %q", got)
		}
	})

	t.Run("remove the role", func(t *testing.T) {
		run(t, ctx,
			chromedp.Click(chromedp.CSS(`#tab-roles`)),
			chromedp.Click(chromedp.CSS(`button[data-remove-role="`+f.admin+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-roles-empty`)),
			chromedp.Click(chromedp.CSS(`#tab-permissions`)),
			chromedp.WaitVisible(chromedp.CSS(`#user-permissions`)))
		table := text(t, ctx, "#user-permissions")
		if strings.Contains(table, "write:orders") || !strings.Contains(table, "delete:orders") {
			t.Fatalf("after removing admin: %q", table)
		}
		if got := userRoles(); got != nil {
			t.Fatalf("roles through the API = %v", got)
		}
	})

	t.Run("roles and APIs pages", func(t *testing.T) {
		run(t, ctx, page(e, "/roles"), chromedp.WaitVisible(chromedp.CSS(`#role-table`)))
		table := text(t, ctx, "#role-table")
		wantContains(t, "the roles", table, "reader")
		wantContains(t, "the roles", table, "Reads orders")
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#role-name`), "auditor"),
			chromedp.Click(chromedp.CSS(`#create-role-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`main[data-ready="Role"] #role-add-permission-submit`)),
			chromedp.WaitReady(chromedp.CSS(`#role-add-permission option[value]:not([value=""])`)))
		value, _ := json.Marshal(map[string]string{"api": billingAPI, "name": "read:invoices"})
		run(t, ctx,
			chromedp.SetValue(chromedp.CSS(`#role-add-permission`), string(value)),
			chromedp.Click(chromedp.CSS(`#role-add-permission-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#role-permissions`)))
		wantContains(t, "the role's permissions", text(t, ctx, "#role-permissions"), "read:invoices")
		var roles struct {
			Roles struct {
				Nodes []struct {
					Name        string
					Permissions []struct{ API, Name string }
				}
			}
		}
		data(t, "roles", e.raw(e.admin, `{ roles(nameFilter: "audit") { nodes { name permissions { api name } } } }`, nil), &roles)
		if len(roles.Roles.Nodes) != 1 || len(roles.Roles.Nodes[0].Permissions) != 1 || roles.Roles.Nodes[0].Permissions[0].Name != "read:invoices" {
			t.Fatalf("auditor through the API = %+v", roles)
		}
		run(t, ctx, page(e, "/apis"))
		body := text(t, ctx, "main")
		wantContains(t, "the APIs page", body, "Orders")
		wantContains(t, "the APIs page", body, "RBAC enforced")
		if os.Getenv("PROFILED_SCREENSHOTS") != "" {
			screenshot(t, ctx, "apis")
		}
	})
}
