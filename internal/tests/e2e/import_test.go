package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/md4"
	"golang.org/x/crypto/scrypt"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/search"
	"github.com/profiled/profiled/internal/service"
	"github.com/profiled/profiled/internal/testenv"
	"github.com/profiled/profiled/internal/testmysql"
)

const jobFields = `id type status connection total done inserted updated failed errors { row field reason } message downloadPath`

// jobView is the GraphQL Job as the tests read it.
type jobView struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Status     string  `json:"status"`
	Connection *string `json:"connection"`
	Total      int     `json:"total"`
	Done       int     `json:"done"`
	Inserted   int     `json:"inserted"`
	Updated    int     `json:"updated"`
	Failed     int     `json:"failed"`
	Errors     []struct {
		Row    int     `json:"row"`
		Field  *string `json:"field"`
		Reason string  `json:"reason"`
	} `json:"errors"`
	Message      *string `json:"message"`
	DownloadPath *string `json:"downloadPath"`
}

// importUsers calls importUsers through a GraphQL multipart request.
func (e *env) importUsers(t *testing.T, token, connection string, file []byte, upsert bool) gqlResponse {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{
		"query":     `mutation($c: String!, $f: Upload!, $u: Boolean) { importUsers(connection: $c, file: $f, upsert: $u) { ` + jobFields + ` } }`,
		"variables": map[string]any{"c": connection, "f": nil, "u": upsert},
	})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.f"]}`)
	fw, _ := w.CreateFormFile("0", "users.json")
	_, _ = fw.Write(file)
	_ = w.Close()
	return e.post(token, w.FormDataContentType(), body.Bytes())
}

// startImport imports file and waits for the job to end.
func (e *env) runImport(t *testing.T, connection string, file []byte, upsert bool) jobView {
	t.Helper()
	res := e.importUsers(t, e.admin, connection, file, upsert)
	if len(res.Errors) > 0 {
		t.Fatalf("importUsers: %s", res.Raw)
	}
	var d struct{ ImportUsers jobView }
	mustNoErr(t, json.Unmarshal(res.Data, &d))
	if d.ImportUsers.Type != "IMPORT" || d.ImportUsers.ID == "" {
		t.Fatalf("job = %+v", d.ImportUsers)
	}
	return e.waitJob(t, d.ImportUsers.ID)
}

// waitJob polls job(id) through GraphQL until it completes or fails.
func (e *env) waitJob(t *testing.T, id string) jobView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		res := e.raw(e.token(policy.ScopeReadUsers), `query($id: ID!) { job(id: $id) { `+jobFields+` } }`, map[string]any{"id": id})
		if len(res.Errors) > 0 {
			t.Fatalf("job: %s", res.Raw)
		}
		var d struct{ Job *jobView }
		mustNoErr(t, json.Unmarshal(res.Data, &d))
		if d.Job == nil {
			t.Fatalf("job %s not found", id)
		}
		if d.Job.Status == "COMPLETED" || d.Job.Status == "FAILED" {
			return *d.Job
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s still %s", id, d.Job.Status)
		case <-tick.C:
		}
	}
}

func (e *env) createConnection(t *testing.T, name string, strategy client.Strategy) {
	t.Helper()
	_, err := client.CreateConnection(context.Background(), e.adminClient(), client.ConnectionInput{Name: name, Strategy: strategy})
	mustNoErr(t, err)
}

func (e *env) login(t *testing.T, connection, email, password string) gqlResponse {
	t.Helper()
	return e.raw("", `mutation($c: String!, $e: String!, $p: String!) { login(connection: $c, email: $e, password: $p) { user { id } } }`,
		map[string]any{"c": connection, "e": email, "p": password})
}

