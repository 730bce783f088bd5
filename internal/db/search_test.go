package db

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
	"github.com/profiled/profiled/internal/service"
)

func TestSQLiteSearch(t *testing.T) {
	t.Parallel()
	runSearchSuite(t, func(t *testing.T) *DB { return openSQLiteStore(t) })
}

func TestMySQLSearch(t *testing.T) {
	t.Parallel()
	runSearchSuite(t, func(t *testing.T) *DB { return openMySQLStore(t) })
}

func TestSearchTimeLayout(t *testing.T) {
	// Date values and cursors are bound in search.TimeLayout and compared
	// with the stored text on SQLite: the layouts must be one.
	if search.TimeLayout != timeLayout {
		t.Fatalf("search.TimeLayout %q != db timeLayout %q", search.TimeLayout, timeLayout)
	}
}

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptime(s string) *time.Time { t := day(s); return &t }

// searchUsers are the fixed users the query table runs on.
func searchUsers() []policy.User {
	ident := func(conns ...string) []policy.Identity {
		var ids []policy.Identity
		for _, c := range conns {
			ids = append(ids, policy.Identity{Connection: c, Provider: "p", UserID: "x"})
		}
		return ids
	}
	return []policy.User{
		{
			ID: "auth0|alice", Connection: "db", Email: "Alice@Example.com", EmailVerified: true,
			Username: "alice", Name: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell", Nickname: "ally",
			LoginsCount: 5, CreatedAt: day("2024-01-10T08:00:00Z"), UpdatedAt: day("2024-01-10T08:00:00Z"),
			LastLogin: ptime("2024-02-01T10:00:00Z"),
			UserMetadata: policy.Metadata{"plan": "pro", "age": json.Number("30"), "prefs": map[string]any{"theme": "dark"},
				"vip": true, "tag-x": "a b", "1st": "one"},
			AppMetadata: policy.Metadata{"role": "admin", "roles": []any{"admin", "dev"}, "tier": json.Number("10")},
			Identities:  ident("db"),
			PhoneNumber: "+33612345678", PhoneVerified: true, LastIP: "10.0.0.1",
		},
		{
			ID: "auth0|bob", Connection: "db", Email: "bob@example.org", Blocked: true,
			Name: "Bob Stone", LoginsCount: 150,
			CreatedAt: day("2024-03-01T00:00:00Z"), UpdatedAt: day("2024-03-01T00:00:00Z"),
			UserMetadata: policy.Metadata{"plan": "free", "age": "30",
				"addresses": []any{map[string]any{"city": "Paris"}, map[string]any{"city": "Lyon"}}},
			AppMetadata: policy.Metadata{"tier": json.Number("4"), "roles": []any{"dev"}},
			Identities:  ident("db", "google-oauth2"),
		},
		{
			ID: "google-oauth2|carol", Connection: "google-oauth2", Username: "carol",
			Name: "carol o'hara", Nickname: "Caz",
			CreatedAt: day("2024-03-01T23:59:59.999999Z"), UpdatedAt: day("2024-03-01T23:59:59.999999Z"),
			UserMetadata: policy.Metadata{"plan": nil},
			AppMetadata:  policy.Metadata{"role": "user", "tier": "gold"},
			Identities:   ident("google-oauth2"),
		},
		{
			ID: "auth0|dave", Connection: "db", Email: "dave@example.com", EmailVerified: true,
			Username: "dave_1", Name: `Dave\Back`, LoginsCount: 200,
			CreatedAt: day("2024-06-15T12:00:00Z"), UpdatedAt: day("2024-06-15T12:00:00Z"),
			LastLogin:    ptime("2024-06-16T00:00:00Z"),
			UserMetadata: policy.Metadata{"prefs": map[string]any{"theme": "light"}},
			Identities:   ident("db"),
		},
	}
}

const (
	alice = "auth0|alice"
	bob   = "auth0|bob"
	carol = "google-oauth2|carol"
	dave  = "auth0|dave"
)

