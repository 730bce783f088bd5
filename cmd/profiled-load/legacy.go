package main

// The legacy-login case: logins go to a CUSTOM_DATABASE connection running
// the MySQL template against a legacy MariaDB table this tool fills (-legacy),
// the peak RSS measured after the setup (issue 17's memory measure).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
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
	if err := c.upload(ctx, `mutation($c: String!, $f: Upload!) { setConnectionScript(connection: $c, wasm: $f) { name } }`,
		map[string]any{"c": conn}, "f", wasm, nil); err != nil {
		return nil, "", fmt.Errorf("upload script: %w", err)
	}
	// The first login builds the module (compiled, or read from the
	// compilation cache): setup, not the run.
	if err := c.do(ctx, "", LoginMutation, map[string]any{"c": conn, "e": users[0].email, "p": users[0].password}, nil); err != nil {
		return nil, "", fmt.Errorf("first legacy login: %w", err)
	}
	return users, conn, nil
}

// runLegacyLogin drives logins of the legacy users; the peak leaves the
// setup (upload, compilation) out.
func runLegacyLogin(ctx context.Context, e *caseEnv, _ io.Writer) (*caseResult, error) {
	if e.cfg.legacy == "" {
		return nil, errors.New("needs -legacy mysql://USER[:PASS]@HOST:PORT/DBNAME")
	}
	if e.cfg.bin == "" {
		return nil, errors.New("with -url, needs -bin (it builds the script)")
	}
	users, conn, err := seedLegacy(ctx, e.cl, e.cfg.bin, e.cfg.legacy, 64)
	if err != nil {
		return nil, err
	}
	e.mem.resetPeak()
	r := hammer(ctx, e, func(ctx context.Context, rng *mrand.Rand) error {
		u := users[rng.IntN(len(users))]
		return e.cl.do(ctx, "", LoginMutation, map[string]any{"c": conn, "e": u.email, "p": u.password}, nil)
	})
	r.Note = "CUSTOM_DATABASE (MySQL template, MariaDB legacy table), bcrypt cost 4; peak without the setup"
	return r, nil
}