func ndjson(t *testing.T, rows ...any) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, r := range rows {
		if s, ok := r.(string); ok {
			b.WriteString(s + "\n")
			continue
		}
		line, err := json.Marshal(r)
		mustNoErr(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

type hashCase struct {
	email string
	row   map[string]any
}

// hashCases gives one user per supported algorithm, each with password pw,
// the hashes computed here with the primitives directly.
func hashCases(t *testing.T, pw string) []hashCase {
	t.Helper()
	salt := []byte("s4lt-NaCl")
	hexs, b64 := hex.EncodeToString, base64.StdEncoding.EncodeToString
	sum := func(h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}, parts ...[]byte) []byte {
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	mustNoErr(t, err)
	phc := base64.RawStdEncoding.EncodeToString
	aSalt := []byte("0123456789abcdef")
	argonID := "$argon2id$v=19$m=64,t=1,p=1$" + phc(aSalt) + "$" + phc(argon2.IDKey([]byte(pw), aSalt, 1, 64, 1, 32))
	argonI := "$argon2i$v=19$m=64,t=1,p=1$" + phc(aSalt) + "$" + phc(argon2.Key([]byte(pw), aSalt, 1, 64, 1, 32))
	pb256 := "$pbkdf2-sha256$i=1000,l=32$" + phc(salt) + "$" + phc(pbkdf2Ref(sha256.New, []byte(pw), salt, 1000, 32))
	pb512 := "$pbkdf2-sha512$i=100,l=64$" + phc(salt) + "$" + phc(pbkdf2Ref(sha512.New, []byte(pw), salt, 100, 64))
	custom := func(alg, value, enc string, saltv map[string]any) map[string]any {
		c := map[string]any{"algorithm": alg, "hash": map[string]any{"value": value, "encoding": enc}}
		if saltv != nil {
			c["salt"] = saltv
		}
		return map[string]any{"custom_password_hash": c}
	}
	cases := []hashCase{
		{"bcrypt@x.io", map[string]any{"password_hash": string(bc)}},
		{"custom-bcrypt@x.io", custom("bcrypt", string(bc), "utf8", nil)},
		{"argon2id@x.io", custom("argon2", argonID, "utf8", nil)},
		{"argon2i@x.io", custom("argon2", argonI, "", nil)},
		{"pbkdf2-sha256@x.io", custom("pbkdf2", pb256, "utf8", nil)},
		{"pbkdf2-sha512@x.io", custom("pbkdf2", pb512, "utf8", nil)},
		{"sha256@x.io", custom("sha256", hexs(sum(sha256.New(), salt, []byte(pw))), "hex", map[string]any{"value": string(salt), "position": "prefix"})},
		{"sha512@x.io", custom("sha512", b64(sum(sha512.New(), []byte(pw), salt)), "base64", map[string]any{"value": b64(salt), "encoding": "base64", "position": "suffix"})},
		{"md5@x.io", custom("md5", hexs(sum(md5.New(), []byte(pw))), "hex", nil)},
		{"md5-salted@x.io", custom("md5", hexs(sum(md5.New(), []byte(pw), salt)), "hex", map[string]any{"value": hexs(salt), "encoding": "hex", "position": "suffix"})},
		// The families Auth0 documents beyond those.
		{"argon2d@x.io", custom("argon2", argon2d(t, pw, aSalt), "utf8", nil)},
		{"md4@x.io", custom("md4", hexs(sum(md4.New(), []byte(pw))), "hex", nil)},
		{"sha1@x.io", custom("sha1", b64(sum(sha1.New(), salt, []byte(pw))), "base64", map[string]any{"value": string(salt)})},
		{"pbkdf2-sha1@x.io", custom("pbkdf2", "$pbkdf2-sha1$i=1000,l=20$"+phc(salt)+"$"+phc(pbkdf2Ref(sha1.New, []byte(pw), salt, 1000, 20)), "utf8", nil)},
		{"ldap-ssha@x.io", custom("ldap", "{SSHA}"+b64(append(sum(sha1.New(), []byte(pw), salt), salt...)), "utf8", nil)},
		{"ldap-smd5@x.io", custom("ldap", "{SMD5}"+b64(append(sum(md5.New(), []byte(pw), salt), salt...)), "utf8", nil)},
		{"ldap-ssha512@x.io", custom("ldap", "{SSHA512}"+b64(append(sum(sha512.New(), []byte(pw), salt), salt...)), "utf8", nil)},
		{"ldap-sha@x.io", custom("ldap", "{SHA}"+b64(sum(sha1.New(), []byte(pw))), "utf8", nil)},
		// Made with `openssl passwd -6 -salt ImportedSalt01` and `-1 -salt md5salt`.
		{"ldap-crypt6@x.io", custom("ldap", "{CRYPT}$6$ImportedSalt01$1M0SUDQ30cvcX6yNomW17aAsa53Cvzl3m9VvvkjOGApbGmCQQkfM3Kz.O.uab72JhGevwovdg6sYQ/z4qtNFB1", "utf8", nil)},
		{"ldap-crypt1@x.io", custom("ldap", "{CRYPT}$1$md5salt$jpbfcWVyYAHYxD2w6Sb90/", "utf8", nil)},
	}
	hm := hmac.New(sha256.New, []byte("pepper-key"))
	hm.Write([]byte(pw))
	hm.Write(salt)
	hmacRow := custom("hmac", hexs(hm.Sum(nil)), "hex", map[string]any{"value": string(salt), "position": "suffix"})
	hmacRow["custom_password_hash"].(map[string]any)["hash"].(map[string]any)["digest"] = "sha256"
	hmacRow["custom_password_hash"].(map[string]any)["hash"].(map[string]any)["key"] = map[string]any{"value": b64([]byte("pepper-key")), "encoding": "base64"}
	sk, err := scrypt.Key([]byte(pw), salt, 1024, 8, 1, 32)
	mustNoErr(t, err)
	scryptRow := custom("scrypt", b64(sk), "base64", map[string]any{"value": hexs(salt), "encoding": "hex"})
	for k, v := range map[string]any{"keylen": 32, "cost": 1024, "blockSize": 8, "parallelization": 1} {
		scryptRow["custom_password_hash"].(map[string]any)[k] = v
	}
	u16 := utf16.Encode([]rune(pw))
	pw16 := make([]byte, 0, 2*len(u16))
	for _, c := range u16 {
		pw16 = append(pw16, byte(c), byte(c>>8))
	}
	utf16Row := custom("sha256", hexs(sum(sha256.New(), pw16)), "hex", nil)
	utf16Row["custom_password_hash"].(map[string]any)["password"] = map[string]any{"encoding": "utf16le"}
	cases = append(cases, hashCase{"hmac@x.io", hmacRow}, hashCase{"scrypt@x.io", scryptRow}, hashCase{"utf16le@x.io", utf16Row})
	for _, c := range cases {
		c.row["email"] = c.email
	}
	return cases
}

func TestImportHashAlgorithmsThenLogin(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		e.createConnection(t, "main", client.StrategyDatabase)
		const pw = "correct horse battery"
		cases := hashCases(t, pw)
		var rows []any
		for _, c := range cases {
			rows = append(rows, c.row)
		}
		j := e.runImport(t, "main", ndjson(t, rows...), false)
		if j.Status != "COMPLETED" || j.Inserted != len(cases) || j.Failed != 0 || j.Total != len(cases) || j.Done != len(cases) {
			t.Fatalf("job = %+v", j)
		}
		ctx := context.Background()
		for _, c := range cases {
			t.Run(c.email, func(t *testing.T) {
				before, err := e.store.UserByConnectionEmail(ctx, "main", c.email)
				mustNoErr(t, err)
				if res := e.login(t, "main", c.email, pw+"!"); res.code() != "INVALID_CREDENTIALS" {
					t.Fatalf("wrong password: %s", res.Raw)
				}
				if res := e.login(t, "main", c.email, pw); len(res.Errors) > 0 {
					t.Fatalf("right password: %s", res.Raw)
				}
				after, err := e.store.UserByConnectionEmail(ctx, "main", c.email)
				mustNoErr(t, err)
				if strings.HasPrefix(before.PasswordHash, "$2a$04$") {
					if after.PasswordHash != before.PasswordHash {
						t.Fatal("a bcrypt hash at the configured cost was replaced")
					}
				} else if !strings.HasPrefix(after.PasswordHash, "$2a$04$") || after.PasswordHash == before.PasswordHash {
					t.Fatalf("hash not replaced by the current algorithm: %.12s...", after.PasswordHash)
				}
				// The new hash works too.
				if res := e.login(t, "main", c.email, pw); len(res.Errors) > 0 {
					t.Fatalf("login after rehash: %s", res.Raw)
				}
			})
		}
	})
}

