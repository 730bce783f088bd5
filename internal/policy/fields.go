package policy

// FieldKind is the type of a profile field's value, as the search language
// compares it and an export writes it.
type FieldKind int

// The kinds of profile fields.
const (
	KindText       FieldKind = iota + 1 // case-sensitive text
	KindFold                            // text compared case-insensitively
	KindEmail                           // text stored lower-cased
	KindBool                            // true / false
	KindInt                             // int64
	KindDate                            // a time (UTC)
	KindMetadata                        // a JSON object (Metadata)
	KindIdentities                      // the list of identities
	KindSecret                          // a password hash: never searched or claimed
)

// FieldSpec describes one field of the normalized profile (snake_case, as
// Auth0 names it) and where it appears. A new field is one line of
// ProfileFields; every reader (import, export, search, sort, ID token)
// takes its list from there.
type FieldSpec struct {
	Name   string // the field's name: import/export key, search field
	Column string // the users table column ("" when not stored as one)
	Claim  string // the ID token claim ("" when not in the ID token)
	// ClaimWith names the field without which the claim is left out
	// (email_verified says nothing without an email).
	ClaimWith string
	Kind      FieldKind // the value's type
	// Nullable: the column is NULL when the value is absent (empty).
	Nullable bool
	// Import: an import row may carry it.
	Import bool
	// Export: an export writes it by default; ExportAsked: only when the
	// export lists it explicitly.
	Export, ExportAsked bool
	// Search: a search query may name it; Sort: a search may sort on it.
	Search, Sort bool
	// Upsert: an import that finds the user already stored overwrites it
	// with the row's value when the row gives it (Set copies the value).
	Upsert bool
	// Get is the user's value: a string, bool, int64, time.Time, Metadata
	// or []Identity; nil when a nullable time is unset. Nil Get: the field
	// is not a User's (import-only input such as custom_password_hash).
	Get func(User) any
	// Set stores a value of Get's type in the user (Upsert fields).
	Set func(*User, any)
}

