package db

import (
	"fmt"

	"github.com/profiled/profiled/internal/dburl"
	"github.com/profiled/profiled/internal/service"
)

// The dialects Open knows, as returned by (*DB).Dialect and Config.Dialect.
const (
	DialectSQLite = dburl.DialectSQLite
	DialectMySQL  = dburl.DialectMySQL
)

// Config is a parsed database URL (package dburl parses it). Its String and
// GoString methods never show the password.
type Config = dburl.Config

// ErrBadURL is wrapped by every error ParseURL returns.
var ErrBadURL = dburl.ErrBadURL

// ParseURL parses the store's URL (dburl.Parse: sqlite:PATH, a bare PATH,
// or mysql://USER[:PASS]@HOST[:PORT]/DBNAME[?tls=...&timeout=...]). The
// store creates a missing MySQL database, so its name must also be one Open
// can quote safely: letters, digits, '_', '$' and '-'. Errors wrap
// ErrBadURL and never contain the password.
func ParseURL(s string) (Config, error) {
	c, err := dburl.Parse(s)
	if err != nil {
		return Config{}, fmt.Errorf("db: %w", err)
	}
	if c.Dialect == DialectMySQL {
		if err := checkDBName(c.DBName); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// checkDBName accepts the names Open can safely quote in CREATE DATABASE.
func checkDBName(name string) error {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '$' || r == '-') {
			return fmt.Errorf("db: %w: mysql: database name %q may hold only letters, digits, '_', '$' and '-'", ErrBadURL, name)
		}
	}
	return nil
}

// OwnStore identifies the store at c to the service, which refuses custom
// databases naming it (service.CustomDBConfig).
func OwnStore(c Config) service.OwnStore {
	switch c.Dialect {
	case DialectSQLite:
		if c.Memory {
			return service.OwnStore{}
		}
		return service.OwnStore{SQLitePath: c.Path}
	case DialectMySQL:
		return service.OwnStore{MySQLHost: c.Host, MySQLPort: c.Port, MySQLDB: c.DBName}
	}
	return service.OwnStore{}
}