func TestImportBadRows(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		e.createConnection(t, "main", client.StrategyDatabase)
		file := ndjson(t,
			map[string]any{"email": "good1@x.io", "name": "One", "user_metadata": map[string]any{"lang": "en"}},
			map[string]any{"email": "not-an-email"},
			map[string]any{"email": "good2@x.io", "favourite_colour": "blue"},
			`{"email": "broken@x.io"`,
			map[string]any{"email": "good3@x.io", "username": "g3", "user_id": "custom-3"},
			map[string]any{"email": "GOOD1@x.io"}, // clashes with row 1
			map[string]any{"email": "good4@x.io", "custom_password_hash": map[string]any{"algorithm": "pbkdf2",
				"hash": map[string]any{"value": "$pbkdf2-sha256$i=99000000,l=32$c2FsdA$" + strings.Repeat("A", 43)}}},
			map[string]any{"email": "good5@x.io", "phone_number": "+33612345678", "phone_verified": true, "blocked": true},
		)
		j := e.runImport(t, "main", file, false)
		if j.Status != "COMPLETED" || j.Total != 8 || j.Done != 8 || j.Inserted != 3 || j.Failed != 5 {
			t.Fatalf("job = %+v", j)
		}
		type rowErr struct {
			row   int
			field string
		}
		var got []rowErr
		for _, e := range j.Errors {
			f := ""
			if e.Field != nil {
				f = *e.Field
			}
			got = append(got, rowErr{e.Row, f})
			if strings.Contains(e.Reason, "AAAA") {
				t.Fatalf("reason quotes the hash: %s", e.Reason)
			}
		}
		want := []rowErr{{2, "email"}, {3, "favourite_colour"}, {4, ""}, {6, "email"}, {7, "custom_password_hash.hash.value"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("errors = %+v, want %+v", j.Errors, want)
		}
		ctx := context.Background()
		u, err := e.store.UserByConnectionEmail(ctx, "main", "good3@x.io")
		mustNoErr(t, err)
		if u.ID != "main|custom-3" || u.Username != "g3" || u.EmailVerified {
			t.Fatalf("user = %+v", u)
		}
		u, err = e.store.UserByConnectionEmail(ctx, "main", "good5@x.io")
		mustNoErr(t, err)
		if !u.Blocked || !u.PhoneVerified || u.PhoneNumber != "+33612345678" {
			t.Fatalf("user = %+v", u)
		}

		// A JSON array broken half-way: the rows before stay, the job fails
		// and says so.
		j = e.runImport(t, "main", []byte(`[{"email":"a1@x.io"},{"email":"a2@x.io"},{"email": ]`), false)
		if j.Status != "FAILED" || j.Inserted != 2 || j.Message == nil || !strings.Contains(*j.Message, "row 3") || !strings.Contains(*j.Message, "stay") {
			t.Fatalf("job = %+v (message %v)", j, deref2(j.Message))
		}
		if _, err := e.store.UserByConnectionEmail(ctx, "main", "a2@x.io"); err != nil {
			t.Fatal(err)
		}
	})
}

// Clashes inside a batch, with the batch before (which MariaDB may be
// writing at the same time: service.ImportWriters), with an earlier batch
// and with a stored user are each a row error on the later row, and
// every other row is stored once, as the file has it: on both stores.
func TestImportClashesAcrossBatches(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		e.createConnection(t, "main", client.StrategyDatabase)
		if j := e.runImport(t, "main", ndjson(t, map[string]any{"email": "pre@x.io", "user_id": "pre"}), false); j.Inserted != 1 {
			t.Fatalf("job = %+v", j)
		}
		const n = 3*service.ImportBatchSize + service.ImportBatchSize/2
		b := service.ImportBatchSize
		email := func(i int) string { return fmt.Sprintf("u%d@x.io", i) }
		clash := map[int]string{ // row index -> email it repeats
			b + 100:       strings.ToUpper(email(50)), // the batch before (its first rows)
			b + b - 1:     email(b - 1),               // the batch before (its last row)
			2*b + 100:     email(10),                  // two batches before
			2*b + 200:     "pre@x.io",                 // a stored user
			2*b + 1001:    email(2*b + 1000),          // the same batch
			3*b + 500:     email(2*b + 300),           // the batch before
			3*b + b/2 - 1: email(3 * b),               // the same (last) batch
		}
		idClash := map[int]string{b + 200: "id-100", 2*b + 5: "pre"}
		rows := make([]any, n)
		for i := range n {
			r := map[string]any{"email": email(i), "user_id": fmt.Sprintf("id-%d", i), "name": fmt.Sprintf("User %d", i),
				"user_metadata": map[string]any{"i": i}}
			if c, ok := clash[i]; ok {
				r["email"] = c
			}
			if c, ok := idClash[i]; ok {
				r["user_id"] = c
			}
			rows[i] = r
		}
		j := e.runImport(t, "main", ndjson(t, rows...), false)
		bad := len(clash) + len(idClash)
		if j.Status != "COMPLETED" || j.Done != n || j.Inserted != n-bad || j.Failed != bad {
			t.Fatalf("job = %+v", j)
		}
		got := map[int]string{}
		for _, e := range j.Errors {
			got[e.Row-1] = deref2(e.Field)
			if !strings.Contains(e.Reason, "already exists") {
				t.Errorf("row %d: %s", e.Row, e.Reason)
			}
		}
		want := map[int]string{}
		for i := range clash {
			want[i] = "email"
		}
		for i := range idClash {
			want[i] = "user_id"
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row errors (0-based row: field) = %v, want %v", got, want)
		}
		ctx := context.Background()
		if c, err := e.store.CountUsersOfConnection(ctx, "main"); err != nil || c != int64(n-bad+1) {
			t.Fatalf("users = %d, %v; want %d", c, err, n-bad+1)
		}
		for _, i := range []int{50, b - 1, 10, 2*b + 1000, 2*b + 300, 3 * b, 100} {
			u, err := e.store.UserByID(ctx, fmt.Sprintf("main|id-%d", i))
			mustNoErr(t, err)
			if u.Name != fmt.Sprintf("User %d", i) || u.Email != email(i) {
				t.Fatalf("user %d = %s %s: the later row won", i, u.Email, u.Name)
			}
		}
		u, err := e.store.UserByConnectionEmail(ctx, "main", "pre@x.io")
		mustNoErr(t, err)
		if u.ID != "main|pre" || u.Name != "" {
			t.Fatalf("the stored user was changed: %+v", u)
		}

		// A file broken after several batches: the batches before stay,
		// in order, and the job says so.
		var broken bytes.Buffer
		broken.WriteString("[")
		for i := range 2*b + 10 {
			fmt.Fprintf(&broken, `{"email":"late%d@x.io"},`, i)
		}
		broken.WriteString(`{"email": ]`)
		j = e.runImport(t, "main", broken.Bytes(), false)
		if j.Status != "FAILED" || j.Inserted != 2*b+10 || j.Message == nil || !strings.Contains(*j.Message, "stay") {
			t.Fatalf("job = %+v (message %v)", j, deref2(j.Message))
		}
		if c, _ := e.store.CountUsersOfConnection(ctx, "main"); c != int64(n-bad+1+2*b+10) {
			t.Fatalf("users after the broken file = %d", c)
		}
	})
}

