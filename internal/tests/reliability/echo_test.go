package reliability

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestErrorAnswersAreSmall: a malformed 1 MB JSON body (a password and
// angle brackets in it) gets a small answer that quotes none of it; so do
// an unknown field with a 100 KB name and a syntax error after 100 KB.
func TestErrorAnswersAreSmall(t *testing.T) {
	e := newEnv(t, envConfig{})
	secret := "hunter2-in-the-body"
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"malformed JSON", append([]byte(`{"query":"{ me { id } }","variables":{"password":"`+secret+`"},"x":"`), append(bytes.Repeat([]byte("<"), 1<<20-200), []byte(`"`)...)...)},
		{"long field name", []byte(`{"query":"{ ` + strings.Repeat("a", 100<<10) + ` }","variables":{"p":"` + secret + `"}}`)},
		{"syntax error", []byte(`{"query":"{ ` + strings.Repeat("<", 100<<10) + ` }","variables":{"p":"` + secret + `"}}`)},
	} {
		res, err := e.http.Post(e.srv.URL+"/graphql", "application/json", bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		_, _ = out.ReadFrom(res.Body)
		res.Body.Close()
		t.Logf("%s: %d-byte body → %d %d-byte answer", c.name, len(c.body), res.StatusCode, out.Len())
		if out.Len() > 2048 || strings.Contains(out.String(), secret) || strings.Contains(out.String(), `\u003c\u003c`) {
			t.Fatalf("%s: %d-byte answer: %.400s", c.name, out.Len(), out.String())
		}
		if res.StatusCode != http.StatusBadRequest && res.StatusCode != http.StatusUnprocessableEntity && res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", c.name, res.StatusCode)
		}
		if !strings.Contains(out.String(), `"code"`) {
			t.Fatalf("%s: no code: %s", c.name, out.String())
		}
	}
}
