package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Profile is a normalized profile as a source (a custom-database script, an
// upstream IdP) returned it, before it is merged into a cached User.
type Profile struct {
	UserID        string // the id at the source; required, stable
	Email         string
	EmailVerified bool
	Username      string
	PhoneNumber   string
	PhoneVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Nickname      string
	Picture       string
	UserMetadata  Metadata // seeds user_metadata when the user is first stored
	AppMetadata   Metadata // seeds app_metadata when the user is first stored
	// Extra holds attributes with no normalized field; they become the
	// identity's profile_data.
	Extra Metadata
}

// NormalizeProfile maps raw source attributes to a Profile: known aliases
// (id/user_id/sub → UserID, surname/last_name → FamilyName, first_name →
// GivenName, ...) are mapped, unknown attributes are kept in Extra. Numeric
// ids are turned into their decimal string. It returns a *Refusal
// (ReasonBadInput, Field "user_id" etc.) when the id is missing or empty, or
// when user_metadata/app_metadata are present but not objects.
//
// Aliases, matched exactly (case-sensitive); for each normalized field the
// first alias in this order holding a non-empty value wins, and every alias
// is consumed (none goes to Extra):
//
//	user_id        user_id, id, _id, userId, sub
//	email          email                                  (lower-cased)
//	email_verified email_verified, emailVerified
//	username       username, userName, user_name
//	phone_number   phone_number, phoneNumber, phone
//	phone_verified phone_verified, phoneVerified, phone_number_verified
//	name           name, full_name, fullName
//	given_name     given_name, givenName, first_name, firstName
//	family_name    family_name, familyName, last_name, lastName, surname
//	nickname       nickname
//	picture        picture, avatar, avatar_url, avatarUrl
//	user_metadata  user_metadata, userMetadata
//	app_metadata   app_metadata, appMetadata
//
// Value types: ids are strings or numbers (float64, json.Number, Go
// integers; a number becomes its decimal string, never with an exponent:
// 1e21 → "1000000000000000000000"); other text fields are strings; flags are
// booleans, the strings "true"/"false" (any case) or the numbers 1/0 (a
// MySQL TINYINT). null is the same as absent. A value of another type is a
// *Refusal naming the field (snake_case, as the source spells it).
//
// The legacy key "metadata" is NOT mapped: old Auth0 docs used it for
// app_metadata, which Auth0 has since declared obsolete, and guessing either
// object would let a script's stray key grant or expose data. It is kept in
// Extra like any unknown attribute.
//
// Keys that would put credentials into the stored, API-visible profile data
// are dropped: password, password_hash, passwordHash, access_token,
// refresh_token, id_token. Extra is nil when nothing is left; its values are
// shared with raw.
func NormalizeProfile(raw map[string]any) (Profile, error) {
	var p Profile
	id, err := profileID(raw)
	if err != nil {
		return Profile{}, err
	}
	if len(id) > MaxUserIDBytes {
		return Profile{}, badProfile("user_id", "the profile's user id is %d bytes long; the limit is %d", len(id), MaxUserIDBytes)
	}
	if err := noControl("user_id", id); err != nil {
		return Profile{}, err
	}
	p.UserID = id

	strs := [...]struct {
		dst *string
		a   profileAlias
	}{
		{&p.Email, aliasEmail},
		{&p.Username, aliasUsername},
		{&p.PhoneNumber, aliasPhoneNumber},
		{&p.Name, aliasName},
		{&p.GivenName, aliasGivenName},
		{&p.FamilyName, aliasFamilyName},
		{&p.Nickname, aliasNickname},
		{&p.Picture, aliasPicture},
	}
	for _, s := range strs {
		if *s.dst, err = profileString(raw, s.a); err != nil {
			return Profile{}, err
		}
	}
	p.Email = strings.ToLower(p.Email)
	// The same bounds as an admin's input: a script's profile reaches the
	// same store and the same screens.
	if len(p.Email) > maxEmailBytes {
		return Profile{}, badProfile("email", "the profile's email is %d bytes long; the limit is %d", len(p.Email), maxEmailBytes)
	}
	if err := noControl("email", p.Email); err != nil {
		return Profile{}, err
	}
	for _, a := range [...]struct{ field, v string }{
		{FieldUsername, p.Username}, {FieldPhoneNumber, p.PhoneNumber}, {FieldName, p.Name},
		{FieldGivenName, p.GivenName}, {FieldFamilyName, p.FamilyName}, {FieldNickname, p.Nickname}, {FieldPicture, p.Picture},
	} {
		if err := ValidateAttribute(a.field, a.v); err != nil {
			return Profile{}, err
		}
	}
	if p.EmailVerified, err = profileBool(raw, aliasEmailVerified); err != nil {
		return Profile{}, err
	}
	if p.PhoneVerified, err = profileBool(raw, aliasPhoneVerified); err != nil {
		return Profile{}, err
	}
	if p.UserMetadata, err = profileMetadata(raw, aliasUserMetadata); err != nil {
		return Profile{}, err
	}
	if p.AppMetadata, err = profileMetadata(raw, aliasAppMetadata); err != nil {
		return Profile{}, err
	}

	for _, md := range [...]struct {
		field string
		m     Metadata
	}{{FieldUserMetadata, p.UserMetadata}, {FieldAppMetadata, p.AppMetadata}} {
		if err := boundedMetadata(md.field, md.m); err != nil {
			return Profile{}, err
		}
	}

	for k, v := range raw {
		if knownProfileKey(k) || droppedProfileKey(k) {
			continue
		}
		if p.Extra == nil {
			p.Extra = Metadata{}
		}
		p.Extra[k] = v
	}
	if err := boundedMetadata("attributes", p.Extra); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// boundedMetadata applies the default Limits.MetadataMaxBytes to an object
// a script returned (the keys are the customer's legacy data: only the size
// is checked, as it would be for an admin's input).
func boundedMetadata(field string, m Metadata) error {
	if len(m) == 0 {
		return nil
	}
	n, err := MetadataSize(m)
	if err != nil {
		return badProfile(field, "the profile's %s is not serializable as JSON: %v", field, err)
	}
	if max := DefaultLimits().MetadataMaxBytes; n > max {
		return badProfile(field, "the profile's %s is %d bytes as JSON, over the limit of %d bytes", field, n, max)
	}
	return nil
}

// MaxUserIDBytes bounds a user id (an admin's and a script's alike).
const MaxUserIDBytes = 255

// maxEmailBytes is ValidateEmail's bound.
const maxEmailBytes = 254

func noControl(field, v string) error {
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return badProfile(field, "the profile's %s contains a control character", field)
		}
	}
	return nil
}

