package policy

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// sized returns {"k":"xxx..."} serializing to exactly n bytes (n >= 8).
func sized(n int) Metadata {
	return Metadata{"k": strings.Repeat("x", n-len(`{"k":""}`))}
}

func TestValidateMetadata(t *testing.T) {
	lim := Limits{MetadataMaxBytes: 100}
	tests := []struct {
		name string
		m    Metadata
		app  bool
		lim  Limits
		ok   bool
		want string // substring of the message
	}{
		{"nil", nil, false, lim, true, ""},
		{"empty", Metadata{}, true, lim, true, ""},
		{"plain values", Metadata{"lang": "fr", "n": 1.0, "b": true, "l": []any{1.0, "x"}, "o": map[string]any{"a": nil}}, false, lim, true, ""},
		{"nil value (a removal in a patch)", Metadata{"lang": nil}, true, lim, true, ""},
		{"empty key", Metadata{"": 1.0}, false, lim, false, "empty key"},
		{"'.' in key", Metadata{"a.b": 1.0}, false, lim, false, `"a.b"`},
		{"'$' in key", Metadata{"$where": 1.0}, false, lim, false, `"$where"`},
		{"'.' in a nested key", Metadata{"prefs": map[string]any{"x.y": 1.0}}, false, lim, false, "in prefs"},
		{"'$' in a key inside an array", Metadata{"list": []any{map[string]any{"$x": 1.0}}}, false, lim, false, "list[]"},
		{"empty nested key", Metadata{"prefs": Metadata{"": 1.0}}, false, lim, false, "empty key"},
		{"'.' in a nested key of a Go map type", Metadata{"prefs": map[string]string{"x.y": "1"}}, false, lim, false, `"x.y"`},
		{"'.' in a nested key of a Go slice type", Metadata{"prefs": []map[string]any{{"x.y": 1.0}}}, false, lim, false, `"x.y"`},
		{"dots in values are fine", Metadata{"site": "example.com", "price": "$5"}, true, lim, true, ""},
		{"exactly at the limit", sized(100), false, lim, true, ""},
		{"one byte over the limit", sized(101), false, lim, false, "101 bytes"},
		{"exactly at the default limit", sized(16 << 10), false, Limits{}, true, ""},
		{"one byte over the default limit", sized(16<<10 + 1), false, DefaultLimits(), false, "16385 bytes"},
		{"'<' counts one byte (no HTML escaping)", Metadata{"k": strings.Repeat("<", 92)}, false, lim, true, ""},
		{"NaN is not JSON", Metadata{"n": math.NaN()}, false, lim, false, "not serializable"},
		{"a channel is not JSON", Metadata{"c": make(chan int)}, false, lim, false, "not serializable"},
		{"app: email reserved", Metadata{"email": "x"}, true, lim, false, `"email"`},
		{"app: user_id reserved", Metadata{"user_id": "x"}, true, lim, false, "profile field"},
		{"app: blocked reserved", Metadata{"blocked": true}, true, lim, false, "profile field"},
		{"app: logins_count reserved", Metadata{"logins_count": 1.0}, true, lim, false, "profile field"},
		{"app: name reserved", Metadata{"name": "x"}, true, lim, false, "profile field"},
		{"app: connection reserved", Metadata{"connection": "x"}, true, lim, false, "profile field"},
		{"app: camelCase API name reserved", Metadata{"emailVerified": true}, true, lim, false, "profile field"},
		{"app: reserved key nested is fine", Metadata{"billing": Metadata{"email": "x"}}, true, lim, true, ""},
		{"app: reserved match is case-sensitive", Metadata{"Email": "x"}, true, lim, true, ""},
		{"user: profile field names are fine", Metadata{"email": "x", "name": "y"}, false, lim, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateMetadata(tt.m, tt.app, tt.lim)
			if tt.ok {
				mustNoErr(t, err)
				return
			}
			field := FieldUserMetadata
			if tt.app {
				field = FieldAppMetadata
			}
			r := wantRefusal(t, err, ReasonBadInput, field)
			wantContains(t, r.Message, tt.want)
		})
	}
}

func TestMetadataSize(t *testing.T) {
	for _, tt := range []struct {
		m    Metadata
		want int
	}{
		{nil, 2},
		{Metadata{}, 2},
		{Metadata{"a": "<&>"}, len(`{"a":"<&>"}`)},
		{Metadata{"b": 1.0, "a": []any{true, nil}}, len(`{"a":[true,null],"b":1}`)},
	} {
		got, err := MetadataSize(tt.m)
		mustNoErr(t, err)
		if got != tt.want {
			t.Errorf("MetadataSize(%v) = %d, want %d", tt.m, got, tt.want)
		}
	}
}

