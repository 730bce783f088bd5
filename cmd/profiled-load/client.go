package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
)

// --- GraphQL over HTTP ---

type client struct {
	base, token string
	http        *http.Client
}

type gqlErr struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// do posts one operation; the error is a transport failure, a non-200
// status or the first GraphQL error (as its code).
func (c *client) do(ctx context.Context, token, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return c.post(ctx, token, "application/json", body, out)
}

// upload posts a GraphQL multipart request (the multipart request spec)
// whose variable fileVar is the file.
func (c *client) upload(ctx context.Context, query string, vars map[string]any, fileVar string, file []byte, out any) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	vars[fileVar] = nil
	ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.`+fileVar+`"]}`)
	fw, _ := w.CreateFormFile("0", "users.ndjson")
	_, _ = fw.Write(file)
	_ = w.Close()
	return c.post(ctx, c.token, w.FormDataContentType(), body.Bytes(), out)
}

func (c *client) post(ctx context.Context, token, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlErr        `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("HTTP %d: not JSON", res.StatusCode)
	}
	if len(r.Errors) > 0 {
		code, _ := r.Errors[0].Extensions["code"].(string)
		if code == "" {
			code = "ERROR"
		}
		return &opError{code: code, message: r.Errors[0].Message}
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// opError is a GraphQL error: its code counts in the report, its message
// shows where a setup step fails.
type opError struct{ code, message string }

func (e *opError) Error() string { return e.code }

// detail is err with a GraphQL error's message, for setup failures.
func detail(err error) error {
	if e, ok := err.(*opError); ok {
		return fmt.Errorf("%s: %s", e.code, e.message)
	}
	return err
}
