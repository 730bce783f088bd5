package dashboard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(Prefix, Handler())
	tests := []struct {
		method, path string
		status       int
		contentType  string
		body         string // a substring
	}{
		{"GET", "/dashboard/", 200, "text/html; charset=utf-8", `<main id="main"`},
		{"GET", "/dashboard/users/some%7Cid", 200, "text/html; charset=utf-8", `<main id="main"`},
		{"GET", "/dashboard/connections", 200, "text/html; charset=utf-8", `src="/dashboard/js/main.js"`},
		{"GET", "/dashboard/app.css", 200, "text/css; charset=utf-8", ":root"},
		{"GET", "/dashboard/js/main.js", 200, "text/javascript; charset=utf-8", "export function navigate"},
		{"GET", "/dashboard/js/pages/user.js", 200, "text/javascript; charset=utf-8", "fieldRules"},
		{"GET", "/dashboard/js/missing.js", 404, "", ""},
		{"POST", "/dashboard/", 405, "", ""},
		{"GET", "/dashboard", http.StatusTemporaryRedirect, "", ""}, // by the mux, to /dashboard/
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, "http://example.com"+tt.path, nil)
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.contentType != "" {
				if got := rec.Header().Get("Content-Type"); got != tt.contentType {
					t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
				}
				csp := rec.Header().Get("Content-Security-Policy")
				if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
					t.Errorf("Content-Security-Policy = %q", csp)
				}
				if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("no nosniff")
				}
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body does not contain %q", tt.body)
			}
		})
	}
}

// Every module the pages import must be embedded (a typo would only show
// in a browser otherwise).
func TestImportsResolve(t *testing.T) {
	h := Handler()
	for _, p := range []string{"main.js", "api.js", "ui.js", "session.js", "adminscopes.js", "pages/signin.js", "pages/home.js", "pages/users.js", "pages/user.js", "pages/connections.js", "pages/connection.js", "pages/roles.js", "pages/apis.js", "rbactabs.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/dashboard/js/"+p, nil))
		if rec.Code != 200 {
			t.Errorf("%s: status %d", p, rec.Code)
		}
	}
}
