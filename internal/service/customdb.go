package service

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CustomDBConfig says which databases a custom-database connection may
// name. A custom database is the customer's database, never the service's
// own store: a script that could open the store would read its signing
// keys and every connection's secrets.
type CustomDBConfig struct {
	// SQLiteDir, when set, allows sqlite: URLs naming files inside this
	// directory (after cleaning the path and resolving symbolic links).
	// Empty, the default: sqlite: URLs are refused (they are for demos and
	// tests; a production custom database is a MySQL/MariaDB server).
	SQLiteDir string
	// Own is the service's own store, refused whatever the URL's spelling.
	Own OwnStore
}

// OwnStore identifies the service's own store (one of the two parts is
// set) and files a script must never open.
type OwnStore struct {
	// SQLitePath is the store's file (SQLite).
	SQLitePath string
	// MySQLHost, MySQLPort and MySQLDB name the store's database (MySQL).
	MySQLHost string
	MySQLPort int
	MySQLDB   string
	// Files are other files no script may name (the secret-key file).
	Files []string
}

// checkCustomDBURL refuses a custom database URL that sqlite: names
// without the operator's leave, or that names the service's own store.
// The message never quotes the URL (it may hold a password).
func (s *Service) checkCustomDBURL(ctx context.Context, raw string) error {
	if raw == "" {
		return nil
	}
	if err := ValidateDatabaseURL(raw); err != nil {
		return err
	}
	cfg := s.cfg.CustomDB
	bad := func(why string) error {
		return &Error{Code: CodeBadUserInput, Field: "databaseURL", Message: "databaseURL " + why}
	}
	if p, ok := strings.CutPrefix(raw, "sqlite:"); ok {
		if cfg.SQLiteDir == "" {
			return bad("may not be sqlite: on this server: a custom database is a MySQL/MariaDB database (the operator may allow one directory for SQLite files with --custom-db-sqlite-dir)")
		}
		// The script runner opens "file:"+p as an SQLite URI: refuse what a
		// URI would read differently from a path (query, fragment,
		// percent-escapes, an authority).
		if strings.ContainsAny(p, "?#%\x00") {
			return bad("sqlite: path must not contain '?', '#', '%' or NUL")
		}
		if strings.HasPrefix(p, "//") {
			if !strings.HasPrefix(p, "///") {
				return bad("sqlite: path must be a plain file path")
			}
			p = p[2:]
		}
		file, err := resolvePath(p)
		if err != nil {
			return bad("sqlite: path cannot be resolved")
		}
		dir, err := resolvePath(cfg.SQLiteDir)
		if err != nil {
			return &Error{Code: CodeConnectionUnavailable, Message: "the custom-database SQLite directory cannot be resolved", Err: err}
		}
		if rel, err := filepath.Rel(dir, file); err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
			return bad("sqlite: path must name a file inside the directory the operator allows for custom databases")
		}
		for _, own := range ownFiles(cfg.Own) {
			if sameFile(file, own) {
				return bad("names the service's own store")
			}
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("is not a valid URL")
	}
	if cfg.Own.MySQLDB == "" {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	if strings.EqualFold(dbName, cfg.Own.MySQLDB) && port == itoa(cfg.Own.MySQLPort) && sameHost(ctx, u.Hostname(), cfg.Own.MySQLHost) {
		return bad("names the service's own store")
	}
	return nil
}

func itoa(n int) string {
	if n == 0 {
		n = 3306
	}
	return strconv.Itoa(n)
}

// ownFiles lists the store's file, its journal files and the other
// protected files.
func ownFiles(o OwnStore) []string {
	var out []string
	if o.SQLitePath != "" && o.SQLitePath != ":memory:" {
		for _, suf := range []string{"", "-wal", "-shm", "-journal"} {
			out = append(out, o.SQLitePath+suf)
		}
	}
	return append(out, o.Files...)
}

// resolvePath makes p absolute (relative to the working directory, as the
// script runner opens it), cleans it and resolves symbolic links; for a
// file that does not exist yet, its directory's links are resolved.
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	dir, err := resolvePath(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// sameFile: the same path once resolved, or the same file (hard links).
func sameFile(resolved, other string) bool {
	r, err := resolvePath(other)
	if err == nil && r == resolved {
		return true
	}
	a, err1 := os.Stat(resolved)
	b, err2 := os.Stat(other)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// sameHost: the same name, or names resolving to a shared address, or
// both naming this machine (loopback, unspecified or a local interface's
// address).
func sameHost(ctx context.Context, a, b string) bool {
	if strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, ".")) {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ipsA, errA := lookupHost(ctx, a)
	ipsB, errB := lookupHost(ctx, b)
	if errA != nil || errB != nil {
		// Unresolvable now: the driver could not reach it either; refuse
		// only when the names match (above).
		return false
	}
	for _, x := range ipsA {
		for _, y := range ipsB {
			if x.Equal(y) {
				return true
			}
		}
	}
	return anyLocal(ipsA) && anyLocal(ipsB)
}

func lookupHost(ctx context.Context, h string) ([]net.IP, error) {
	if ip := net.ParseIP(h); ip != nil {
		return []net.IP{ip}, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, h)
	if err != nil {
		return nil, err
	}
	out := make([]net.IP, len(addrs))
	for i, a := range addrs {
		out[i] = a.IP
	}
	return out, nil
}

func anyLocal(ips []net.IP) bool {
	var local []net.IP
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				local = append(local, n.IP)
			}
		}
	}
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsUnspecified() {
			return true
		}
		for _, l := range local {
			if l.Equal(ip) {
				return true
			}
		}
	}
	return false
}
