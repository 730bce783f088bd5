package importer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
)

func decodeAll(t *testing.T, in string) ([]Record, error) {
	t.Helper()
	d := NewDecoder(strings.NewReader(in), Options{MaxRowBytes: 4096})
	var out []Record
	for {
		r, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		emails []string
	}{
		{"array", `[{"email":"a@x.io"},{"email":"B@X.io"}]`, []string{"a@x.io", "b@x.io"}},
		{"array with space and BOM", "\xEF\xBB\xBF \n[ {\"email\":\"a@x.io\"} ,\n {\"email\":\"b@x.io\"} ]\n ", []string{"a@x.io", "b@x.io"}},
		{"empty array", `[]`, nil},
		{"ndjson", "{\"email\":\"a@x.io\"}\n{\"email\":\"b@x.io\"}\n", []string{"a@x.io", "b@x.io"}},
		{"ndjson blank lines, CRLF, no final newline", "\r\n{\"email\":\"a@x.io\"}\r\n\r\n{\"email\":\"b@x.io\"}", []string{"a@x.io", "b@x.io"}},
		{"empty file", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := decodeAll(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(tt.emails) {
				t.Fatalf("got %d records, want %d", len(recs), len(tt.emails))
			}
			for i, r := range recs {
				if len(r.Errors) > 0 || r.User.Email != tt.emails[i] || r.Row != i+1 {
					t.Fatalf("record %d = %+v", i, r)
				}
			}
			var c Counter
			_, _ = c.Write([]byte(tt.in))
			if c.Count() != len(tt.emails) {
				t.Fatalf("Counter = %d, want %d", c.Count(), len(tt.emails))
			}
		})
	}
}

func TestAllFields(t *testing.T) {
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	in := strings.ReplaceAll(fmt.Sprintf(`{"email":"Ada@Example.com","email_verified":true,"username":"ada","given_name":"Ada","family_name":"Lovelace",
		"name":"Ada Lovelace","nickname":"ada","picture":"https://x.io/a.png","blocked":true,"phone_number":"+441234567",
		"phone_verified":true,"user_id":"42","user_metadata":{"lang":"en","n":12345678901234567890},"app_metadata":{"plan":"pro"},
		"password_hash":%q,"created_at":"2024-03-01T10:00:00.123456Z","updated_at":"2024-03-02T10:00:00+02:00",
		"last_login":"2024-03-03T00:00:00Z","last_ip":"10.0.0.1","logins_count":7,"identities":[{"connection":"db"}],"connection":"db"}`, bc), "\n\t\t", "") // NDJSON: one line
	recs, err := decodeAll(t, in)
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	r := recs[0]
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	u := r.User
	if u.Email != "ada@example.com" || !u.EmailVerified || u.Username != "ada" || u.GivenName != "Ada" || u.FamilyName != "Lovelace" ||
		u.Name != "Ada Lovelace" || u.Nickname != "ada" || u.Picture != "https://x.io/a.png" || !u.Blocked || u.PhoneNumber != "+441234567" ||
		!r.PhoneVerified || r.UserID != "42" || u.UserMetadata["lang"] != "en" || u.AppMetadata["plan"] != "pro" || r.PasswordHash != string(bc) {
		t.Fatalf("record = %+v", r)
	}
	if r.CreatedAt.Format(time.RFC3339Nano) != "2024-03-01T10:00:00.123456Z" || r.UpdatedAt.Format(time.RFC3339) != "2024-03-02T08:00:00Z" ||
		r.LastLogin == nil || r.LastIP != "10.0.0.1" || r.LoginsCount != 7 {
		t.Fatalf("export fields = %+v", r)
	}
	if n := fmt.Sprint(u.UserMetadata["n"]); n != "12345678901234567890" {
		t.Fatalf("large integer became %s", n)
	}
	for _, f := range Fields {
		if want := f != FieldCustomPasswordHash; r.Given.Has(f) != want {
			t.Fatalf("Given.Has(%s) = %v", f, !want)
		}
	}
}