// ProfileFields is the table of the profile's fields, in default export
// order (export-only-when-asked and import-only fields last).
var ProfileFields = []FieldSpec{
	{Name: "user_id", Column: "id", Kind: KindText, Import: true, Export: true, Search: true, Sort: true, Get: func(u User) any { return u.ID }},
	{Name: "email", Column: "email", Claim: "email", Kind: KindEmail, Nullable: true, Import: true, Export: true, Search: true, Sort: true, Get: func(u User) any { return u.Email }},
	{Name: "email_verified", Column: "email_verified", Claim: "email_verified", ClaimWith: "email", Kind: KindBool, Import: true, Export: true, Search: true, Sort: true, Upsert: true, Get: func(u User) any { return u.EmailVerified }, Set: func(u *User, v any) { u.EmailVerified = v.(bool) }},
	{Name: "username", Column: "username", Kind: KindText, Nullable: true, Import: true, Export: true, Search: true, Sort: true, Get: func(u User) any { return u.Username }},
	{Name: "phone_number", Column: "phone_number", Kind: KindText, Import: true, Export: true, Search: true, Get: func(u User) any { return u.PhoneNumber }},
	{Name: "phone_verified", Column: "phone_verified", Kind: KindBool, Import: true, Export: true, Search: true, Get: func(u User) any { return u.PhoneVerified }},
	{Name: "name", Column: "name", Claim: "name", Kind: KindFold, Import: true, Export: true, Search: true, Sort: true, Upsert: true, Get: func(u User) any { return u.Name }, Set: func(u *User, v any) { u.Name = v.(string) }},
	{Name: "given_name", Column: "given_name", Claim: "given_name", Kind: KindFold, Import: true, Export: true, Search: true, Sort: true, Upsert: true, Get: func(u User) any { return u.GivenName }, Set: func(u *User, v any) { u.GivenName = v.(string) }},
	{Name: "family_name", Column: "family_name", Claim: "family_name", Kind: KindFold, Import: true, Export: true, Search: true, Sort: true, Upsert: true, Get: func(u User) any { return u.FamilyName }, Set: func(u *User, v any) { u.FamilyName = v.(string) }},
	{Name: "nickname", Column: "nickname", Claim: "nickname", Kind: KindFold, Import: true, Export: true, Search: true, Sort: true, Upsert: true, Get: func(u User) any { return u.Nickname }, Set: func(u *User, v any) { u.Nickname = v.(string) }},
	{Name: "picture", Column: "picture", Claim: "picture", Kind: KindText, Import: true, Export: true, Upsert: true, Get: func(u User) any { return u.Picture }, Set: func(u *User, v any) { u.Picture = v.(string) }},
	{Name: "blocked", Column: "blocked", Kind: KindBool, Import: true, Export: true, Search: true, Sort: true, Get: func(u User) any { return u.Blocked }},
	{Name: "created_at", Column: "created_at", Kind: KindDate, Import: true, Export: true, Search: true, Sort: true, Get: func(u User) any { return u.CreatedAt }},
	{Name: "updated_at", Column: "updated_at", Claim: "updated_at", Kind: KindDate, Import: true, Export: true, Search: true, Sort: true, Get: func(u User) any { return u.UpdatedAt }},
	{Name: "last_login", Column: "last_login", Kind: KindDate, Nullable: true, Import: true, Export: true, Search: true, Sort: true, Get: lastLogin},
	{Name: "last_ip", Column: "last_ip", Kind: KindText, Import: true, Export: true, Search: true, Get: func(u User) any { return u.LastIP }},
	{Name: "logins_count", Column: "logins_count", Kind: KindInt, Import: true, Export: true, Search: true, Sort: true, Get: func(u User) any { return u.LoginsCount }},
	{Name: "identities", Column: "identities", Kind: KindIdentities, Import: true, Export: true, Get: func(u User) any { return u.Identities }},
	// Metadata is searched by path (user_metadata.<path>), never whole.
	{Name: "user_metadata", Column: "user_metadata", Kind: KindMetadata, Import: true, Export: true, Upsert: true, Get: func(u User) any { return u.UserMetadata }, Set: func(u *User, v any) { u.UserMetadata = v.(Metadata) }},
	{Name: "app_metadata", Column: "app_metadata", Kind: KindMetadata, Import: true, Export: true, Upsert: true, Get: func(u User) any { return u.AppMetadata }, Set: func(u *User, v any) { u.AppMetadata = v.(Metadata) }},
	{Name: "connection", Column: "connection", Kind: KindText, Import: true, ExportAsked: true, Search: true, Sort: true, Get: func(u User) any { return u.Connection }},
	{Name: "password_hash", Column: "password_hash", Kind: KindSecret, Import: true, ExportAsked: true, Get: func(u User) any { return u.PasswordHash }},
	// A hash in another system's format, converted on import; not stored.
	{Name: "custom_password_hash", Kind: KindSecret, Import: true},
}

func lastLogin(u User) any {
	if u.LastLogin == nil {
		return nil
	}
	return *u.LastLogin
}

var fieldIndex = func() map[string]int {
	m := make(map[string]int, len(ProfileFields))
	for i, f := range ProfileFields {
		m[f.Name] = i
	}
	return m
}()

// LookupField returns the profile field called name.
func LookupField(name string) (FieldSpec, bool) {
	i, ok := fieldIndex[name]
	if !ok {
		return FieldSpec{}, false
	}
	return ProfileFields[i], true
}

// FieldNames lists, in table order, the names of the fields for which keep
// is true.
func FieldNames(keep func(FieldSpec) bool) []string {
	var out []string
	for _, f := range ProfileFields {
		if keep(f) {
			out = append(out, f.Name)
		}
	}
	return out
}

// Value is u's value of the field, nil when the field is not a User's or
// a nullable time is unset.
func (f FieldSpec) Value(u User) any {
	if f.Get == nil {
		return nil
	}
	return f.Get(u)
}
