package policy

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidateMetadata checks one metadata object (or patch) against the rules
// of POLICY.md: key names non-empty and without '.' or '$', serialized size
// at most lim.MetadataMaxBytes, and for app metadata (app == true) no key
// that names a profile field. Returns a *Refusal with ReasonBadInput and the
// field (FieldUserMetadata or FieldAppMetadata).
//
// Checks run in this order, and the first failure is returned:
//  1. the object serializes to JSON (no NaN, infinities, channels, cycles)
//     and its size (see MetadataSize) is within the limit;
//  2. key names, at every depth, including objects inside arrays: nested
//     keys are checked too because search addresses metadata by dotted path
//     (user_metadata.address.city), which a key holding '.' or '$' breaks;
//  3. for app metadata, top-level keys that name profile fields (see
//     ReservedAppMetadataKey).
//
// A nil m is valid (nothing asked). Values of nil (a patch removing a key)
// are valid.
func ValidateMetadata(m Metadata, app bool, lim Limits) error {
	lim = lim.withDefaults()
	field := FieldUserMetadata
	if app {
		field = FieldAppMetadata
	}
	if len(m) == 0 {
		return nil
	}
	// Size first: it bounds the depth of the key walk below (and json
	// detects cycles a hand-written walk would loop on).
	n, err := MetadataSize(m)
	if err != nil {
		return refuse(ReasonBadInput, field, "%s is not serializable as JSON: %v", field, err)
	}
	if n > lim.MetadataMaxBytes {
		return refuse(ReasonBadInput, field, "%s is %d bytes as JSON, over the limit of %d bytes", field, n, lim.MetadataMaxBytes)
	}
	if err := checkKeys(field, "", m); err != nil {
		return err
	}
	if app {
		for k := range m {
			if ReservedAppMetadataKey(k) {
				return refuse(ReasonBadInput, field, "%s may not use the key %q: it names a profile field", field, k)
			}
		}
	}
	return nil
}