func TestCustomPasswordHash(t *testing.T) {
	sum := sha256.Sum256([]byte("saltpw"))
	in := fmt.Sprintf(`{"email":"a@x.io","custom_password_hash":{"algorithm":"sha256","hash":{"value":%q,"encoding":"hex"},"salt":{"value":"salt","position":"prefix"},"password":{"encoding":"utf8"}}}`, hex.EncodeToString(sum[:]))
	recs, err := decodeAll(t, in)
	if err != nil || len(recs) != 1 || len(recs[0].Errors) > 0 {
		t.Fatal(recs, err)
	}
	h, _ := passwords.New(passwords.Config{BcryptCost: 4})
	if ok, err := h.Verify(recs[0].PasswordHash, "pw"); !ok || err != nil {
		t.Fatalf("stored %q does not verify: %v %v", recs[0].PasswordHash, ok, err)
	}
}

func TestRowErrors(t *testing.T) {
	sum := hex.EncodeToString(make([]byte, 32))
	tests := []struct {
		name, row string
		field     string
		reason    string
	}{
		{"not an object", `[1,2]`, "", "not a JSON object"},
		{"invalid JSON line", `{"email":`, "", "not valid JSON"},
		{"no email", `{"name":"x"}`, "email", "required"},
		{"bad email", `{"email":"nope"}`, "email", "'@'"},
		{"email not a string", `{"email":5}`, "email", "must be a string"},
		{"unknown field", `{"email":"a@x.io","favourite":"x"}`, "favourite", "not a known field"},
		{"mfa factors", `{"email":"a@x.io","mfa_factors":[]}`, "mfa_factors", "not supported"},
		{"bool type", `{"email":"a@x.io","blocked":"yes"}`, "blocked", "boolean"},
		{"phone", `{"email":"a@x.io","phone_number":"0123"}`, "phone_number", "E.164"},
		{"user_id spaces", `{"email":"a@x.io","user_id":"a b"}`, "user_id", "spaces"},
		{"long name", `{"email":"a@x.io","name":"` + strings.Repeat("n", MaxNameRunes+1) + `"}`, "name", "at most"},
		{"metadata not object", `{"email":"a@x.io","user_metadata":[1]}`, "user_metadata", "JSON object"},
		{"metadata bad key", `{"email":"a@x.io","user_metadata":{"a.b":1}}`, "user_metadata", "."},
		{"app metadata reserved", `{"email":"a@x.io","app_metadata":{"email":1}}`, "app_metadata", "profile field"},
		{"password_hash not a hash", `{"email":"a@x.io","password_hash":"$argon2id$x"}`, "password_hash", "well-formed"},
		{"created_at without zone", `{"email":"a@x.io","created_at":"2024-03-01 10:00:00"}`, "created_at", "ISO 8601"},
		{"logins_count negative", `{"email":"a@x.io","logins_count":-1}`, "logins_count", "non-negative"},
		{"identities not a list", `{"email":"a@x.io","identities":{"a":1}}`, "identities", "list"},
		{"password_hash malformed", `{"email":"a@x.io","password_hash":"$2a$10$short"}`, "password_hash", "well-formed"},
		{"password_hash cost", `{"email":"a@x.io","password_hash":"$2a$20$` + strings.Repeat(".", 53) + `"}`, "password_hash", "cost"},
		{"both hashes", `{"email":"a@x.io","password_hash":"$2a$04$` + strings.Repeat(".", 53) + `","custom_password_hash":{"algorithm":"md5","hash":{"value":"x"}}}`, "custom_password_hash", "mutually exclusive"},
		{"custom unknown key", `{"email":"a@x.io","custom_password_hash":{"algorithm":"sha256","hash":{"value":"` + sum + `"},"pepper":1}}`, "custom_password_hash.pepper", "not a known field"},
		{"custom no hash", `{"email":"a@x.io","custom_password_hash":{"algorithm":"sha256"}}`, "custom_password_hash.hash", "required"},
		{"custom algorithm", `{"email":"a@x.io","custom_password_hash":{"algorithm":"crc32","hash":{"value":"` + sum + `"}}}`, "custom_password_hash.algorithm", "not supported"},
		{"custom bad hex", `{"email":"a@x.io","custom_password_hash":{"algorithm":"sha256","hash":{"value":"zz"}}}`, "custom_password_hash.hash.value", "hex"},
		{"custom pw encoding", `{"email":"a@x.io","custom_password_hash":{"algorithm":"sha256","hash":{"value":"` + sum + `"},"password":{"encoding":"utf32"}}}`, "custom_password_hash.password.encoding", "not supported"},
		{"custom hmac digest unsupported", `{"email":"a@x.io","custom_password_hash":{"algorithm":"hmac","hash":{"value":"00","digest":"whirlpool","key":{"value":"k"}}}}`, "custom_password_hash.hash.digest", "whirlpool is not supported"},
		{"custom hmac no key", `{"email":"a@x.io","custom_password_hash":{"algorithm":"hmac","hash":{"value":"00","digest":"sha1"}}}`, "custom_password_hash.hash.key.value", "required"},
		{"custom unknown nested", `{"email":"a@x.io","custom_password_hash":{"algorithm":"hmac","hash":{"value":"00","digest":"sha1","key":{"value":"k","format":"x"}}}}`, "custom_password_hash.hash.key.format", "not a known field"},
		{"custom scrypt no keylen", `{"email":"a@x.io","custom_password_hash":{"algorithm":"scrypt","hash":{"value":"00"},"salt":{"value":"s"}}}`, "custom_password_hash.keylen", "required"},
		{"custom scrypt keylen type", `{"email":"a@x.io","custom_password_hash":{"algorithm":"scrypt","hash":{"value":"00"},"keylen":"64"}}`, "custom_password_hash.keylen", "positive integer"},
		{"custom wrong type", `{"email":"a@x.io","custom_password_hash":{"algorithm":5,"hash":{"value":"x"}}}`, "custom_password_hash.algorithm", "must be a string"},
		{"pbkdf2 too many iterations", `{"email":"a@x.io","custom_password_hash":{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=20000000,l=32$c2FsdA$` + strings.Repeat("A", 43) + `"}}}`, "custom_password_hash.hash.value", "exceeds the maximum"},
		{"long line", `{"email":"a@x.io","name":"` + strings.Repeat("n", 5000) + `"}`, "", "longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A bad row between two good ones: the good ones still come.
			in := "{\"email\":\"first@x.io\"}\n" + tt.row + "\n{\"email\":\"last@x.io\"}\n"
			recs, err := decodeAll(t, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 3 || len(recs[0].Errors) > 0 || len(recs[2].Errors) > 0 || recs[2].User.Email != "last@x.io" {
				t.Fatalf("records = %+v", recs)
			}
			errs := recs[1].Errors
			if len(errs) == 0 {
				t.Fatalf("no error for %s", tt.row)
			}
			e := errs[0]
			if e.Row != 2 || e.Field != tt.field || !strings.Contains(e.Reason, tt.reason) {
				t.Fatalf("error = %+v, want row 2 field %q reason containing %q", e, tt.field, tt.reason)
			}
			if strings.Contains(e.Reason, strings.Repeat(".", 53)) || strings.Contains(e.Reason, sum) {
				t.Fatalf("reason quotes a hash: %s", e.Reason)
			}
		})
	}
}

