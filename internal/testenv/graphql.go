package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Client sends GraphQL requests to one endpoint, as a typed genqlient
// client or as raw HTTP requests.
type Client struct {
	URL  string       // the /graphql endpoint
	HTTP *http.Client // nil: http.DefaultClient
}

// Response is a GraphQL response as it came.
type Response struct {
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
	Status int             `json:"-"` // the HTTP status
	Raw    string          `json:"-"` // the whole body
}

// Error is one error of a GraphQL response.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns the extensions.code of the first error ("" when none).
func (r Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func (c Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// bearer adds an Authorization header to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.base.RoundTrip(r)
}

// Typed returns a genqlient client that sends token ("" = none), over the
// transport and with the timeout of the client's HTTP client.
func (c Client) Typed(token string) graphql.Client {
	hc := c.httpClient()
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return graphql.NewClient(c.URL, &http.Client{Transport: bearer{token: token, base: base}, Timeout: hc.Timeout})
}

// Post sends body with contentType and token ("" = none) and decodes the
// answer. A transport error is returned, and so is an answer that is not
// JSON.
func (c Client) Post(token, contentType string, body []byte) (Response, error) {
	req, err := http.NewRequest(http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.httpClient().Do(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return Response{}, err
	}
	var out Response
	if err := json.Unmarshal(b, &out); err != nil {
		return Response{}, fmt.Errorf("response is not JSON (%d): %.300s", res.StatusCode, b)
	}
	out.Status, out.Raw = res.StatusCode, string(b)
	return out, nil
}

// Query posts query and vars as JSON with token ("" = none) and returns
// the response as it is; it fails t when there is no GraphQL response.
func (c Client) Query(t testing.TB, token, query string, vars map[string]any) Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Post(token, "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// UploadScript calls setConnectionScript for connection with wasm, in a
// GraphQL multipart request sent with token.
func (c Client) UploadScript(token, connection string, wasm []byte) (Response, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{
		"query":     `mutation($c: String!, $f: Upload!) { setConnectionScript(connection: $c, wasm: $f) { name actions hasScript } }`,
		"variables": map[string]any{"c": connection, "f": nil},
	})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.f"]}`)
	fw, _ := w.CreateFormFile("0", "script.wasm")
	_, _ = fw.Write(wasm)
	_ = w.Close()
	return c.Post(token, w.FormDataContentType(), body.Bytes())
}

// Code returns the extensions.code of a genqlient error's first GraphQL
// error: "" for nil, "no code: …" when there is none.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var l gqlerror.List
	if errors.As(err, &l) && len(l) > 0 {
		if c, ok := l[0].Extensions["code"].(string); ok {
			return c
		}
	}
	return "no code: " + err.Error()
}

// Field returns the extensions.field of a genqlient error's first GraphQL
// error ("" when there is none).
func Field(err error) string {
	var l gqlerror.List
	if errors.As(err, &l) && len(l) > 0 {
		f, _ := l[0].Extensions["field"].(string)
		return f
	}
	return ""
}

// Retryable reports whether a genqlient error's first GraphQL error carries
// extensions.retryable = true (the store could not be reached).
func Retryable(err error) bool {
	var l gqlerror.List
	if errors.As(err, &l) && len(l) > 0 {
		r, _ := l[0].Extensions["retryable"].(bool)
		return r
	}
	return false
}

// WantCode fails t unless err carries the code want (see Code).
func WantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := Code(err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}
