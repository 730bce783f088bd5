package db

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testmysql"
)

func TestMetadataTerms(t *testing.T) {
	long := strings.Repeat("é", search.TermValueMax+10)
	got := metadataTerms(nil, "u", "id1", map[string]any{
		"plan": "pro", "age": json.Number("30"), "f": 1.5, "vip": true, "off": false, "gone": nil,
		"prefs": policy.Metadata{"theme": "dark", "deep": map[string]any{"x": "y"}},
		"tags":  []any{"a", "b"},
		"long":  long,
		"a.b":   "dot", "a": map[string]any{"b": "dot"}, // the same row twice: kept once
	})
	slices.SortFunc(got, func(a, b termRow) int { return strings.Compare(a.path+"\x00"+a.value, b.path+"\x00"+b.value) })
	r := func(path, value string) termRow { return newTermRow("u", path, value, "id1") }
	want := []termRow{
		r("a", ""), r("a.b", "dot"), r("age", "30"), r("f", "1.5"),
		r("long", strings.Repeat("é", search.TermValueMax)), r("off", "false"),
		r("plan", "pro"), r("prefs", ""), r("prefs.deep", ""),
		r("prefs.deep.x", "y"), r("prefs.theme", "dark"),
		// A list: its row, then its elements at the same path.
		r("tags", ""), r("tags", "a"), r("tags", "b"),
		r("vip", "true"),
	}
	if n := r("age", "30").num; !n.Valid || n.Float64 != 30 {
		t.Fatalf("num of 30 = %v", n)
	}
	if n := r("plan", "pro").num; n.Valid {
		t.Fatalf("num of pro = %v", n)
	}
	// Arrays are skipped at every level: objects in lists are walked with
	// the list's path, lists in lists too.
	got2 := metadataTerms(nil, "u", "id1", map[string]any{
		"addresses": []any{map[string]any{"city": "Paris"}, map[string]any{"city": "Lyon", "zip": json.Number("69001")}},
		"matrix":    []any{[]any{"x"}, nil, "y"},
	})
	slices.SortFunc(got2, func(a, b termRow) int { return strings.Compare(a.path+"\x00"+a.value, b.path+"\x00"+b.value) })
	want2 := []termRow{r("addresses", ""), r("addresses.city", "Lyon"), r("addresses.city", "Paris"), r("addresses.zip", "69001"),
		r("matrix", ""), r("matrix", "x"), r("matrix", "y")}
	if !slices.Equal(got2, want2) {
		t.Fatalf("terms of lists\n got %v\nwant %v", got2, want2)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("terms\n got %v\nwant %v", got, want)
	}
}

func TestSQLiteMetadataIndex(t *testing.T) {
	t.Parallel()
	runMetadataIndexSuite(t, func(t *testing.T) *DB { return openSQLiteStore(t) })
}

func TestMySQLMetadataIndex(t *testing.T) {
	t.Parallel()
	runMetadataIndexSuite(t, func(t *testing.T) *DB { return openMySQLStore(t) })
}

// termCount is the number of index rows of a user.
func termCount(t *testing.T, d *DB, id string) int {
	t.Helper()
	var n int
	must(t, d.w.GetContext(ctx, &n, "SELECT COUNT(*) FROM metadata_terms WHERE user_id = ?", id))
	return n
}

func searchIDs(t *testing.T, d *DB, q string) []string {
	t.Helper()
	hits, _, err := d.SearchUsers(ctx, service.SearchParams{Query: q, Limit: MaxPageSize})
	must(t, err)
	return hitIDs(hits)
}

