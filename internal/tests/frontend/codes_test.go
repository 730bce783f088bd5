package frontend

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/profiled/profiled/internal/testenv"
)

// TestEveryErrorHasCode sends the requests gqlgen refuses before any
// resolver runs (and net/http's own refusals) and checks that each error
// of the answer carries extensions.code.
func TestEveryErrorHasCode(t *testing.T) {
	srv := startServer(t, testenv.Options{})
	base := srv.HTTP.URL
	get := func(q string) string { return base + "/graphql?query=" + url.QueryEscape(q) }
	cases := []struct {
		name, method, url, contentType, body string
		header                               map[string]string
		status                               int
		code, msg                            string
	}{
		{name: "GET mutation", method: "GET", url: get(`mutation { deleteUser(id: "x") }`), status: 406, code: "BAD_USER_INPUT", msg: "GET"},
		{name: "text/plain body", method: "POST", url: base + "/graphql", contentType: "text/plain", body: `{"query":"{ me { id } }"}`, status: 400, code: "BAD_USER_INPUT", msg: "transport not supported"},
		{name: "websocket upgrade", method: "GET", url: base + "/graphql", header: map[string]string{
			"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "graphql-transport-ws",
		}, status: 400, code: "BAD_USER_INPUT", msg: "transport not supported"},
		{name: "PUT", method: "PUT", url: base + "/graphql", contentType: "application/json", body: `{"query":"{ me { id } }"}`, status: 400, code: "BAD_USER_INPUT"},
		{name: "undecodable JSON", method: "POST", url: base + "/graphql", contentType: "application/json", body: `{"query": `, status: 400, code: "BAD_USER_INPUT"},
		{name: "GET without a query", method: "GET", url: base + "/graphql", status: 422, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "multipart without operations", method: "POST", url: base + "/graphql", contentType: "multipart/form-data; boundary=x", body: "--x\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{}\r\n--x--\r\n", status: 422, code: "BAD_USER_INPUT"},
		{name: "parse error", method: "POST", url: base + "/graphql", contentType: "application/json", body: `{"query":"{ me { "}`, status: 422, code: "GRAPHQL_PARSE_FAILED"},
		{name: "unknown path", method: "GET", url: base + "/nothing-here", status: 404, code: "NOT_FOUND"},
		{name: "POST to JWKS", method: "POST", url: base + "/.well-known/jwks.json", status: 405, code: "BAD_USER_INPUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			testenv.NoError(t, err)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			testenv.NoError(t, err)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var doc struct {
				Errors []struct {
					Message    string
					Extensions map[string]any
				}
			}
			if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Errors) == 0 {
				t.Fatalf("status %d, body %q is not a GraphQL error document", resp.StatusCode, raw)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tc.status, raw)
			}
			for _, e := range doc.Errors {
				if c, _ := e.Extensions["code"].(string); c == "" {
					t.Errorf("an error without extensions.code: %s", raw)
				}
			}
			if c, _ := doc.Errors[0].Extensions["code"].(string); c != tc.code {
				t.Errorf("code = %q, want %q (%s)", c, tc.code, raw)
			}
			if !strings.Contains(doc.Errors[0].Message, tc.msg) {
				t.Errorf("message %q does not say %q", doc.Errors[0].Message, tc.msg)
			}
		})
	}
}
