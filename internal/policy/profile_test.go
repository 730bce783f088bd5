package policy

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNormalizeProfileID(t *testing.T) {
	good := []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"user_id string", map[string]any{"user_id": "abc"}, "abc"},
		{"id string", map[string]any{"id": "abc"}, "abc"},
		{"_id", map[string]any{"_id": "5f1"}, "5f1"},
		{"userId", map[string]any{"userId": "u1"}, "u1"},
		{"sub", map[string]any{"sub": "google-123"}, "google-123"},
		{"user_id wins over id", map[string]any{"id": "b", "user_id": "a"}, "a"},
		{"empty user_id falls back to id", map[string]any{"user_id": "", "id": "b"}, "b"},
		{"null user_id falls back to id", map[string]any{"user_id": nil, "id": 7.0}, "7"},
		{"float64 integer", map[string]any{"id": 42.0}, "42"},
		{"float64 zero", map[string]any{"id": 0.0}, "0"},
		{"float64 negative zero", map[string]any{"id": math.Copysign(0, -1)}, "0"},
		{"float64 negative", map[string]any{"id": -17.0}, "-17"},
		{"float64 large, no exponent", map[string]any{"id": 1e21}, "1000000000000000000000"},
		{"float64 2^53", map[string]any{"id": 9007199254740992.0}, "9007199254740992"},
		{"float64 fraction", map[string]any{"id": 1.5}, "1.5"},
		{"json.Number beyond float64 precision", map[string]any{"id": json.Number("12345678901234567891")}, "12345678901234567891"},
		{"json.Number with exponent", map[string]any{"id": json.Number("1e3")}, "1000"},
		{"json.Number with fraction and exponent", map[string]any{"id": json.Number("1.5e1")}, "15"},
		{"json.Number big exponent, exact", map[string]any{"id": json.Number("12345678901234567891e2")}, "1234567890123456789100"},
		{"json.Number fraction", map[string]any{"id": json.Number("2.5")}, "2.5"},
		{"json.Number -0", map[string]any{"id": json.Number("-0")}, "0"},
		{"int", map[string]any{"id": 42}, "42"},
		{"int64", map[string]any{"id": int64(-9)}, "-9"},
		{"uint64 max", map[string]any{"id": uint64(math.MaxUint64)}, "18446744073709551615"},
		{"int32", map[string]any{"id": int32(5)}, "5"},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NormalizeProfile(tt.raw)
			mustNoErr(t, err)
			if p.UserID != tt.want {
				t.Errorf("UserID = %q, want %q", p.UserID, tt.want)
			}
			if p.Extra != nil {
				t.Errorf("id aliases leaked into Extra: %v", p.Extra)
			}
		})
	}
	bad := []struct {
		name string
		raw  map[string]any
	}{
		{"nil raw", nil},
		{"no id", map[string]any{"email": "a@b.c"}},
		{"empty id", map[string]any{"user_id": ""}},
		{"blank id", map[string]any{"id": "   "}},
		{"null id", map[string]any{"id": nil}},
		{"bool id", map[string]any{"id": true}},
		{"object id", map[string]any{"id": map[string]any{"x": 1.0}}},
		{"NaN id", map[string]any{"id": math.NaN()}},
		{"infinite id", map[string]any{"id": math.Inf(1)}},
		{"json.Number not a number", map[string]any{"id": json.Number("abc")}},
		{"json.Number hex", map[string]any{"id": json.Number("0x10")}},
		{"json.Number fraction form", map[string]any{"id": json.Number("1/2")}},
		{"json.Number huge exponent", map[string]any{"id": json.Number("1e1000000000")}},
		{"json.Number tiny exponent", map[string]any{"id": json.Number("1e-1000000000")}},
	}
	for _, tt := range bad {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			_, err := NormalizeProfile(tt.raw)
			wantRefusal(t, err, ReasonBadInput, "user_id")
		})
	}
}

