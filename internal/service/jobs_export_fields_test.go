package service

import (
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// Every export field of the profile's table is written: a full user's value
// is set and in export form (dates RFC 3339, metadata objects), an empty
// user's text fields and unset last login are left out.
func TestExportValueCoversProfileTable(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	full := policy.User{
		ID: "db|1", Connection: "db", Email: "a@example.com", EmailVerified: true, Username: "a",
		PhoneNumber: "+1555", PhoneVerified: true, Name: "A B", GivenName: "A", FamilyName: "B", Nickname: "ab",
		Picture: "https://example.com/a.png", Blocked: true, PasswordHash: "$2a$10$x",
		CreatedAt: at, UpdatedAt: at, LastLogin: &at, LastIP: "192.0.2.1", LoginsCount: 2,
		UserMetadata: policy.Metadata{"k": "v"}, AppMetadata: policy.Metadata{"role": "admin"},
		Identities: []policy.Identity{{Connection: "db", Provider: "auth0", UserID: "1"}},
	}
	n := 0
	for _, f := range policy.ProfileFields {
		if !f.Export && !f.ExportAsked {
			if knownExportField(f.Name) {
				t.Errorf("%s is not an export field in the table but export accepts it", f.Name)
			}
			continue
		}
		if f.Export {
			if DefaultExportFields[n] != f.Name {
				t.Errorf("default export field %d = %s, want %s", n, DefaultExportFields[n], f.Name)
			}
			n++
		}
		if !knownExportField(f.Name) {
			t.Errorf("export refuses %s", f.Name)
		}
		v, ok := exportValue(full, f.Name)
		if !ok {
			t.Errorf("%s of a full user is unset", f.Name)
			continue
		}
		switch f.Kind {
		case policy.KindDate:
			if v != at.Format(time.RFC3339Nano) {
				t.Errorf("%s = %v, want RFC 3339", f.Name, v)
			}
		case policy.KindMetadata:
			if m, isM := v.(policy.Metadata); !isM || len(m) != 1 {
				t.Errorf("%s = %#v", f.Name, v)
			}
		case policy.KindIdentities:
			if ids, isL := v.([]map[string]any); !isL || len(ids) != 1 || ids[0]["provider"] != "auth0" {
				t.Errorf("%s = %#v", f.Name, v)
			}
		default:
			if v != f.Value(full) {
				t.Errorf("%s = %#v, want %#v", f.Name, v, f.Value(full))
			}
		}
		empty := policy.User{CreatedAt: at, UpdatedAt: at}
		ev, eok := exportValue(empty, f.Name)
		switch f.Kind {
		case policy.KindText, policy.KindFold, policy.KindEmail, policy.KindSecret:
			if eok != (f.Name == "user_id" || f.Name == "connection") {
				t.Errorf("%s of an empty user: %#v, %v", f.Name, ev, eok)
			}
		case policy.KindMetadata:
			if m, isM := ev.(policy.Metadata); !eok || !isM || m == nil {
				t.Errorf("%s of an empty user = %#v, %v, want {}", f.Name, ev, eok)
			}
		}
	}
	if n != len(DefaultExportFields) {
		t.Errorf("%d default export fields, the table has %d", len(DefaultExportFields), n)
	}
	if _, ok := exportValue(policy.User{}, "last_login"); ok {
		t.Error("last_login of a user who never logged in is set")
	}
}
