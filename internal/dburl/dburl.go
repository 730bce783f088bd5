// Package dburl is the one parser of Profiled's database URLs: the store's
// own (package db) and a custom-database connection's (validated by the
// service, opened by the sandbox). It imports only the standard library.
package dburl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The dialects a URL names.
const (
	DialectSQLite = "sqlite"
	DialectMySQL  = "mysql"
)

// Config is a parsed database URL.
//
// Its String and GoString methods never show the password, so a Config can
// be logged or printed with any verb.
type Config struct {
	Dialect string // DialectSQLite or DialectMySQL

	// SQLite
	Path   string // file path (":memory:" when Memory)
	Memory bool   // a private in-memory database (tests)

	// MySQL
	User     string
	Password string
	Host     string
	Port     int
	DBName   string
	TLS      string // "" (off), "true", "skip-verify" or "preferred" (from ?tls=)
	// Timeout bounds the connection's dial (from ?timeout=, a Go duration;
	// 0: the opener's default).
	Timeout time.Duration
}

// ErrBadURL is wrapped by every error Parse returns.
var ErrBadURL = errors.New("invalid database URL")

func badURL(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+
		" (want sqlite:PATH or mysql://USER[:PASS]@HOST[:PORT]/DBNAME)", append([]any{ErrBadURL}, args...)...)
}

// Parse parses a Profiled database URL:
//
//	sqlite:PATH            an SQLite file (sqlite:///abs/path and sqlite://rel/path work too)
//	sqlite::memory:        a private in-memory SQLite database (one connection; tests)
//	PATH                   a bare file path with no scheme is an SQLite file
//	mysql://USER[:PASS]@HOST[:PORT]/DBNAME[?tls=true|false|skip-verify|preferred][&timeout=DURATION]
//
// USER and PASS may be percent-encoded; a ':' or '/' in a password must be,
// an '@' need not (everything up to the last '@' is the userinfo). The port
// defaults to 3306. DBNAME is one path segment of at most 64 characters.
// Errors wrap ErrBadURL and never contain the password (nor any part of the
// userinfo).
func Parse(s string) (Config, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Config{}, badURL("empty")
	case strings.HasPrefix(s, "sqlite:"):
		return parseSQLite(strings.TrimPrefix(s, "sqlite:"))
	case strings.HasPrefix(s, "mysql:"):
		return parseMySQL(s)
	case !strings.Contains(s, ":"):
		return parseSQLite(s)
	default:
		scheme := s[:strings.Index(s, ":")]
		if len(scheme) > 16 || strings.ContainsAny(scheme, "@/") {
			return Config{}, badURL("unknown scheme")
		}
		return Config{}, badURL("unknown scheme %q", scheme)
	}
}

func parseSQLite(p string) (Config, error) {
	if strings.HasPrefix(p, "//") {
		p = p[2:] // sqlite:///abs → /abs, sqlite://rel → rel
	}
	switch {
	case p == "":
		return Config{}, badURL("sqlite: missing file path")
	case p == ":memory:":
		return Config{Dialect: DialectSQLite, Path: ":memory:", Memory: true}, nil
	case strings.HasPrefix(p, "file:"):
		return Config{}, badURL("sqlite: give a plain file path, not a file: URI")
	case strings.ContainsAny(p, "?#\x00"):
		return Config{}, badURL("sqlite: the file path must not contain '?', '#' or NUL (no query parameters)")
	}
	return Config{Dialect: DialectSQLite, Path: p}, nil
}

