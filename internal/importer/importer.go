// Package importer reads bulk user-import files: a JSON array or NDJSON of
// users in the field names of the normalized profile (email,
// email_verified, username, given_name, ..., user_metadata, app_metadata)
// plus password_hash (bcrypt) or custom_password_hash (see
// passwords.FromCustom). Unknown fields are errors (the schema has
// additionalProperties: false).
//
// It streams: a Decoder holds one row at a time (bounded by
// Options.MaxRowBytes for NDJSON), never the file, so memory stays flat as
// files grow. A bad row is reported as a Record with Errors (row number,
// field, reason) and decoding goes on; only a JSON array that is not
// well-formed JSON stops decoding (*SyntaxError), since no later row can be
// found reliably. NDJSON recovers from any bad line.
//
// It validates rows with the policy package's rules (email, metadata) and
// the passwords package (hashes); it does no I/O besides reading its input
// and imports neither service nor db.
package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/profiled/profiled/internal/passwords"
	"github.com/profiled/profiled/internal/policy"
)

// Field names of an import row (and of an export).
const (
	FieldEmail              = "email"
	FieldEmailVerified      = "email_verified"
	FieldUsername           = "username"
	FieldGivenName          = "given_name"
	FieldFamilyName         = "family_name"
	FieldName               = "name"
	FieldNickname           = "nickname"
	FieldPicture            = "picture"
	FieldBlocked            = "blocked"
	FieldPhoneNumber        = "phone_number"
	FieldPhoneVerified      = "phone_verified"
	FieldUserID             = "user_id"
	FieldUserMetadata       = "user_metadata"
	FieldAppMetadata        = "app_metadata"
	FieldPasswordHash       = "password_hash"
	FieldCustomPasswordHash = "custom_password_hash"

	// Fields of an export that an import takes back, so that export then
	// import reproduces a user (beyond Auth0's import schema, which has
	// none of them): the dates and counters are restored; identities and
	// connection are checked to be of the right type and otherwise
	// ignored (the store derives them from the target connection).
	FieldCreatedAt   = "created_at"
	FieldUpdatedAt   = "updated_at"
	FieldLastLogin   = "last_login"
	FieldLastIP      = "last_ip"
	FieldLoginsCount = "logins_count"
	FieldIdentities  = "identities"
	FieldConnection  = "connection"
)

// Fields lists every field an import row may hold, in export order: the
// profile's fields marked Import in policy.ProfileFields.
var Fields = policy.FieldNames(func(f policy.FieldSpec) bool { return f.Import })

var fieldBit = func() map[string]FieldSet {
	m := make(map[string]FieldSet, len(Fields))
	for i, f := range Fields {
		m[f] = 1 << i
	}
	return m
}()

// FieldSet is the set of fields a row gave (with a non-null value).
type FieldSet uint32

// Has reports whether the row gave field f.
func (s FieldSet) Has(f string) bool { return s&fieldBit[f] != 0 }

// Bounds on field values (the store's column sizes).
const (
	MaxUserIDBytes   = 200
	MaxUsernameRunes = 255
	MaxNameRunes     = 1024
	MaxPictureBytes  = 2048
	// MaxStoredHashLen is the longest stored password hash (the column).
	MaxStoredHashLen = 255
)

// Error is one problem of one row. Reason never repeats a password hash.
type Error struct {
	Row    int    // 1-based position of the row in the file
	Field  string // the field ("" when the row as a whole is wrong); nested as "custom_password_hash.salt.value"
	Reason string
}

func (e Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Reason)
	}
	return fmt.Sprintf("row %d: %s: %s", e.Row, e.Field, e.Reason)
}

// Record is one decoded row. When Errors is non-empty the row is invalid
// and the other fields are partial.
type Record struct {
	Row int
	// User holds the profile fields (Password unused; Email normalized).
	User          policy.Create
	PhoneVerified bool
	// UserID is the id the file gives ("" = let the service make one).
	UserID string
	// PasswordHash is the hash in its stored form ("" = none).
	PasswordHash string
	// CreatedAt, UpdatedAt, LastLogin, LastIP and LoginsCount are what an
	// export gave (zero: not given).
	CreatedAt, UpdatedAt time.Time
	LastLogin            *time.Time
	LastIP               string
	LoginsCount          int64
	// Given is the set of fields the row gave (upserts overwrite those).
	Given  FieldSet
	Errors []Error
}

