package main

// The legacy-login mode (-legacy): logins go to a CUSTOM_DATABASE connection
// running the MySQL template against a legacy MariaDB table this tool fills,
// instead of the DATABASE connection (issue 17's memory measure).

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/crypto/bcrypt"
)

// seedLegacy (re)creates the database legacyURL names with the template's
// users table and n users (bcrypt cost 4), builds the MySQL template with
// bin, and creates a CUSTOM_DATABASE connection running it there.
func seedLegacy(ctx context.Context, c *client, bin, legacyURL string, n int) ([]user, string, error) {
	u, err := url.Parse(legacyURL)
	if err != nil || u.Scheme != "mysql" || strings.Trim(u.Path, "/") == "" {
		return nil, "", fmt.Errorf("-legacy wants mysql://USER[:PASS]@HOST:PORT/DBNAME")
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	name := strings.Trim(u.Path, "/")
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, "", err
	}
	defer admin.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS `" + name + "`", "CREATE DATABASE `" + name + "`"} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			return nil, "", fmt.Errorf("legacy database: %w", err)
		}
	}
	cfg.DBName, cfg.MultiStatements = name, true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, "", err
	}
	defer db.Close()
	schema, err := os.ReadFile(filepath.Join("templates", "mysql", "schema.sql"))
	if err != nil {
		return nil, "", fmt.Errorf("run from the repository root: %w", err)
	}
	if _, err := db.ExecContext(ctx, string(schema)); err != nil {
		return nil, "", fmt.Errorf("legacy schema: %w", err)
	}
	users := make([]user, n)
	for i := range users {
		users[i] = user{email: fmt.Sprintf("legacy%d@example.com", i), password: fmt.Sprintf("legacy-password-%d", i)}
		h, err := bcrypt.GenerateFromPassword([]byte(users[i].password), 4)
		if err != nil {
			return nil, "", err
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO users (email, password, nickname, name, email_verified) VALUES (?, ?, 'n', 'Legacy User', 1)", users[i].email, h); err != nil {
			return nil, "", err
		}
	}

	wasmPath := filepath.Join(os.TempDir(), "profiled-load-legacy-"+strconv.Itoa(os.Getpid())+".wasm")
	defer os.Remove(wasmPath)
	b := exec.CommandContext(ctx, bin, "script", "build", filepath.Join("templates", "mysql"), "-o", wasmPath)
	b.Stderr = os.Stderr
	if err := b.Run(); err != nil {
		return nil, "", fmt.Errorf("profiled script build templates/mysql: %w", err)
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return nil, "", err
	}
	conn := "legacy-" + strconv.Itoa(os.Getpid())
	if err := c.do(ctx, c.token, `mutation($n: String!, $u: String!) { createConnection(input: {name: $n, strategy: CUSTOM_DATABASE, databaseURL: $u}) { name } }`,
		map[string]any{"n": conn, "u": legacyURL}, nil); err != nil {
		return nil, "", fmt.Errorf("create connection: %w", err)
	}
	if err := c.upload(ctx, conn, wasm); err != nil {
		return nil, "", fmt.Errorf("upload script: %w", err)
	}
	// The first login builds the module (compiled, or read from the
	// compilation cache): setup, not the run.
	if err := c.do(ctx, "", `mutation($c: String!, $e: String!, $p: String!) { login(connection: $c, email: $e, password: $p) { accessToken } }`,
		map[string]any{"c": conn, "e": users[0].email, "p": users[0].password}, nil); err != nil {
		return nil, "", fmt.Errorf("first legacy login: %w", err)
	}
	return users, conn, nil
}

// upload sends setConnectionScript as a GraphQL multipart request.
func (c *client) upload(ctx context.Context, conn string, wasm []byte) error {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{
		"query":     `mutation($c: String!, $f: Upload!) { setConnectionScript(connection: $c, wasm: $f) { name } }`,
		"variables": map[string]any{"c": conn, "f": nil},
	})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.f"]}`)
	fw, _ := w.CreateFormFile("0", "script.wasm")
	_, _ = fw.Write(wasm)
	_ = w.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/graphql", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
		return fmt.Errorf("HTTP %d: %.300s", res.StatusCode, out)
	}
	return nil
}

// resetPeak clears the server's peak RSS (VmHWM) so that the run's peak
// leaves the setup out (Linux: /proc/PID/clear_refs, value 5).
func resetPeak(pid int) error {
	if pid == 0 {
		return nil
	}
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
