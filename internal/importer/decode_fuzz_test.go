package importer

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/profiled/profiled/internal/policy"
)

// FuzzDecoder feeds arbitrary files to the streaming decoder. Properties:
// it never panics and always ends (EOF or a *SyntaxError) within one record
// per input byte; row numbers increase; a row without errors has a valid
// email and metadata the policy accepts; a row with errors names a row.
func FuzzDecoder(f *testing.F) {
	for _, seed := range []string{
		`[{"email":"a@example.com","name":"A","user_metadata":{"lang":"en"}}]`,
		"{\"email\":\"b@example.com\",\"password_hash\":\"$2b$10$abcdefghijklmnopqrstuuDFyAkNbOY8Yp7gu7HrTZNS7Sm4sv6Ym\"}\n{\"email\":\"bad\"}\n",
		`{"email":"c@example.com","custom_password_hash":{"algorithm":"sha256","hash":{"value":"00","encoding":"hex"},"salt":{"value":"s","position":"prefix"}}}`,
		`[{"email":"d@example.com","unknown":1}, 42, "x"]`,
		`[`, `{`, "\n\n", `[{"email":"e@example.com","app_metadata":{"email":1}}]`,
	} {
		f.Add([]byte(seed))
	}
	lim := policy.DefaultLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data), Options{Limits: lim, MaxRowBytes: 4096})
		last := 0
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("more records (%d) than input bytes (%d)", i, len(data))
			}
			rec, err := d.Next()
			if err != nil {
				var se *SyntaxError
				if !errors.Is(err, io.EOF) && !errors.As(err, &se) {
					t.Fatalf("Next: %T %v", err, err)
				}
				return
			}
			if rec.Row <= last {
				t.Fatalf("row %d after row %d", rec.Row, last)
			}
			last = rec.Row
			for _, e := range rec.Errors {
				if e.Row != rec.Row {
					t.Fatalf("error of row %d names row %d", rec.Row, e.Row)
				}
			}
			if len(rec.Errors) == 0 {
				if _, err := policy.ValidateEmail(rec.User.Email); err != nil {
					t.Fatalf("row %d accepted with email %q: %v", rec.Row, rec.User.Email, err)
				}
				if err := policy.ValidateMetadata(rec.User.UserMetadata, false, lim); err != nil {
					t.Fatalf("row %d accepted with bad user_metadata: %v", rec.Row, err)
				}
				if err := policy.ValidateMetadata(rec.User.AppMetadata, true, lim); err != nil {
					t.Fatalf("row %d accepted with bad app_metadata: %v", rec.Row, err)
				}
			}
		}
	})
}