func TestArraySyntaxErrorStops(t *testing.T) {
	recs, err := decodeAll(t, `[{"email":"a@x.io"}, {"email": }, {"email":"c@x.io"}]`)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Row != 2 || len(recs) != 1 {
		t.Fatalf("recs %d, err %v", len(recs), err)
	}
	_, err = decodeAll(t, `[{"email":"a@x.io"}] trailing`)
	if !errors.As(err, &se) {
		t.Fatalf("trailing data: %v", err)
	}
	_, err = decodeAll(t, `[{"email":"a@x.io"}`)
	if !errors.As(err, &se) {
		t.Fatalf("unterminated array: %v", err)
	}
}

func TestCounter(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{`[1, "a,b", {"x":[1,2,{"y":"]"}]}, [], null, true]`, 6},
		{"{\"a\":\"\\\"{\"}\n\"s\"\n12 13\n[]\n", 5},
		{`[]`, 0},
		{`  `, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			// Byte by byte: state survives split writes.
			var c Counter
			for i := 0; i < len(tt.in); i++ {
				_, _ = c.Write([]byte{tt.in[i]})
			}
			if c.Count() != tt.want {
				t.Fatalf("Count = %d, want %d", c.Count(), tt.want)
			}
		})
	}
}

// genReader produces n NDJSON or JSON-array rows lazily, so the test holds
// no file.
type genReader struct {
	n, i  int
	array bool
	buf   bytes.Buffer
}

