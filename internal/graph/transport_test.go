package graph

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestWriteResponseMatchesEncodingJSON: the fast path writes the bytes
// gqlgen's transport (encoding/json) writes, escapes included.
func TestWriteResponseMatchesEncodingJSON(t *testing.T) {
	yes := true
	for _, resp := range []*graphql.Response{
		{Data: json.RawMessage(`{"user":null}`)},
		{Data: json.RawMessage(`{"user":{"name":"<b>Tom & Jerry</b>","bio":"a\u2028b\u2029c ✓ \u00e9"}}`)},
		{Data: json.RawMessage("{\"s\":\"raw \xe2\x80\xa8 sep \xe2\x80\xa9 and \xe2\x80\xaa\"}")},
		{Data: json.RawMessage(`{"a":[1,2,{"b":"\u003c"}]}`)},
		{Data: nil},
		{Data: json.RawMessage(`{"user":null}`), Errors: gqlerror.List{{Message: "<no>", Extensions: map[string]any{"code": "NOT_FOUND"}}}},
		{Data: json.RawMessage(`{}`), Extensions: map[string]any{"x": 1}},
		{Data: json.RawMessage(`{}`), HasNext: &yes, Label: "l"},
	} {
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		writeResponse(&got, resp)
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("got  %s\nwant %s", got.Bytes(), want)
		}
	}
}

// FuzzAppendHTMLEscaped: for any JSON string, the escaped document is the
// one encoding/json writes for a json.RawMessage.
func FuzzAppendHTMLEscaped(f *testing.F) {
	for _, s := range []string{"", "<>&", "\u2028\u2029", "\xe2\x80", "\xe2\x80\xa8", "é✓"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc, _ := json.Marshal(map[string]string{"s": s}) // already escaped by encoding/json
		raw := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u2028`, "\u2028", `\u2029`, "\u2029").Replace(string(doc))
		want, err := json.Marshal(json.RawMessage(raw))
		if err != nil {
			t.Skip() // the replacement made it invalid (e.g. a literal backslash before u003c)
		}
		if got := appendHTMLEscaped(nil, []byte(raw)); !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}