func runSearchSuite(t *testing.T, open func(t *testing.T) *DB) {
	d := open(t)
	for _, u := range searchUsers() {
		if err := d.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("queries", func(t *testing.T) {
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"", []string{alice, bob, carol, dave}},
			{"email:alice@example.com", []string{alice}},
			{"email:ALICE@EXAMPLE.COM", []string{alice}},
			{`email:"bob@example.org"`, []string{bob}},
			{"email:bob*", []string{bob}},
			{`name:"alice liddell"`, []string{alice}},
			{`name:ALICE\ LIDDELL`, []string{alice}},
			{"name:alice", nil},
			{"name:ali*", []string{alice}},
			{"given_name:alice", []string{alice}},
			{"family_name:LIDDELL", []string{alice}},
			{"nickname:caz", []string{carol}},
			{"username:carol", []string{carol}},
			{"username:Carol", nil},
			{"_exists_:username", []string{alice, carol, dave}},
			{"_exists_:email", []string{alice, bob, dave}},
			{`user_id:"auth0|alice"`, []string{alice}},
			{`user_id:auth0|alice`, []string{alice}},
			{"user_id:auth0*", []string{alice, bob, dave}},
			{"user_id:auth0", nil},
			{"connection:google-oauth2", []string{carol}},
			{"identities.connection:google-oauth2", []string{bob, carol}},
			{"identities.connection:goo*", []string{bob, carol}},
			{"identities.connection:db", []string{alice, bob, dave}},
			{"identities.connection:DB", nil},
			{"_exists_:identities.connection", []string{alice, bob, carol, dave}},
			{"email_verified:true", []string{alice, dave}},
			{"email_verified:false", []string{bob, carol}},
			{"blocked:true", []string{bob}},
			{"logins_count:5", []string{alice}},
			{"logins_count:[100 TO 200]", []string{bob, dave}},
			{"logins_count:{100 TO 200}", []string{bob}},
			{"logins_count:[150 TO 200}", []string{bob}},
			{"logins_count:[* TO 5}", []string{carol}},
			{"logins_count:[5 TO *]", []string{alice, bob, dave}},
			{"logins_count:[* TO *]", []string{alice, bob, carol, dave}},
			{"created_at:2024-03-01", []string{bob, carol}},
			{"created_at:[2024-03-02 TO *]", []string{dave}},
			{"created_at:{2024-01-10 TO 2024-03-01]", []string{bob, carol}},
			{"created_at:[* TO 2024-03-01}", []string{alice}},
			{"created_at:[* TO 2024-03-01T00:00:00Z]", []string{alice, bob}},
			{"created_at:[* TO 2024-03-01T00:00:00Z}", []string{alice}},
			{`created_at:"2024-03-01T23:59:59.999999Z"`, []string{carol}},
			{"created_at:2024-03-01T02:00:00+02:00", []string{bob}},
			{"created_at:2024-03-01T01:59:59.999999+02:00", nil},
			{"updated_at:[2024-06-01 TO 2024-06-30]", []string{dave}},
			{"last_login:[2024-01-01 TO 2024-12-31]", []string{alice, dave}},
			{"last_login:[* TO *]", []string{alice, dave}},
			{"last_login:2024-06-16", []string{dave}},
			{"_exists_:last_login", []string{alice, dave}},
			{"NOT _exists_:last_login", []string{bob, carol}},
			{"user_metadata.plan:pro", []string{alice}},
			{"user_metadata.plan:PRO", nil},
			{"user_metadata.age:30", []string{alice, bob}},
			{`user_metadata.age:"30"`, []string{alice, bob}},
			{"user_metadata.prefs.theme:dark", []string{alice}},
			{"user_metadata.vip:true", []string{alice}},
			{`user_metadata.tag-x:"a b"`, []string{alice}},
			{"user_metadata.1st:one", []string{alice}},
			{"_exists_:user_metadata.plan", []string{alice, bob}},
			{"_exists_:user_metadata.prefs", []string{alice, dave}},
			{"NOT _exists_:user_metadata.plan", []string{carol, dave}},
			{"app_metadata.role:admin", []string{alice}},
			{"app_metadata.role:user", []string{carol}},
			{"connection:db AND NOT blocked:true", []string{alice, dave}},
			{"email:bob* OR username:carol", []string{bob, carol}},
			{"(connection:db OR connection:google-oauth2) AND logins_count:0", []string{carol}},
			{"connection:db logins_count:[100 TO *]", []string{bob, dave}},
			{"NOT email:alice@example.com", []string{bob, carol, dave}},
			{"NOT (email:alice@example.com OR user_metadata.plan:free)", []string{carol, dave}},
			{"NOT NOT blocked:true", []string{bob}},
			{"alice", []string{alice}},
			{"car*", []string{carol}},
			{"ALLY", []string{alice}},
			{`name:"carol o'hara"`, []string{carol}},
			{`name:"dave\\back"`, []string{dave}},
			{`name:"x' OR '1'='1"`, nil},
			{`name:x\'\ OR\ 1=1\ --`, nil},
			{`user_metadata.plan:"pro' OR 1=1 -- "`, nil},
			// Auth0's documented forms.
			{`app_metadata.roles:"admin"`, []string{alice}},
			{`app_metadata.roles:dev`, []string{alice, bob}},
			{`user_metadata.addresses.city:"Paris"`, []string{bob}},
			{"john", nil},
			{"liddell", []string{alice}},
			{"LIDDELL", []string{alice}},
			{"stone", []string{bob}},
			{"sto*", []string{bob}},
			{"o'hara", []string{carol}},
			{`email.domain:"example.com"`, []string{alice, dave}},
			{`email.domain:EXAMPLE.ORG`, []string{bob}},
			{`email.domain:example*`, []string{alice, bob, dave}},
			{`name:*ddell`, []string{alice}},
			{`name:*LIDD*`, []string{alice}},
			{`email:*@example.com`, []string{alice, dave}},
			{`username:*rol`, []string{carol}},
			{`phone_number:"+33612345678"`, []string{alice}},
			{`phone_verified:true`, []string{alice}},
			{`last_ip:"10.0.0.1"`, []string{alice}},
			{`identities.provider:p`, []string{alice, bob, carol, dave}},
			{`identities.user_id:x`, []string{alice, bob, carol, dave}},
			{`identities.user_id:y`, nil},
			// Beyond Auth0.
			{`app_metadata.tier:[4 TO *]`, []string{alice, bob}},
			{`app_metadata.tier:{4 TO *]`, []string{alice}},
			{`app_metadata.tier:[5 TO 10}`, nil},
			{`app_metadata.tier:[a TO z]`, []string{carol}},
			{`app_metadata.tier:go*`, []string{carol}},
			{`user_metadata.plan:p*`, []string{alice}},
			{`user_metadata.addresses.city:Par*`, []string{bob}},
			{`connection:(db OR google-oauth2) -blocked:true`, []string{alice, carol, dave}},
			{`user_metadata.plan:(pro OR free)`, []string{alice, bob}},
			{`-app_metadata.roles:dev`, []string{carol, dave}},
			{`app_metadata.tier:([* TO 4] OR gold)`, []string{bob, carol}},
		} {
			t.Run(tc.q, func(t *testing.T) {
				p := service.SearchParams{Query: tc.q, Count: true}
				hits, total, err := d.SearchUsers(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				got := hitIDs(hits)
				want := slices.Clone(tc.want)
				slices.Sort(want)
				if !slices.Equal(got, want) || total != len(want) {
					t.Fatalf("got %v (total %d), want %v", got, total, want)
				}
				// The plan every query had before the term-index plan
				// (one condition on users) agrees.
				s, err := buildSearch(d.dialect, p, searchPlan{from: "users", generic: true})
				if err != nil {
					t.Fatal(err)
				}
				ghits, gtotal, err := d.runSearch(ctx, s)
				if err != nil {
					t.Fatal(err)
				}
				if g := hitIDs(ghits); !slices.Equal(g, got) || gtotal != total {
					t.Fatalf("generic plan: %v (total %d), term-index plan: %v (total %d)", g, gtotal, got, total)
				}
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			p   service.SearchParams
			pos int
		}{
			{service.SearchParams{Query: "name:[a TO"}, 11},
			{service.SearchParams{Query: "nope:1"}, 1},
			{service.SearchParams{Query: "email:*"}, 7},
			{service.SearchParams{Query: "email:*om"}, 7},
			{service.SearchParams{Query: "user_metadata.plan:*pro"}, 20},
			{service.SearchParams{Query: "user_metadata.a'b:x"}, 1},
			{service.SearchParams{Query: "logins_count:many"}, 14},
			{service.SearchParams{Sort: "user_metadata.plan:1"}, 0},
			{service.SearchParams{Sort: "email:2"}, 0},
			{service.SearchParams{After: "!!!"}, 0},
			{service.SearchParams{After: base64.RawURLEncoding.EncodeToString([]byte(`{"s":"user_id:1"}`))}, 0},
			{service.SearchParams{Sort: "logins_count:1", After: search.Sort{}.Cursor(nil, alice)}, 0},
			{service.SearchParams{Sort: "logins_count:1", After: base64.RawURLEncoding.EncodeToString(
				[]byte(`{"s":"logins_count:1","v":"5","id":"x"}`))}, 0},
		} {
			t.Run(fmt.Sprintf("%+v", tc.p), func(t *testing.T) {
				_, _, err := d.SearchUsers(ctx, tc.p)
				if !errors.Is(err, service.ErrBadQuery) {
					t.Fatalf("err = %v, want ErrBadQuery", err)
				}
				var se *search.Error
				if !errors.As(err, &se) || se.Pos != tc.pos {
					t.Fatalf("err = %v (%#v), want a *search.Error at %d", err, se, tc.pos)
				}
			})
		}
	})

	t.Run("updated user is found by the new value", func(t *testing.T) {
		u, err := d.UserByID(ctx, dave)
		if err != nil {
			t.Fatal(err)
		}
		u.Name = "David Renamed"
		u.UserMetadata["plan"] = "enterprise"
		if err := d.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string][]string{
			`name:"david renamed"`:          {dave},
			`name:"dave\\back"`:             nil,
			"user_metadata.plan:enterprise": {dave},
		} {
			hits, _, err := d.SearchUsers(ctx, service.SearchParams{Query: q})
			if err != nil {
				t.Fatal(err)
			}
			if got := hitIDs(hits); !slices.Equal(got, want) {
				t.Fatalf("%s: got %v, want %v", q, got, want)
			}
		}
	})

	t.Run("sort and pages", func(t *testing.T) {
		d := open(t)
		users := sortUsers()
		for _, u := range users {
			if err := d.InsertUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for _, field := range []string{"", "user_id", "email", "username", "name", "connection", "blocked",
			"email_verified", "logins_count", "created_at", "updated_at", "last_login"} {
			for _, desc := range []bool{false, true} {
				sortSpec := ""
				if field != "" {
					sortSpec = field + ":1"
					if desc {
						sortSpec = field + ":-1"
					}
				} else if desc {
					continue
				}
				t.Run(cmp.Or(sortSpec, "default"), func(t *testing.T) {
					for _, q := range []string{"", "blocked:false"} {
						want := expectedOrder(users, field, desc, q != "")
						var got []string
						after := ""
						for page := 0; ; page++ {
							if page > len(users) {
								t.Fatal("pagination does not end")
							}
							hits, total, err := d.SearchUsers(ctx, service.SearchParams{Query: q, Sort: sortSpec, After: after, Limit: 4, Count: true})
							if err != nil {
								t.Fatal(err)
							}
							if total != len(want) {
								t.Fatalf("total %d, want %d", total, len(want))
							}
							if len(hits) == 0 {
								break
							}
							for _, h := range hits {
								got = append(got, h.User.ID)
							}
							after = hits[len(hits)-1].Cursor
						}
						if !slices.Equal(got, want) {
							t.Fatalf("query %q: order\n got %v\nwant %v", q, got, want)
						}
					}
				})
			}
		}
		t.Run("cursor of another sort", func(t *testing.T) {
			hits, _, err := d.SearchUsers(ctx, service.SearchParams{Sort: "created_at:1", Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"created_at:-1", "updated_at:1", ""} {
				_, _, err = d.SearchUsers(ctx, service.SearchParams{Sort: s, After: hits[1].Cursor})
				if !errors.Is(err, service.ErrBadQuery) {
					t.Fatalf("sort %q with a created_at:1 cursor: err = %v, want ErrBadQuery", s, err)
				}
			}
		})
	})
}

func hitIDs(hits []service.SearchHit) []string {
	ids := []string{}
	for _, h := range hits {
		ids = append(ids, h.User.ID)
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// sortUsers have duplicate sort values (ties broken by id) and absent ones
// (no email, username, last_login).
func sortUsers() []policy.User {
	var us []policy.User
	base := day("2024-01-01T00:00:00Z")
	for i := range 23 {
		u := policy.User{
			ID:            fmt.Sprintf("u%02d", (i*7)%23),
			Connection:    []string{"db", "social", "db"}[i%3],
			EmailVerified: i%2 == 0,
			Blocked:       i%5 == 0,
			Name:          []string{"Ann", "bob", "Émile", "ann", "Zed"}[i%5],
			LoginsCount:   int64(i % 4),
			CreatedAt:     base.Add(time.Duration(i%6) * time.Hour),
			UpdatedAt:     base.Add(time.Duration(i) * time.Microsecond),
		}
		if i%4 != 0 {
			u.Email = fmt.Sprintf("e%d@x.com", i%7)
			u.Connection += fmt.Sprint(i) // (connection, email) is unique
		}
		if i%3 != 0 {
			u.Username = fmt.Sprintf("n%d", i%5)
			if i%4 == 0 {
				u.Connection += fmt.Sprint(i)
			}
		}
		if i%2 == 1 {
			u.LastLogin = ptime(fmt.Sprintf("2024-02-%02dT00:00:00Z", 1+i%3))
		}
		us = append(us, u)
	}
	return us
}

// expectedOrder sorts the users as the store must: by the field's stored
// value (absent first) then id, both reversed when desc.
func expectedOrder(us []policy.User, field string, desc, unblocked bool) []string {
	type row struct {
		v  any
		id string
	}
	var rows []row
	for _, u := range us {
		if unblocked && u.Blocked {
			continue
		}
		rows = append(rows, row{sortValue(field, u), u.ID})
	}
	rank := func(v any) string { // a string ordered as the SQL values are
		switch v := v.(type) {
		case nil:
			return ""
		case bool:
			if v {
				return "\x01b1"
			}
			return "\x01b0"
		case int64:
			return fmt.Sprintf("\x01%020d", v)
		case time.Time:
			return "\x01" + v.UTC().Format(timeLayout)
		case string:
			return "\x01" + v
		}
		panic(v)
	}
	slices.SortFunc(rows, func(a, b row) int {
		c := cmp.Or(strings.Compare(rank(a.v), rank(b.v)), strings.Compare(a.id, b.id))
		if desc {
			return -c
		}
		return c
	})
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	return ids
}

// TestListingUsesStatementCache: a search without terms (a listing) runs
// through SQLite's statement cache, which it grows by a text per sort and
// cursor presence, never per request; a search with terms stays out of it
// (its texts are unbounded). The pages are those of the uncached runner.
func TestListingUsesStatementCache(t *testing.T) {
	d := openSQLiteStore(t)
	for _, u := range searchUsers() {
		if err := d.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int {
		d.rStmts.mu.Lock()
		defer d.rStmts.mu.Unlock()
		return len(d.rStmts.m)
	}
	ids := func(hits []service.SearchHit) (out []string) {
		for _, h := range hits {
			out = append(out, h.User.ID)
		}
		return out
	}
	before := size()
	var after string
	var all []string
	for range 5 {
		hits, _, err := d.SearchUsers(ctx, service.SearchParams{After: after, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 {
			break
		}
		all = append(all, ids(hits)...)
		after = hits[0].Cursor
	}
	if want := []string{alice, bob, dave, carol}; !slices.Equal(all, want) {
		t.Fatalf("pages %v, want %v", all, want)
	}
	if _, _, err := d.SearchUsers(ctx, service.SearchParams{Sort: "email:-1", Limit: 2, Count: true}); err != nil {
		t.Fatal(err)
	}
	if grown := size() - before; grown < 1 || grown > 4 {
		t.Fatalf("statement cache grew by %d texts for listings, want 1 to 4", grown)
	}
	mid := size()
	for _, q := range []string{"name:alice", "email:bob@example.com", "app_metadata.plan:pro", "logins_count>1"} {
		if _, _, err := d.SearchUsers(ctx, service.SearchParams{Query: q, Limit: 2, Count: true}); err != nil {
			t.Fatal(err)
		}
	}
	if size() != mid {
		t.Fatalf("statement cache grew by %d texts for searches with terms", size()-mid)
	}
}

// sqlxUsers reads users as the store did before scanUsers: sqlx's Select
// into userRow (columns mapped by name), then userRow.user.
func sqlxUsers(t *testing.T, d *DB, query string, args ...any) []policy.User {
	t.Helper()
	var rows []userRow
	if err := d.queries.r.sel(ctx, &rows, query, args...); err != nil {
		t.Fatal(err)
	}
	out := make([]policy.User, 0, len(rows))
	for i := range rows {
		u, err := rows[i].user()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// TestScanUsersMatchesSqlx: the positional scan reads every column as
// sqlx's name mapping did (NULL emails and usernames, times, a NULL and a
// set last login, metadata, identities), on SQLite and MariaDB, for
// listings, searches and a role's users' query shape.
func TestScanUsersMatchesSqlx(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(testing.TB, ...Option) *DB
	}{{"sqlite", openSQLiteStore}, {"mysql", openMySQLStore}} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.open(t)
			last := time.Date(2026, 12, 6, 5, 0, 0, 123456000, time.UTC)
			for i, u := range searchUsers() {
				if i%2 == 1 {
					u.LastLogin, u.LastIP, u.Email, u.Username = &last, "192.0.2.1", "", ""
				}
				u.PasswordHash = fmt.Sprintf("$2a$04$hash%d", i)
				if err := d.InsertUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range []struct {
				query string
				args  []any
			}{
				{qListUsers, []any{"", 100}},
				{qListUsers, []any{bob, 2}},
				{qUsersByEmail, []any{"bob@example.com"}},
				{`SELECT ` + prefixed("u.", userColumns) + ` FROM users u ORDER BY u.id DESC`, nil},
			} {
				var got []policy.User
				if err := scanUsers(ctx, d.queries.r, q.query, q.args, func(u policy.User) { got = append(got, u) }); err != nil {
					t.Fatal(err)
				}
				want := sqlxUsers(t, d, q.query, q.args...)
				if len(want) == 0 && q.query == qListUsers {
					t.Fatalf("%s: no users", q.query)
				}
				if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Fatalf("%s %v:\nscanUsers %#v\nsqlx      %#v", q.query, q.args, got, want)
				}
			}
			hits, _, err := d.SearchUsers(ctx, service.SearchParams{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			want := sqlxUsers(t, d, qListUsers, "", 100)
			if len(hits) != len(want) {
				t.Fatalf("search: %d users, want %d", len(hits), len(want))
			}
			for i := range hits {
				if !reflect.DeepEqual(hits[i].User, want[i]) {
					t.Fatalf("search hit %d: %#v, want %#v", i, hits[i].User, want[i])
				}
			}
		})
	}
}
