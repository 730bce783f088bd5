package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// withCodes makes every error response carry extensions.code: an error
// status (4xx, 5xx) whose body is a GraphQL error document gets a code on
// each error that lacks one, and any other error body (net/http's plain
// text, e.g. 404 or 405) becomes such a document. gqlgen writes its
// transport errors (a GET mutation, a text/plain body, a websocket upgrade,
// an undecodable body) without a code; clients branch on codes.
// Successful responses pass through unbuffered, and so do HTML pages
// (the OpenID Provider's hosted sign-in pages say what went wrong in their
// own page, for a person, with a 401 or 429 status).
func withCodes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &codeWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		cw.finish()
	})
}

// codeFor is the code of an error response with this status.
func codeFor(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case status == http.StatusForbidden:
		return "FORBIDDEN"
	case status == http.StatusNotFound:
		return "NOT_FOUND"
	case status == http.StatusTooManyRequests:
		return "TOO_MANY_ATTEMPTS"
	case status >= 500:
		return "INTERNAL"
	}
	return "BAD_USER_INPUT"
}

type codeWriter struct {
	http.ResponseWriter
	status int
	buf    *bytes.Buffer // the body of an error response, held back
}

func (c *codeWriter) WriteHeader(status int) {
	if c.status != 0 {
		return
	}
	c.status = status
	if status >= 400 && !strings.HasPrefix(c.ResponseWriter.Header().Get("Content-Type"), "text/html") {
		c.buf = &bytes.Buffer{}
		return
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *codeWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.buf != nil {
		return c.buf.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

func (c *codeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *codeWriter) finish() {
	if c.buf == nil {
		return
	}
	body, changed := withCode(c.buf.Bytes(), codeFor(c.status))
	h := c.ResponseWriter.Header()
	if changed {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.ResponseWriter.WriteHeader(c.status)
	_, _ = c.ResponseWriter.Write(body)
}

// withCode returns body as a GraphQL error document whose every error has
// extensions.code (code where it had none). Other JSON (e.g. /healthz's
// status) is left as it is.
func withCode(body []byte, code string) (_ []byte, changed bool) {
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		if _, ok := doc["errors"]; !ok {
			return body, false
		}
		if errs, ok := doc["errors"].([]any); ok && len(errs) > 0 {
			for _, e := range errs {
				m, ok := e.(map[string]any)
				if !ok {
					continue
				}
				ext, _ := m["extensions"].(map[string]any)
				if ext == nil {
					ext = map[string]any{}
					m["extensions"] = ext
				}
				if c, _ := ext["code"].(string); c == "" {
					ext["code"] = code
				}
			}
			if out, err := json.Marshal(doc); err == nil {
				return append(out, '\n'), true
			}
		}
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = "the request failed"
	}
	out, _ := json.Marshal(map[string]any{
		"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code}}},
	})
	return append(out, '\n'), true
}
