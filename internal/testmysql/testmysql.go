// Package testmysql gives each test its own fresh MariaDB/MySQL database.
//
// The server is PROFILED_TEST_MYSQL (a go-sql-driver DSN without database,
// default "root@tcp(127.0.0.1:3306)/"). When it cannot be reached the test
// is skipped, except in CI (CI=true), where it fails: a CI run that silently
// skipped the MySQL half of the suite would prove nothing.
package testmysql

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// ServerDSN returns the DSN of the test server, without a database.
func ServerDSN() string {
	if d := os.Getenv("PROFILED_TEST_MYSQL"); d != "" {
		return d
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// New creates a database with a unique name for t, drops it when t ends,
// and returns its go-sql-driver DSN (parseTime=true) and its name.
func New(t testing.TB) (dsn, name string) {
	t.Helper()
	cfg, err := mysql.ParseDSN(ServerDSN())
	if err != nil {
		t.Fatalf("testmysql: bad PROFILED_TEST_MYSQL: %v", err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testmysql: MySQL is required in CI and is not reachable at %s: %v", cfg.Addr, err)
		}
		t.Skipf("testmysql: MySQL not reachable at %s (%v); set CI=true to make this a failure", cfg.Addr, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return '_'
	}, t.Name())
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	name = "t_" + prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatalf("testmysql: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Logf("testmysql: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	cfg.DBName = name
	cfg.ParseTime = true
	return cfg.FormatDSN(), name
}

// URL returns a fresh database (as New) as a profiled
// "mysql://user[:pass]@host:port/db" URL.
func URL(t testing.TB) string {
	t.Helper()
	dsn, _ := New(t)
	return URLOf(dsn)
}

// URLOf turns a go-sql-driver DSN into a profiled mysql:// URL.
func URLOf(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		panic(err)
	}
	user := cfg.User
	if cfg.Passwd != "" {
		user += ":" + cfg.Passwd
	}
	return fmt.Sprintf("mysql://%s@%s/%s", user, cfg.Addr, cfg.DBName)
}