// profileAlias is a normalized field and the raw keys that map to it, in
// priority order.
type profileAlias struct {
	field string
	keys  []string
}

// The alias table (read-only).
var (
	aliasUserID        = profileAlias{"user_id", []string{"user_id", "id", "_id", "userId", "sub"}}
	aliasEmail         = profileAlias{"email", []string{"email"}}
	aliasEmailVerified = profileAlias{"email_verified", []string{"email_verified", "emailVerified"}}
	aliasUsername      = profileAlias{"username", []string{"username", "userName", "user_name"}}
	aliasPhoneNumber   = profileAlias{"phone_number", []string{"phone_number", "phoneNumber", "phone"}}
	aliasPhoneVerified = profileAlias{"phone_verified", []string{"phone_verified", "phoneVerified", "phone_number_verified"}}
	aliasName          = profileAlias{"name", []string{"name", "full_name", "fullName"}}
	aliasGivenName     = profileAlias{"given_name", []string{"given_name", "givenName", "first_name", "firstName"}}
	aliasFamilyName    = profileAlias{"family_name", []string{"family_name", "familyName", "last_name", "lastName", "surname"}}
	aliasNickname      = profileAlias{"nickname", []string{"nickname"}}
	aliasPicture       = profileAlias{"picture", []string{"picture", "avatar", "avatar_url", "avatarUrl"}}
	aliasUserMetadata  = profileAlias{"user_metadata", []string{"user_metadata", "userMetadata"}}
	aliasAppMetadata   = profileAlias{"app_metadata", []string{"app_metadata", "appMetadata"}}
)

func knownProfileKey(k string) bool {
	for _, a := range [...]*profileAlias{
		&aliasUserID, &aliasEmail, &aliasEmailVerified, &aliasUsername, &aliasPhoneNumber,
		&aliasPhoneVerified, &aliasName, &aliasGivenName, &aliasFamilyName, &aliasNickname,
		&aliasPicture, &aliasUserMetadata, &aliasAppMetadata,
	} {
		for _, ak := range a.keys {
			if ak == k {
				return true
			}
		}
	}
	return false
}

func droppedProfileKey(k string) bool {
	switch k {
	case "password", "password_hash", "passwordHash", "access_token", "refresh_token", "id_token":
		return true
	}
	return false
}

func badProfile(field, format string, args ...any) error {
	return refuse(ReasonBadInput, field, format, args...)
}

