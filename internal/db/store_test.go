package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

// ---- the stores the contract runs on ----

func openSQLiteStore(t testing.TB, opts ...Option) *DB {
	t.Helper()
	return openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "profiled.db"), opts...)
}

func openMySQLStore(t testing.TB, opts ...Option) *DB {
	t.Helper()
	return openStore(t, testmysql.URL(t), opts...)
}

func openStore(t testing.TB, url string, opts ...Option) *DB {
	t.Helper()
	d, err := Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSQLiteContract(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) *DB { return openSQLiteStore(t) })
}

// The variant measured against the default split pools (see bench_test.go):
// it must be just as correct.
func TestSQLiteSharedPoolContract(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) *DB {
		return openSQLiteStore(t, func(o *options) { o.sqliteSharedPool = true })
	})
}

func TestSQLiteMemoryContract(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) *DB { return openStore(t, "sqlite::memory:") })
}

func TestMySQLContract(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) *DB { return openMySQLStore(t) })
}

// ---- the contract ----

var ctx = context.Background()

// µs is how precisely the store keeps times.
func µs(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

var t0 = time.Date(2024, 3, 1, 12, 30, 45, 123456789, time.UTC)

func sampleUser(id, connection, email string) policy.User {
	last := t0.Add(time.Hour)
	return policy.User{
		ID: id, Connection: connection, Email: email, EmailVerified: true,
		Username: "user_" + id, PhoneNumber: "+33600000000", PhoneVerified: true,
		Name: "Zoë Ünïcode", GivenName: "Zoë", FamilyName: "Ünïcode", Nickname: "zo",
		Picture: "https://example.com/p.png", Blocked: false,
		UserMetadata: policy.Metadata{"theme": "dark", "n": json.Number("9007199254740993"),
			"nested": map[string]any{"a": []any{json.Number("1"), "x", true, nil}}},
		AppMetadata: policy.Metadata{"plan": "pro"},
		Identities: []policy.Identity{{Connection: connection, Provider: "profiled", UserID: id,
			ProfileData: policy.Metadata{"legacy_id": json.Number("42")}}},
		Migrated: true, PasswordHash: "$2a$10$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		CreatedAt: t0, UpdatedAt: t0.Add(time.Minute), LastLogin: &last, LastIP: "192.0.2.1", LoginsCount: 7,
	}
}

// normUser is u as the store returns it: times in UTC to the µs, email
// lower-cased, nil maps and lists empty.
func normUser(u policy.User) policy.User {
	u.Email = strings.ToLower(u.Email)
	u.CreatedAt, u.UpdatedAt = µs(u.CreatedAt), µs(u.UpdatedAt)
	if u.LastLogin != nil {
		l := µs(*u.LastLogin)
		u.LastLogin = &l
	}
	if u.UserMetadata == nil {
		u.UserMetadata = policy.Metadata{}
	}
	if u.AppMetadata == nil {
		u.AppMetadata = policy.Metadata{}
	}
	ids := make([]policy.Identity, len(u.Identities))
	for i, id := range u.Identities {
		if id.ProfileData == nil {
			id.ProfileData = policy.Metadata{}
		}
		ids[i] = id
	}
	u.Identities = ids
	return u
}

func mustEqual(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got: %#v\nwant: %#v", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func wantConflict(t *testing.T, err error, key string) {
	t.Helper()
	wantErr(t, err, service.ErrConflict)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Key != key {
		t.Fatalf("err = %#v, want a ConflictError on %q", err, key)
	}
}

// parallel runs f as a subtest in parallel with its siblings: for subtests
// that open a store (a database) of their own.
func parallel(t *testing.T, name string, f func(t *testing.T)) bool {
	return t.Run(name, func(t *testing.T) {
		t.Parallel()
		f(t)
	})
}

// runContract checks every service.Store method against a fresh store from
// openStore for each subtest. It runs on SQLite and on MariaDB/MySQL.
func runContract(t *testing.T, openStore func(t *testing.T) *DB) {
	parallel(t, "UserRoundTrip", func(t *testing.T) {
		d := openStore(t)
		u := sampleUser("auth0|1", "db", "Alice@Example.COM")
		must(t, d.InsertUser(ctx, u))
		got, err := d.UserByID(ctx, u.ID)
		must(t, err)
		mustEqual(t, got, normUser(u))
		if got.CreatedAt.Location() != time.UTC || got.LastLogin.Location() != time.UTC {
			t.Fatalf("times not UTC: %v %v", got.CreatedAt.Location(), got.LastLogin.Location())
		}

		got, err = d.UserByIDForUpdate(ctx, u.ID)
		must(t, err)
		mustEqual(t, got, normUser(u))
		got, err = d.UserByConnectionEmail(ctx, "db", "alice@example.com")
		must(t, err)
		mustEqual(t, got.ID, u.ID)

		// Update every field; a time in another zone comes back as the
		// same instant in UTC.
		paris := time.FixedZone("CET", 3600)
		u2 := policy.User{
			ID: u.ID, Connection: "db2", Email: "bob@example.com", Username: "",
			UserMetadata: policy.Metadata{"k": "v"}, Blocked: true,
			CreatedAt: t0.In(paris), UpdatedAt: t0.Add(2 * time.Hour).In(paris),
		}
		must(t, d.UpdateUser(ctx, u2))
		got, err = d.UserByID(ctx, u.ID)
		must(t, err)
		mustEqual(t, got, normUser(u2))
		// An update that changes nothing still finds the row.
		must(t, d.UpdateUser(ctx, u2))

		must(t, d.DeleteUser(ctx, u.ID))
		_, err = d.UserByID(ctx, u.ID)
		wantErr(t, err, service.ErrNotFound)
		wantErr(t, d.DeleteUser(ctx, u.ID), service.ErrNotFound)
	})

	parallel(t, "UserNilMetadata", func(t *testing.T) {
		d := openStore(t)
		u := policy.User{ID: "u1", Connection: "db", CreatedAt: t0, UpdatedAt: t0}
		must(t, d.InsertUser(ctx, u))
		got, err := d.UserByID(ctx, "u1")
		must(t, err)
		if got.UserMetadata == nil || got.AppMetadata == nil || got.Identities == nil {
			t.Fatalf("nil metadata/identities read back as nil: %#v", got)
		}
		mustEqual(t, got, normUser(u))
		if got.LastLogin != nil {
			t.Fatalf("LastLogin = %v, want nil", got.LastLogin)
		}
	})

	parallel(t, "UserNotFound", func(t *testing.T) {
		d := openStore(t)
		_, err := d.UserByID(ctx, "nope")
		wantErr(t, err, service.ErrNotFound)
		_, err = d.UserByIDForUpdate(ctx, "nope")
		wantErr(t, err, service.ErrNotFound)
		_, err = d.UserByConnectionEmail(ctx, "db", "nope@example.com")
		wantErr(t, err, service.ErrNotFound)
		wantErr(t, d.UpdateUser(ctx, sampleUser("nope", "db", "x@y")), service.ErrNotFound)
		wantErr(t, d.DeleteUser(ctx, "nope"), service.ErrNotFound)
		users, err := d.UsersByEmail(ctx, "nope@example.com")
		must(t, err)
		if len(users) != 0 {
			t.Fatalf("UsersByEmail = %v", users)
		}
	})

	parallel(t, "UserConflicts", func(t *testing.T) {
		d := openStore(t)
		a := sampleUser("a", "db", "a@example.com")
		must(t, d.InsertUser(ctx, a))

		dupID := sampleUser("a", "other", "other@example.com")
		wantConflict(t, d.InsertUser(ctx, dupID), "id")

		dupEmail := sampleUser("b", "db", "A@EXAMPLE.com") // stored lower-cased: clashes
		dupEmail.Username = "b"
		err := d.InsertUser(ctx, dupEmail)
		wantConflict(t, err, "email")
		if strings.Contains(err.Error(), "a@example.com") || strings.Contains(err.Error(), "$2a$") {
			t.Fatalf("conflict error leaks a value: %v", err)
		}

		dupUsername := sampleUser("c", "db", "c@example.com")
		dupUsername.Username = a.Username
		wantConflict(t, d.InsertUser(ctx, dupUsername), "username")

		// The same email and username in another connection are fine.
		other := sampleUser("d", "other", "a@example.com")
		other.Username = a.Username
		must(t, d.InsertUser(ctx, other))

		// Users without username, or without email, do not clash.
		for _, id := range []string{"e1", "e2"} {
			u := sampleUser(id, "db", id+"@example.com")
			u.Username = ""
			must(t, d.InsertUser(ctx, u))
			v := sampleUser("noemail-"+id, "db", "")
			must(t, d.InsertUser(ctx, v))
		}
		got, err := d.UserByID(ctx, "e1")
		must(t, err)
		mustEqual(t, got.Username, "")

		// Updating into a clash is a conflict too.
		e1 := got
		e1.Email = "a@example.com"
		wantConflict(t, d.UpdateUser(ctx, e1), "email")
		e1 = got
		e1.Username = a.Username
		wantConflict(t, d.UpdateUser(ctx, e1), "username")
	})

	parallel(t, "UsersByEmail", func(t *testing.T) {
		d := openStore(t)
		must(t, d.InsertUser(ctx, sampleUser("z", "db", "same@example.com")))
		must(t, d.InsertUser(ctx, sampleUser("m", "google", "Same@Example.com")))
		must(t, d.InsertUser(ctx, sampleUser("x", "db", "different@example.com")))
		users, err := d.UsersByEmail(ctx, "same@example.com")
		must(t, err)
		if len(users) != 2 || users[0].ID != "m" || users[1].ID != "z" {
			t.Fatalf("UsersByEmail = %v", ids(users))
		}
	})

	parallel(t, "ListUsersAndCount", func(t *testing.T) {
		d := openStore(t)
		n, err := d.CountUsers(ctx)
		must(t, err)
		mustEqual(t, n, 0)
		var want []string
		for i := range 25 {
			id := fmt.Sprintf("user-%02d", (i*7)%25) // inserted out of order
			u := sampleUser(id, "db", id+"@example.com")
			must(t, d.InsertUser(ctx, u))
			want = append(want, id)
		}
		sort.Strings(want)
		n, err = d.CountUsers(ctx)
		must(t, err)
		mustEqual(t, n, 25)

		var got []string
		after := ""
		for page := 0; ; page++ {
			users, err := d.ListUsers(ctx, service.ListUsersParams{After: after, Limit: 10})
			must(t, err)
			if len(users) == 0 {
				break
			}
			if len(users) > 10 || page > 3 {
				t.Fatalf("page %d has %d users", page, len(users))
			}
			got = append(got, ids(users)...)
			after = users[len(users)-1].ID
		}
		mustEqual(t, got, want)

		all, err := d.ListUsers(ctx, service.ListUsersParams{}) // default page size
		must(t, err)
		mustEqual(t, ids(all), want)
		mid, err := d.ListUsers(ctx, service.ListUsersParams{After: "user-10", Limit: 3})
		must(t, err)
		mustEqual(t, ids(mid), []string{"user-11", "user-12", "user-13"})
	})

	parallel(t, "Connections", func(t *testing.T) {
		d := openStore(t)
		c := service.Connection{
			Connection: policy.Connection{
				Name: "legacy", Strategy: policy.StrategyCustomDatabase, ImportMode: true, SyncUserProfile: true,
				Actions: map[policy.Action]bool{policy.ActionLogin: true, policy.ActionGetUser: true},
			},
			DatabaseURL:   "mysql://app:s3cret@db.internal:3306/legacy",
			Configuration: map[string]any{"api_key": "k-123", "retries": json.Number("3"), "deep": map[string]any{"x": []any{"y"}}},
			Script:        []byte("\x00asm\x01\x00\x00\x00 binary \xff\xfe"),
			ScriptSHA256:  digestOf([]byte("\x00asm\x01\x00\x00\x00 binary \xff\xfe")),
			ScriptTimeout: 1500 * time.Millisecond,
			CreatedAt:     t0, UpdatedAt: t0,
		}
		must(t, d.InsertConnection(ctx, c))
		got, err := d.ConnectionByName(ctx, "legacy")
		must(t, err)
		want := c
		want.Script = nil // modules are read on their own (ConnectionScript)
		want.CreatedAt, want.UpdatedAt = µs(c.CreatedAt), µs(c.UpdatedAt)
		mustEqual(t, got, want)
		script, err := d.ConnectionScript(ctx, "legacy")
		must(t, err)
		mustEqual(t, script, c.Script)

		// An update of a connection read without its module keeps the module.
		got.ScriptTimeout = 2 * time.Second
		got.AdminScopes = []policy.Scope{policy.ScopeReadUsers}
		must(t, d.UpdateConnection(ctx, got))
		script, err = d.ConnectionScript(ctx, "legacy")
		must(t, err)
		mustEqual(t, script, c.Script)
		again, err := d.ConnectionByName(ctx, "legacy")
		must(t, err)
		if again.ScriptSHA256 != c.ScriptSHA256 || again.ScriptTimeout != 2*time.Second || again.Version != 1 {
			t.Fatalf("after an update without the module: %+v", again)
		}
		mustEqual(t, again.AdminScopes, []policy.Scope{policy.ScopeReadUsers})

		wantConflict(t, d.InsertConnection(ctx, c), "name")

		// A bare connection: nil script, nil configuration, no actions.
		bare := service.Connection{Connection: policy.Connection{Name: "a-db", Strategy: policy.StrategyDatabase},
			CreatedAt: t0, UpdatedAt: t0}
		must(t, d.InsertConnection(ctx, bare))
		got, err = d.ConnectionByName(ctx, "a-db")
		must(t, err)
		if got.Script != nil || got.Configuration == nil || len(got.Configuration) != 0 || got.Actions == nil || len(got.Actions) != 0 || got.AdminScopes != nil {
			t.Fatalf("bare connection = %#v", got)
		}

		list, err := d.Connections(ctx)
		must(t, err)
		if len(list) != 2 || list[0].Name != "a-db" || list[1].Name != "legacy" {
			t.Fatalf("Connections = %v", list)
		}

		// Update every field, replacing the module.
		c.Strategy = policy.StrategyOIDC
		c.ImportMode, c.SyncUserProfile = false, false
		c.Actions = map[policy.Action]bool{policy.ActionCreate: true, policy.ActionDelete: false}
		c.Configuration = map[string]any{"other": "v"}
		c.Script, c.ScriptSHA256, c.ScriptTimeout = []byte("\x00asm new"), "", 0             // the store sets the digest
		c.AdminScopes = []policy.Scope{policy.ScopeUpdateConnections, policy.ScopeReadUsers} // kept in the order given
		c.UpdatedAt = t0.Add(time.Hour)
		must(t, d.UpdateConnection(ctx, c))
		got, err = d.ConnectionByName(ctx, "legacy")
		must(t, err)
		script, err = d.ConnectionScript(ctx, "legacy")
		must(t, err)
		mustEqual(t, script, c.Script)
		want = c
		want.Script, want.ScriptSHA256 = nil, digestOf(c.Script)
		want.Actions = map[policy.Action]bool{policy.ActionCreate: true} // false entries are not kept
		want.Version = 2                                                 // every write of the row counts
		want.CreatedAt, want.UpdatedAt = µs(c.CreatedAt), µs(c.UpdatedAt)
		mustEqual(t, got, want)

		_, err = d.ConnectionByName(ctx, "nope")
		wantErr(t, err, service.ErrNotFound)
		v, err := d.ConnectionVersion(ctx, "legacy")
		must(t, err)
		if v != 2 {
			t.Fatalf("ConnectionVersion = %d, want 2", v)
		}
		_, err = d.ConnectionVersion(ctx, "nope")
		wantErr(t, err, service.ErrNotFound)
		_, err = d.ConnectionScript(ctx, "nope")
		wantErr(t, err, service.ErrNotFound)
		c.Name = "nope"
		wantErr(t, d.UpdateConnection(ctx, c), service.ErrNotFound)
	})

	parallel(t, "ConnectionSecretsNotInErrors", func(t *testing.T) {
		d := openStore(t)
		c := service.Connection{Connection: policy.Connection{Name: "x", Strategy: policy.StrategyDatabase},
			Configuration: map[string]any{"secret": "hunter2", "bad": func() {}}}
		err := d.InsertConnection(ctx, c)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("err = %v", err)
		}
	})

	parallel(t, "SigningKeys", func(t *testing.T) {
		d := openStore(t)
		keys, err := d.SigningKeys(ctx)
		must(t, err)
		mustEqual(t, len(keys), 0)
		k2 := service.SigningKey{KID: "k2", PrivatePEM: []byte("-----BEGIN PRIVATE KEY-----\nB\n-----END PRIVATE KEY-----\n"), CreatedAt: t0.Add(time.Hour)}
		k1 := service.SigningKey{KID: "k1", PrivatePEM: []byte("-----BEGIN PRIVATE KEY-----\nA\n-----END PRIVATE KEY-----\n"), CreatedAt: t0}
		must(t, d.InsertSigningKey(ctx, k2))
		must(t, d.InsertSigningKey(ctx, k1))
		keys, err = d.SigningKeys(ctx)
		must(t, err)
		k1.CreatedAt, k2.CreatedAt = µs(k1.CreatedAt), µs(k2.CreatedAt)
		mustEqual(t, keys, []service.SigningKey{k1, k2})
		wantConflict(t, d.InsertSigningKey(ctx, k1), "kid")
	})

	parallel(t, "Events", func(t *testing.T) {
		d := openStore(t)
		var all []service.Event
		for i := range 7 {
			e := service.Event{
				ID: fmt.Sprintf("ev-%03d", i), Time: t0.Add(time.Duration(i) * time.Hour), Type: "login",
				UserID: "u1", Connection: "db", IP: "192.0.2.1", UserAgent: "curl/8", Success: i%2 == 0,
				Detail: fmt.Sprintf("attempt %d", i),
			}
			must(t, d.InsertEvent(ctx, e))
			e.Time = µs(e.Time)
			all = append(all, e)
		}
		must(t, d.InsertEvent(ctx, service.Event{ID: "ev-100", Time: t0, Type: "login_failed", UserID: "u2"}))
		must(t, d.InsertEvent(ctx, service.Event{ID: "ev-101", Time: t0, Type: "login_failed"}))
		wantConflict(t, d.InsertEvent(ctx, service.Event{ID: "ev-100", Time: t0, Type: "x"}), "id")

		p1, err := d.EventsByUser(ctx, "u1", service.ListEventsParams{Limit: 3})
		must(t, err)
		mustEqual(t, p1, []service.Event{all[6], all[5], all[4]})
		p2, err := d.EventsByUser(ctx, "u1", service.ListEventsParams{Before: p1[2].ID, Limit: 3})
		must(t, err)
		mustEqual(t, p2, []service.Event{all[3], all[2], all[1]})
		p3, err := d.EventsByUser(ctx, "u1", service.ListEventsParams{Before: p2[2].ID, Limit: 3})
		must(t, err)
		mustEqual(t, p3, []service.Event{all[0]})
		none, err := d.EventsByUser(ctx, "nobody", service.ListEventsParams{})
		must(t, err)
		mustEqual(t, len(none), 0)

		// Several users' newest events in one query.
		byUser, err := d.EventsByUsers(ctx, []string{"u1", "u2", "nobody"}, 3)
		must(t, err)
		mustEqual(t, len(byUser), 2)
		mustEqual(t, byUser["u1"], []service.Event{all[6], all[5], all[4]})
		mustEqual(t, len(byUser["u2"]), 1)
		mustEqual(t, byUser["u2"][0].ID, "ev-100")
		// More users than one statement takes.
		many := []string{"u2"}
		for i := range 2*maxEventsUsers + 3 {
			many = append(many, fmt.Sprintf("ghost-%d", i))
		}
		many = append(many, "u1")
		byUser, err = d.EventsByUsers(ctx, many, 2)
		must(t, err)
		mustEqual(t, len(byUser), 2)
		mustEqual(t, byUser["u1"], []service.Event{all[6], all[5]})

		// Retention: events strictly older than the cut.
		n, err := d.DeleteEventsBefore(ctx, t0.Add(2*time.Hour))
		must(t, err)
		mustEqual(t, n, int64(4)) // ev-000, ev-001, ev-100, ev-101
		rest, err := d.EventsByUser(ctx, "u1", service.ListEventsParams{})
		must(t, err)
		mustEqual(t, rest, []service.Event{all[6], all[5], all[4], all[3], all[2]})
		n, err = d.DeleteEventsBefore(ctx, t0)
		must(t, err)
		mustEqual(t, n, int64(0))
	})

	parallel(t, "LoginFailures", func(t *testing.T) {
		d := openStore(t)
		const key = "db|alice@example.com"
		n, last, err := d.LoginFailures(ctx, key, "192.0.2.1")
		must(t, err)
		if n != 0 || !last.IsZero() {
			t.Fatalf("LoginFailures = %d, %v", n, last)
		}
		for i := 1; i <= 3; i++ {
			n, err := d.RecordLoginFailure(ctx, key, "192.0.2.1", t0.Add(time.Duration(i)*time.Minute))
			must(t, err)
			mustEqual(t, n, i)
		}
		n, err = d.RecordLoginFailure(ctx, key, "192.0.2.2", t0)
		must(t, err)
		mustEqual(t, n, 1)
		n, last, err = d.LoginFailures(ctx, key, "192.0.2.1")
		must(t, err)
		mustEqual(t, n, 3)
		mustEqual(t, last, µs(t0.Add(3*time.Minute)))

		must(t, d.ResetLoginFailures(ctx, key, "192.0.2.1"))
		n, _, err = d.LoginFailures(ctx, key, "192.0.2.1")
		must(t, err)
		mustEqual(t, n, 0)
		n, _, err = d.LoginFailures(ctx, key, "192.0.2.2")
		must(t, err)
		mustEqual(t, n, 1)

		_, err = d.RecordLoginFailure(ctx, key, "192.0.2.3", t0)
		must(t, err)
		_, err = d.RecordLoginFailure(ctx, "db|bob@example.com", "192.0.2.3", t0)
		must(t, err)
		must(t, d.ResetLoginFailures(ctx, key, "")) // every IP of key
		for _, ip := range []string{"192.0.2.2", "192.0.2.3"} {
			n, _, err = d.LoginFailures(ctx, key, ip)
			must(t, err)
			mustEqual(t, n, 0)
		}
		n, _, err = d.LoginFailures(ctx, "db|bob@example.com", "192.0.2.3")
		must(t, err)
		mustEqual(t, n, 1)
	})

	parallel(t, "LoginFailuresConcurrent", func(t *testing.T) {
		d := openStore(t)
		const workers = 50
		var wg sync.WaitGroup
		seen := make([]int, workers)
		errs := make(chan error, workers)
		for i := range workers {
			wg.Go(func() {
				n, err := d.RecordLoginFailure(ctx, "db|x@example.com", "198.51.100.7", t0.Add(time.Duration(i)*time.Second))
				if err != nil {
					errs <- err
				}
				seen[i] = n
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Every call saw a distinct count: 1..50.
		sort.Ints(seen)
		for i, n := range seen {
			if n != i+1 {
				t.Fatalf("counts returned = %v", seen)
			}
		}
		n, _, err := d.LoginFailures(ctx, "db|x@example.com", "198.51.100.7")
		must(t, err)
		mustEqual(t, n, workers)
	})

	parallel(t, "WithTxCommitAndReadOwnWrites", func(t *testing.T) {
		d := openStore(t)
		err := d.WithTx(ctx, func(tx service.Queries) error {
			if err := tx.InsertUser(ctx, sampleUser("t1", "db", "t1@example.com")); err != nil {
				return err
			}
			u, err := tx.UserByIDForUpdate(ctx, "t1")
			if err != nil {
				return err
			}
			u.UserMetadata["added"] = "in tx"
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
			if n, err := tx.CountUsers(ctx); err != nil || n != 1 {
				return fmt.Errorf("CountUsers in tx = %d, %v", n, err)
			}
			if n, err := tx.RecordLoginFailure(ctx, "k", "ip", t0); err != nil || n != 1 {
				return fmt.Errorf("RecordLoginFailure in tx = %d, %v", n, err)
			}
			u, err = tx.UserByID(ctx, "t1")
			if err != nil || u.UserMetadata["added"] != "in tx" {
				return fmt.Errorf("read own write: %v, %v", u.UserMetadata, err)
			}
			return nil
		})
		must(t, err)
		u, err := d.UserByID(ctx, "t1")
		must(t, err)
		mustEqual(t, u.UserMetadata["added"], "in tx")
	})

	parallel(t, "WithTxRollback", func(t *testing.T) {
		d := openStore(t)
		must(t, d.InsertUser(ctx, sampleUser("keep", "db", "keep@example.com")))
		boom := errors.New("boom")
		err := d.WithTx(ctx, func(tx service.Queries) error {
			must(t, tx.InsertUser(ctx, sampleUser("gone", "db", "gone@example.com")))
			must(t, tx.DeleteUser(ctx, "keep"))
			must(t, tx.InsertConnection(ctx, service.Connection{Connection: policy.Connection{Name: "gone", Strategy: policy.StrategyDatabase}}))
			must(t, tx.InsertEvent(ctx, service.Event{ID: "gone", Time: t0, Type: "signup", UserID: "gone"}))
			must(t, tx.InsertSigningKey(ctx, service.SigningKey{KID: "gone", PrivatePEM: []byte("x"), CreatedAt: t0}))
			_, err := tx.RecordLoginFailure(ctx, "gone", "ip", t0)
			must(t, err)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithTx = %v, want boom", err)
		}
		_, err = d.UserByID(ctx, "gone")
		wantErr(t, err, service.ErrNotFound)
		_, err = d.UserByID(ctx, "keep")
		must(t, err)
		_, err = d.ConnectionByName(ctx, "gone")
		wantErr(t, err, service.ErrNotFound)
		evs, err := d.EventsByUser(ctx, "gone", service.ListEventsParams{})
		must(t, err)
		mustEqual(t, len(evs), 0)
		keys, err := d.SigningKeys(ctx)
		must(t, err)
		mustEqual(t, len(keys), 0)
		n, _, err := d.LoginFailures(ctx, "gone", "ip")
		must(t, err)
		mustEqual(t, n, 0)

		// A conflict inside fn comes back as ErrConflict and rolls back.
		err = d.WithTx(ctx, func(tx service.Queries) error {
			must(t, tx.InsertUser(ctx, sampleUser("gone2", "db", "gone2@example.com")))
			dup := sampleUser("keep", "db", "other@example.com")
			dup.Username = "other"
			return tx.InsertUser(ctx, dup)
		})
		wantConflict(t, err, "id")
		_, err = d.UserByID(ctx, "gone2")
		wantErr(t, err, service.ErrNotFound)

		// A panic in fn rolls back and reaches the caller; the store stays usable.
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic swallowed")
				}
			}()
			_ = d.WithTx(ctx, func(tx service.Queries) error {
				must(t, tx.InsertUser(ctx, sampleUser("gone3", "db", "gone3@example.com")))
				panic("oops")
			})
		}()
		_, err = d.UserByID(ctx, "gone3")
		wantErr(t, err, service.ErrNotFound)
		must(t, d.InsertUser(ctx, sampleUser("after", "db", "after@example.com")))
	})

	parallel(t, "WithTxRetriesSerializationFailures", func(t *testing.T) {
		d := openStore(t)
		var calls int
		err := d.WithTx(ctx, func(tx service.Queries) error {
			calls++
			if err := tx.InsertUser(ctx, sampleUser(fmt.Sprint("r", calls), "db", fmt.Sprint("r", calls, "@x"))); err != nil {
				return err
			}
			if calls < 3 {
				return fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 1213, Message: "Deadlock found"})
			}
			return nil
		})
		must(t, err)
		mustEqual(t, calls, 3)
		n, err := d.CountUsers(ctx) // only the last attempt's insert
		must(t, err)
		mustEqual(t, n, 1)

		calls = 0
		err = d.WithTx(ctx, func(tx service.Queries) error {
			calls++
			return &mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}
		})
		if err == nil || calls != 5 {
			t.Fatalf("WithTx = %v after %d calls, want an error after 5", err, calls)
		}
		calls = 0
		_ = d.WithTx(ctx, func(tx service.Queries) error { calls++; return errors.New("plain") })
		mustEqual(t, calls, 1)
	})

	parallel(t, "ConcurrentMetadataMerge", func(t *testing.T) {
		d := openStore(t)
		u := sampleUser("hot", "db", "hot@example.com")
		u.UserMetadata = nil
		must(t, d.InsertUser(ctx, u))
		const workers = 100
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for i := range workers {
			wg.Go(func() {
				err := d.WithTx(ctx, func(tx service.Queries) error {
					u, err := tx.UserByIDForUpdate(ctx, "hot")
					if err != nil {
						return err
					}
					u.UserMetadata[fmt.Sprintf("k%03d", i)] = json.Number(fmt.Sprint(i))
					u.LoginsCount++
					return tx.UpdateUser(ctx, u)
				})
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := d.UserByID(ctx, "hot")
		must(t, err)
		if len(got.UserMetadata) != workers || got.LoginsCount != u.LoginsCount+workers {
			t.Fatalf("lost updates: %d keys, logins %d", len(got.UserMetadata), got.LoginsCount)
		}
	})

	parallel(t, "DeadlockRetried", func(t *testing.T) {
		// Two transactions lock two users in opposite orders. MySQL kills
		// one with a deadlock (1213); WithTx runs it again and both land.
		// SQLite serializes them (the second waits at BEGIN).
		d := openStore(t)
		must(t, d.InsertUser(ctx, sampleUser("p", "db", "p@example.com")))
		must(t, d.InsertUser(ctx, sampleUser("q", "db", "q@example.com")))
		mysql := d.Dialect() == DialectMySQL
		var arrived atomic.Int32
		barrier := func() { // first attempts wait for each other, each holding its first row
			arrived.Add(1)
			// On MySQL both get there (row locks do not block BEGIN), so the
			// deadlock is certain; SQLite's second transaction waits at BEGIN,
			// so the first one goes on alone after a moment.
			wait := 300 * time.Millisecond
			if mysql {
				wait = time.Minute
			}
			deadline := time.Now().Add(wait)
			for arrived.Load() < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		var attempts atomic.Int32
		move := func(first, second, key string) error {
			try := 0
			return d.WithTx(ctx, func(tx service.Queries) error {
				try++
				attempts.Add(1)
				a, err := tx.UserByIDForUpdate(ctx, first)
				if err != nil {
					return err
				}
				if try == 1 {
					barrier()
				}
				b, err := tx.UserByIDForUpdate(ctx, second)
				if err != nil {
					return err
				}
				a.AppMetadata[key] = "a"
				b.AppMetadata[key] = "b"
				if err := tx.UpdateUser(ctx, a); err != nil {
					return err
				}
				return tx.UpdateUser(ctx, b)
			})
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() { errs[0] = move("p", "q", "pq") })
		wg.Go(func() { errs[1] = move("q", "p", "qp") })
		wg.Wait()
		must(t, errs[0])
		must(t, errs[1])
		for _, id := range []string{"p", "q"} {
			u, err := d.UserByID(ctx, id)
			must(t, err)
			if u.AppMetadata["pq"] == nil || u.AppMetadata["qp"] == nil {
				t.Fatalf("user %s app_metadata = %v", id, u.AppMetadata)
			}
		}
		t.Logf("%s: %d attempts for 2 transactions", d.Dialect(), attempts.Load())
		if mysql && attempts.Load() < 3 {
			t.Fatalf("MySQL: %d attempts for 2 deadlocking transactions: the loser was not run again", attempts.Load())
		}
	})

	parallel(t, "Ping", func(t *testing.T) {
		d := openStore(t)
		must(t, d.Ping(ctx))
		if d.Dialect() != DialectSQLite && d.Dialect() != DialectMySQL {
			t.Fatalf("Dialect = %q", d.Dialect())
		}
	})
}

func ids(users []policy.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// ---- Open ----

func TestOpenTwiceIsIdempotent(t *testing.T) {
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "p.db") },
		"mysql":  func(t *testing.T) string { return testmysql.URL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			u := url(t)
			d1, err := Open(ctx, u)
			must(t, err)
			must(t, d1.InsertUser(ctx, sampleUser("u", "db", "u@example.com")))
			must(t, d1.Close())
			d2, err := Open(ctx, u)
			must(t, err)
			defer d2.Close()
			_, err = d2.UserByID(ctx, "u")
			must(t, err)
			var version int64
			must(t, d2.w.GetContext(ctx, &version, "SELECT MAX(version_id) FROM goose_db_version"))
			if version < 5 {
				t.Fatalf("schema version %d", version)
			}
		})
	}
}

