package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// --- the server under test ---

type server struct {
	cmd  *exec.Cmd
	done chan struct{}
	dir  string
}

// startServer builds (unless -bin) and starts `profiled serve` on c.db (a
// fresh SQLite file when empty) with bcrypt cost c.cost (0: the server's
// default), waits for
// /healthz, and fills c.url, c.pid and c.token (every user scope).
func startServer(ctx context.Context, c *config) (*server, error) {
	dir, err := os.MkdirTemp("", "profiled-load-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir}
	if c.bin == "" {
		c.bin = filepath.Join(dir, "profiled")
		b := exec.CommandContext(ctx, "go", "build", "-o", c.bin, "./cmd/profiled")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/profiled (run from the repository root, or pass -bin): %w", err)
		}
	}
	if c.db == "" {
		c.db = "sqlite:" + filepath.Join(dir, "load.db")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	env, err := storeEnv(c)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.bin, "serve", "--addr", addr, "--db", c.db)
	cmd.Env = append(env, "PROFILED_LOG_LEVEL=warn")
	if c.cost != 0 {
		cmd.Env = append(cmd.Env, "PROFILED_BCRYPT_COST="+strconv.Itoa(c.cost))
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	c.url, c.pid = "http://"+addr, cmd.Process.Pid
	deadline := time.Now().Add(120 * time.Second)
	for {
		res, err := http.Get(c.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("the server exited: %s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("the server did not answer /healthz within 120 s")
		}
	}
	tc := exec.Command(c.bin, "token", "create", "--db", c.db, "--ttl", "48h",
		"--scope", "read:users create:users update:users update:users_app_metadata delete:users read:connections create:connections update:connections")
	tc.Env = env
	tok, err := tc.Output()
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("token create: %w", err)
	}
	c.token = strings.TrimSpace(string(tok))
	fmt.Fprintf(os.Stderr, "started %s (pid %d) on %s, store %s, bcrypt cost %d (0: default), log %s\n", c.bin, c.pid, c.url, c.db, c.cost, filepath.Join(dir, "server.log"))
	return s, nil
}

func (s *server) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

// storeEnv is the environment of the server and of `token create`: on
// MariaDB, without PROFILED_SECRET_KEY(_FILE) set, a key-encryption key
// kept under -cache for that store (made on first use), so a seeded
// database keeps opening run after run. SQLite makes its own beside the
// file.
func storeEnv(c *config) ([]string, error) {
	env := os.Environ()
	if !strings.HasPrefix(c.db, "mysql:") || os.Getenv("PROFILED_SECRET_KEY") != "" || os.Getenv("PROFILED_SECRET_KEY_FILE") != "" {
		return env, nil
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, strings.TrimPrefix(c.db, "mysql://"))
	if err := os.MkdirAll(c.cacheDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(c.cacheDir, "mysql-"+name+".secret-key")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	return append(env, "PROFILED_SECRET_KEY_FILE="+path), nil
}
