package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateAttribute(t *testing.T) {
	cases := []struct {
		name, field, v string
		ok             bool
	}{
		{"name at the limit", FieldName, strings.Repeat("a", 300), true},
		{"name one over", FieldName, strings.Repeat("a", 301), false},
		{"username at the limit", FieldUsername, strings.Repeat("u", 128), true},
		{"username one over", FieldUsername, strings.Repeat("u", 129), false},
		{"phone one over", FieldPhoneNumber, strings.Repeat("1", 33), false},
		{"picture at the limit", FieldPicture, strings.Repeat("p", 2048), true},
		{"given name one over", FieldGivenName, strings.Repeat("g", 151), false},
		{"tab", FieldNickname, "a b", true},
		{"control character", FieldNickname, "a\x00b", false},
		{"DEL", FieldFamilyName, "a\x7fb", false},
		{"unicode", FieldName, "Zoë Ångström 李", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateAttribute(c.field, c.v)
			var r *Refusal
			if c.ok != (err == nil) || (err != nil && (!errors.As(err, &r) || r.Reason != ReasonBadInput || r.Field != c.field)) {
				t.Fatalf("ValidateAttribute(%s, %d bytes) = %v, want ok=%v", c.field, len(c.v), err, c.ok)
			}
		})
	}
}

func TestOversizedAttributesRefused(t *testing.T) {
	db := Connection{Name: "db", Strategy: StrategyDatabase, SyncUserProfile: true}
	admin := Caller{Subject: "admin", Scopes: map[Scope]bool{ScopeUpdateUsers: true}}
	u := User{ID: "db|1", Connection: "db", Email: "a@example.com", Name: "A"}
	long := strings.Repeat("x", 1<<20)
	_, err := DecideUpdate(u, db, admin, Update{Name: &long}, DefaultLimits(), time.Unix(0, 0))
	var r *Refusal
	if !errors.As(err, &r) || r.Reason != ReasonBadInput || r.Field != FieldName {
		t.Fatalf("1 MB name: %v", err)
	}
	err = ValidateCreate(db, Create{Email: "b@example.com", Password: "password-123", Username: long}, DefaultLimits())
	if !errors.As(err, &r) || r.Field != FieldUsername {
		t.Fatalf("1 MB username at create: %v", err)
	}
}