func TestNormalizeProfileFields(t *testing.T) {
	raw := map[string]any{
		"id":             "42",
		"email":          "Ada@Example.COM",
		"email_verified": "TRUE",
		"user_name":      "ada",
		"phone":          "+15550000000",
		"phoneVerified":  1.0,
		"name":           "Ada Lovelace",
		"first_name":     "Ada",
		"surname":        "Lovelace",
		"nickname":       "ada",
		"avatar":         "https://example.com/a.png",
		"user_metadata":  map[string]any{"lang": "en"},
		"app_metadata":   map[string]any{"plan": "pro"},
		"metadata":       map[string]any{"legacy": true},
		"department":     "R&D",
		"password":       "$2b$10$hash",
		"access_token":   "secret",
	}
	p, err := NormalizeProfile(raw)
	mustNoErr(t, err)
	want := Profile{
		UserID:        "42",
		Email:         "ada@example.com",
		EmailVerified: true,
		Username:      "ada",
		PhoneNumber:   "+15550000000",
		PhoneVerified: true,
		Name:          "Ada Lovelace",
		GivenName:     "Ada",
		FamilyName:    "Lovelace",
		Nickname:      "ada",
		Picture:       "https://example.com/a.png",
		UserMetadata:  Metadata{"lang": "en"},
		AppMetadata:   Metadata{"plan": "pro"},
		Extra:         Metadata{"metadata": map[string]any{"legacy": true}, "department": "R&D"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}

	aliases := []struct {
		key   string
		value any
		get   func(Profile) any
		want  any
	}{
		{"surname", "L", func(p Profile) any { return p.FamilyName }, "L"},
		{"last_name", "L", func(p Profile) any { return p.FamilyName }, "L"},
		{"lastName", "L", func(p Profile) any { return p.FamilyName }, "L"},
		{"familyName", "L", func(p Profile) any { return p.FamilyName }, "L"},
		{"first_name", "G", func(p Profile) any { return p.GivenName }, "G"},
		{"firstName", "G", func(p Profile) any { return p.GivenName }, "G"},
		{"givenName", "G", func(p Profile) any { return p.GivenName }, "G"},
		{"phone_number", "+1", func(p Profile) any { return p.PhoneNumber }, "+1"},
		{"phoneNumber", "+1", func(p Profile) any { return p.PhoneNumber }, "+1"},
		{"picture", "u", func(p Profile) any { return p.Picture }, "u"},
		{"avatar_url", "u", func(p Profile) any { return p.Picture }, "u"},
		{"full_name", "N", func(p Profile) any { return p.Name }, "N"},
		{"userName", "U", func(p Profile) any { return p.Username }, "U"},
		{"emailVerified", true, func(p Profile) any { return p.EmailVerified }, true},
		{"email_verified", "false", func(p Profile) any { return p.EmailVerified }, false},
		{"email_verified", json.Number("1"), func(p Profile) any { return p.EmailVerified }, true},
		{"email_verified", 0, func(p Profile) any { return p.EmailVerified }, false},
		{"phone_number_verified", true, func(p Profile) any { return p.PhoneVerified }, true},
		{"userMetadata", map[string]any{"a": 1.0}, func(p Profile) any { return p.UserMetadata }, Metadata{"a": 1.0}},
		{"appMetadata", Metadata{"a": 1.0}, func(p Profile) any { return p.AppMetadata }, Metadata{"a": 1.0}},
	}
	for _, a := range aliases {
		t.Run("alias "+a.key, func(t *testing.T) {
			p, err := NormalizeProfile(map[string]any{"id": "1", a.key: a.value})
			mustNoErr(t, err)
			if got := a.get(p); !reflect.DeepEqual(got, a.want) {
				t.Errorf("%s → %v, want %v", a.key, got, a.want)
			}
			if p.Extra != nil {
				t.Errorf("alias %s left in Extra: %v", a.key, p.Extra)
			}
		})
	}

	t.Run("canonical name wins over an alias", func(t *testing.T) {
		p, err := NormalizeProfile(map[string]any{"id": "1", "family_name": "F", "surname": "S", "last_name": "L"})
		mustNoErr(t, err)
		if p.FamilyName != "F" {
			t.Errorf("FamilyName = %q", p.FamilyName)
		}
	})
	t.Run("empty canonical value falls back to an alias", func(t *testing.T) {
		p, err := NormalizeProfile(map[string]any{"id": "1", "family_name": "", "surname": "S"})
		mustNoErr(t, err)
		if p.FamilyName != "S" {
			t.Errorf("FamilyName = %q", p.FamilyName)
		}
	})
	t.Run("only an id: everything else zero, Extra nil", func(t *testing.T) {
		p, err := NormalizeProfile(map[string]any{"id": "1", "email": nil, "user_metadata": nil})
		mustNoErr(t, err)
		if !reflect.DeepEqual(p, Profile{UserID: "1"}) {
			t.Errorf("got %+v", p)
		}
	})

	bad := []struct {
		name  string
		raw   map[string]any
		field string
	}{
		{"user_metadata a string", map[string]any{"id": "1", "user_metadata": "x"}, "user_metadata"},
		{"user_metadata an array", map[string]any{"id": "1", "user_metadata": []any{"x"}}, "user_metadata"},
		{"app_metadata a number", map[string]any{"id": "1", "app_metadata": 3.0}, "app_metadata"},
		{"appMetadata a bool", map[string]any{"id": "1", "appMetadata": true}, "app_metadata"},
		{"email_verified not a flag", map[string]any{"id": "1", "email_verified": "yes"}, "email_verified"},
		{"email_verified 2", map[string]any{"id": "1", "email_verified": 2.0}, "email_verified"},
		{"phone_verified an object", map[string]any{"id": "1", "phone_verified": map[string]any{}}, "phone_verified"},
		{"nickname a number", map[string]any{"id": "1", "nickname": 5.0}, "nickname"},
		{"email a bool", map[string]any{"id": "1", "email": false}, "email"},
		{"id checked first", map[string]any{"nickname": 5.0}, "user_id"},
	}
	for _, tt := range bad {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			_, err := NormalizeProfile(tt.raw)
			wantRefusal(t, err, ReasonBadInput, tt.field)
		})
	}
}