func deref2(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestImportUpsert(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.createConnection(t, "main", client.StrategyDatabase)
		_, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{
			Connection: "main", Email: "ada@x.io", Password: ptr("old password"), Username: ptr("ada"), Name: ptr("Ada"),
			UserMetadata: obj(map[string]any{"lang": "fr", "theme": "dark"}),
		})
		mustNoErr(t, err)
		row := map[string]any{"email": "ADA@x.io", "name": "Ada Lovelace", "username": "other", "email_verified": true,
			"user_metadata": map[string]any{"lang": "en"}, "password_hash": mustBcrypt(t, "new password")}
		file := ndjson(t, row, map[string]any{"email": "new@x.io"})

		// Off: the existing user is a row error.
		j := e.runImport(t, "main", file, false)
		if j.Status != "COMPLETED" || j.Inserted != 1 || j.Failed != 1 || j.Updated != 0 || len(j.Errors) != 1 || j.Errors[0].Row != 1 {
			t.Fatalf("upsert off: %+v", j)
		}
		u, _ := e.store.UserByConnectionEmail(ctx, "main", "ada@x.io")
		if u.Name != "Ada" {
			t.Fatal("upsert off changed the user")
		}

		// On: upsertable fields are overwritten (metadata replaced whole),
		// others kept; new@x.io is updated (with nothing) too.
		j = e.runImport(t, "main", file, true)
		if j.Status != "COMPLETED" || j.Updated != 2 || j.Inserted != 0 || j.Failed != 0 {
			t.Fatalf("upsert on: %+v", j)
		}
		u, _ = e.store.UserByConnectionEmail(ctx, "main", "ada@x.io")
		if u.Name != "Ada Lovelace" || u.Username != "ada" || !u.EmailVerified || !reflect.DeepEqual(map[string]any(u.UserMetadata), map[string]any{"lang": "en"}) {
			t.Fatalf("upserted user = %+v", u)
		}
		if res := e.login(t, "main", "ada@x.io", "new password"); len(res.Errors) > 0 {
			t.Fatalf("login with the upserted hash: %s", res.Raw)
		}

		// Upsert needs update:users as well as create:users.
		res := e.importUsers(t, e.token(policy.ScopeCreateUsers), "main", file, true)
		if res.code() != "FORBIDDEN" {
			t.Fatalf("upsert without update:users: %s", res.Raw)
		}
		if res := e.importUsers(t, e.token(policy.ScopeReadUsers), "main", file, false); res.code() != "FORBIDDEN" {
			t.Fatalf("import without create:users: %s", res.Raw)
		}
		// Connections that take no imports.
		e.createConnection(t, "otp", client.StrategyPasswordless)
		if res := e.importUsers(t, e.admin, "otp", file, false); res.code() != "BAD_USER_INPUT" || !contains(res.Raw, "import mode") {
			t.Fatalf("passwordless: %s", res.Raw)
		}
		if res := e.importUsers(t, e.admin, "nope", file, false); res.code() != "NOT_FOUND" {
			t.Fatalf("unknown connection: %s", res.Raw)
		}
	})
}

func mustBcrypt(t *testing.T, pw string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	mustNoErr(t, err)
	return string(b)
}