func TestOpenUnreachableMySQL(t *testing.T) {
	start := time.Now()
	// Port 1 on loopback: nothing listens, the connection is refused.
	_, err := Open(ctx, "mysql://profiled:Sup3r-S3cret@127.0.0.1:1/profiled", WithConnectTimeout(2*time.Second))
	if err == nil {
		t.Fatal("Open succeeded")
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("Open took %v", time.Since(start))
	}
	wantErr(t, err, service.ErrUnavailable)
	msg := err.Error()
	if strings.Contains(msg, "Sup3r-S3cret") {
		t.Fatalf("error shows the password: %v", err)
	}
	if !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, "mysql://profiled:***@") {
		t.Fatalf("error does not say which store: %v", err)
	}
	t.Log(msg)
}

func TestOpenBadURLAndPath(t *testing.T) {
	_, err := Open(ctx, "postgres://u:pw@h/db")
	wantErr(t, err, ErrBadURL)
	_, err = Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "no", "such", "dir", "p.db"))
	if err == nil || !strings.Contains(err.Error(), "sqlite:") {
		t.Fatalf("Open in a missing directory = %v", err)
	}
	wantErr(t, err, service.ErrUnavailable)
}

func TestOpenMySQLCreatesDatabase(t *testing.T) {
	base := testmysql.URL(t) // also skips (or fails in CI) without a server
	d0, err := Open(ctx, base)
	must(t, err)
	t.Cleanup(func() { d0.Close() }) // after the DROP below: cleanups run last first
	fresh := base + "_created"
	name := fresh[strings.LastIndex(fresh, "/")+1:]
	t.Cleanup(func() {
		if _, err := d0.w.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
		var left int
		if err := d0.w.Get(&left, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name); err != nil || left != 0 {
			t.Errorf("database %s left behind (%d, %v)", name, left, err)
		}
	})
	d, err := Open(ctx, fresh)
	must(t, err)
	defer d.Close()
	must(t, d.InsertUser(ctx, sampleUser("u", "db", "u@example.com")))
	var coll string
	must(t, d.w.GetContext(ctx, &coll, "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name))
	mustEqual(t, coll, "utf8mb4_bin")
}

func TestOpenMySQLBadPassword(t *testing.T) {
	base := testmysql.URL(t)
	cfg, err := ParseURL(base)
	must(t, err)
	cfg.User, cfg.Password = "no_such_user_x", "Wr0ng-Pa55"
	_, err = OpenConfig(ctx, cfg, WithConnectTimeout(2*time.Second))
	if err == nil || strings.Contains(err.Error(), "Wr0ng-Pa55") {
		t.Fatalf("Open with a bad account = %v", err)
	}
	t.Log(err)
}

// Another process holding the SQLite write lock makes BEGIN IMMEDIATE
// wait (busy_timeout), then fail with SQLITE_BUSY, which WithTx retries.
func TestSQLiteBusyIsRetried(t *testing.T) {
	path := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
	a := openStore(t, path)
	b := openStore(t, path, WithBusyTimeout(30*time.Millisecond), WithTxAttempts(8))
	locked := make(chan struct{})
	release := make(chan struct{})
	go func() {
		_ = a.WithTx(ctx, func(tx service.Queries) error {
			err := tx.InsertUser(ctx, sampleUser("a", "db", "a@x"))
			close(locked)
			<-release
			return err
		})
	}()
	<-locked
	// Without retries, BEGIN gives up after the busy timeout.
	c := openStore(t, path, WithBusyTimeout(30*time.Millisecond), WithTxAttempts(1))
	err := c.WithTx(ctx, func(tx service.Queries) error { return nil })
	if err == nil || !retryable(err) {
		t.Fatalf("WithTx while another process writes = %v, want SQLITE_BUSY", err)
	}
	t.Log(err)
	// With them, it gets through once the other transaction ends.
	time.AfterFunc(150*time.Millisecond, func() { close(release) })
	calls := 0
	err = b.WithTx(ctx, func(tx service.Queries) error {
		calls++
		return tx.InsertUser(ctx, sampleUser("b", "db", "b@x"))
	})
	must(t, err)
	n, err := b.CountUsers(ctx)
	must(t, err)
	mustEqual(t, n, 2)
	t.Logf("fn ran %d times", calls)
}

// Several replicas starting at once on an empty database: the migrations
// run once (MySQL: GET_LOCK around goose; SQLite: the write lock) and every
// Open succeeds.
func TestOpenConcurrently(t *testing.T) {
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "p.db") },
		"mysql":  func(t *testing.T) string { return testmysql.URL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			u := url(t)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Go(func() {
					d, err := Open(ctx, u)
					if err == nil {
						err = d.InsertUser(ctx, sampleUser(fmt.Sprint("u", i), "db", fmt.Sprint("u", i, "@x")))
						d.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for _, err := range errs {
				must(t, err)
			}
		})
	}
}

func TestZeroTimesRoundTrip(t *testing.T) {
	for _, s := range []struct {
		name string
		open func(t testing.TB, opts ...Option) *DB
	}{{"sqlite", openSQLiteStore}, {"mysql", openMySQLStore}} {
		t.Run(s.name, func(t *testing.T) {
			d := s.open(t)
			must(t, d.InsertUser(ctx, policy.User{ID: "z", Connection: "db"}))
			u, err := d.UserByID(ctx, "z")
			must(t, err)
			if !u.CreatedAt.IsZero() || !u.UpdatedAt.IsZero() || u.LastLogin != nil {
				t.Fatalf("zero times read back as %v %v %v", u.CreatedAt, u.UpdatedAt, u.LastLogin)
			}
		})
	}
}

func TestConflictKeyFromMySQLMessages(t *testing.T) {
	for _, tc := range []struct{ table, msg, key string }{
		{"users", "Duplicate entry 'db-a@example.com' for key 'uq_users_connection_email'", "email"},
		{"users", "Duplicate entry 'db-a' for key 'users.uq_users_connection_username'", "username"}, // MySQL 8
		{"users", "Duplicate entry 'u1' for key 'PRIMARY'", "id"},
		{"connections", "Duplicate entry 'c' for key 'connections.PRIMARY'", "name"},
		{"signing_keys", "Duplicate entry 'k' for key 'PRIMARY'", "kid"},
		{"users", "Duplicate entry", ""},
	} {
		err := translate(fmt.Errorf("exec: %w", &mysql.MySQLError{Number: 1062, Message: tc.msg}), "op", tc.table)
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Key != tc.key || !errors.Is(err, service.ErrConflict) {
			t.Errorf("%q → %#v, want key %q", tc.msg, err, tc.key)
		}
		if strings.Contains(err.Error(), "example.com") || strings.Contains(err.Error(), "'u1'") {
			t.Errorf("conflict error quotes a value: %v", err)
		}
	}
	for _, n := range []uint16{1213, 1205} {
		if err := translate(&mysql.MySQLError{Number: n}, "op", "users"); !retryable(err) {
			t.Errorf("%d not retryable after translate: %v", n, err)
		}
	}
}