func runMetadataIndexSuite(t *testing.T, open func(t *testing.T) *DB) {
	parallel(t, "kept in step with every write", func(t *testing.T) {
		d := open(t)
		u := sampleUser("auth0|m1", "db", "m1@example.com")
		u.UserMetadata = policy.Metadata{"plan": "gold"}
		u.AppMetadata = policy.Metadata{"tier": json.Number("3")}
		must(t, d.InsertUser(ctx, u))
		mustEqual(t, searchIDs(t, d, "user_metadata.plan:gold"), []string{u.ID})
		mustEqual(t, searchIDs(t, d, "app_metadata.tier:3"), []string{u.ID})

		// Updated in a transaction: found by the new value at once, not the old.
		u.UserMetadata = policy.Metadata{"plan": "silver", "prefs": map[string]any{"lang": "fr"}}
		must(t, d.WithTx(ctx, func(tx service.Queries) error { return tx.UpdateUser(ctx, u) }))
		mustEqual(t, searchIDs(t, d, "user_metadata.plan:gold"), []string(nil))
		mustEqual(t, searchIDs(t, d, "user_metadata.plan:silver"), []string{u.ID})
		mustEqual(t, searchIDs(t, d, "user_metadata.prefs.lang:fr"), []string{u.ID})
		mustEqual(t, searchIDs(t, d, "_exists_:user_metadata.prefs"), []string{u.ID})
		mustEqual(t, searchIDs(t, d, "app_metadata.tier:3"), []string{u.ID})

		// Outside a transaction too.
		u.AppMetadata = policy.Metadata{}
		must(t, d.UpdateUser(ctx, u))
		mustEqual(t, searchIDs(t, d, "_exists_:app_metadata.tier"), []string(nil))
		mustEqual(t, termCount(t, d, u.ID), 3) // plan, prefs, prefs.lang

		// A failed transaction leaves the index as it was.
		u.UserMetadata = policy.Metadata{"plan": "bronze"}
		err := d.WithTx(ctx, func(tx service.Queries) error {
			must(t, tx.UpdateUser(ctx, u))
			return fmt.Errorf("boom")
		})
		if err == nil {
			t.Fatal("want the transaction's error")
		}
		mustEqual(t, searchIDs(t, d, "user_metadata.plan:bronze"), []string(nil))
		mustEqual(t, searchIDs(t, d, "user_metadata.plan:silver"), []string{u.ID})

		// Updating a user that does not exist is ErrNotFound, as before.
		ghost := sampleUser("auth0|ghost", "db", "ghost@example.com")
		wantErr(t, d.UpdateUser(ctx, ghost), service.ErrNotFound)

		// Deleted with the user.
		must(t, d.DeleteUser(ctx, u.ID))
		mustEqual(t, termCount(t, d, u.ID), 0)
	})

	parallel(t, "import writes and upserts the index", func(t *testing.T) {
		d := open(t)
		var users []policy.User
		for i := range 3 {
			u := sampleUser(fmt.Sprintf("auth0|imp%d", i), "db", fmt.Sprintf("imp%d@example.com", i))
			u.UserMetadata = policy.Metadata{"batch": "one", "i": json.Number(fmt.Sprint(i))}
			users = append(users, u)
		}
		must(t, d.WithImportTx(ctx, func(tx service.ImportQueries) error {
			_, err := tx.InsertUsers(ctx, users, nil)
			return err
		}))
		mustEqual(t, searchIDs(t, d, "user_metadata.batch:one"), []string{"auth0|imp0", "auth0|imp1", "auth0|imp2"})
		users[1].UserMetadata = policy.Metadata{"batch": "two"}
		must(t, d.WithImportTx(ctx, func(tx service.ImportQueries) error { return tx.UpdateImportedUser(ctx, users[1]) }))
		mustEqual(t, searchIDs(t, d, "user_metadata.batch:one"), []string{"auth0|imp0", "auth0|imp2"})
		mustEqual(t, searchIDs(t, d, "user_metadata.batch:two"), []string{"auth0|imp1"})
		mustEqual(t, searchIDs(t, d, "user_metadata.i:1"), []string(nil))
	})

	parallel(t, "migration indexes users stored before it", func(t *testing.T) {
		d := open(t)
		u := sampleUser("auth0|old", "db", "old@example.com")
		u.AppMetadata = policy.Metadata{"legacy": "yes"}
		must(t, d.InsertUser(ctx, u))
		_, err := d.w.ExecContext(ctx, "DELETE FROM metadata_terms")
		must(t, err)
		mustEqual(t, searchIDs(t, d, "app_metadata.legacy:yes"), []string(nil)) // as before migration 13
		dialect := "sqlite3"
		if d.Dialect() == DialectMySQL {
			dialect = "mysql"
		}
		for range 2 { // it can run again
			tx, err := d.w.BeginTx(ctx, nil)
			must(t, err)
			must(t, indexStoredMetadata(gooseDialect(dialect))(ctx, tx))
			must(t, tx.Commit())
		}
		mustEqual(t, searchIDs(t, d, "app_metadata.legacy:yes"), []string{u.ID})
	})

	parallel(t, "many paths and trailing spaces", func(t *testing.T) {
		d := open(t)
		u := sampleUser("auth0|big", "db", "big@example.com")
		big := map[string]any{"tag": "a", "tag ": "a"}
		for i := range 1500 {
			big[fmt.Sprintf("k%d", i)] = "v"
		}
		u.UserMetadata, u.AppMetadata = big, nil
		must(t, d.InsertUser(ctx, u))
		mustEqual(t, termCount(t, d, u.ID), 1502)
		// "tag " goes; "tag" must still be found (the two are distinct keys).
		u.UserMetadata = policy.Metadata{"tag": "a"}
		must(t, d.UpdateUser(ctx, u))
		mustEqual(t, termCount(t, d, u.ID), 1)
		mustEqual(t, searchIDs(t, d, "user_metadata.tag:a"), []string{u.ID})
		mustEqual(t, searchIDs(t, d, `user_metadata.tag:"a "`), []string(nil))
		mustEqual(t, searchIDs(t, d, "NOT user_metadata.tag:a"), []string(nil))
		u.UserMetadata = big
		must(t, d.UpdateUser(ctx, u))
		must(t, d.DeleteUser(ctx, u.ID)) // 1,502 rows deleted
		mustEqual(t, termCount(t, d, u.ID), 0)
	})

	parallel(t, "numbers match as written, lists and objects match no value", func(t *testing.T) {
		d := open(t)
		u := sampleUser("auth0|num", "db", "num@example.com")
		u.UserMetadata = policy.Metadata{"a": json.Number("1.50"), "b": json.Number("1e2"), "c": 1e21,
			"tags": []any{"x", "y"}, "o": map[string]any{"k": "v"}}
		must(t, d.InsertUser(ctx, u))
		for q, want := range map[string][]string{
			"user_metadata.a:1.50": {u.ID}, "user_metadata.a:1.5": nil,
			"user_metadata.b:1e2": {u.ID}, "user_metadata.b:100": nil, "user_metadata.b:100.0": nil,
			"user_metadata.c:1e+21":              {u.ID},
			`user_metadata.tags:"[\"x\",\"y\"]"`: nil, `user_metadata.o:"{\"k\":\"v\"}"`: nil,
			"_exists_:user_metadata.tags": {u.ID}, "user_metadata.o.k:v": {u.ID},
		} {
			mustEqual(t, searchIDs(t, d, q), want)
			s, err := buildSearch(d.Dialect(), service.SearchParams{Query: q, Limit: MaxPageSize}, searchPlan{from: "users", scan: true})
			must(t, err)
			hits, _, err := d.runSearch(ctx, s)
			must(t, err)
			if got := hitIDs(hits); !slices.Equal(got, want) {
				t.Errorf("%s: full scan %v, want %v", q, got, want)
			}
		}
	})

	parallel(t, "the index selects exactly what a full scan selects", func(t *testing.T) {
		d := open(t)
		r := rand.New(rand.NewPCG(7, 11))
		vals := []any{"a", "b", "A", "a ", "", json.Number("1"), json.Number("1.5"), true, false, nil,
			json.Number("1.50"), json.Number("1e2"), 1e21, 0.000001, []any{"a", "b"},
			strings.Repeat("x", search.TermValueMax) + "1", strings.Repeat("x", search.TermValueMax) + "2",
			map[string]any{"k": "a"}, []any{"a"}}
		// No key holds a '.': policy refuses them (POLICY.md), and the index
		// answers on its own only because paths are then unambiguous.
		keys := []string{"k", "j", "kk"}
		var meta func(depth int) map[string]any
		meta = func(depth int) map[string]any {
			m := map[string]any{}
			for range r.IntN(4) {
				v := vals[r.IntN(len(vals))]
				if depth < 2 && r.IntN(4) == 0 {
					v = meta(depth + 1)
				}
				m[keys[r.IntN(len(keys))]] = v
			}
			return m
		}
		now := time.Now()
		users := map[string]policy.User{}
		for i := range 120 {
			u := sampleUser(fmt.Sprintf("auth0|r%03d", i), "db", fmt.Sprintf("r%d@example.com", i))
			u.UserMetadata, u.AppMetadata = meta(0), meta(0)
			u.CreatedAt, u.UpdatedAt = now, now
			must(t, d.InsertUser(ctx, u))
			users[u.ID] = u
		}
		// Updates (some sources unchanged, some changed in part) and deletes.
		for i := range 120 {
			id := fmt.Sprintf("auth0|r%03d", i)
			u := users[id]
			switch i % 6 {
			case 0:
				must(t, d.DeleteUser(ctx, id))
				delete(users, id)
				continue
			case 1:
				u.UserMetadata = meta(0)
			case 2:
				u.AppMetadata = meta(0)
			case 3:
				m := map[string]any{}
				for k, v := range u.UserMetadata {
					m[k] = v
				}
				m[keys[r.IntN(len(keys))]] = vals[r.IntN(len(vals))]
				u.UserMetadata = m
			}
			must(t, d.UpdateUser(ctx, u))
			users[id] = u
		}
		// No row is left behind, none is missing.
		want := 0
		for _, u := range users {
			_, um, am, err := userValues(u)
			must(t, err)
			want += len(userTerms(nil, u.ID, um, am))
		}
		var got int
		must(t, d.w.GetContext(ctx, &got, "SELECT COUNT(*) FROM metadata_terms"))
		if got != want {
			t.Fatalf("metadata_terms holds %d rows, the users' metadata makes %d", got, want)
		}
		var queries []string
		for _, src := range []string{"user_metadata", "app_metadata"} {
			for _, path := range []string{"k", "j", "kk", "k.k", "k.j", "j.k.k"} {
				queries = append(queries, "_exists_:"+src+"."+path, "NOT _exists_:"+src+"."+path)
				for _, v := range []string{"a", "b", "A", `"a "`, "1", "1.5", "true", "false", "null",
					"1.50", "1e2", "100", "100.0", "1e+21", "1.0e+21", "1e-06", "1.0e-06", `"[\"a\",\"b\"]"`,
					strings.Repeat("x", search.TermValueMax) + "1"} {
					queries = append(queries, src+"."+path+":"+v)
				}
			}
		}
		for _, src := range []string{"user_metadata", "app_metadata"} {
			for _, path := range []string{"k", "j.k", "kk"} {
				for _, v := range []string{"a*", "x*", "1*", "[a TO b]", "{a TO b}", "[A TO a]", "[* TO a}", "[b TO *]",
					"[1 TO 2]", "{1 TO 2]", "[1.5 TO *]", "[* TO 1]", "[0 TO 1e30]", "{-1 TO 1e-3]", "[* TO *]"} {
					queries = append(queries, src+"."+path+":"+v)
				}
			}
		}
		queries = append(queries, "user_metadata.k:a OR app_metadata.j:b", "user_metadata.k:a AND NOT app_metadata.k:a",
			"user_metadata.k:(a OR b)", "-user_metadata.k:a", "user_metadata.k:(a b) -app_metadata.kk:[1 TO *]")
		matched := 0
		for _, q := range queries {
			got := searchIDs(t, d, q)
			s, err := buildSearch(d.Dialect(), service.SearchParams{Query: q, Limit: MaxPageSize}, searchPlan{from: "users", scan: true})
			must(t, err)
			hits, _, err := d.runSearch(ctx, s)
			must(t, err)
			if want := hitIDs(hits); !slices.Equal(got, want) {
				t.Errorf("%s: indexed %v, full scan %v", q, got, want)
			}
			if len(got) > 0 {
				matched++
			}
		}
		if matched < len(queries)/4 {
			t.Fatalf("only %d of %d queries matched anyone: the data does not exercise the index", matched, len(queries))
		}
	})
}