func TestMetadataFrom(t *testing.T) {
	for _, v := range []any{nil, "x", 1.0, true, []any{}, []string{"a"}, Metadata(nil), map[string]any(nil), map[string]string{"a": "b"}} {
		if _, ok := MetadataFrom(v); ok {
			t.Errorf("MetadataFrom(%#v) ok, want not an object", v)
		}
	}
	for _, v := range []any{map[string]any{}, Metadata{"a": 1.0}} {
		if _, ok := MetadataFrom(v); !ok {
			t.Errorf("MetadataFrom(%#v) not ok", v)
		}
	}
}

func TestMergeMetadata(t *testing.T) {
	old := func() Metadata {
		return Metadata{"lang": "en", "theme": Metadata{"color": "blue", "font": "sans"}, "tags": []any{"a"}}
	}
	tests := []struct {
		name  string
		old   Metadata
		patch Metadata
		want  Metadata
	}{
		{"null removes a key, others kept", old(), Metadata{"lang": nil}, Metadata{"theme": Metadata{"color": "blue", "font": "sans"}, "tags": []any{"a"}}},
		{"null on an absent key is a no-op", old(), Metadata{"nope": nil}, old()},
		{"nested object replaced whole", old(), Metadata{"theme": Metadata{"color": "red"}}, Metadata{"lang": "en", "theme": Metadata{"color": "red"}, "tags": []any{"a"}}},
		{"array replaced whole", old(), Metadata{"tags": []any{"b"}}, Metadata{"lang": "en", "theme": Metadata{"color": "blue", "font": "sans"}, "tags": []any{"b"}}},
		{"new key added, keys not named kept", old(), Metadata{"tz": "UTC"}, Metadata{"lang": "en", "theme": Metadata{"color": "blue", "font": "sans"}, "tags": []any{"a"}, "tz": "UTC"}},
		{"{} clears", old(), Metadata{}, Metadata{}},
		{"nil patch keeps everything", old(), nil, old()},
		{"nil old", nil, Metadata{"a": 1.0, "b": nil}, Metadata{"a": 1.0}},
		{"nil old, nil patch: never nil", nil, nil, Metadata{}},
		{"value set to false/zero is kept (only null removes)", old(), Metadata{"lang": false, "n": 0.0, "s": ""}, Metadata{"lang": false, "n": 0.0, "s": "", "theme": Metadata{"color": "blue", "font": "sans"}, "tags": []any{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before Metadata
			if tt.old != nil {
				before = old()
			}
			got := MergeMetadata(tt.old, tt.patch)
			if got == nil {
				t.Fatal("MergeMetadata returned nil")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if tt.old != nil && !reflect.DeepEqual(tt.old, before) {
				t.Errorf("old mutated: %v", tt.old)
			}
			if tt.old != nil {
				got["mutation-probe"] = 1.0
				if _, leaked := tt.old["mutation-probe"]; leaked {
					t.Error("result shares its top level with old")
				}
			}
		})
	}
}

func TestMetadataChanged(t *testing.T) {
	old := Metadata{"a": 1.0, "o": map[string]any{"x": "y"}}
	for _, tt := range []struct {
		old, patch Metadata
		want       bool
	}{
		{old, nil, false},
		{old, Metadata{"a": 1.0}, false},
		{old, Metadata{"o": map[string]any{"x": "y"}}, false},
		{old, Metadata{"gone": nil}, false},
		{old, Metadata{"a": 2.0}, true},
		{old, Metadata{"a": nil}, true},
		{old, Metadata{"b": 1.0}, true},
		{old, Metadata{}, true},
		{nil, Metadata{}, false},
		{Metadata{}, Metadata{}, false},
	} {
		if got := metadataChanged(tt.old, tt.patch); got != tt.want {
			t.Errorf("metadataChanged(%v, %v) = %v, want %v", tt.old, tt.patch, got, tt.want)
		}
	}
}

func TestValidateEmail(t *testing.T) {
	local64 := strings.Repeat("l", 64)
	domainFor := func(total int) string { // an address of exactly total bytes
		return "a@" + strings.Repeat("d", total-len("a@.com")) + ".com"
	}
	good := []struct{ in, want string }{
		{"ada@example.com", "ada@example.com"},
		{"Ada.Lovelace+tag@Example.COM", "ada.lovelace+tag@example.com"},
		{"a@b", "a@b"},
		{local64 + "@example.com", local64 + "@example.com"},
		{domainFor(254), domainFor(254)},
		{"élodie@exemple.fr", "élodie@exemple.fr"},
	}
	for _, tt := range good {
		got, err := ValidateEmail(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ValidateEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"no @", "ada.example.com"},
		{"two @", "ada@b@example.com"},
		{"@@", "ada@@example.com"},
		{"empty local part", "@example.com"},
		{"empty domain", "ada@"},
		{"space inside", "ada lovelace@example.com"},
		{"leading space", " ada@example.com"},
		{"trailing space", "ada@example.com "},
		{"tab", "ada@exa\tmple.com"},
		{"newline", "ada@example.com\n"},
		{"control character", "ada\x00@example.com"},
		{"invalid UTF-8", "ada\xff@example.com"},
		{"255 bytes", domainFor(255)},
		{"local part of 65 bytes", local64 + "l@example.com"},
		{"domain starting with a dot", "ada@.example.com"},
		{"domain ending with a dot", "ada@example.com."},
		{"domain with ..", "ada@example..com"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateEmail(tt.in)
			r := wantRefusal(t, err, ReasonBadInput, FieldEmail)
			if tt.in != "" && strings.Contains(r.Message, tt.in) {
				t.Errorf("message %q repeats the address", r.Message)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	for _, tt := range []struct {
		pw  string
		lim Limits
		ok  bool
	}{
		{"", DefaultLimits(), false},
		{"1234567", DefaultLimits(), false},
		{"12345678", DefaultLimits(), true},
		{strings.Repeat("x", 72), DefaultLimits(), true},
		{strings.Repeat("x", 73), DefaultLimits(), false},
		{"éééé", DefaultLimits(), true},                         // 4 runes, 8 bytes
		{strings.Repeat("é", 36) + "x", DefaultLimits(), false}, // 73 bytes
		{"1234567", Limits{}, false},                            // zero Limits: defaults
		{strings.Repeat("x", 72), Limits{}, true},               // zero Limits: defaults
		{"abcd", Limits{PasswordMinBytes: 4, PasswordMaxBytes: 5}, true},
		{"abcdef", Limits{PasswordMinBytes: 4, PasswordMaxBytes: 5}, false},
	} {
		err := ValidatePassword(tt.pw, tt.lim)
		if tt.ok {
			if err != nil {
				t.Errorf("ValidatePassword(%d bytes, %+v) = %v", len(tt.pw), tt.lim, err)
			}
			continue
		}
		r := wantRefusal(t, err, ReasonBadInput, FieldPassword)
		if tt.pw != "" && strings.Contains(r.Message, tt.pw) {
			t.Errorf("message %q repeats the password", r.Message)
		}
	}
}

func TestValidateConnectionName(t *testing.T) {
	for _, name := range []string{"a", "7", "users", "my-db-1", "a--b", strings.Repeat("a", 35)} {
		if err := ValidateConnectionName(name); err != nil {
			t.Errorf("ValidateConnectionName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", "-a", "a-", "-", "Users", "my_db", "my db", "my.db", "é", strings.Repeat("a", 36), "a\n"} {
		err := ValidateConnectionName(name)
		wantRefusal(t, err, ReasonBadInput, FieldConnectionName)
	}
}

func TestReservedAppMetadataKeyCoversPolicyList(t *testing.T) {
	// The keys POLICY.md and the brief name explicitly.
	for _, k := range []string{"email", "email_verified", "user_id", "identities", "blocked", "created_at", "updated_at",
		"logins_count", "last_login", "last_ip", "username", "phone_number", "phone_verified", "name", "given_name",
		"family_name", "nickname", "picture", "connection"} {
		if !ReservedAppMetadataKey(k) {
			t.Errorf("%q not reserved", k)
		}
	}
	for _, k := range []string{"plan", "roles", "Email", "email2"} {
		if ReservedAppMetadataKey(k) {
			t.Errorf("%q reserved", k)
		}
	}
}

// JSON decoded with UseNumber keeps working with the metadata functions.
func TestMetadataWithJSONNumber(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"n": 12345678901234567890, "o": {"x": 1.5}}`))
	dec.UseNumber()
	var m Metadata
	mustNoErr(t, dec.Decode(&m))
	mustNoErr(t, ValidateMetadata(m, true, DefaultLimits()))
	n, err := MetadataSize(m)
	mustNoErr(t, err)
	if n != len(`{"n":12345678901234567890,"o":{"x":1.5}}`) {
		t.Errorf("size %d", n)
	}
}