// profileID finds the source id: the first alias with a non-empty value.
func profileID(raw map[string]any) (string, error) {
	for _, k := range aliasUserID.keys {
		v, ok := raw[k]
		if !ok || v == nil {
			continue
		}
		id, err := idString(v)
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(id) != "" {
			return id, nil
		}
	}
	return "", badProfile("user_id", "the profile has no user id (user_id, id, _id, userId or sub); a script must return a stable, non-empty id")
}

// idString turns an id value into its decimal or string form.
func idString(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case json.Number:
		return numberString(string(t))
	case float64:
		return floatString(t)
	case float32:
		return floatString(float64(t))
	case int:
		return strconv.FormatInt(int64(t), 10), nil
	case int8:
		return strconv.FormatInt(int64(t), 10), nil
	case int16:
		return strconv.FormatInt(int64(t), 10), nil
	case int32:
		return strconv.FormatInt(int64(t), 10), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint:
		return strconv.FormatUint(uint64(t), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(t), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(t), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(t), 10), nil
	case uint64:
		return strconv.FormatUint(t, 10), nil
	}
	return "", badProfile("user_id", "the profile's user id must be a string or a number, not %T", v)
}

func floatString(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", badProfile("user_id", "the profile's user id is not a finite number")
	}
	if f == 0 {
		return "0", nil // also -0
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// numberString turns a JSON number literal into a decimal without exponent,
// exactly for integers of any size.
func numberString(s string) (string, error) {
	bad := badProfile("user_id", "the profile's user id %q is not a usable number", s)
	if s == "" || !isDigit(s[len(s)-1]) || !(s[0] == '-' || isDigit(s[0])) || !json.Valid([]byte(s)) {
		return "", bad
	}
	if digits := strings.TrimPrefix(s, "-"); strings.Trim(digits, "0123456789") == "" {
		if strings.Trim(digits, "0") == "" {
			return "0", nil
		}
		return s, nil
	}
	// An exponent far out of range would make big.Rat build a huge number.
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if e, err := strconv.Atoi(s[i+1:]); err != nil || e > 400 || e < -400 {
			return "", bad
		}
	}
	var r big.Rat
	if _, ok := r.SetString(s); !ok {
		return "", bad
	}
	if r.IsInt() {
		return r.Num().String(), nil
	}
	f, _ := r.Float64()
	return floatString(f)
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// profileString returns the first non-empty string among a's keys.
func profileString(raw map[string]any, a profileAlias) (string, error) {
	for _, k := range a.keys {
		v, ok := raw[k]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return "", badProfile(a.field, "the profile's %s must be a string, not %T", k, v)
		}
		if s != "" {
			return s, nil
		}
	}
	return "", nil
}

// profileBool returns the first flag among a's keys.
func profileBool(raw map[string]any, a profileAlias) (bool, error) {
	for _, k := range a.keys {
		v, ok := raw[k]
		if !ok || v == nil {
			continue
		}
		switch t := v.(type) {
		case bool:
			return t, nil
		case string:
			switch {
			case strings.EqualFold(t, "true"):
				return true, nil
			case strings.EqualFold(t, "false"):
				return false, nil
			}
		case float64:
			if t == 0 || t == 1 {
				return t == 1, nil
			}
		case json.Number:
			switch t {
			case "0", "1":
				return t == "1", nil
			}
		case int:
			if t == 0 || t == 1 {
				return t == 1, nil
			}
		case int64:
			if t == 0 || t == 1 {
				return t == 1, nil
			}
		}
		return false, badProfile(a.field, "the profile's %s must be a boolean (or \"true\"/\"false\", 1/0)", k)
	}
	return false, nil
}

// profileMetadata returns the first object among a's keys.
func profileMetadata(raw map[string]any, a profileAlias) (Metadata, error) {
	for _, k := range a.keys {
		v, ok := raw[k]
		if !ok || v == nil {
			continue
		}
		m, ok := MetadataFrom(v)
		if !ok {
			return nil, badProfile(a.field, "the profile's %s must be a JSON object, not %s", k, jsonKind(v))
		}
		return m, nil
	}
	return nil, nil
}

// MetadataFrom returns v as Metadata when it is a JSON object (Metadata or
// map[string]any); ok is false for anything else, nil included. The map is
// not copied.
func MetadataFrom(v any) (m Metadata, ok bool) {
	switch t := v.(type) {
	case Metadata:
		return t, t != nil
	case map[string]any:
		return Metadata(t), t != nil
	}
	return nil, false
}

// jsonKind names the JSON type of v, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, json.Number, int, int64, int32:
		return "a number"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
