package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// storeKinds opens a fresh store of each kind.
var storeKinds = []struct {
	name string
	open func(t testing.TB, opts ...Option) *DB
}{{"sqlite", openSQLiteStore}, {"mysql", openMySQLStore}}

func customConn(name string, wasm []byte, at time.Time) service.Connection {
	return service.Connection{
		Connection:    policy.Connection{Name: name, Strategy: policy.StrategyCustomDatabase, Actions: map[policy.Action]bool{policy.ActionLogin: true}},
		DatabaseURL:   "sqlite:/legacy.db",
		Configuration: map[string]any{"secret": "s3cret"},
		Script:        wasm,
		CreatedAt:     at, UpdatedAt: at,
	}
}

// A module is stored once however many connections use it, read by its
// digest, kept while a connection names it and dropped with its last
// reference; a connection read never carries the bytes.
func TestModulesStoredOncePerContent(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := k.open(t)
			t0 := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
			shared := bytes.Repeat([]byte("\x00asm shared "), 100_000) // 1.2 MB: overflow pages, several packets
			other := []byte("\x00asm other")
			stats := func(wantN int, wantBytes int64) {
				t.Helper()
				n, b, err := d.ModuleStats(ctx)
				must(t, err)
				if n != wantN || b != wantBytes {
					t.Fatalf("modules: %d (%d bytes), want %d (%d bytes)", n, b, wantN, wantBytes)
				}
			}

			must(t, d.InsertConnection(ctx, customConn("a", shared, t0)))
			must(t, d.InsertConnection(ctx, customConn("b", nil, t0)))
			b, err := d.ConnectionByName(ctx, "b")
			must(t, err)
			b.Script = shared
			must(t, d.UpdateConnection(ctx, b))
			stats(1, int64(len(shared)))
			for _, name := range []string{"a", "b"} {
				c, err := d.ConnectionByName(ctx, name)
				must(t, err)
				if c.Script != nil || c.ScriptSHA256 != digestOf(shared) {
					t.Fatalf("%s: read with %d module bytes, digest %q", name, len(c.Script), c.ScriptSHA256)
				}
				got, err := d.ConnectionScript(ctx, name)
				must(t, err)
				if !bytes.Equal(got, shared) {
					t.Fatalf("%s: ConnectionScript: %d bytes", name, len(got))
				}
			}
			got, err := d.ScriptModule(ctx, digestOf(shared))
			must(t, err)
			if !bytes.Equal(got, shared) {
				t.Fatalf("ScriptModule: %d bytes", len(got))
			}

			// A digest that is not the bytes' is refused, nothing written.
			bad := customConn("a", other, t0)
			bad.ScriptSHA256 = digestOf(shared)
			if err := d.UpdateConnection(ctx, bad); err == nil || !strings.Contains(err.Error(), "SHA-256") {
				t.Fatalf("mismatched digest: %v", err)
			}
			stats(1, int64(len(shared)))

			// a moves to another module: the shared one stays (b names it).
			must(t, d.UpdateConnection(ctx, customConn("a", other, t0.Add(time.Minute))))
			stats(2, int64(len(shared)+len(other)))
			// An update without bytes keeps the module.
			a, err := d.ConnectionByName(ctx, "a")
			must(t, err)
			a.ScriptTimeout = 3 * time.Second
			must(t, d.UpdateConnection(ctx, a))
			a, err = d.ConnectionByName(ctx, "a")
			must(t, err)
			if a.ScriptSHA256 != digestOf(other) || a.ScriptTimeout != 3*time.Second {
				t.Fatalf("after an update without bytes: digest %q timeout %v", a.ScriptSHA256, a.ScriptTimeout)
			}
			// b, the shared module's last reference, moves too: it is dropped.
			must(t, d.UpdateConnection(ctx, customConn("b", other, t0.Add(2*time.Minute))))
			stats(1, int64(len(other)))
			_, err = d.ScriptModule(ctx, digestOf(shared))
			wantErr(t, err, service.ErrNotFound)
			// Setting the same module again changes nothing.
			must(t, d.UpdateConnection(ctx, customConn("b", other, t0.Add(3*time.Minute))))
			stats(1, int64(len(other)))
			// A failed update (no such connection) stores no module.
			wantErr(t, d.UpdateConnection(ctx, customConn("nope", shared, t0)), service.ErrNotFound)
			stats(1, int64(len(other)))
			_, err = d.ScriptModule(ctx, digestOf(shared))
			wantErr(t, err, service.ErrNotFound)
		})
	}
}