func TestApplyLogin(t *testing.T) {
	legacy := Connection{Name: "legacy", Strategy: StrategyCustomDatabase, Actions: allActions()}
	legacySync := legacy
	legacySync.SyncUserProfile = true
	first := Profile{
		UserID: "42", Email: "Ada@Example.com", EmailVerified: true, Username: "ada",
		Name: "Ada", GivenName: "Ada", FamilyName: "L", Nickname: "ada", Picture: "p1",
		UserMetadata: Metadata{"lang": "en"}, AppMetadata: Metadata{"plan": "free"},
		Extra: Metadata{"dept": "R&D"},
	}

	t.Run("first login builds the user and seeds metadata", func(t *testing.T) {
		u := ApplyLogin(nil, first, legacy, "192.0.2.7", now)
		at := now
		want := User{
			ID: "legacy|42", Connection: "legacy", Email: "ada@example.com", EmailVerified: true, Username: "ada",
			Name: "Ada", GivenName: "Ada", FamilyName: "L", Nickname: "ada", Picture: "p1",
			UserMetadata: Metadata{"lang": "en"}, AppMetadata: Metadata{"plan": "free"},
			Identities: []Identity{{Connection: "legacy", Provider: ProviderCustomDatabase, UserID: "42", ProfileData: Metadata{"dept": "R&D"}}},
			CreatedAt:  now, UpdatedAt: now, LastLogin: &at, LastIP: "192.0.2.7", LoginsCount: 1,
		}
		if !reflect.DeepEqual(u, want) {
			t.Errorf("got  %+v\nwant %+v", u, want)
		}
		u.UserMetadata["lang"] = "fr"
		if first.UserMetadata["lang"] != "en" {
			t.Error("user metadata shares the profile's map")
		}
	})
	t.Run("first login through an import-mode connection migrates", func(t *testing.T) {
		u := ApplyLogin(nil, first, Connection{Name: "imp", Strategy: StrategyCustomDatabase, ImportMode: true}, "", now)
		if !u.Migrated || u.ID != "imp|42" {
			t.Errorf("Migrated = %v, ID = %q", u.Migrated, u.ID)
		}
	})
	t.Run("OIDC identity is social", func(t *testing.T) {
		u := ApplyLogin(nil, first, Connection{Name: "google", Strategy: StrategyOIDC, SyncUserProfile: true}, "", now)
		if id := u.Identities[0]; id.Provider != ProviderOIDC || !id.IsSocial || u.Migrated {
			t.Errorf("identity %+v, migrated %v", id, u.Migrated)
		}
	})

	later := now.Add(24 * time.Hour)
	existing := func(c Connection) User {
		u := ApplyLogin(nil, first, c, "192.0.2.7", now)
		u.UserMetadata = Metadata{"lang": "de", "edited": true}
		u.AppMetadata = Metadata{"plan": "enterprise"}
		u.Blocked = true
		u.Name, u.Nickname, u.Picture = "Edited Name", "edited", "edited.png"
		u.LoginsCount = 9
		u.PasswordHash = "keep-me"
		return u
	}
	second := Profile{
		UserID: "42", Email: "ada@new.example", EmailVerified: false, Username: "ada2", PhoneNumber: "+1555",
		Name: "Ada Two", GivenName: "A2", FamilyName: "L2", Nickname: "ada2", Picture: "p2",
		UserMetadata: Metadata{"lang": "script"}, AppMetadata: Metadata{"plan": "script"},
		Extra: Metadata{"dept": "Ops"},
	}

	for _, c := range []Connection{legacy, legacySync} {
		name := "sync off"
		if c.SyncUserProfile {
			name = "sync on"
		}
		t.Run("refresh/"+name, func(t *testing.T) {
			e := existing(c)
			snapshot := existing(c)
			u := ApplyLogin(&e, second, c, "198.51.100.1", later)
			if !reflect.DeepEqual(e, snapshot) {
				t.Fatalf("existing mutated:\n%+v\n%+v", e, snapshot)
			}
			// Fields from the connection are refreshed either way.
			if u.Email != "ada@new.example" || u.EmailVerified || u.Username != "ada2" || u.PhoneNumber != "+1555" {
				t.Errorf("connection fields not refreshed: %+v", u)
			}
			if len(u.Identities) != 1 || !reflect.DeepEqual(u.Identities[0].ProfileData, Metadata{"dept": "Ops"}) {
				t.Errorf("identities %+v", u.Identities)
			}
			// Service-owned data is kept.
			if !reflect.DeepEqual(u.UserMetadata, Metadata{"lang": "de", "edited": true}) || !reflect.DeepEqual(u.AppMetadata, Metadata{"plan": "enterprise"}) {
				t.Errorf("metadata overwritten: %v / %v", u.UserMetadata, u.AppMetadata)
			}
			if !u.Blocked || u.PasswordHash != "keep-me" || !u.CreatedAt.Equal(now) {
				t.Errorf("blocked %v hash %q created %v", u.Blocked, u.PasswordHash, u.CreatedAt)
			}
			// Counters.
			if u.LoginsCount != 10 || u.LastLogin == nil || !u.LastLogin.Equal(later) || u.LastIP != "198.51.100.1" || !u.UpdatedAt.Equal(later) {
				t.Errorf("counters: %d %v %q %v", u.LoginsCount, u.LastLogin, u.LastIP, u.UpdatedAt)
			}
			if e.LastLogin == u.LastLogin {
				t.Error("LastLogin pointer shared with existing")
			}
			// Root attributes: overwritten only with sync on.
			root := [5]string{u.Name, u.GivenName, u.FamilyName, u.Nickname, u.Picture}
			want := [5]string{"Edited Name", "Ada", "L", "edited", "edited.png"}
			if c.SyncUserProfile {
				want = [5]string{"Ada Two", "A2", "L2", "ada2", "p2"}
			}
			if root != want {
				t.Errorf("root attributes %v, want %v", root, want)
			}
		})
	}
	t.Run("identity of another connection is kept and one is added", func(t *testing.T) {
		e := existing(legacy)
		e.Identities = []Identity{{Connection: "other", Provider: "x", UserID: "9"}}
		u := ApplyLogin(&e, second, legacy, "", later)
		if len(u.Identities) != 2 || u.Identities[0].Connection != "other" || u.Identities[1].Connection != "legacy" || len(e.Identities) != 1 {
			t.Errorf("identities %+v (existing %+v)", u.Identities, e.Identities)
		}
	})
}

