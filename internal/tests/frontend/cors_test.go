package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/profiled/profiled/internal/server"
	"github.com/profiled/profiled/internal/testenv"
)

// corsJS calls the API from the page: a query, a mutation and a multipart
// upload (importUsers), each with the bearer token, and answers what each
// returned or "BLOCKED" with the browser's error.
const corsJS = `(async (api, token, conn) => {
  const auth = { Authorization: 'Bearer ' + token };
  const call = (init) => fetch(api, init).then(r => r.text()).catch(e => 'BLOCKED ' + e);
  const json = (query) => call({ method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ query }) });
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: 'mutation($f: Upload!) { importUsers(connection: "main", file: $f) { id type } }',
    variables: { f: null },
  }));
  form.append('map', JSON.stringify({ 0: ['variables.f'] }));
  form.append('0', new Blob(['{"email":"' + conn + '@example.com"}\n'], { type: 'application/x-ndjson' }), 'users.ndjson');
  return JSON.stringify({
    query: await json('{ users(first: 1) { totalCount } }'),
    mutation: await json('mutation { createConnection(input: { name: "' + conn + '", strategy: DATABASE }) { name } }'),
    upload: await call({ method: 'POST', headers: auth, body: form }),
  });
})`

// TestCORSInChromium: a page on an allowed origin calls the API (query,
// mutation, upload) from Chromium; a page on another origin is blocked by
// the browser, and its mutation never reaches the server.
func TestCORSInChromium(t *testing.T) {
	ctx := browser(t, false)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>app</title><p>an app on another origin</p>`)
	})
	allowed := httptest.NewServer(page)
	t.Cleanup(allowed.Close)
	other := httptest.NewServer(page)
	t.Cleanup(other.Close)
	origins, err := server.ParseOrigins(allowed.URL, false)
	testenv.NoError(t, err)
	srv := startServer(t, testenv.Options{HTTP: func(o *server.Options) { o.CORS = &server.CORS{Origins: origins} }})
	c := srv.GraphQL(nil)
	if r := c.Query(t, srv.Admin, `mutation { createConnection(input: { name: "main", strategy: DATABASE }) { name } }`, nil); len(r.Errors) > 0 {
		t.Fatal(r.Raw)
	}

	callFrom := func(t *testing.T, pageURL, conn string) map[string]string {
		t.Helper()
		run(t, ctx, chromedp.Navigate(pageURL))
		js := fmt.Sprintf("%s(%q, %q, %q)", corsJS, srv.HTTP.URL+"/graphql", srv.Admin, conn)
		out := get(t, ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		var res map[string]string
		testenv.NoError(t, json.Unmarshal([]byte(out), &res))
		return res
	}

	t.Run("allowed origin", func(t *testing.T) {
		res := callFrom(t, allowed.URL, "from-allowed")
		for k, want := range map[string]string{
			"query": `"totalCount":0`, "mutation": `"name":"from-allowed"`, "upload": `"type":"IMPORT"`,
		} {
			if !strings.Contains(res[k], want) || strings.Contains(res[k], `"errors"`) {
				t.Errorf("%s from %s = %s, want %s", k, allowed.URL, res[k], want)
			}
		}
	})
	t.Run("disallowed origin", func(t *testing.T) {
		res := callFrom(t, other.URL, "from-other")
		for _, k := range []string{"query", "mutation", "upload"} {
			if !strings.HasPrefix(res[k], "BLOCKED") {
				t.Errorf("%s from %s was not blocked: %s", k, other.URL, res[k])
			}
		}
		if r := c.Query(t, srv.Admin, `{ connection(name: "from-other") { name } }`, nil); !strings.Contains(string(r.Data), `"connection":null`) {
			t.Fatalf("the blocked mutation ran: %s", r.Raw)
		}
	})

	t.Run("preflight", func(t *testing.T) {
		for _, tc := range []struct {
			origin string
			allow  bool
		}{{allowed.URL, true}, {other.URL, false}} {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodOptions, srv.HTTP.URL+"/graphql", nil)
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "apollo-require-preflight,authorization,content-type")
			resp, err := http.DefaultClient.Do(req)
			testenv.NoError(t, err)
			resp.Body.Close()
			h := resp.Header
			if !tc.allow {
				if v := h.Get("Access-Control-Allow-Origin"); v != "" {
					t.Errorf("%s: Access-Control-Allow-Origin = %q", tc.origin, v)
				}
				continue
			}
			if h.Get("Access-Control-Allow-Origin") != tc.origin || h.Get("Access-Control-Max-Age") != "7200" ||
				h.Get("Access-Control-Allow-Credentials") != "" ||
				!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") {
				t.Errorf("%s: preflight headers %v", tc.origin, h)
			}
		}
	})
}