func (g *genReader) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && g.i < g.n+2 {
		switch {
		case g.i == 0:
			if g.array {
				g.buf.WriteByte('[')
			}
		case g.i == g.n+1:
			if g.array {
				g.buf.WriteByte(']')
			}
		default:
			if g.array && g.i > 1 {
				g.buf.WriteByte(',')
			}
			fmt.Fprintf(&g.buf, `{"email":"user%d@example.com","name":"User %d","user_metadata":{"lang":"en","i":%d}}`, g.i, g.i, g.i)
			if !g.array {
				g.buf.WriteByte('\n')
			}
		}
		g.i++
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 2 × 100k rows")
	}
	for _, array := range []bool{false, true} {
		t.Run(fmt.Sprintf("array=%v", array), func(t *testing.T) {
			const n = 100_000 // about 10 MB of input
			d := NewDecoder(&genReader{n: n, array: array}, Options{})
			var peak uint64
			var ms runtime.MemStats
			rows := 0
			for {
				r, err := d.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Errors) > 0 {
					t.Fatal(r.Errors)
				}
				rows++
				if rows%20_000 == 0 {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
			}
			if rows != n {
				t.Fatalf("rows = %d", rows)
			}
			t.Logf("peak heap in use: %d bytes", peak)
			// The input is ~10 MB; a decoder holding it would exceed this
			// (measured: under 1 MiB). Not in parallel: the heap is the
			// process's.
			if peak > 6<<20 {
				t.Fatalf("heap in use reached %d bytes", peak)
			}
		})
	}
}

// BenchmarkParseRow parses the row TestImportThroughput imports.
func BenchmarkParseRow(b *testing.B) {
	raw := []byte(`{"email":"user00000042@example.com","name":"User 42","email_verified":true,"user_metadata":{"lang":"en","plan":"p2"},"password_hash":"$2a$04$C6UzMDM.H6dfI/f/IKxGhuWA5ZSLKCj8Qo3aFQSMLQM7aU0EXx0Zy"}`)
	b.ReportAllocs()
	for b.Loop() {
		if rec := ParseRow(raw, 1, policy.Limits{}); len(rec.Errors) > 0 {
			b.Fatal(rec.Errors)
		}
	}
}

// jsonString and jsonBool decode as json.Unmarshal does, the shortcut
// included.
func TestJSONScalarsMatchUnmarshal(t *testing.T) {
	for _, raw := range []string{`""`, `"plain"`, `"Zoë 😀"`, "\"bad \xff utf8\"", `"esc\"aped"`, `"\u00e9\n"`, `"back\\slash"`,
		`"\ud800"`, `12`, `true`, `false`, `null`, `{}`, `[]`, `"x"`} {
		var want string
		werr := json.Unmarshal([]byte(raw), &want)
		got, ok := jsonString(json.RawMessage(raw))
		if ok != (werr == nil) || got != want {
			t.Errorf("jsonString(%s) = %q, %v; Unmarshal gives %q, %v", raw, got, ok, want, werr)
		}
		var wantB bool
		werr = json.Unmarshal([]byte(raw), &wantB)
		gotB, ok := jsonBool(json.RawMessage(raw))
		if raw != "null" && (ok != (werr == nil) || gotB != wantB) {
			t.Errorf("jsonBool(%s) = %v, %v; Unmarshal gives %v, %v", raw, gotB, ok, wantB, werr)
		}
	}
}