// download GETs path with token and returns the status and body.
func (e *env) download(t *testing.T, token, path string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	mustNoErr(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

func (e *env) runExport(t *testing.T, vars map[string]any) (jobView, []byte) {
	t.Helper()
	res := e.raw(e.admin, `mutation($c: String, $f: ExportFormat!, $fields: [String!]) {
		exportUsers(connection: $c, format: $f, fields: $fields) { `+jobFields+` } }`, vars)
	if len(res.Errors) > 0 {
		t.Fatalf("exportUsers: %s", res.Raw)
	}
	var d struct{ ExportUsers jobView }
	mustNoErr(t, json.Unmarshal(res.Data, &d))
	j := e.waitJob(t, d.ExportUsers.ID)
	if j.Status != "COMPLETED" || j.DownloadPath == nil {
		t.Fatalf("export job = %+v", j)
	}
	t.Cleanup(func() {
		if sj, err := e.store.JobByID(context.Background(), j.ID); err == nil && sj.Location != "" {
			os.Remove(sj.Location)
		}
	})
	status, body, _ := e.download(t, e.admin, *j.DownloadPath)
	if status != http.StatusOK {
		t.Fatalf("download: %d %s", status, body)
	}
	return j, body
}

// Export in Auth0's shape, then import into an empty connection: every
// user comes back exactly, whole id, dates, counters, metadata and
// password hash (of every family) included.
func TestExportReimport(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.createConnection(t, "src", client.StrategyDatabase)
		const pw = "correct horse battery"
		var rows []any
		for i, c := range hashCases(t, pw) {
			c.row["user_id"] = fmt.Sprint("h", i)
			c.row["user_metadata"] = map[string]any{"roles": []any{"a", "b"}, "n": json.Number("1.50")}
			rows = append(rows, c.row)
		}
		for i := range 1234 {
			rows = append(rows, map[string]any{
				"email": fmt.Sprintf("user%04d@x.io", i), "user_id": fmt.Sprint("u", i), "name": fmt.Sprint("User ", i),
				"email_verified": i%2 == 0, "username": fmt.Sprint("user", i), "given_name": "Given", "family_name": "Family",
				"nickname": "nick", "picture": "https://x.io/p.png", "blocked": i%7 == 0, "phone_number": "+3361234567", "phone_verified": i%3 == 0,
				"user_metadata": map[string]any{"lang": "en", "n": i, "nested": map[string]any{"a": []any{1, "two"}}},
				"app_metadata":  map[string]any{"plan": "pro"},
			})
		}
		total := len(rows)
		j := e.runImport(t, "src", ndjson(t, rows...), false)
		if j.Inserted != total {
			t.Fatalf("import: %+v", j)
		}
		// Logins give some users a last_login, a last_ip and a count.
		for _, c := range hashCases(t, pw)[:3] {
			if res := e.login(t, "src", c.email, pw); len(res.Errors) > 0 {
				t.Fatalf("login: %s", res.Raw)
			}
		}
		before, err := e.store.UsersOfConnection(ctx, "src", "", 5000)
		mustNoErr(t, err)

		// The default export: Auth0's field names, the whole user_id, dates; no hash.
		_, plain := e.runExport(t, map[string]any{"c": "src", "f": "NDJSON"})
		if bytes.Contains(plain, []byte("$2")) || bytes.Contains(plain, []byte("password")) {
			t.Fatal("the default export holds password hashes")
		}
		var first map[string]any
		mustNoErr(t, json.Unmarshal(plain[:bytes.IndexByte(plain, '\n')], &first))
		for _, k := range []string{"user_id", "email", "created_at", "updated_at", "identities", "logins_count", "user_metadata"} {
			if _, ok := first[k]; !ok {
				t.Fatalf("the export has no %s: %v", k, first)
			}
		}
		if id, _ := first["user_id"].(string); !strings.HasPrefix(id, "src|") {
			t.Fatalf("user_id %q is not whole", id)
		}
		if _, err := time.Parse(time.RFC3339Nano, first["created_at"].(string)); err != nil {
			t.Fatalf("created_at: %v", err)
		}

		// With the hashes (listed explicitly), into the emptied connection.
		fields := []string{}
		for _, f := range service.DefaultExportFields {
			fields = append(fields, f)
		}
		fields = append(fields, "password_hash")
		exp, body := e.runExport(t, map[string]any{"c": "src", "f": "NDJSON", "fields": fields})
		if exp.Done != total || exp.Total != total {
			t.Fatalf("export job = %+v", exp)
		}
		for _, u := range before {
			mustNoErr(t, e.store.DeleteUser(ctx, u.ID))
		}
		j = e.runImport(t, "src", body, false)
		if j.Status != "COMPLETED" || j.Inserted != total || j.Failed != 0 {
			t.Fatalf("re-import: %+v", j)
		}
		after, err := e.store.UsersOfConnection(ctx, "src", "", 5000)
		mustNoErr(t, err)
		if len(after) != len(before) {
			t.Fatalf("%d users before, %d after", len(before), len(after))
		}
		norm := func(u policy.User) policy.User {
			b, _ := json.Marshal(u.UserMetadata) // numbers: json.Number either way
			_ = json.Unmarshal(b, &u.UserMetadata)
			return u
		}
		for i := range before {
			if a, b := norm(before[i]), norm(after[i]); !reflect.DeepEqual(a, b) {
				t.Fatalf("user %d differs:\n%+v\n%+v", i, a, b)
			}
		}
		// The restored hashes still log in (then are rehashed).
		for _, c := range hashCases(t, pw) {
			if res := e.login(t, "src", c.email, pw); len(res.Errors) > 0 {
				t.Fatalf("login after the round trip (%s): %s", c.email, res.Raw)
			}
		}
	})
}

func TestExportCSVAndDownloadAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteStore, nil)
	e.createConnection(t, "main", client.StrategyDatabase)
	j := e.runImport(t, "main", ndjson(t,
		map[string]any{"email": "a@x.io", "name": `=HYPERLINK("http://evil")`, "user_metadata": map[string]any{"lang": "en", "o": map[string]any{"k": 1}}},
		map[string]any{"email": "b@x.io", "name": `Bob "the" Builder`, "email_verified": true},
	), false)
	if j.Inserted != 2 {
		t.Fatalf("import: %+v", j)
	}
	exp, body := e.runExport(t, map[string]any{"c": "main", "f": "CSV", "fields": []string{"email", "name", "email_verified", "user_metadata.lang", "user_metadata.o", "created_at"}})
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 3 || lines[0] != `"email","name","email_verified","user_metadata.lang","user_metadata.o","created_at"` {
		t.Fatalf("csv = %s", body)
	}
	// Rows come in id order, and ids are random: find each by its email.
	rowA, rowB := lines[1], lines[2]
	if strings.HasPrefix(rowA, `"b@x.io"`) {
		rowA, rowB = rowB, rowA
	}
	if !strings.HasPrefix(rowA, `"a@x.io","'=HYPERLINK(""http://evil"")",false,"en","{""k"":1}",`) {
		t.Fatalf("row of a@x.io = %s", rowA)
	}
	if !strings.HasPrefix(rowB, `"b@x.io","Bob ""the"" Builder",true,,,`) {
		t.Fatalf("row of b@x.io = %s", rowB)
	}
	if _, err := time.Parse(time.RFC3339Nano, rowB[strings.LastIndex(rowB, ",")+1:]); err != nil {
		t.Fatalf("created_at is not ISO 8601: %s", rowB)
	}

	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"create:users only", e.token(policy.ScopeCreateUsers), http.StatusForbidden},
		{"read:users", e.token(policy.ScopeReadUsers), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b, h := e.download(t, tc.token, *exp.DownloadPath)
			if status != tc.status {
				t.Fatalf("status %d: %s", status, b)
			}
			if status == http.StatusOK && !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
				t.Fatalf("content type %q", h.Get("Content-Type"))
			}
		})
	}
	if status, _, _ := e.download(t, e.token(policy.ScopeReadUsers), "/exports/job_nope"); status != http.StatusNotFound {
		t.Fatalf("unknown export: %d", status)
	}
	if status, _, _ := e.download(t, e.token(policy.ScopeReadUsers), "/exports/"+j.ID); status != http.StatusNotFound {
		t.Fatalf("an import job as an export: %d", status)
	}

	// Refusals: whole metadata in CSV, too many fields, job needs read:users.
	for _, tc := range []struct {
		vars map[string]any
		want string
	}{
		{map[string]any{"f": "CSV", "fields": []string{"email", "user_metadata"}}, "subfields"},
		{map[string]any{"f": "CSV", "fields": manyFields(31)}, "at most 30"},
		{map[string]any{"f": "NDJSON", "c": "nope"}, "connection not found"},
	} {
		res := e.raw(e.admin, `mutation($c: String, $f: ExportFormat!, $fields: [String!]) { exportUsers(connection: $c, format: $f, fields: $fields) { id } }`, tc.vars)
		if len(res.Errors) == 0 || !contains(res.Errors[0].Message, tc.want) {
			t.Fatalf("%v: %s", tc.vars, res.Raw)
		}
	}
	// Hashes leave only with create:users and update:users besides read:users.
	if res := e.raw(e.token(policy.ScopeReadUsers), `mutation($f: [String!]) { exportUsers(format: NDJSON, fields: $f) { id } }`,
		map[string]any{"f": []string{"email", "password_hash"}}); res.code() != "FORBIDDEN" {
		t.Fatalf("password_hash with read:users only: %s", res.Raw)
	}
	if res := e.raw(e.token(policy.ScopeCreateUsers), `query { job(id: "x") { id } }`, nil); res.code() != "FORBIDDEN" {
		t.Fatalf("job without read:users: %s", res.Raw)
	}
	if res := e.raw(e.admin, `query { job(id: "x") { id } }`, nil); len(res.Errors) > 0 || !contains(res.Raw, `"job":null`) {
		t.Fatalf("unknown job: %s", res.Raw)
	}
}

