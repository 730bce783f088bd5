package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// mariaServer is a private mariadbd the test owns: its own datadir, port
// and socket, so it can be killed and restarted without touching the shared
// server other packages' tests use.
type mariaServer struct {
	t       testing.TB
	dir     string
	datadir string
	port    int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
	mariadbd     string
)

// requireMariaDB skips the test when the MariaDB binaries are missing,
// except in CI (CI=true), where it fails, like internal/testmysql does.
func requireMariaDB(t testing.TB) {
	t.Helper()
	var missing []string
	for _, b := range []string{"mariadbd", "mariadb-install-db"} {
		if _, err := exec.LookPath(b); err != nil {
			if _, err := os.Stat("/usr/sbin/" + b); err != nil {
				missing = append(missing, b)
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("reliability: %v not found; CI must run the fault tests (install mariadb-server)", missing)
	}
	t.Skipf("reliability: %v not found; set CI=true to make this a failure", missing)
}

func binary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

// installTemplate runs mariadb-install-db once per test binary; each server
// starts from a copy of that datadir (a copy takes milliseconds, an install
// seconds).
func installTemplate() (string, error) {
	templateOnce.Do(func() {
		d, err := os.MkdirTemp("", "profiled-reliability-mariadb-")
		if err != nil {
			templateErr = err
			return
		}
		templateDir = filepath.Join(d, "data")
		mariadbd = binary("mariadbd")
		cmd := exec.Command(binary("mariadb-install-db"), "--no-defaults", "--datadir="+templateDir,
			"--user="+currentUser(), "--auth-root-authentication-method=normal", "--skip-test-db")
		if out, err := cmd.CombinedOutput(); err != nil {
			templateErr = fmt.Errorf("mariadb-install-db: %v\n%s", err, out)
		}
	})
	return templateDir, templateErr
}

// currentUser is the account mariadbd runs as: ours (root needs
// --user=root, which mariadbd otherwise refuses).
func currentUser() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Geteuid())
}

// startMariaDB starts a private server for t and stops it when t ends.
func startMariaDB(t testing.TB) *mariaServer {
	t.Helper()
	requireMariaDB(t)
	tmpl, err := installTemplate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &mariaServer{t: t, dir: dir, datadir: filepath.Join(dir, "data"), port: freePort(t)}
	if out, err := exec.Command("cp", "-a", tmpl, m.datadir).CombinedOutput(); err != nil {
		t.Fatalf("copy datadir: %v: %s", err, out)
	}
	m.Start()
	t.Cleanup(func() { m.Kill() })
	return m
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts mariadbd and waits until it answers (at most 60 s).
func (m *mariaServer) Start() {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		m.t.Fatal("mariadbd already running")
	}
	cmd := exec.Command(mariadbd, "--no-defaults", "--user="+currentUser(), "--datadir="+m.datadir,
		"--port="+strconv.Itoa(m.port), "--bind-address=127.0.0.1", "--socket="+filepath.Join(m.dir, "mysqld.sock"),
		"--pid-file="+filepath.Join(m.dir, "mysqld.pid"), "--log-error="+filepath.Join(m.dir, "error.log"),
		"--skip-log-bin", "--skip-name-resolve", "--innodb-buffer-pool-size=32M", "--max-connections=500",
		"--innodb-flush-log-at-trx-commit=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mariadbd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.cmd, m.done = cmd, done

	deadline := time.Now().Add(60 * time.Second)
	for {
		err := m.ping()
		if err == nil {
			return
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
			m.t.Fatalf("mariadbd exited at start: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mariadbd did not answer within 60 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a process that is not ours to signal
	}
}

func (m *mariaServer) ping() error {
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// Kill stops mariadbd with SIGKILL (a crash: InnoDB recovers at the next
// start) and waits for it to exit. It does nothing when it is not running.
func (m *mariaServer) Kill() { m.stop(syscall.SIGKILL) }

// Stop shuts mariadbd down cleanly (SIGTERM) and waits for it to exit.
func (m *mariaServer) Stop() { m.stop(syscall.SIGTERM) }

func (m *mariaServer) stop(sig syscall.Signal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(sig)
	select {
	case <-m.done:
	case <-time.After(60 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd, m.done = nil, nil
}

// DSN is a go-sql-driver DSN for database name ("" = none).
func (m *mariaServer) DSN(name string) string {
	return fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?parseTime=true&timeout=2s", m.port, name)
}

// URL is a profiled mysql:// URL for database name.
func (m *mariaServer) URL(name string) string {
	return fmt.Sprintf("mysql://root@127.0.0.1:%d/%s", m.port, name)
}

// CreateDatabase creates a database and returns its name.
func (m *mariaServer) CreateDatabase(name string) string {
	m.t.Helper()
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		m.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		m.t.Fatal(err)
	}
	return name
}

// Open returns a *sql.DB on database name, closed when the test ends.
func (m *mariaServer) Open(name string, extra string) *sql.DB {
	m.t.Helper()
	db, err := sql.Open("mysql", m.DSN(name)+extra)
	if err != nil {
		m.t.Fatal(err)
	}
	m.t.Cleanup(func() { db.Close() })
	return db
}