// Migration 50 moves the modules stored in connection rows (before issue
// 17) into the modules table: one row per content, every connection still
// naming its module, and no script column left.
func TestMigrationMovesModulesOutOfConnections(t *testing.T) {
	for _, k := range []string{"sqlite", "mysql"} {
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var raw *sql.DB
			var url string
			var dialect goose.Dialect
			var dir string
			var err error
			if k == "sqlite" {
				path := filepath.Join(t.TempDir(), "old.db")
				raw, err = sql.Open("sqlite", path)
				url, dialect, dir = "sqlite:"+path, goose.DialectSQLite3, "migrations/sqlite"
			} else {
				dsn, _ := testmysql.New(t)
				raw, err = sql.Open("mysql", dsn)
				url, dialect, dir = testmysql.URLOf(dsn), goose.DialectMySQL, "migrations/mysql"
			}
			must(t, err)
			defer raw.Close()
			fsys, err := fs.Sub(migrations, dir)
			must(t, err)
			p, err := goose.NewProvider(dialect, raw, fsys, goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(goMigrations(dialect)...))
			must(t, err)
			if _, err := p.UpTo(ctx, 49); err != nil {
				t.Fatal(err)
			}
			// The rows as a store before issue 17 wrote them: the module in
			// the connection row, two connections sharing one.
			shared := bytes.Repeat([]byte("\x00asm old module "), 200_000) // 3.2 MB
			single := []byte("\x00asm single")
			const ins = `INSERT INTO connections (name, strategy, import_mode, sync_user_profile, actions, database_url, configuration, script, script_sha256, script_timeout_ms, created_at, updated_at)
				VALUES (?, 'CUSTOM_DATABASE', 0, 1, '["login"]', 'sqlite:/legacy.db', '{"k":"v"}', ?, ?, 0, '2026-01-01 00:00:00.000000', ?)`
			for _, r := range []struct {
				name string
				wasm []byte
				at   string
			}{{"one", shared, "2026-01-02 00:00:00.000000"}, {"two", shared, "2026-01-03 00:00:00.000000"}, {"three", single, "2026-01-04 00:00:00.000000"}, {"none", nil, "2026-01-05 00:00:00.000000"}} {
				digest := ""
				if r.wasm != nil {
					digest = digestOf(r.wasm)
				}
				if _, err := raw.ExecContext(ctx, ins, r.name, r.wasm, digest, r.at); err != nil {
					t.Fatal(err)
				}
			}

			d := openStore(t, url) // migrates to the latest version
			n, size, err := d.ModuleStats(ctx)
			must(t, err)
			if n != 2 || size != int64(len(shared)+len(single)) {
				t.Fatalf("after the migration: %d modules, %d bytes", n, size)
			}
			for name, want := range map[string][]byte{"one": shared, "two": shared, "three": single, "none": nil} {
				c, err := d.ConnectionByName(ctx, name)
				must(t, err)
				if want == nil && c.ScriptSHA256 != "" || want != nil && c.ScriptSHA256 != digestOf(want) {
					t.Fatalf("%s: digest %q", name, c.ScriptSHA256)
				}
				if c.DatabaseURL != "sqlite:/legacy.db" || c.Configuration["k"] != "v" {
					t.Fatalf("%s: settings lost: %q %v", name, c.DatabaseURL, c.Configuration)
				}
				got, err := d.ConnectionScript(ctx, name)
				must(t, err)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: module of %d bytes, want %d", name, len(got), len(want))
				}
			}
			var cols int
			q := `SELECT COUNT(*) FROM pragma_table_info('connections') WHERE name = 'script'`
			if k == "mysql" {
				q = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'connections' AND column_name = 'script'`
			}
			must(t, raw.QueryRowContext(ctx, q).Scan(&cols))
			if cols != 0 {
				t.Fatal("connections.script is still there")
			}
			// The moved module is dropped with its last reference.
			for _, name := range []string{"one", "two"} {
				must(t, d.UpdateConnection(ctx, customConn(name, single, time.Now())))
			}
			if n, _, err := d.ModuleStats(ctx); err != nil || n != 1 {
				t.Fatalf("after moving both off the shared module: %d modules (%v)", n, err)
			}
		})
	}
}

// One connection moving onto a module while the module's last other
// reference moves off it, concurrently: the module stays (the mover either
// sees the new reference or writes the module again), and every module a
// connection names is stored.
func TestModuleKeptWhenConcurrentlyReferenced(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := k.open(t)
			t0 := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
			must(t, d.InsertConnection(ctx, customConn("one", []byte("\x00asm x"), t0)))
			must(t, d.InsertConnection(ctx, customConn("two", []byte("\x00asm x"), t0)))
			for i := 0; i < 20; i++ {
				h := []byte(fmt.Sprintf("\x00asm h%d", i))
				must(t, d.UpdateConnection(ctx, customConn("two", h, t0)))
				errs := make(chan error, 2)
				go func() { errs <- d.UpdateConnection(ctx, customConn("one", h, t0)) }()
				go func() { errs <- d.UpdateConnection(ctx, customConn("two", []byte(fmt.Sprintf("\x00asm y%d", i)), t0)) }()
				must(t, <-errs)
				must(t, <-errs)
				for _, name := range []string{"one", "two"} {
					c, err := d.ConnectionByName(ctx, name)
					must(t, err)
					if _, err := d.ScriptModule(ctx, c.ScriptSHA256); err != nil {
						t.Fatalf("round %d: %s names module %.12s, which is not stored: %v", i, name, c.ScriptSHA256, err)
					}
				}
				if n, _, err := d.ModuleStats(ctx); err != nil || n != 2 {
					t.Fatalf("round %d: %d modules stored (%v), want 2", i, n, err)
				}
			}
		})
	}
}
