package service

import (
	"reflect"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/importer"
	"github.com/profiled/profiled/internal/policy"
)

// An upsert overwrites exactly the table's Upsert fields the row gave, and
// keeps every other field of the stored user.
func TestUpsertedFollowsProfileTable(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := policy.User{
		ID: "db|1", Connection: "db", Email: "old@example.com", Username: "old", PhoneNumber: "+1000",
		Name: "Old", GivenName: "O", FamilyName: "Ld", Nickname: "o", Picture: "https://example.com/o.png",
		UserMetadata: policy.Metadata{"old": true}, AppMetadata: policy.Metadata{"old": true},
		CreatedAt: at, UpdatedAt: at, LoginsCount: 7, LastIP: "192.0.2.1",
	}
	row := policy.User{
		ID: "db|2", Connection: "other", Email: "new@example.com", EmailVerified: true, Username: "new", PhoneNumber: "+2000",
		Name: "New", GivenName: "N", FamilyName: "Ew", Nickname: "n", Picture: "https://example.com/n.png",
		UserMetadata: policy.Metadata{"new": true}, AppMetadata: policy.Metadata{"new": true},
		CreatedAt: at.Add(time.Hour), LoginsCount: 1, LastIP: "192.0.2.2",
	}
	now := at.Add(2 * time.Hour)
	all := upserted(old, importItem{user: row, given: importer.FieldSet(^uint32(0))}, now)
	none := upserted(old, importItem{user: row}, now)
	for _, f := range policy.ProfileFields {
		if f.Get == nil || f.Name == "updated_at" || f.Name == "password_hash" {
			continue
		}
		want := old
		if f.Upsert {
			want = row
		}
		if got := f.Value(all); !reflect.DeepEqual(got, f.Value(want)) {
			t.Errorf("%s after an upsert giving every field = %#v, want %#v", f.Name, got, f.Value(want))
		}
		if got := f.Value(none); !reflect.DeepEqual(got, f.Value(old)) {
			t.Errorf("%s after an upsert giving none = %#v, want the stored %#v", f.Name, got, f.Value(old))
		}
	}
	if !all.UpdatedAt.Equal(now) || !none.UpdatedAt.Equal(now) {
		t.Errorf("updated_at = %v / %v, want %v", all.UpdatedAt, none.UpdatedAt, now)
	}
}
