package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/99designs/gqlgen/graphql"
	"github.com/profiled/profiled/internal/policy"
)

// Metadata is the JSON scalar: a JSON object.
type Metadata = policy.Metadata

// ErrNotObject is returned when a JSON scalar is given anything but an
// object; the error presenter maps it to BAD_USER_INPUT.
var ErrNotObject = errors.New("must be a JSON object")

// MarshalMetadata writes a JSON object.
func MarshalMetadata(m Metadata) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if m == nil {
			_, _ = io.WriteString(w, "null")
			return
		}
		b, err := appendJSONObject(make([]byte, 0, 256), m)
		if err != nil {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(b)
	})
}

// UnmarshalMetadata accepts only a JSON object (from variables or an inline
// literal). Anything else is refused with a *policy.Refusal (BAD_USER_INPUT).
func UnmarshalMetadata(v any) (Metadata, error) {
	switch m := v.(type) {
	case map[string]any:
		return Metadata(m), nil
	case Metadata:
		return m, nil
	default:
		return nil, &policy.Refusal{Reason: policy.ReasonBadInput, Message: fmt.Sprintf("%s, got %s", ErrNotObject, kind(v))}
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, int, int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