func manyFields(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("user_metadata.k", i)
	}
	return out
}

func TestImportInterruptedJobIsReportedFailed(t *testing.T) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) {
			ctx := context.Background()
			url := storeURL(t, k)
			now := time.Now().UTC().Truncate(time.Second)
			// A process marks a job running, commits some rows and dies.
			store, err := db.Open(ctx, url)
			mustNoErr(t, err)
			j := service.Job{ID: "job_interrupted", Type: service.JobImport, Connection: "main", Status: service.JobRunning,
				Total: 10000, Done: 1500, Inserted: 1490, Failed: 10, CreatedAt: now, UpdatedAt: now}
			mustNoErr(t, store.InsertJob(ctx, j))
			store.Close()

			// The store is reopened by a new process, a little later.
			store, err = db.Open(ctx, url)
			mustNoErr(t, err)
			t.Cleanup(func() { store.Close() })
			clk := testenv.NewClock(now.Add(service.DefaultJobStaleAfter + time.Second))
			hasher, _ := passwords.New(passwords.Config{BcryptCost: 4})
			svc := service.New(store, hasher, nil, nil, service.Config{Now: clk.Now})
			n, err := svc.RecoverJobs(ctx)
			if err != nil || n != 1 {
				t.Fatalf("RecoverJobs = %d, %v", n, err)
			}
			got, err := svc.Job(ctx, service.Operator(), j.ID)
			mustNoErr(t, err)
			if got.Status != service.JobFailed || got.Done != 1500 || got.Inserted != 1490 || got.Failed != 10 ||
				!strings.Contains(got.Message, "interrupted") || !strings.Contains(got.Message, "stay") {
				t.Fatalf("job = %+v", got)
			}

			// Job alone notices too (no RecoverJobs call).
			j2 := j
			j2.ID, j2.UpdatedAt = "job_interrupted2", now
			mustNoErr(t, store.InsertJob(ctx, j2))
			got, err = svc.Job(ctx, service.Operator(), j2.ID)
			mustNoErr(t, err)
			if got.Status != service.JobFailed || got.Done != 1500 {
				t.Fatalf("job = %+v", got)
			}
			// A job that is moving is left alone.
			j3 := j
			j3.ID, j3.UpdatedAt = "job_alive", clk.Now()
			mustNoErr(t, store.InsertJob(ctx, j3))
			if got, _ := svc.Job(ctx, service.Operator(), j3.ID); got.Status != service.JobRunning {
				t.Fatalf("live job = %+v", got)
			}
		})
	}
}

// pbkdf2Ref is RFC 8018 PBKDF2 with crypto/hmac, independent of the code
// under test.
// argon2d makes an argon2d PHC string with the reference implementation's
// command-line tool (Debian's argon2 package) when it is installed, else
// returns the string that tool made for the same inputs.
func argon2d(t *testing.T, pw string, salt []byte) string {
	t.Helper()
	if _, err := exec.LookPath("argon2"); err == nil {
		cmd := exec.Command("argon2", string(salt), "-d", "-t", "1", "-k", "64", "-p", "1", "-l", "32", "-e")
		cmd.Stdin = strings.NewReader(pw)
		out, err := cmd.Output()
		mustNoErr(t, err)
		return strings.TrimSpace(string(out))
	}
	// Generated once with the argon2 CLI (phc-winner-argon2, Debian's
	// argon2 package): echo -n "correct horse battery" | argon2 0123456789abcdef -d -t 1 -k 64 -p 1 -l 32 -e
	if pw != "correct horse battery" || string(salt) != "0123456789abcdef" {
		t.Fatal("argon2d: no argon2 tool for these inputs")
	}
	return argon2dFixed
}

func pbkdf2Ref(h func() hash.Hash, pw, salt []byte, iter, keyLen int) []byte {
	var out []byte
	for block := uint32(1); len(out) < keyLen; block++ {
		mac := hmac.New(h, pw)
		mac.Write(salt)
		mac.Write([]byte{byte(block >> 24), byte(block >> 16), byte(block >> 8), byte(block)})
		u := mac.Sum(nil)
		t := append([]byte(nil), u...)
		for i := 1; i < iter; i++ {
			mac = hmac.New(h, pw)
			mac.Write(u)
			u = mac.Sum(nil)
			for j := range t {
				t[j] ^= u[j]
			}
		}
		out = append(out, t...)
	}
	return out[:keyLen]
}