func TestNewLocalUser(t *testing.T) {
	in := Create{
		Email: "Ada@Example.com", Password: "secret-pass", Username: "ada", EmailVerified: true,
		Name: "Ada", Nickname: "ada", Blocked: true,
		UserMetadata: Metadata{"lang": "en"}, AppMetadata: Metadata{"plan": "pro"},
	}
	u := NewLocalUser("users|abc123", Connection{Name: "users", Strategy: StrategyDatabase}, in, now)
	want := User{
		ID: "users|abc123", Connection: "users", Email: "ada@example.com", EmailVerified: true, Username: "ada",
		Name: "Ada", Nickname: "ada", Blocked: true,
		UserMetadata: Metadata{"lang": "en"}, AppMetadata: Metadata{"plan": "pro"},
		Identities: []Identity{{Connection: "users", Provider: ProviderProfiled, UserID: "abc123"}},
		CreatedAt:  now, UpdatedAt: now,
	}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("got  %+v\nwant %+v", u, want)
	}
	if u.PasswordHash != "" {
		t.Error("the policy does not hash passwords")
	}
	u.UserMetadata["lang"] = "fr"
	if in.UserMetadata["lang"] != "en" {
		t.Error("metadata shared with the request")
	}

	pl := NewLocalUser("codes|x", Connection{Name: "codes", Strategy: StrategyPasswordless}, Create{Email: "a@b.c"}, now)
	if pl.Identities[0].Provider != ProviderProfiled || pl.Identities[0].UserID != "x" || pl.Migrated {
		t.Errorf("passwordless user %+v", pl)
	}
	imp := NewLocalUser("imp|7", Connection{Name: "imp", Strategy: StrategyCustomDatabase, ImportMode: true}, Create{Email: "a@b.c"}, now)
	if !imp.Migrated || imp.Identities[0].Provider != ProviderCustomDatabase || imp.Identities[0].UserID != "7" {
		t.Errorf("import-mode user %+v", imp)
	}
	other := NewLocalUser("auth0|zz", Connection{Name: "users", Strategy: StrategyDatabase}, Create{Email: "a@b.c"}, now)
	if other.Identities[0].UserID != "zz" {
		t.Errorf("identity id %q", other.Identities[0].UserID)
	}
	bare := NewLocalUser("plain", Connection{Name: "users", Strategy: StrategyDatabase}, Create{Email: "a@b.c"}, now)
	if bare.Identities[0].UserID != "plain" {
		t.Errorf("identity id %q", bare.Identities[0].UserID)
	}
}

