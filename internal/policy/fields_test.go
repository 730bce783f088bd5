package policy

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// fullUser has every field of the profile set (non-empty, non-zero).
func fullUser() User {
	last := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return User{
		ID: "db|1", Connection: "db", Email: "Ann@Example.com", EmailVerified: true, Username: "ann",
		PhoneNumber: "+15551234", PhoneVerified: true, Name: "Ann B", GivenName: "Ann", FamilyName: "B",
		Nickname: "an", Picture: "https://example.com/a.png", Blocked: true,
		UserMetadata: Metadata{"a": 1.0}, AppMetadata: Metadata{"b": 2.0},
		Identities:   []Identity{{Connection: "db", Provider: "auth0", UserID: "1"}},
		PasswordHash: "$2a$10$x", CreatedAt: last.Add(-time.Hour), UpdatedAt: last, LastLogin: &last,
		LastIP: "192.0.2.1", LoginsCount: 3,
	}
}

func TestProfileFieldsConsistent(t *testing.T) {
	u := fullUser()
	names, claims, cols := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, f := range ProfileFields {
		if f.Name == "" || names[f.Name] {
			t.Errorf("field %q: name empty or repeated", f.Name)
		}
		names[f.Name] = true
		if f.Claim != "" {
			if claims[f.Claim] {
				t.Errorf("field %q: claim %q repeated", f.Name, f.Claim)
			}
			claims[f.Claim] = true
		}
		if f.Column != "" {
			if cols[f.Column] {
				t.Errorf("field %q: column %q repeated", f.Name, f.Column)
			}
			cols[f.Column] = true
		}
		if (f.Search || f.Sort) && f.Column == "" {
			t.Errorf("field %q is searched or sorted but has no column", f.Name)
		}
		if f.Sort && !f.Search {
			t.Errorf("field %q is sortable but not searchable", f.Name)
		}
		if f.Export && f.ExportAsked {
			t.Errorf("field %q is both a default export field and an asked-only one", f.Name)
		}
		if (f.Export || f.ExportAsked || f.Claim != "" || f.Search || f.Column != "") && f.Get == nil {
			t.Errorf("field %q is exported, claimed, searched or stored but has no Get", f.Name)
		}
		if f.Kind == KindSecret && (f.Export || f.Claim != "" || f.Search) {
			t.Errorf("secret field %q is exported by default, claimed or searched", f.Name)
		}
		if f.Nullable && f.Kind != KindText && f.Kind != KindEmail && f.Kind != KindDate {
			t.Errorf("field %q: only text and dates can be NULL", f.Name)
		}
		if f.Upsert && (f.Set == nil || !f.Import) {
			t.Errorf("field %q is upserted but has no Set or is not imported", f.Name)
		}
		if f.Set != nil {
			var got User
			f.Set(&got, f.Value(u))
			if !reflect.DeepEqual(f.Value(got), f.Value(u)) {
				t.Errorf("field %q: Set then Get gives %#v, want %#v", f.Name, f.Value(got), f.Value(u))
			}
		}
		if f.ClaimWith != "" {
			if w, ok := LookupField(f.ClaimWith); !ok || w.Get == nil {
				t.Errorf("field %q: ClaimWith %q is not a field with a value", f.Name, f.ClaimWith)
			}
		}
		if f.Get == nil {
			continue
		}
		// The value has the kind's type, and a full user sets it.
		v := f.Value(u)
		var ok bool
		switch f.Kind {
		case KindText, KindFold, KindEmail, KindSecret:
			s, isS := v.(string)
			ok = isS && s != ""
		case KindBool:
			b, isB := v.(bool)
			ok = isB && b
		case KindInt:
			n, isN := v.(int64)
			ok = isN && n != 0
		case KindDate:
			d, isD := v.(time.Time)
			ok = isD && !d.IsZero()
		case KindMetadata:
			m, isM := v.(Metadata)
			ok = isM && len(m) > 0
		case KindIdentities:
			ids, isI := v.([]Identity)
			ok = isI && len(ids) > 0
		}
		if !ok {
			t.Errorf("field %q (kind %d): Get gives %#v for a full user", f.Name, f.Kind, v)
		}
	}
	// A nullable time is nil when unset.
	if f, _ := LookupField("last_login"); f.Value(User{}) != nil {
		t.Errorf("last_login of a user who never logged in is %#v, want nil", f.Value(User{}))
	}
}

func TestLookupFieldAndNames(t *testing.T) {
	f, ok := LookupField("given_name")
	if !ok || f.Column != "given_name" || f.Claim != "given_name" || !f.Sort {
		t.Fatalf("LookupField(given_name) = %+v, %v", f, ok)
	}
	if _, ok := LookupField("givenName"); ok {
		t.Fatal("LookupField found the camelCase name; the table holds snake_case names")
	}
	got := FieldNames(func(f FieldSpec) bool { return f.ExportAsked })
	if !slices.Equal(got, []string{"connection", "password_hash"}) {
		t.Fatalf("asked-only export fields = %v", got)
	}
	if v := (FieldSpec{Name: "x"}).Value(fullUser()); v != nil {
		t.Fatalf("a field without Get gives %#v", v)
	}
}