func gooseDialect(name string) goose.Dialect {
	if name == "mysql" {
		return goose.DialectMySQL
	}
	return goose.DialectSQLite3
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + t.TempDir() + "/p.db" }},
		{"mysql", func(t *testing.T) string { return testmysql.URL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url(t)
			d, err := Open(ctx, url)
			must(t, err)
			_, err = d.w.ExecContext(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, TRUE)")
			must(t, err)
			d.Close()
			_, err = Open(ctx, url)
			if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "9999") {
				t.Fatalf("Open on a newer schema: %v, want ErrSchemaTooNew naming version 9999", err)
			}
		})
	}
}

// A new user's rows made from its metadata maps (newUserTerms) are those
// made from the stored JSON (userTerms), which later writes compute the
// rows to delete from — including for maps that encoding changes, which
// take the decoding path.
func TestNewUserTermsMatchStored(t *testing.T) {
	type point struct{ X int }
	cases := []policy.Metadata{
		nil,
		{},
		{"plan": "pro", "n": json.Number("12.50"), "big": json.Number("9007199254740993"), "on": true, "gone": nil},
		{"deep": map[string]any{"a": []any{"x", json.Number("1"), map[string]any{"b": "c"}, []any{"d"}, nil}}, "m": policy.Metadata{"k": "v"}},
		{"esc": "<&> \u2028 \x00 \t \\ \"", "ü": "é", "empty": map[string]any{}, "list": []any{}},
		{"f": 1.5, "i": 3},                        // numbers that are not json.Number
		{"bad": "\xff\xfe"},                       // invalid UTF-8: encoded as U+FFFD
		{"\xffkey": "v"},                          // in a key too
		{"nilmap": map[string]any(nil)},           // encodes as null: no row
		{"nilmeta": policy.Metadata(nil), "x": 1}, //
		{"nillist": []any(nil)},                   //
		{"strs": []string{"a", "b"}},              // not []any
		{"s": point{X: 1}},                        // a struct: an object once stored
		{"long": strings.Repeat("é", search.TermValueMax+5), strings.Repeat("k", search.TermPathMax+5): "v"},
	}
	sorted := func(rows []termRow) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = fmt.Sprintf("%s %q %q %s %v", r.source, r.path, r.value, r.userID, r.num)
		}
		slices.Sort(out)
		return out
	}
	for i, m := range cases {
		u := policy.User{ID: fmt.Sprint("main|", i), UserMetadata: m, AppMetadata: policy.Metadata{"app": m}}
		if m == nil {
			u.AppMetadata = nil
		}
		um, err := encodeObject(u.UserMetadata)
		must(t, err)
		am, err := encodeObject(u.AppMetadata)
		must(t, err)
		got, want := sorted(newUserTerms(nil, u, um, am)), sorted(userTerms(nil, u.ID, um, am))
		if !slices.Equal(got, want) {
			t.Errorf("case %d %v:\n got  %q\n want %q", i, m, got, want)
		}
	}
}
