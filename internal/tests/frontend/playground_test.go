package frontend

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/profiled/profiled/internal/testenv"
)

// TestPlaygroundOffline opens the GraphiQL playground in a Chromium whose
// network reaches nothing but the server: the docs show the schema,
// autocomplete offers its fields, and a query runs with a bearer token set
// in the headers editor.
func TestPlaygroundOffline(t *testing.T) {
	ctx := browser(t, true)
	srv := startServer(t, testenv.Options{})
	c := srv.GraphQL(nil)
	for _, q := range []string{
		`mutation { createConnection(input: { name: "main", strategy: DATABASE }) { name } }`,
		`mutation { createUser(input: { connection: "main", email: "ada@example.com", password: "correct horse" }) { id } }`,
	} {
		if r := c.Query(t, srv.Admin, q, nil); len(r.Errors) > 0 {
			t.Fatal(r.Raw)
		}
	}
	editor := func(sel string) string {
		return fmt.Sprintf(`document.querySelector(%q).CodeMirror`, sel+" .CodeMirror")
	}

	run(t, ctx,
		chromedp.Navigate(srv.HTTP.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-container .graphiql-query-editor .CodeMirror`)))

	t.Run("docs", func(t *testing.T) {
		run(t, ctx,
			chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`)),
			chromedp.WaitVisible(chromedp.Search(`//div[contains(@class,"graphiql-doc-explorer")]//a[contains(., "Query")]`)),
			chromedp.Click(chromedp.Search(`//div[contains(@class,"graphiql-doc-explorer")]//a[contains(., "Query")]`)),
			chromedp.WaitVisible(chromedp.Search(`//div[contains(@class,"graphiql-doc-explorer")]//*[contains(., "usersByEmail")]`)))
		docs := get(t, ctx, chromedp.Text(chromedp.CSS(`.graphiql-doc-explorer`)))
		if !strings.Contains(docs, "Users, a page at a time") {
			t.Fatalf("the docs do not show the schema's descriptions: %q", docs)
		}
	})

	t.Run("autocomplete", func(t *testing.T) {
		run(t, ctx,
			chromedp.Evaluate[chromedp.Void](editor(".graphiql-query-editor")+`.setValue("")`),
			chromedp.Click(chromedp.CSS(`.graphiql-query-editor .CodeMirror-lines`)),
			chromedp.SendKeys(chromedp.CSS(`.graphiql-query-editor .CodeMirror textarea`), "{ usersBy"),
			chromedp.WaitVisible(chromedp.CSS(`.CodeMirror-hints`)))
		hints := get(t, ctx, chromedp.Text(chromedp.CSS(`.CodeMirror-hints`)))
		if !strings.Contains(hints, "usersByEmail") {
			t.Fatalf("autocomplete offers %q", hints)
		}
	})

	t.Run("query with a bearer token", func(t *testing.T) {
		headers, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + srv.Admin})
		run(t, ctx,
			chromedp.WaitVisible(chromedp.CSS(`.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror`)),
			chromedp.Evaluate[chromedp.Void](editor(".graphiql-editor-tool .graphiql-editor:not(.hidden)")+fmt.Sprintf(`.setValue(%q)`, headers)),
			chromedp.Evaluate[chromedp.Void](editor(".graphiql-query-editor")+`.setValue("{ users(first: 5) { totalCount edges { node { email } } } }")`),
			chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)),
			chromedp.WaitVisible(chromedp.Search(`//section[contains(@class,"result-window")]//*[contains(., "ada@example.com")]`)))
		result := get(t, ctx, chromedp.Text(chromedp.CSS(`.result-window`)))
		if !strings.Contains(result, `"totalCount": 1`) {
			t.Fatalf("the result: %q", result)
		}
		screenshot(t, ctx, "playground")
	})

	t.Run("nothing fetched elsewhere", func(t *testing.T) {
		urls := get(t, ctx, chromedp.Evaluate[[]string](`[location.href, ...performance.getEntriesByType('resource').map(e => e.name)]`))
		for _, u := range urls {
			if !strings.HasPrefix(u, srv.HTTP.URL+"/") {
				t.Errorf("the playground fetched %s", u)
			}
		}
		if len(urls) < 5 {
			t.Fatalf("resources: %v", urls)
		}
	})
}