func parseMySQL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "mysql://")
	if !ok {
		return Config{}, badURL("mysql: must start with mysql://")
	}
	// Everything up to the last '@' is the userinfo (an unencoded '@' in a
	// password still works); never echo it.
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return Config{}, badURL("mysql: missing USER@ before the host")
	}
	userinfo, hostpath := rest[:at], rest[at+1:]
	c := Config{Dialect: DialectMySQL}
	rawUser, rawPass, hasPass := strings.Cut(userinfo, ":")
	var err error
	if c.User, err = url.PathUnescape(rawUser); err != nil {
		return Config{}, badURL("mysql: bad percent-encoding in the user name")
	}
	if c.User == "" {
		return Config{}, badURL("mysql: missing user name")
	}
	if hasPass {
		if c.Password, err = url.PathUnescape(rawPass); err != nil {
			return Config{}, badURL("mysql: bad percent-encoding in the password")
		}
	}

	hostport, pathq, hasPath := strings.Cut(hostpath, "/")
	if !hasPath {
		return Config{}, badURL("mysql: missing /DBNAME after the host")
	}
	dbname, rawq, hasQuery := strings.Cut(pathq, "?")
	if hostport == "" {
		return Config{}, badURL("mysql: missing host")
	}
	host, portStr := hostport, ""
	if strings.HasPrefix(hostport, "[") || strings.Count(hostport, ":") == 1 {
		h, p, err := net.SplitHostPort(hostport)
		if err != nil {
			if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
				h, p = strings.Trim(hostport, "[]"), ""
			} else {
				return Config{}, badURL("mysql: bad HOST:PORT %q", hostport)
			}
		}
		host, portStr = h, p
	} else if strings.Contains(hostport, ":") {
		return Config{}, badURL("mysql: an IPv6 host must be in brackets, e.g. [::1]:3306")
	}
	if host == "" {
		return Config{}, badURL("mysql: missing host")
	}
	c.Host, c.Port = host, 3306
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, badURL("mysql: bad port %q", portStr)
		}
		c.Port = n
	}

	if dbname == "" {
		return Config{}, badURL("mysql: missing database name")
	}
	if c.DBName, err = url.PathUnescape(dbname); err != nil {
		return Config{}, badURL("mysql: bad percent-encoding in the database name")
	}
	switch {
	case len(c.DBName) > 64:
		return Config{}, badURL("mysql: database name longer than 64 characters")
	case strings.ContainsAny(c.DBName, "/\x00"):
		return Config{}, badURL("mysql: the path must name one database")
	}

	if hasQuery {
		q, err := url.ParseQuery(rawq)
		if err != nil {
			return Config{}, badURL("mysql: bad query string")
		}
		for k, v := range q {
			switch k {
			case "tls":
				switch v[len(v)-1] {
				case "", "false":
				case "true", "skip-verify", "preferred":
					c.TLS = v[len(v)-1]
				default:
					return Config{}, badURL("mysql: tls must be true, false, skip-verify or preferred")
				}
			case "timeout":
				d, err := time.ParseDuration(v[len(v)-1])
				if err != nil || d <= 0 {
					return Config{}, badURL("mysql: timeout must be a positive duration such as 5s")
				}
				c.Timeout = d
			default:
				return Config{}, badURL("mysql: unknown parameter %q (tls and timeout are supported)", k)
			}
		}
	}
	return c, nil
}

// Addr is HOST:PORT (MySQL).
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// String returns the URL with the password replaced by "***".
func (c Config) String() string {
	switch c.Dialect {
	case DialectSQLite:
		return "sqlite:" + c.Path
	case DialectMySQL:
		user := url.PathEscape(c.User)
		if c.Password != "" {
			user += ":***"
		}
		s := "mysql://" + user + "@" + c.Addr() + "/" + url.PathEscape(c.DBName)
		q := url.Values{}
		if c.TLS != "" {
			q.Set("tls", c.TLS)
		}
		if c.Timeout > 0 {
			q.Set("timeout", c.Timeout.String())
		}
		if len(q) > 0 {
			s += "?" + q.Encode()
		}
		return s
	}
	return "(no database)"
}

// GoString is String, so that %#v does not show the password either.
func (c Config) GoString() string { return "dburl.Config(" + strconv.Quote(c.String()) + ")" }