// SyntaxError: the input is not well-formed JSON where a row should start
// (a JSON array, or the file's first bytes); decoding cannot go on.
type SyntaxError struct {
	Row    int   // the row being read
	Offset int64 // byte offset in the input
	Err    error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("the file is not valid JSON at row %d (byte %d): %v", e.Row, e.Offset, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Options configure a Decoder.
type Options struct {
	// Limits are the policy limits (metadata size); zero: the defaults.
	Limits policy.Limits
	// MaxRowBytes bounds one NDJSON line (default 1 MiB): a longer line is
	// a row error and is skipped.
	MaxRowBytes int
}

// Decoder reads rows one at a time.
type Decoder struct {
	br     *bufio.Reader
	opt    Options
	row    int
	array  bool
	start  bool
	done   bool
	dec    *json.Decoder // JSON array
	line   []byte
	offset int64
}

// NewDecoder reads a JSON array or NDJSON from r; the format is told by the
// first non-space byte ('[' = array).
func NewDecoder(r io.Reader, opt Options) *Decoder {
	if opt.MaxRowBytes <= 0 {
		opt.MaxRowBytes = 1 << 20
	}
	return &Decoder{br: bufio.NewReaderSize(r, 64<<10), opt: opt}
}

// Next returns the next row; io.EOF after the last; a *SyntaxError (or a
// read error) when decoding cannot go on.
func (d *Decoder) Next() (Record, error) {
	if d.done {
		return Record{}, io.EOF
	}
	if !d.start {
		if err := d.begin(); err != nil {
			d.done = true
			return Record{}, err
		}
	}
	var raw []byte
	var rec Record
	var err error
	if d.array {
		raw, err = d.nextElement()
	} else {
		raw, rec, err = d.nextLine()
	}
	if err != nil {
		d.done = true
		return Record{}, err
	}
	if rec.Errors != nil {
		return rec, nil
	}
	return ParseRow(raw, d.row, d.opt.Limits), nil
}

// begin skips a UTF-8 BOM and white space and tells the format.
func (d *Decoder) begin() error {
	d.start = true
	if b, err := d.br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = d.br.Discard(3)
		d.offset += 3
	}
	for {
		b, err := d.br.Peek(1)
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		if err != nil {
			return err
		}
		if !isSpace(b[0]) {
			d.array = b[0] == '['
			break
		}
		_, _ = d.br.Discard(1)
		d.offset++
	}
	if d.array {
		d.dec = json.NewDecoder(d.br)
		if _, err := d.dec.Token(); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return &SyntaxError{Row: 1, Offset: d.offset, Err: err}
		}
	}
	return nil
}

func (d *Decoder) nextElement() ([]byte, error) {
	if !d.dec.More() {
		t, err := d.dec.Token()
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the array is not closed
		}
		if err != nil {
			return nil, &SyntaxError{Row: d.row + 1, Offset: d.offset + d.dec.InputOffset(), Err: err}
		}
		if t != json.Delim(']') {
			return nil, &SyntaxError{Row: d.row + 1, Offset: d.offset + d.dec.InputOffset(), Err: fmt.Errorf("unexpected %v", t)}
		}
		// Only white space may follow the array.
		rest := io.MultiReader(d.dec.Buffered(), d.br)
		buf := make([]byte, 512)
		for {
			n, err := rest.Read(buf)
			for _, b := range buf[:n] {
				if !isSpace(b) {
					return nil, &SyntaxError{Row: d.row + 1, Offset: d.offset + d.dec.InputOffset(), Err: errors.New("data after the closing ']'")}
				}
			}
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			if err != nil {
				return nil, err
			}
		}
	}
	d.row++
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &SyntaxError{Row: d.row, Offset: d.offset + d.dec.InputOffset(), Err: err}
		}
		return nil, err
	}
	return raw, nil
}

