package policy

import (
	"strings"
	"testing"
)

func TestFieldRulesMatrix(t *testing.T) {
	// y: updatable, s: updatable through a script, n: FIELD_NOT_UPDATABLE.
	// Columns as matrixColumns (POLICY.md's order); fields as RuleFields.
	want := map[string]string{
		FieldEmail:         "yssynny",
		FieldEmailVerified: "ynnynny",
		FieldUsername:      "ynnynny",
		FieldPhoneNumber:   "ynnynny",
		FieldPassword:      "yssynnn",
		FieldName:          "ynyynyy",
		FieldGivenName:     "ynyynyy",
		FieldFamilyName:    "ynyynyy",
		FieldNickname:      "ynyynyy",
		FieldPicture:       "ynyynyy",
		FieldBlocked:       "yyyyyyy",
		FieldUserMetadata:  "yyyyyyy",
		FieldAppMetadata:   "yyyyyyy",
	}
	for col, mc := range matrixColumns() {
		t.Run(mc.name, func(t *testing.T) {
			rules := FieldRules(mc.user, mc.conn, admin())
			if len(rules) != len(RuleFields) {
				t.Fatalf("got %d rules, want %d", len(rules), len(RuleFields))
			}
			for i, r := range rules {
				if r.Field != RuleFields[i] {
					t.Fatalf("rule %d is %q, want %q", i, r.Field, RuleFields[i])
				}
				w := want[r.Field][col]
				got := byte('n')
				switch {
				case r.Updatable && r.Script:
					got = 's'
				case r.Updatable:
					got = 'y'
				}
				if got != w {
					t.Errorf("%s: got %c, want %c (reason %q)", r.Field, got, w, r.Message)
				}
				if r.Updatable && (r.Reason != "" || r.Message != "") {
					t.Errorf("%s: updatable with a reason %q", r.Field, r.Message)
				}
				if !r.Updatable && (r.Reason != ReasonFieldNotUpdatable || r.Message == "") {
					t.Errorf("%s: refused with reason %q, message %q", r.Field, r.Reason, r.Message)
				}
			}
		})
	}
}

func TestFieldRulesReasons(t *testing.T) {
	legacy := Connection{Name: "legacy", Strategy: StrategyCustomDatabase, SyncUserProfile: true, Actions: map[Action]bool{ActionLogin: true}}
	tests := []struct {
		name    string
		conn    Connection
		caller  Caller
		field   string
		reason  Reason
		message string // a substring
	}{
		{"legacy email without change_email", legacy, admin(), FieldEmail, ReasonFieldNotUpdatable, "change it in the custom database"},
		{"legacy password without change_password", legacy, admin(), FieldPassword, ReasonFieldNotUpdatable, "does not export change_password"},
		{"legacy root attribute", legacy, admin(), FieldNickname, ReasonFieldNotUpdatable, "turn off syncUserProfile"},
		{"legacy emailVerified alone", legacy, admin(), FieldEmailVerified, ReasonFieldNotUpdatable, "send it together with email"},
		{"app metadata scope only", Connection{Name: "db", Strategy: StrategyDatabase}, Caller{Scopes: map[Scope]bool{ScopeUpdateUsersAppMetadata: true}}, FieldName, ReasonForbidden, "needs the scope update:users"},
		{"no update scope", Connection{Name: "db", Strategy: StrategyDatabase}, Caller{Scopes: map[Scope]bool{ScopeReadUsers: true}}, FieldUserMetadata, ReasonForbidden, "update:users"},
		{"passwordless password", Connection{Name: "code", Strategy: StrategyPasswordless}, admin(), FieldPassword, ReasonFieldNotUpdatable, "one-time code"},
		{"not migrated import user", Connection{Name: "imp", Strategy: StrategyCustomDatabase, ImportMode: true}, admin(), FieldEmail, ReasonFieldNotUpdatable, "not been migrated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := baseUser(tt.conn.Name)
			var got *FieldRule
			for _, r := range FieldRules(u, tt.conn, tt.caller) {
				if r.Field == tt.field {
					got = &r
				}
			}
			if got == nil {
				t.Fatalf("no rule for %s", tt.field)
			}
			if got.Updatable || got.Reason != tt.reason || !strings.Contains(got.Message, tt.message) {
				t.Fatalf("rule = %+v, want refused %s with %q", *got, tt.reason, tt.message)
			}
		})
	}
}

func TestFieldRulesAppMetadataScope(t *testing.T) {
	c := Connection{Name: "db", Strategy: StrategyDatabase}
	rules := FieldRules(baseUser(c.Name), c, Caller{Scopes: map[Scope]bool{ScopeUpdateUsersAppMetadata: true}})
	for _, r := range rules {
		if want := r.Field == FieldAppMetadata; r.Updatable != want {
			t.Errorf("%s: updatable = %v, want %v", r.Field, r.Updatable, want)
		}
	}
}

func TestFieldRulesDoNotMutate(t *testing.T) {
	c := Connection{Name: "db", Strategy: StrategyDatabase}
	u := baseUser(c.Name)
	FieldRules(u, c, admin())
	if u.Email != "ada@example.com" || u.UserMetadata["lang"] != "en" || len(u.AppMetadata) != 1 {
		t.Fatalf("user changed: %+v", u)
	}
}