// checkKeys walks v and refuses the first bad key name. path is the dotted
// location of v, for the message.
func checkKeys(field, path string, v any) error {
	switch t := v.(type) {
	case nil, string, bool, float64, json.Number:
		return nil
	case Metadata:
		return checkMapKeys(field, path, t)
	case map[string]any:
		return checkMapKeys(field, path, t)
	case []any:
		for _, e := range t {
			if err := checkKeys(field, path+"[]", e); err != nil {
				return err
			}
		}
		return nil
	}
	// Values built in Go rather than decoded from JSON (map[string]string,
	// []map[string]any, structs are leaves...).
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return checkKeys(field, path, rv.Elem().Interface())
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil
		}
		it := rv.MapRange()
		for it.Next() {
			k := it.Key().String()
			if err := checkKey(field, path, k); err != nil {
				return err
			}
			if err := checkKeys(field, joinPath(path, k), it.Value().Interface()); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 { // []byte: a base64 string
			return nil
		}
		for i := 0; i < rv.Len(); i++ {
			if err := checkKeys(field, path+"[]", rv.Index(i).Interface()); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkMapKeys(field, path string, m map[string]any) error {
	for k, v := range m {
		if err := checkKey(field, path, k); err != nil {
			return err
		}
		if err := checkKeys(field, joinPath(path, k), v); err != nil {
			return err
		}
	}
	return nil
}

func checkKey(field, path, k string) error {
	where := ""
	if path != "" {
		where = " (in " + path + ")"
	}
	if k == "" {
		return refuse(ReasonBadInput, field, "%s has an empty key name%s", field, where)
	}
	if strings.ContainsAny(k, ".$") {
		return refuse(ReasonBadInput, field, "%s key %q%s contains '.' or '$'; use nested objects instead", field, k, where)
	}
	return nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// MetadataSize is the size in bytes of m serialized as compact JSON without
// HTML escaping ('<' counts as one byte, as a client sends it). This is the
// measure of Limits.MetadataMaxBytes. It fails when m is not serializable.
func MetadataSize(m Metadata) (int, error) {
	if m == nil {
		return len("{}"), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any(m)); err != nil {
		return 0, err
	}
	return buf.Len() - 1, nil // Encode appends a newline
}

// ReservedAppMetadataKey reports whether k names a profile field and so may
// not be a top-level app_metadata key. The match is exact (case-sensitive)
// and covers the snake_case names of the normalized profile, the camelCase
// names of the API, and the keys Auth0 reserves.
func ReservedAppMetadataKey(k string) bool {
	switch k {
	case "id", "_id", "user_id", "userId",
		"email", "email_verified", "emailVerified",
		"username", "phone_number", "phoneNumber", "phone_verified", "phoneVerified",
		"name", "given_name", "givenName", "family_name", "familyName", "nickname", "picture",
		"identities", "connection", "blocked", "blocked_for",
		"created_at", "createdAt", "updated_at", "updatedAt",
		"logins_count", "loginsCount", "last_login", "lastLogin", "last_ip", "lastIp", "lastIP",
		"last_password_reset", "password", "migrated",
		"user_metadata", "userMetadata", "app_metadata", "appMetadata", "metadata",
		"multifactor", "multifactor_last_modified",
		"__tenant", "clientID", "globalClientID", "global_client_id":
		return true
	}
	return false
}

// MergeMetadata applies a patch to a metadata object: each top-level key of
// patch replaces that key, a nil value removes it, other keys are kept;
// nested objects are replaced whole. A non-nil empty patch clears the object.
// A nil patch returns a copy of old.
// It never mutates old; the result is never nil. The copy is shallow: nested
// values are shared with old and patch, and must be treated as immutable.
func MergeMetadata(old, patch Metadata) Metadata {
	if patch != nil && len(patch) == 0 {
		return Metadata{}
	}
	out := make(Metadata, len(old)+len(patch))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// metadataChanged reports whether merging patch into old changes it. Values
// are compared with reflect.DeepEqual, so a value of another Go type that
// serializes the same (json.Number vs float64) counts as a change.
func metadataChanged(old, patch Metadata) bool {
	if len(patch) == 0 {
		return patch != nil && len(old) > 0
	}
	for k, v := range patch {
		ov, had := old[k]
		if v == nil {
			if had {
				return true
			}
			continue
		}
		if !had || !reflect.DeepEqual(ov, v) {
			return true
		}
	}
	return false
}

// ValidateEmail checks an email address (one '@', non-empty local part and
// domain, no spaces, at most 254 bytes) and returns the normalized form
// (domain lower-cased; the whole address lower-cased, as stored).
//
// Also refused: invalid UTF-8, control characters, a local part over 64
// bytes, a domain starting or ending with '.' or holding "..". Quoted local
// parts holding '@' are not supported. The message never repeats the
// address. The Refusal's field is FieldEmail.
func ValidateEmail(email string) (string, error) {
	bad := func(why string) error {
		return refuse(ReasonBadInput, FieldEmail, "email %s", why)
	}
	if email == "" {
		return "", bad("is required")
	}
	if !utf8.ValidString(email) {
		return "", bad("is not valid UTF-8")
	}
	for _, r := range email {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", bad("must not contain spaces or control characters")
		}
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || strings.Contains(domain, "@") {
		return "", bad("must contain exactly one '@'")
	}
	if local == "" {
		return "", bad("has an empty local part (before '@')")
	}
	if domain == "" {
		return "", bad("has an empty domain (after '@')")
	}
	if len(local) > 64 {
		return "", bad("has a local part longer than 64 bytes")
	}
	if strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", bad("has an invalid domain")
	}
	norm := strings.ToLower(email)
	if len(norm) > 254 { // measured after lower-casing: a few runes grow
		return "", bad("is longer than 254 bytes")
	}
	return norm, nil
}

// ValidatePassword checks a password's length in bytes against lim (zero
// fields of lim mean their defaults). The message never repeats the
// password. The Refusal's field is FieldPassword.
func ValidatePassword(pw string, lim Limits) error {
	lim = lim.withDefaults()
	if len(pw) < lim.PasswordMinBytes {
		return refuse(ReasonBadInput, FieldPassword, "password must be at least %d bytes", lim.PasswordMinBytes)
	}
	if len(pw) > lim.PasswordMaxBytes {
		return refuse(ReasonBadInput, FieldPassword, "password must be at most %d bytes", lim.PasswordMaxBytes)
	}
	return nil
}

// FieldConnectionName is the field a connection-name refusal names (the
// createConnection input's name).
const FieldConnectionName = "name"

// ValidateConnectionName: lower-case letters, digits and dashes, starting and
// ending with a letter or digit, at most 35 characters. Returns a *Refusal
// (ReasonBadInput, FieldConnectionName).
func ValidateConnectionName(name string) error {
	bad := func(why string) error {
		return refuse(ReasonBadInput, FieldConnectionName, "connection name %s", why)
	}
	if name == "" {
		return bad("is required")
	}
	if len(name) > 35 {
		return bad("must be at most 35 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 {
				return bad("must start and end with a lower-case letter or digit")
			}
		default:
			return bad("may hold only lower-case letters, digits and dashes")
		}
	}
	return nil
}

// MaxAttributeBytes bounds the profile's text fields, in bytes (the store's
// columns hold them; anything longer is refused as BAD_USER_INPUT rather
// than reaching the store).
var MaxAttributeBytes = map[string]int{
	FieldUsername:    128,
	FieldPhoneNumber: 32,
	FieldName:        300,
	FieldGivenName:   150,
	FieldFamilyName:  150,
	FieldNickname:    300,
	FieldPicture:     2048,
}

// ValidateAttribute checks one text field of the profile against its bound
// and refuses control characters (a profile field is shown to people).
func ValidateAttribute(field, v string) error {
	if max, ok := MaxAttributeBytes[field]; ok && len(v) > max {
		return refuse(ReasonBadInput, field, "%s is %d bytes long; the limit is %d", field, len(v), max)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return refuse(ReasonBadInput, field, "%s contains a control character", field)
		}
	}
	return nil
}

// MaxUsernameLength is the longest username of a DATABASE connection that
// requires usernames: Auth0's default bound (1 to 15 characters).
const MaxUsernameLength = 15

// usernamePunct are the characters besides a-z and 0-9 that Auth0 allows
// in a database connection's usernames.
const usernamePunct = "_.-+!#$^~'@`"

// NormalizeUsername checks the username of a DATABASE connection's user
// (Auth0's rules: 1 to MaxUsernameLength characters, ASCII letters and
// digits and _ . - + ! # $ ^ ~ ' @ `, not an email address) and returns it
// lower-cased, as stored and matched. The Refusal's field is FieldUsername;
// the message does not repeat the username.
func NormalizeUsername(u string) (string, error) {
	bad := func(why string) error {
		return refuse(ReasonBadInput, FieldUsername, "username %s", why)
	}
	switch {
	case u == "":
		return "", bad("is required")
	case len(u) > MaxUsernameLength:
		return "", refuse(ReasonBadInput, FieldUsername, "username must be at most %d characters", MaxUsernameLength)
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(usernamePunct, c) >= 0) {
			return "", bad("may hold only letters a-z, digits and _ . - + ! # $ ^ ~ ' @ `")
		}
	}
	if _, err := ValidateEmail(u); err == nil && strings.Contains(u[strings.IndexByte(u, '@'):], ".") {
		return "", bad("must not be an email address")
	}
	return strings.ToLower(u), nil
}

// CheckLoginUsername checks a username typed at a login (or given to
// get_user) on a custom database, where the legacy system's own rules
// apply (WordPress logins may hold spaces, Django's '@' and '+'): 1 to
// MaxAttributeBytes[FieldUsername] bytes of UTF-8 without control
// characters.
func CheckLoginUsername(u string) error {
	switch {
	case u == "":
		return refuse(ReasonBadInput, FieldUsername, "username is required")
	case !utf8.ValidString(u):
		return refuse(ReasonBadInput, FieldUsername, "username is not valid UTF-8")
	}
	return ValidateAttribute(FieldUsername, u)
}