// nextLine returns the next non-blank NDJSON line, or a Record with an
// error for a line over MaxRowBytes.
func (d *Decoder) nextLine() ([]byte, Record, error) {
	for {
		d.line = d.line[:0]
		tooLong := false
		for {
			chunk, err := d.br.ReadSlice('\n')
			d.offset += int64(len(chunk))
			if !tooLong {
				if len(d.line)+len(chunk) > d.opt.MaxRowBytes {
					tooLong = true
				} else {
					d.line = append(d.line, chunk...)
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				if len(d.line) == 0 && !tooLong {
					return nil, Record{}, io.EOF
				}
				break
			}
			if err != nil {
				return nil, Record{}, err
			}
			break
		}
		if tooLong {
			d.row++
			return nil, Record{Row: d.row, Errors: []Error{{Row: d.row, Reason: fmt.Sprintf("the row is longer than %d bytes", d.opt.MaxRowBytes)}}}, nil
		}
		line := bytes.TrimSpace(d.line)
		if len(line) == 0 {
			continue
		}
		d.row++
		return line, Record{}, nil
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// ParseRow validates one row (a JSON value) of the file; row is its
// 1-based position.
func ParseRow(raw []byte, row int, lim policy.Limits) Record {
	rec := Record{Row: row}
	bad := func(field, format string, args ...any) {
		rec.Errors = append(rec.Errors, Error{Row: row, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		if !json.Valid(raw) {
			bad("", "the row is not valid JSON")
		} else {
			bad("", "the row is not a JSON object")
		}
		return rec
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var custom json.RawMessage
	for _, k := range keys {
		v := obj[k]
		bit, known := fieldBit[k]
		if !known {
			if k == "mfa_factors" {
				bad(k, "is not supported by this service")
			} else {
				bad(k, "is not a known field")
			}
			continue
		}
		if string(v) == "null" {
			continue
		}
		rec.Given |= bit
		switch k {
		case FieldEmailVerified, FieldBlocked, FieldPhoneVerified:
			b, ok := jsonBool(v)
			if !ok {
				bad(k, "must be a boolean")
				continue
			}
			switch k {
			case FieldEmailVerified:
				rec.User.EmailVerified = b
			case FieldBlocked:
				rec.User.Blocked = b
			default:
				rec.PhoneVerified = b
			}
		case FieldUserMetadata, FieldAppMetadata:
			m, err := decodeObject(v)
			if err != nil {
				bad(k, "must be a JSON object")
				continue
			}
			if err := policy.ValidateMetadata(m, k == FieldAppMetadata, lim); err != nil {
				bad(k, "%s", refusalMessage(err))
				continue
			}
			if k == FieldAppMetadata {
				rec.User.AppMetadata = m
			} else {
				rec.User.UserMetadata = m
			}
		case FieldCustomPasswordHash:
			custom = v
		case FieldLoginsCount:
			var n int64
			if json.Unmarshal(v, &n) != nil || n < 0 {
				bad(k, "must be a non-negative integer")
				continue
			}
			rec.LoginsCount = n
		case FieldIdentities:
			var ids []map[string]any
			if json.Unmarshal(v, &ids) != nil {
				bad(k, "must be a list of objects")
			}
		case FieldCreatedAt, FieldUpdatedAt, FieldLastLogin:
			var ts string
			if json.Unmarshal(v, &ts) != nil {
				bad(k, "must be a date string (ISO 8601 / RFC 3339)")
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil || t.Year() < 1970 || t.Year() > 9999 {
				bad(k, "must be an ISO 8601 / RFC 3339 date with a time zone, e.g. 2024-03-01T10:00:00.000Z")
				continue
			}
			t = t.UTC()
			switch k {
			case FieldCreatedAt:
				rec.CreatedAt = t
			case FieldUpdatedAt:
				rec.UpdatedAt = t
			default:
				rec.LastLogin = &t
			}
		default:
			s, ok := jsonString(v)
			if !ok {
				bad(k, "must be a string")
				continue
			}
			if s == "" {
				rec.Given &^= bit
				continue
			}
			if reason := checkString(k, s); reason != "" {
				bad(k, "%s", reason)
				continue
			}
			switch k {
			case FieldEmail:
				e, err := policy.ValidateEmail(s)
				if err != nil {
					bad(k, "%s", refusalMessage(err))
					continue
				}
				rec.User.Email = e
			case FieldUsername:
				rec.User.Username = s
			case FieldGivenName:
				rec.User.GivenName = s
			case FieldFamilyName:
				rec.User.FamilyName = s
			case FieldName:
				rec.User.Name = s
			case FieldNickname:
				rec.User.Nickname = s
			case FieldPicture:
				rec.User.Picture = s
			case FieldPhoneNumber:
				rec.User.PhoneNumber = s
			case FieldUserID:
				rec.UserID = s
			case FieldLastIP:
				rec.LastIP = s
			case FieldConnection:
			case FieldPasswordHash:
				// Auth0 takes bcrypt here; this service also takes any
				// stored form its own export writes (passwords.Verify's
				// formats), so export then import keeps every hash.
				if err := passwords.Check(s); err != nil {
					bad(k, "%s", hashReason(err))
					continue
				}
				rec.PasswordHash = s
			}
		}
	}
	if !rec.Given.Has(FieldEmail) {
		if !hasErrorOn(rec.Errors, FieldEmail) {
			bad(FieldEmail, "is required")
		}
	}
	if custom != nil {
		if rec.Given.Has(FieldPasswordHash) {
			bad(FieldCustomPasswordHash, "password_hash and custom_password_hash are mutually exclusive")
		} else if stored, errs := parseCustom(custom, row); len(errs) > 0 {
			rec.Errors = append(rec.Errors, errs...)
		} else {
			rec.PasswordHash = stored
		}
	}
	return rec
}

// jsonBool is json.Unmarshal of v (one valid JSON value) into a bool.
func jsonBool(v json.RawMessage) (b, ok bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// jsonString is json.Unmarshal of v (one valid JSON value) into a string,
// without it for the common string with no escape and valid UTF-8 (which
// decodes to its bytes as they are).
func jsonString(v json.RawMessage) (string, bool) {
	if n := len(v); n >= 2 && v[0] == '"' && v[n-1] == '"' {
		body := v[1 : n-1]
		if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
			return string(body), true
		}
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func hasErrorOn(errs []Error, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

// checkString applies the per-field format and length rules; "" = fine.
func checkString(field, s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	switch field {
	case FieldUserID:
		if len(s) > MaxUserIDBytes {
			return fmt.Sprintf("must be at most %d bytes", MaxUserIDBytes)
		}
		for _, r := range s {
			if unicode.IsControl(r) || unicode.IsSpace(r) {
				return "must not contain spaces or control characters"
			}
		}
	case FieldUsername:
		if utf8.RuneCountInString(s) > MaxUsernameRunes {
			return fmt.Sprintf("must be at most %d characters", MaxUsernameRunes)
		}
	case FieldGivenName, FieldFamilyName, FieldName, FieldNickname:
		if utf8.RuneCountInString(s) > MaxNameRunes {
			return fmt.Sprintf("must be at most %d characters", MaxNameRunes)
		}
	case FieldPicture:
		if len(s) > MaxPictureBytes {
			return fmt.Sprintf("must be at most %d bytes", MaxPictureBytes)
		}
	case FieldLastIP:
		if len(s) > 64 {
			return "must be at most 64 bytes"
		}
	case FieldPhoneNumber:
		if !e164(s) {
			return "must be in E.164 format (+ and 1 to 15 digits)"
		}
	}
	return ""
}

func e164(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func refusalMessage(err error) string {
	var r *policy.Refusal
	if errors.As(err, &r) {
		return r.Message
	}
	return "is invalid"
}

// hashReason explains a hash the passwords package refused, without the
// value.
func hashReason(err error) string {
	var pe *passwords.ParamsError
	if errors.As(err, &pe) {
		return strings.TrimPrefix(pe.Error(), "passwords: ")
	}
	if errors.Is(err, passwords.ErrUnsupportedHash) {
		return "uses an unsupported algorithm or variant"
	}
	return "is not a well-formed hash"
}

func decodeObject(v json.RawMessage) (policy.Metadata, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("not an object")
	}
	return policy.Metadata(m), nil
}

// customFields are the keys custom_password_hash (and its objects) may
// hold, as Auth0's schema lists them.
var customFields = map[string][]string{
	"":         {"algorithm", "hash", "salt", "password", "keylen", "cost", "blockSize", "parallelization"},
	"hash":     {"value", "encoding", "digest", "key"},
	"hash.key": {"value", "encoding"},
	"salt":     {"value", "encoding", "position"},
	"password": {"encoding"},
}

// customObject decodes the JSON object at path (relative to
// custom_password_hash), refusing keys the schema does not list; each
// error names the exact path.
func customObject(v json.RawMessage, path string) (map[string]json.RawMessage, *Error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		return nil, &Error{Field: path, Reason: "must be an object"}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		known := false
		for _, a := range customFields[path] {
			known = known || a == k
		}
		if !known {
			return nil, &Error{Field: joinPath(path, k), Reason: fmt.Sprintf("is not a known field (known: %s)", strings.Join(customFields[path], ", "))}
		}
	}
	return m, nil
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// customString reads the string at m[key] ("" when absent or null).
func customString(m map[string]json.RawMessage, path, key string) (string, *Error) {
	v, ok := m[key]
	if !ok || string(v) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", &Error{Field: joinPath(path, key), Reason: "must be a string"}
	}
	return s, nil
}

// customUint reads the positive integer at m[key] (0 when absent).
func customUint(m map[string]json.RawMessage, key string) (uint64, *Error) {
	v, ok := m[key]
	if !ok || string(v) == "null" {
		return 0, nil
	}
	var n uint64
	if json.Unmarshal(v, &n) != nil || n == 0 {
		return 0, &Error{Field: key, Reason: "must be a positive integer"}
	}
	return n, nil
}

func parseCustom(v json.RawMessage, row int) (string, []Error) {
	const f = FieldCustomPasswordHash
	fail := func(e *Error) (string, []Error) {
		e.Row = row
		e.Field = joinPath(f, e.Field)
		return "", []Error{*e}
	}
	top, e := customObject(v, "")
	if e != nil {
		if e.Field == "" {
			e.Reason = "must be an object {algorithm, hash {value, encoding, digest, key}, salt {value, encoding, position}, password {encoding}}"
		}
		return fail(e)
	}
	var in passwords.Custom
	if in.Algorithm, e = customString(top, "", "algorithm"); e != nil {
		return fail(e)
	}
	hv, ok := top["hash"]
	if !ok || string(hv) == "null" {
		return fail(&Error{Field: "hash", Reason: "is required"})
	}
	hash, e := customObject(hv, "hash")
	if e != nil {
		return fail(e)
	}
	for _, p := range []struct {
		key string
		dst *string
	}{{"value", &in.Hash}, {"encoding", &in.HashEncoding}, {"digest", &in.HashDigest}} {
		if *p.dst, e = customString(hash, "hash", p.key); e != nil {
			return fail(e)
		}
	}
	if kv, ok := hash["key"]; ok && string(kv) != "null" {
		key, e := customObject(kv, "hash.key")
		if e != nil {
			return fail(e)
		}
		if in.Key, e = customString(key, "hash.key", "value"); e != nil {
			return fail(e)
		}
		if in.KeyEncoding, e = customString(key, "hash.key", "encoding"); e != nil {
			return fail(e)
		}
		if in.Key == "" {
			return fail(&Error{Field: "hash.key.value", Reason: "is required when hash.key is given"})
		}
	}
	if sv, ok := top["salt"]; ok && string(sv) != "null" {
		salt, e := customObject(sv, "salt")
		if e != nil {
			return fail(e)
		}
		for _, p := range []struct {
			key string
			dst *string
		}{{"value", &in.Salt}, {"encoding", &in.SaltEncoding}, {"position", &in.SaltPosition}} {
			if *p.dst, e = customString(salt, "salt", p.key); e != nil {
				return fail(e)
			}
		}
		if in.Salt == "" {
			return fail(&Error{Field: "salt.value", Reason: "is required when salt is given"})
		}
	}
	if pv, ok := top["password"]; ok && string(pv) != "null" {
		pw, e := customObject(pv, "password")
		if e != nil {
			return fail(e)
		}
		if in.PasswordEncoding, e = customString(pw, "password", "encoding"); e != nil {
			return fail(e)
		}
	}
	for _, p := range []struct {
		key string
		dst *uint64
	}{{"keylen", &in.KeyLen}, {"cost", &in.Cost}, {"blockSize", &in.BlockSize}, {"parallelization", &in.Parallelization}} {
		if *p.dst, e = customUint(top, p.key); e != nil {
			return fail(e)
		}
	}
	stored, err := passwords.FromCustom(in)
	if err != nil {
		var ce *passwords.CustomError
		if errors.As(err, &ce) {
			return fail(&Error{Field: ce.Field, Reason: ce.Reason})
		}
		return fail(&Error{Reason: "is invalid"})
	}
	if len(stored) > MaxStoredHashLen {
		return fail(&Error{Field: "hash.value", Reason: fmt.Sprintf("is too long to store (over %d characters once salt and key are added)", MaxStoredHashLen)})
	}
	return stored, nil
}