func TestValidateCreate(t *testing.T) {
	db := Connection{Name: "users", Strategy: StrategyDatabase}
	pl := Connection{Name: "codes", Strategy: StrategyPasswordless}
	legacy := Connection{Name: "legacy", Strategy: StrategyCustomDatabase, Actions: allActions()}
	legacyNoCreate := Connection{Name: "legacy", Strategy: StrategyCustomDatabase, Actions: map[Action]bool{ActionLogin: true, ActionGetUser: true}}
	imp := Connection{Name: "imp", Strategy: StrategyCustomDatabase, ImportMode: true}
	oidc := Connection{Name: "google", Strategy: StrategyOIDC}
	ok := Create{Email: "ada@example.com", Password: "long-enough"}
	tests := []struct {
		name  string
		c     Connection
		in    Create
		field string // "" = accepted
		want  string
	}{
		{"DATABASE", db, ok, "", ""},
		{"legacy custom database with get_user, create, login", legacy, ok, "", ""},
		{"import mode needs no script", imp, ok, "", ""},
		{"PASSWORDLESS without password", pl, Create{Email: "ada@example.com"}, "", ""},
		{"OIDC refused", oidc, ok, "connection", "first login"},
		{"unknown strategy", Connection{Name: "x", Strategy: "LDAP"}, ok, "connection", "unknown"},
		{"legacy without create", legacyNoCreate, ok, "connection", "create"},
		{"legacy without a module", Connection{Name: "legacy", Strategy: StrategyCustomDatabase}, ok, "connection", "get_user"},
		{"missing email", db, Create{Password: "long-enough"}, FieldEmail, ""},
		{"bad email", db, Create{Email: "nope", Password: "long-enough"}, FieldEmail, ""},
		{"missing password", db, Create{Email: "ada@example.com"}, FieldPassword, ""},
		{"short password, custom database", legacy, Create{Email: "ada@example.com", Password: "short"}, FieldPassword, ""},
		{"password on PASSWORDLESS", pl, ok, FieldPassword, "one-time code"},
		{"bad userMetadata", db, Create{Email: "a@b.c", Password: "long-enough", UserMetadata: Metadata{"a.b": 1.0}}, FieldUserMetadata, ""},
		{"reserved appMetadata key", db, Create{Email: "a@b.c", Password: "long-enough", AppMetadata: Metadata{"blocked": true}}, FieldAppMetadata, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCreate(tt.c, tt.in, DefaultLimits())
			if tt.field == "" {
				mustNoErr(t, err)
				return
			}
			r := wantRefusal(t, err, ReasonBadInput, tt.field)
			wantContains(t, r.Message, tt.want)
		})
	}
}

func TestProviderFor(t *testing.T) {
	for s, want := range map[Strategy]string{
		StrategyDatabase: "profiled", StrategyPasswordless: "profiled",
		StrategyCustomDatabase: "custom-database", StrategyOIDC: "oidc", "LDAP": "ldap",
	} {
		if got := ProviderFor(s); got != want {
			t.Errorf("ProviderFor(%s) = %q, want %q", s, got, want)
		}
	}
	if !strings.HasPrefix(UserIDFor("conn", "42"), "conn|") {
		t.Error("UserIDFor")
	}
}
