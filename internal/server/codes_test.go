package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// withCode keeps existing codes, adds missing ones, turns plain text into a
// GraphQL error document and leaves other JSON alone.
func TestWithCode(t *testing.T) {
	for _, tc := range []struct{ in, code, want string }{
		{`{"errors":[{"message":"transport not supported"}],"data":null}`, "BAD_USER_INPUT", `"code":"BAD_USER_INPUT"`},
		{`{"errors":[{"message":"x","extensions":{"code":"FORBIDDEN"}}]}`, "BAD_USER_INPUT", `"code":"FORBIDDEN"`},
		{"404 page not found\n", "NOT_FOUND", `{"errors":[{"extensions":{"code":"NOT_FOUND"},"message":"404 page not found"}]}`},
		{"", "INTERNAL", `"message":"the request failed"`},
	} {
		out, changed := withCode([]byte(tc.in), tc.code)
		if !changed || !strings.Contains(string(out), tc.want) || !json.Valid(out) {
			t.Errorf("withCode(%q) = %s, %v; want %s", tc.in, out, changed, tc.want)
		}
	}
	if out, changed := withCode([]byte(`{"status":"unavailable"}`), "INTERNAL"); changed || string(out) != `{"status":"unavailable"}` {
		t.Errorf("health JSON changed: %s", out)
	}
}

// BenchmarkWithCodes: the cost withCodes adds to a successful GraphQL
// response (the common case: nothing is buffered), as a ratio to the bare
// handler measured in the same run.
func BenchmarkWithCodes(b *testing.B) {
	body := []byte(`{"data":{"me":{"id":"main|1","email":"ada@example.com"}}}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	wrapped := withCodes(h)
	var bare, with time.Duration
	for range b.N {
		t0 := time.Now()
		h.ServeHTTP(httptest.NewRecorder(), req)
		t1 := time.Now()
		wrapped.ServeHTTP(httptest.NewRecorder(), req)
		with += time.Since(t1)
		bare += t1.Sub(t0)
	}
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "bare-ns/op")
	b.ReportMetric(float64(with.Nanoseconds())/float64(b.N), "withcodes-ns/op")
	b.ReportMetric(float64(with)/float64(bare), "ratio")
}

// An HTML error page (the hosted sign-in page's "Wrong email or password",
// 401) reaches the browser as it was written; plain text still becomes a
// GraphQL error document.
func TestWithCodesLeavesHTMLPages(t *testing.T) {
	for _, tc := range []struct {
		ctype, body string
		wantJSON    bool
	}{
		{"text/html; charset=utf-8", `<p id="error">Wrong email or password.</p>`, false},
		{"text/plain; charset=utf-8", "unauthorized\n", true},
	} {
		h := withCodes(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", tc.ctype)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(tc.body))
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", nil))
		got := rec.Body.String()
		if rec.Code != http.StatusUnauthorized || json.Valid([]byte(got)) != tc.wantJSON || !tc.wantJSON && got != tc.body {
			t.Errorf("%s: %d %q", tc.ctype, rec.Code, got)
		}
	}
}
