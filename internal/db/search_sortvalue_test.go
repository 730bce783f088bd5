package db

import (
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/policy"
)

// sortValue gives every sortable field of the profile's table as the users
// table holds it: set for a full user (user_id excepted: the id is the
// cursor's own), NULL for an empty nullable one, email lower-cased.
func TestSortValueCoversProfileTable(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	full := policy.User{
		ID: "db|1", Connection: "db", Email: "A@Example.com", EmailVerified: true, Username: "a",
		Name: "A B", GivenName: "A", FamilyName: "B", Nickname: "ab", Blocked: true,
		CreatedAt: at, UpdatedAt: at, LastLogin: &at, LoginsCount: 2,
	}
	for _, f := range policy.ProfileFields {
		if !f.Sort {
			continue
		}
		v := sortValue(f.Name, full)
		if f.Column == "id" {
			if v != nil {
				t.Errorf("user_id sort value = %#v, want nil", v)
			}
			continue
		}
		want := f.Value(full)
		if f.Kind == policy.KindEmail {
			want = "a@example.com"
		}
		if v != want {
			t.Errorf("%s sort value = %#v, want %#v", f.Name, v, want)
		}
		if f.Nullable {
			if v := sortValue(f.Name, policy.User{}); v != nil {
				t.Errorf("%s of an empty user = %#v, want NULL", f.Name, v)
			}
		} else if v := sortValue(f.Name, policy.User{}); v == nil {
			t.Errorf("%s of an empty user is NULL; the column is NOT NULL", f.Name)
		}
	}
}

// The store's update of an imported user writes every column the table
// marks Upsert.
func TestUpdateImportedWritesUpsertColumns(t *testing.T) {
	q := strings.Join(strings.Fields(qUpdateImported), " ")
	for _, f := range policy.ProfileFields {
		if f.Upsert && !strings.Contains(q, " "+f.Column+" = ?") {
			t.Errorf("qUpdateImported does not write %s (an Upsert field)", f.Column)
		}
	}
}