// TestImportThroughput measures an import of N users with bcrypt hashes
// (through the service, as the CLI runs it) against a plain batched INSERT
// of the same rows into the same schema, in the same run, on MariaDB
// (default) or SQLite (PROFILED_IMPORT_BENCH_STORE=sqlite). It reports for
// each phase the wall time, the rate of each tenth of the rows (the
// buffer-pool effect shows there), the peak heap and the CPU time of this
// process and, when PROFILED_IMPORT_BENCH_SERVER_PID names the MariaDB
// server's process (a server of its own: the shared one's CPU counts
// everyone's), the server's. Before each phase it waits for the server to
// flush its dirty pages, so that neither phase pays for the other's
// writes. It runs only with PROFILED_IMPORT_BENCH=1; N is
// PROFILED_IMPORT_BENCH_N (default 20000). Figures go to the test log (see
// docs/import-benchmarks.md).
func TestImportThroughput(t *testing.T) {
	if os.Getenv("PROFILED_IMPORT_BENCH") != "1" {
		t.Skip("set PROFILED_IMPORT_BENCH=1 (and PROFILED_IMPORT_BENCH_N) to run")
	}
	n := 20000
	if v := os.Getenv("PROFILED_IMPORT_BENCH_N"); v != "" {
		_, err := fmt.Sscan(v, &n)
		mustNoErr(t, err)
	}
	sqlite := os.Getenv("PROFILED_IMPORT_BENCH_STORE") == "sqlite"
	serverPID := os.Getenv("PROFILED_IMPORT_BENCH_SERVER_PID")
	ctx := context.Background()
	hash := mustBcrypt(t, "benchmark password") // one hash, N rows: import never verifies it
	file := filepath.Join(t.TempDir(), "users.ndjson")
	f, err := os.Create(file)
	mustNoErr(t, err)
	bw := bufio.NewWriter(f)
	row := func(i int) (email, name string, meta string) {
		return fmt.Sprintf("user%08d@example.com", i), fmt.Sprintf("User %d", i), fmt.Sprintf(`{"lang":"en","plan":"p%d"}`, i%5)
	}
	for i := range n {
		email, name, meta := row(i)
		fmt.Fprintf(bw, `{"email":%q,"name":%q,"email_verified":true,"user_metadata":%s,"password_hash":%q}`+"\n", email, name, meta, hash)
	}
	mustNoErr(t, bw.Flush())
	mustNoErr(t, f.Close())
	st, _ := os.Stat(file)

	// The two databases: the import's and the baseline's.
	var importURL, baseDriver, baseDSN string
	var server *sql.DB
	if sqlite {
		dir := t.TempDir()
		importURL = "sqlite:" + filepath.Join(dir, "import.db")
		basePath := filepath.Join(dir, "base.db")
		base, err := db.Open(ctx, "sqlite:"+basePath) // migrations only
		mustNoErr(t, err)
		base.Close()
		// The store's own settings (internal/db: WAL, synchronous NORMAL).
		baseDriver, baseDSN = "sqlite", basePath+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=journal_mode(WAL)&_txlock=immediate"
	} else {
		importURL = testmysql.URL(t)
		dsn, _ := testmysql.New(t)
		base, err := db.Open(ctx, testmysql.URLOf(dsn)) // migrations only
		mustNoErr(t, err)
		base.Close()
		baseDriver, baseDSN = "mysql", dsn+"&interpolateParams=true"
		server, err = sql.Open("mysql", testmysql.ServerDSN())
		mustNoErr(t, err)
		defer server.Close()
	}
	store, err := db.Open(ctx, importURL)
	mustNoErr(t, err)
	defer store.Close()
	hasher, _ := passwords.New(passwords.Config{})
	svc := service.New(store, hasher, nil, nil, service.Config{})
	now := time.Now().UTC()
	mustNoErr(t, store.InsertConnection(ctx, service.Connection{Connection: policy.Connection{Name: "main", Strategy: policy.StrategyDatabase}, CreatedAt: now, UpdatedAt: now}))

	// settle waits (up to a minute) for MariaDB to flush its dirty pages
	// down to 2 % of its buffer pool, or until they stop falling for 5 s
	// (a shared server's other clients keep some dirty).
	settle := func() {
		if server == nil {
			return
		}
		least, still := int64(-1), 0
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && still < 10; time.Sleep(500 * time.Millisecond) {
			var name string
			var dirty, total int64
			if server.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'").Scan(&name, &dirty) != nil ||
				server.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_total'").Scan(&name, &total) != nil ||
				dirty <= total/50 {
				return
			}
			if least < 0 || dirty < least {
				least, still = dirty, 0
			} else {
				still++
			}
		}
	}
	// phase measures one phase: wall time, this process's and the
	// server's CPU time, the peak heap in use (sampled every 20 ms).
	type measure struct {
		wall, cpu, serverCPU time.Duration
		peak                 uint64
		tenths               []float64 // users/s of each tenth of the rows
	}
	cpuNow := func() (self, srv time.Duration) {
		var ru syscall.Rusage
		mustNoErr(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if serverPID != "" {
			b, err := os.ReadFile("/proc/" + serverPID + "/stat")
			mustNoErr(t, err)
			fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
			var utime, stime int64
			fmt.Sscan(fields[11], &utime)
			fmt.Sscan(fields[12], &stime)
			srv = time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ = 100
		}
		return self, srv
	}
	phase := func(run func(progress func(done int))) measure {
		settle()
		runtime.GC()
		done := make(chan uint64)
		quit := make(chan struct{})
		go func() {
			var peak uint64
			var ms runtime.MemStats
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-quit:
					done <- peak
					return
				case <-tick.C:
				}
			}
		}()
		var m measure
		c0, s0 := cpuNow()
		start := time.Now()
		last, next := start, 1
		run(func(d int) {
			for next <= 10 && d >= next*n/10 {
				now := time.Now()
				m.tenths = append(m.tenths, float64(n/10)/now.Sub(last).Seconds())
				last, next = now, next+1
			}
		})
		m.wall = time.Since(start)
		c1, s1 := cpuNow()
		m.cpu, m.serverCPU = c1-c0, s1-s0
		close(quit)
		m.peak = <-done
		return m
	}

	// PROFILED_IMPORT_BENCH_PHASES picks the phases (import, insert,
	// insert+terms; default import,insert): one at a time for a profile
	// of the server.
	phases := map[string]bool{"import": true, "insert": true}
	if v := os.Getenv("PROFILED_IMPORT_BENCH_PHASES"); v != "" {
		phases = map[string]bool{}
		for _, p := range strings.Split(v, ",") {
			phases[strings.TrimSpace(p)] = true
		}
	}
	var imp, base, baseTerms measure

	// The import, through the service.
	if phases["import"] {
		imp = phase(func(progress func(int)) {
			j, err := svc.StartImportFile(ctx, service.Operator(), "main", file, false)
			mustNoErr(t, err)
			j, err = svc.WaitJob(ctx, service.Operator(), j.ID, 20*time.Millisecond, func(j service.Job) { progress(int(j.Done)) })
			mustNoErr(t, err)
			progress(int(j.Done))
			if j.Status != service.JobCompleted || j.Inserted != int64(n) {
				t.Fatalf("import job = %+v", j)
			}
		})
	}

	// The baseline: the same rows, one multi-row INSERT of
	// service.ImportBatchSize rows per transaction (SQLite: statements of
	// 1400 rows, under its 32,766 placeholders), straight through
	// database/sql.
	raw, err := sql.Open(baseDriver, baseDSN)
	mustNoErr(t, err)
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	const cols = `id, connection, email, email_verified, username, phone_number, phone_verified, name, given_name, family_name,
		nickname, picture, blocked, user_metadata, app_metadata, identities, migrated, password_hash, created_at, updated_at, last_ip, logins_count`
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", 22), ", ") + ")"
	stmtRows := service.ImportBatchSize
	if sqlite {
		stmtRows = 32766 / 22
	}
	ts := now.Format("2006-01-02 15:04:05.000000")
	// insert writes the rows as plain INSERTs into the database of dsn;
	// withTerms adds each user's metadata term rows (what the import's
	// search index holds: ("u", "lang", "en") and ("u", "plan", "pN"), num
	// NULL), one multi-row INSERT per batch after the users'.
	insert := func(to *sql.DB, withTerms bool) measure {
		return phase(func(progress func(int)) {
			for lo := 0; lo < n; lo += service.ImportBatchSize {
				hi := min(lo+service.ImportBatchSize, n)
				tx, err := to.BeginTx(ctx, nil)
				mustNoErr(t, err)
				for slo := lo; slo < hi; slo += stmtRows {
					shi := min(slo+stmtRows, hi)
					var q strings.Builder
					q.WriteString("INSERT INTO users (" + cols + ") VALUES ")
					args := make([]any, 0, (shi-slo)*22)
					for i := slo; i < shi; i++ {
						if i > slo {
							q.WriteString(", ")
						}
						q.WriteString(one)
						email, name, meta := row(i)
						id := fmt.Sprintf("%024x", i)
						args = append(args, "main|"+id, "main", email, true, nil, "", false, name, "", "", "", "", false, meta, "{}",
							`[{"connection":"main","provider":"profiled","user_id":"`+id+`","is_social":false,"profile_data":{}}]`, false, hash, ts, ts, "", 0)
					}
					if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
						tx.Rollback() // or the database's drop waits for it
						t.Fatal(err)
					}
				}
				if withTerms {
					stmtTerms := max(1, stmtRows*22/10) // users per statement (5 placeholders a row, two rows a user)
					for slo := lo; slo < hi; slo += stmtTerms {
						shi := min(slo+stmtTerms, hi)
						var q strings.Builder
						q.WriteString("INSERT INTO " + search.TermsTable + " (source, path, value, user_id, num) VALUES ")
						args := make([]any, 0, (shi-slo)*10)
						for i := slo; i < shi; i++ {
							if i > slo {
								q.WriteString(", ")
							}
							q.WriteString("(?, ?, ?, ?, ?), (?, ?, ?, ?, ?)")
							id := "main|" + fmt.Sprintf("%024x", i)
							args = append(args, "u", "lang", "en", id, nil, "u", "plan", fmt.Sprintf("p%d", i%5), id, nil)
						}
						if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
							tx.Rollback()
							t.Fatal(err)
						}
					}
				}
				mustNoErr(t, tx.Commit())
				progress(hi)
			}
		})
	}
	if phases["insert"] {
		base = insert(raw, false)
	}
	if phases["insert+terms"] {
		// A third fresh database: the users and their term rows.
		var rawTerms *sql.DB
		if sqlite {
			p := filepath.Join(t.TempDir(), "base-terms.db")
			b, err := db.Open(ctx, "sqlite:"+p)
			mustNoErr(t, err)
			b.Close()
			rawTerms, err = sql.Open(baseDriver, p+baseDSN[strings.IndexByte(baseDSN, '?'):])
			mustNoErr(t, err)
		} else {
			dsn, _ := testmysql.New(t)
			b, err := db.Open(ctx, testmysql.URLOf(dsn))
			mustNoErr(t, err)
			b.Close()
			rawTerms, err = sql.Open(baseDriver, dsn+"&interpolateParams=true")
			mustNoErr(t, err)
		}
		defer rawTerms.Close()
		rawTerms.SetMaxOpenConns(1)
		baseTerms = insert(rawTerms, true)
	}

	storeName := "MariaDB"
	if sqlite {
		storeName = "SQLite"
	}
	report := func(what string, m measure) {
		line := fmt.Sprintf("%-13s %8.0f users/s  (%v)  peak heap in use %.1f MiB  CPU: this process %.1fs",
			what+":", float64(n)/m.wall.Seconds(), m.wall.Round(time.Millisecond), float64(m.peak)/(1<<20), m.cpu.Seconds())
		if serverPID != "" {
			line += fmt.Sprintf(", server %.1fs", m.serverCPU.Seconds())
		}
		t.Log(line)
		tenths := make([]string, len(m.tenths))
		for i, r := range m.tenths {
			tenths[i] = fmt.Sprintf("%.0f", r)
		}
		t.Logf("%-13s users/s by tenth of the rows: %s", "", strings.Join(tenths, " "))
	}
	t.Logf("store=%s N=%d file=%.1f MB", storeName, n, float64(st.Size())/1e6)
	for _, p := range []struct {
		name, label string
		m           measure
	}{{"import", "import", imp}, {"insert", "plain INSERT", base}, {"insert+terms", "INSERT+terms", baseTerms}} {
		if phases[p.name] {
			report(p.label, p.m)
			t.Logf("%-13s CPU per user: this process %.1f µs, server %.1f µs", "", p.m.cpu.Seconds()*1e6/float64(n), p.m.serverCPU.Seconds()*1e6/float64(n))
		}
	}
	if phases["import"] && phases["insert"] {
		t.Logf("ratio import/plain = %.2f", base.wall.Seconds()/imp.wall.Seconds())
	}
	if phases["import"] && phases["insert+terms"] {
		t.Logf("ratio import/(plain INSERT users+terms) = %.2f", baseTerms.wall.Seconds()/imp.wall.Seconds())
	}
}

const argon2dFixed = "$argon2d$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$lFsyBlBt5TWqbEq3aUDWRD1HBqaOd1qkT+7xxuqCMUY"
