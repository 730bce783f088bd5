package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// postJSON is gqlgen's POST transport (application/json bodies) with one
// difference: a response without errors or extensions, the common case, is
// written as {"data":…} around the bytes the executor produced, where
// gqlgen's transport hands the whole response to encoding/json, which
// re-scans and copies those bytes (json.RawMessage is compacted and
// validated on every Marshal) — a full pass over a 100-user page. The bytes
// on the wire are the same: encoding/json also escapes <, >, & and U+2028/9
// in a RawMessage, and appendHTMLEscaped does the same. Every other response
// (errors, extensions) goes through encoding/json as before, as do the
// status codes and content type of gqlgen's POST transport.
type postJSON struct{}

var _ graphql.Transport = postJSON{}

func (postJSON) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	return r.Method == http.MethodPost && mediaType == "application/json"
}

const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// responseType is the response's content type from the Accept header, as
// gqlgen's POST transport chooses it (application/json by default).
func responseType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

func (postJSON) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	ct := responseType(r)
	w.Header().Add("Content-Type", ct)
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("could not read request body: %+v", err)}))
		return
	}
	var params graphql.RawParams
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&params); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		writeResponse(w, exec.DispatchError(ctx, gqlerror.List{gqlerror.Errorf("json request body could not be decoded: %+v body:%s", err, string(body))}))
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	oc, opErr := exec.CreateOperationContext(ctx, &params)
	if opErr != nil {
		status := http.StatusOK
		if errcode.GetErrorKind(opErr) == errcode.KindProtocol {
			status = http.StatusUnprocessableEntity
			if ct == mediaGraphQLResponse {
				status = http.StatusBadRequest
			}
		}
		w.WriteHeader(status)
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, oc), opErr))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	writeResponse(w, responses(ctx))
}

// writeResponse writes resp as encoding/json would.
func writeResponse(w io.Writer, resp *graphql.Response) {
	if resp != nil && resp.Data != nil && len(resp.Errors) == 0 && resp.Label == "" && len(resp.Path) == 0 &&
		resp.HasNext == nil && len(resp.Extensions) == 0 {
		out := make([]byte, 0, len(resp.Data)+len(`{"data":}`)+16)
		out = append(out, `{"data":`...)
		out = appendHTMLEscaped(out, resp.Data)
		out = append(out, '}')
		_, _ = w.Write(out)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		// As gqlgen's transport: the executor produced invalid JSON.
		panic(err)
	}
	_, _ = w.Write(b)
}

// appendHTMLEscaped appends the JSON text b with <, >, & and U+2028, U+2029
// written as \u003c, \u003e, \u0026, \u2028 and \u2029, as encoding/json
// writes a json.RawMessage: outside strings these bytes cannot occur in
// JSON, so they are escaped wherever they are.
func appendHTMLEscaped(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c == '<' || c == '>' || c == '&' {
			dst = append(dst, b[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			i++
			start = i
			continue
		}
		if c == 0xe2 && i+2 < len(b) && b[i+1] == 0x80 && b[i+2]&^1 == 0xa8 {
			if r, size := utf8.DecodeRune(b[i:]); r == '\u2028' || r == '\u2029' {
				dst = append(dst, b[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
				i += size
				start = i
				continue
			}
		}
		i++
	}
	return append(dst, b[start:]...)
}
