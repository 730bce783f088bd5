package policy

import (
	"reflect"
	"strings"
	"testing"
)

// matrixColumn is one column of the POLICY.md matrix.
type matrixColumn struct {
	name string
	conn Connection
	user User
}

// matrixColumns are the seven columns of POLICY.md, in its order. Legacy
// columns have a module exporting every action (footnotes tested apart).
func matrixColumns() []matrixColumn {
	mk := func(name string, c Connection, migrated bool) matrixColumn {
		u := baseUser(c.Name)
		u.Migrated = migrated
		return matrixColumn{name, c, u}
	}
	return []matrixColumn{
		mk("DATABASE", Connection{Name: "users", Strategy: StrategyDatabase}, false),
		mk("CUSTOM_DATABASE legacy sync on", Connection{Name: "legacy-on", Strategy: StrategyCustomDatabase, SyncUserProfile: true, Actions: allActions()}, false),
		mk("CUSTOM_DATABASE legacy sync off", Connection{Name: "legacy-off", Strategy: StrategyCustomDatabase, Actions: allActions()}, false),
		mk("CUSTOM_DATABASE import (migrated)", Connection{Name: "imported", Strategy: StrategyCustomDatabase, ImportMode: true, SyncUserProfile: true, Actions: map[Action]bool{ActionLogin: true, ActionGetUser: true}}, true),
		mk("OIDC sync on", Connection{Name: "google", Strategy: StrategyOIDC, SyncUserProfile: true}, false),
		mk("OIDC sync off", Connection{Name: "okta", Strategy: StrategyOIDC}, false),
		mk("PASSWORDLESS", Connection{Name: "email-code", Strategy: StrategyPasswordless}, false),
	}
}

// requestFor asks for one field, with a value different from baseUser's.
func requestFor(field string) Update {
	var r Update
	switch field {
	case FieldEmail:
		r.Email = ptr("new@example.com")
	case FieldEmailVerified:
		r.EmailVerified = ptr(true)
	case FieldUsername:
		r.Username = ptr("lovelace")
	case FieldPhoneNumber:
		r.PhoneNumber = ptr("+15551112222")
	case FieldPassword:
		r.Password = ptr("correct horse battery")
	case FieldName:
		r.Name = ptr("Augusta Ada King")
	case FieldGivenName:
		r.GivenName = ptr("Augusta")
	case FieldFamilyName:
		r.FamilyName = ptr("King")
	case FieldNickname:
		r.Nickname = ptr("countess")
	case FieldPicture:
		r.Picture = ptr("https://example.com/new.png")
	case FieldBlocked:
		r.Blocked = ptr(true)
	case FieldUserMetadata:
		r.UserMetadata = Metadata{"lang": "fr"}
	case FieldAppMetadata:
		r.AppMetadata = Metadata{"plan": "pro"}
	default:
		panic("unknown field " + field)
	}
	return r
}

const (
	outYes    = "yes"
	outScript = "script"
	outNo     = "FIELD_NOT_UPDATABLE"
	outNA     = "n/a (FIELD_NOT_UPDATABLE)"
)

// TestMatrix names every cell of the POLICY.md matrix (row × column). The
// expectations are written out here from POLICY.md, not read from the
// implementation's table.
func TestMatrix(t *testing.T) {
	rows := []struct {
		name   string
		fields []string
		want   [7]string // DATABASE, legacy on, legacy off, import, OIDC on, OIDC off, PASSWORDLESS
	}{
		{"user_metadata, app_metadata, blocked", []string{FieldUserMetadata, FieldAppMetadata, FieldBlocked},
			[7]string{outYes, outYes, outYes, outYes, outYes, outYes, outYes}},
		{"email", []string{FieldEmail},
			[7]string{outYes, outScript, outScript, outYes, outNo, outNo, outYes}},
		{"email_verified", []string{FieldEmailVerified},
			[7]string{outYes, outNo, outNo, outYes, outNo, outNo, outYes}},
		{"password", []string{FieldPassword},
			[7]string{outYes, outScript, outScript, outYes, outNo, outNo, outNA}},
		{"username, phone_number", []string{FieldUsername, FieldPhoneNumber},
			[7]string{outYes, outNo, outNo, outYes, outNo, outNo, outYes}},
		{"root attributes", []string{FieldName, FieldGivenName, FieldFamilyName, FieldNickname, FieldPicture},
			[7]string{outYes, outNo, outYes, outYes, outNo, outYes, outYes}},
	}
	for _, row := range rows {
		for ci, col := range matrixColumns() {
			want := row.want[ci]
			t.Run(row.name+"/"+col.name+" → "+want, func(t *testing.T) {
				for _, f := range row.fields {
					t.Run(f, func(t *testing.T) {
						checkCell(t, col, f, want)
					})
				}
			})
		}
	}
}

func checkCell(t *testing.T, col matrixColumn, f, want string) {
	t.Helper()
	u := col.user
	d, err := DecideUpdate(u, col.conn, admin(), requestFor(f), DefaultLimits(), now)
	switch want {
	case outYes, outScript:
		mustNoErr(t, err)
		if !contains(d.Changed, f) {
			t.Errorf("Changed = %v, want it to hold %s", d.Changed, f)
		}
		if !d.User.UpdatedAt.Equal(now) {
			t.Errorf("UpdatedAt = %v, want now", d.User.UpdatedAt)
		}
	default:
		r := wantRefusal(t, err, ReasonFieldNotUpdatable, f)
		wantContains(t, r.Message, col.conn.Name)
		checkRefusalMessage(t, col, f, r.Message)
		return
	}
	switch f {
	case FieldEmail:
		if want == outScript {
			wantCE := &ChangeEmail{Email: "ada@example.com", NewEmail: "new@example.com", Verified: false}
			if !reflect.DeepEqual(d.ChangeEmail, wantCE) {
				t.Errorf("ChangeEmail = %+v, want %+v", d.ChangeEmail, wantCE)
			}
		} else if d.ChangeEmail != nil {
			t.Errorf("ChangeEmail = %+v, want nil (the service is the IdP)", d.ChangeEmail)
		}
		if d.User.Email != "new@example.com" {
			t.Errorf("User.Email = %q", d.User.Email)
		}
	case FieldPassword:
		if d.NewPassword != "correct horse battery" {
			t.Errorf("NewPassword = %q", d.NewPassword)
		}
		if want == outScript {
			if !d.ChangePasswordScript || d.SetLocalPassword {
				t.Errorf("script=%v local=%v, want the change_password script only", d.ChangePasswordScript, d.SetLocalPassword)
			}
		} else if d.ChangePasswordScript || !d.SetLocalPassword {
			t.Errorf("script=%v local=%v, want a local password only", d.ChangePasswordScript, d.SetLocalPassword)
		}
		if d.User.PasswordHash != "" {
			t.Errorf("PasswordHash set by the policy: hashing is the caller's job")
		}
	default:
		if d.ChangeEmail != nil || d.ChangePasswordScript || d.SetLocalPassword {
			t.Errorf("unexpected script/password action in %+v", d)
		}
	}
}

// checkRefusalMessage checks that a refusal says where to change it instead.
func checkRefusalMessage(t *testing.T, col matrixColumn, f, msg string) {
	t.Helper()
	root := rowOf(f) == rowRoot
	switch {
	case col.conn.Legacy():
		wantContains(t, msg, "custom database", "next login")
		if root && col.conn.SyncUserProfile {
			wantContains(t, msg, "syncUserProfile")
		}
	case col.conn.Strategy == StrategyOIDC:
		wantContains(t, msg, "identity provider")
		if root && col.conn.SyncUserProfile {
			wantContains(t, msg, "syncUserProfile")
		}
		if !root && strings.Contains(msg, "syncUserProfile") {
			t.Errorf("%q suggests syncUserProfile, which does not make %s editable", msg, f)
		}
	case col.conn.Strategy == StrategyPasswordless:
		wantContains(t, msg, "one-time code")
	}
}

// Footnote 1: email of a legacy user only through change_email.
func TestFootnoteChangeEmail(t *testing.T) {
	legacy := func(actions map[Action]bool) Connection {
		return Connection{Name: "legacy", Strategy: StrategyCustomDatabase, SyncUserProfile: true, Actions: actions}
	}
	withoutChangeEmail := allActions()
	delete(withoutChangeEmail, ActionChangeEmail)

	t.Run("change_email present → ChangeEmail runs first", func(t *testing.T) {
		d, err := DecideUpdate(baseUser("legacy"), legacy(allActions()), admin(), Update{Email: ptr("New@Example.COM")}, DefaultLimits(), now)
		mustNoErr(t, err)
		want := &ChangeEmail{Email: "ada@example.com", NewEmail: "new@example.com", Verified: false}
		if !reflect.DeepEqual(d.ChangeEmail, want) {
			t.Fatalf("ChangeEmail = %+v, want %+v", d.ChangeEmail, want)
		}
		if d.User.Email != "new@example.com" || d.User.EmailVerified {
			t.Errorf("cached user: email %q verified %v", d.User.Email, d.User.EmailVerified)
		}
	})
	t.Run("change_email present, emailVerified with email → carried as Verified", func(t *testing.T) {
		d, err := DecideUpdate(baseUser("legacy"), legacy(allActions()), admin(),
			Update{Email: ptr("new@example.com"), EmailVerified: ptr(true)}, DefaultLimits(), now)
		mustNoErr(t, err)
		if d.ChangeEmail == nil || !d.ChangeEmail.Verified || !d.User.EmailVerified {
			t.Fatalf("ChangeEmail = %+v, User.EmailVerified = %v, want verified carried", d.ChangeEmail, d.User.EmailVerified)
		}
		if !reflect.DeepEqual(d.Changed, []string{FieldEmail, FieldEmailVerified}) {
			t.Errorf("Changed = %v", d.Changed)
		}
	})
	t.Run("change_email present, same email with new emailVerified → script with the same email", func(t *testing.T) {
		d, err := DecideUpdate(baseUser("legacy"), legacy(allActions()), admin(),
			Update{Email: ptr("ada@example.com"), EmailVerified: ptr(true)}, DefaultLimits(), now)
		mustNoErr(t, err)
		want := &ChangeEmail{Email: "ada@example.com", NewEmail: "ada@example.com", Verified: true}
		if !reflect.DeepEqual(d.ChangeEmail, want) {
			t.Errorf("ChangeEmail = %+v, want %+v", d.ChangeEmail, want)
		}
	})
	t.Run("change_email present, nothing changes → no script", func(t *testing.T) {
		u := baseUser("legacy")
		d, err := DecideUpdate(u, legacy(allActions()), admin(),
			Update{Email: ptr("ADA@example.com"), EmailVerified: ptr(false)}, DefaultLimits(), now)
		mustNoErr(t, err)
		if d.ChangeEmail != nil || len(d.Changed) != 0 || !d.User.UpdatedAt.Equal(u.UpdatedAt) {
			t.Errorf("decision = %+v, want no change", d)
		}
	})
	t.Run("change_email present, lone emailVerified → FIELD_NOT_UPDATABLE", func(t *testing.T) {
		_, err := DecideUpdate(baseUser("legacy"), legacy(allActions()), admin(), Update{EmailVerified: ptr(true)}, DefaultLimits(), now)
		r := wantRefusal(t, err, ReasonFieldNotUpdatable, FieldEmailVerified)
		wantContains(t, r.Message, "together with email", "custom database", "next login", `"legacy"`)
	})
	t.Run("change_email present, invalid email → BAD_USER_INPUT", func(t *testing.T) {
		_, err := DecideUpdate(baseUser("legacy"), legacy(allActions()), admin(), Update{Email: ptr("not-an-email")}, DefaultLimits(), now)
		wantRefusal(t, err, ReasonBadInput, FieldEmail)
	})
	t.Run("change_email absent → FIELD_NOT_UPDATABLE", func(t *testing.T) {
		_, err := DecideUpdate(baseUser("legacy"), legacy(withoutChangeEmail), admin(), Update{Email: ptr("new@example.com")}, DefaultLimits(), now)
		r := wantRefusal(t, err, ReasonFieldNotUpdatable, FieldEmail)
		wantContains(t, r.Message, "change_email", "custom database", "next login", `"legacy"`)
	})
	t.Run("change_email absent, email with emailVerified → email named", func(t *testing.T) {
		_, err := DecideUpdate(baseUser("legacy"), legacy(withoutChangeEmail), admin(),
			Update{Email: ptr("new@example.com"), EmailVerified: ptr(true)}, DefaultLimits(), now)
		wantRefusal(t, err, ReasonFieldNotUpdatable, FieldEmail)
	})
	t.Run("no module at all → FIELD_NOT_UPDATABLE", func(t *testing.T) {
		_, err := DecideUpdate(baseUser("legacy"), legacy(nil), admin(), Update{Email: ptr("new@example.com")}, DefaultLimits(), now)
		wantRefusal(t, err, ReasonFieldNotUpdatable, FieldEmail)
	})
}

// Footnote 2: password of a legacy user only through change_password.
func TestFootnoteChangePassword(t *testing.T) {
	for _, sync := range []bool{true, false} {
		conn := Connection{Name: "legacy", Strategy: StrategyCustomDatabase, SyncUserProfile: sync, Actions: allActions()}
		t.Run("change_password present/sync="+map[bool]string{true: "on", false: "off"}[sync], func(t *testing.T) {
			d, err := DecideUpdate(baseUser("legacy"), conn, admin(), Update{Password: ptr("hunter2hunter2")}, DefaultLimits(), now)
			mustNoErr(t, err)
			if !d.ChangePasswordScript || d.SetLocalPassword || d.NewPassword != "hunter2hunter2" {
				t.Errorf("decision = %+v, want the change_password script", d)
			}
		})
	}
	conn := Connection{Name: "legacy", Strategy: StrategyCustomDatabase, SyncUserProfile: true, Actions: allActions()}
	delete(conn.Actions, ActionChangePassword)
	t.Run("change_password absent → FIELD_NOT_UPDATABLE", func(t *testing.T) {
		_, err := DecideUpdate(baseUser("legacy"), conn, admin(), Update{Password: ptr("hunter2hunter2")}, DefaultLimits(), now)
		r := wantRefusal(t, err, ReasonFieldNotUpdatable, FieldPassword)
		wantContains(t, r.Message, "change_password", "custom database", `"legacy"`)
	})
	t.Run("change_password present, too short → BAD_USER_INPUT", func(t *testing.T) {
		_, err := DecideUpdate(baseUser("legacy"), Connection{Name: "legacy", Strategy: StrategyCustomDatabase, Actions: allActions()},
			admin(), Update{Password: ptr("short")}, DefaultLimits(), now)
		wantRefusal(t, err, ReasonBadInput, FieldPassword)
	})
}

// Footnote 3: root attributes of a migrated user are updatable (seed 004),
// whatever the connection's sync setting.
func TestFootnoteMigratedRootAttributes(t *testing.T) {
	for _, sync := range []bool{true, false} {
		conn := Connection{Name: "imported", Strategy: StrategyCustomDatabase, ImportMode: true, SyncUserProfile: sync}
		u := baseUser("imported")
		u.Migrated = true
		req := Update{Name: ptr("N"), GivenName: ptr("G"), FamilyName: ptr("F"), Nickname: ptr("K"), Picture: ptr("https://p")}
		d, err := DecideUpdate(u, conn, admin(), req, DefaultLimits(), now)
		mustNoErr(t, err)
		want := []string{FieldName, FieldGivenName, FieldFamilyName, FieldNickname, FieldPicture}
		if !reflect.DeepEqual(d.Changed, want) {
			t.Errorf("sync=%v: Changed = %v, want %v", sync, d.Changed, want)
		}
		if d.User.Nickname != "K" || d.User.Picture != "https://p" {
			t.Errorf("sync=%v: user = %+v", sync, d.User)
		}
	}
}

// A cached user of an import-mode connection who is not migrated keeps the
// custom database as source of truth.
func TestImportModeNotMigrated(t *testing.T) {
	conn := Connection{Name: "imported", Strategy: StrategyCustomDatabase, ImportMode: true, Actions: allActions()}
	u := baseUser("imported")
	for _, f := range []string{FieldEmail, FieldEmailVerified, FieldUsername, FieldPhoneNumber, FieldPassword, FieldName, FieldPicture} {
		_, err := DecideUpdate(u, conn, admin(), requestFor(f), DefaultLimits(), now)
		r := wantRefusal(t, err, ReasonFieldNotUpdatable, f)
		wantContains(t, r.Message, "not been migrated", "custom database")
	}
	for _, f := range []string{FieldUserMetadata, FieldAppMetadata, FieldBlocked} {
		_, err := DecideUpdate(u, conn, admin(), requestFor(f), DefaultLimits(), now)
		mustNoErr(t, err)
	}
}

func TestUnknownStrategy(t *testing.T) {
	conn := Connection{Name: "weird", Strategy: "LDAP"}
	_, err := DecideUpdate(baseUser("weird"), conn, admin(), requestFor(FieldName), DefaultLimits(), now)
	wantRefusal(t, err, ReasonFieldNotUpdatable, FieldName)
	_, err = DecideUpdate(baseUser("weird"), conn, admin(), requestFor(FieldBlocked), DefaultLimits(), now)
	mustNoErr(t, err)
}

func TestScopes(t *testing.T) {
	db := Connection{Name: "users", Strategy: StrategyDatabase}
	legacy := Connection{Name: "legacy", Strategy: StrategyCustomDatabase, SyncUserProfile: true}
	u := baseUser("users")
	scopes := func(ss ...Scope) map[Scope]bool {
		m := map[Scope]bool{}
		for _, s := range ss {
			m[s] = true
		}
		return m
	}
	appOnly := Caller{Subject: "client-2", Scopes: scopes(ScopeUpdateUsersAppMetadata, ScopeReadUsers)}
	none := Caller{Subject: "client-3", Scopes: scopes(ScopeReadUsers, ScopeCreateUsers)}
	self := Caller{Subject: u.ID, Self: true, Scopes: scopes(ScopeReadCurrentUser, ScopeUpdateCurrentUserMetadata)}
	both := Update{AppMetadata: Metadata{"plan": "pro"}, Email: ptr("x@example.com")}

	tests := []struct {
		name   string
		conn   Connection
		caller Caller
		req    Update
		field  string // "" with ok
		ok     bool
	}{
		{"update:users may change any field", db, admin(), Update{Email: ptr("x@example.com"), Name: ptr("X")}, "", true},
		{"update:users, empty request", db, admin(), Update{}, "", true},
		{"update:users_app_metadata may change appMetadata", db, appOnly, Update{AppMetadata: Metadata{"plan": "pro"}}, "", true},
		{"update:users_app_metadata may not change userMetadata", db, appOnly, Update{UserMetadata: Metadata{"a": 1.0}}, FieldUserMetadata, false},
		{"update:users_app_metadata may not change blocked", db, appOnly, Update{Blocked: ptr(true)}, FieldBlocked, false},
		{"update:users_app_metadata with another field names that field", db, appOnly, both, FieldEmail, false},
		{"update:users_app_metadata, empty request", db, appOnly, Update{}, "", true},
		{"neither scope → FORBIDDEN", db, none, Update{AppMetadata: Metadata{"plan": "pro"}}, FieldAppMetadata, false},
		{"neither scope, first asked field named", db, none, Update{Name: ptr("X"), Blocked: ptr(true)}, FieldName, false},
		{"neither scope, empty request", db, none, Update{}, "", false},
		{"no scopes at all", db, Caller{}, Update{Blocked: ptr(true)}, FieldBlocked, false},
		{"self: own userMetadata", db, self, Update{UserMetadata: Metadata{"lang": "fr"}}, "", true},
		{"self: own userMetadata on a legacy user", legacy, self, Update{UserMetadata: Metadata{"lang": "fr"}}, "", true},
		{"self: appMetadata → FORBIDDEN", db, self, Update{AppMetadata: Metadata{"plan": "pro"}}, FieldAppMetadata, false},
		{"self: email → FORBIDDEN", db, self, Update{Email: ptr("x@example.com")}, FieldEmail, false},
		{"self: password → FORBIDDEN", db, self, Update{Password: ptr("longenough")}, FieldPassword, false},
		{"self: blocked → FORBIDDEN", db, self, Update{Blocked: ptr(false)}, FieldBlocked, false},
		{"self: userMetadata with name names name", db, self, Update{UserMetadata: Metadata{"a": 1.0}, Name: ptr("X")}, FieldName, false},
		{"self: another user → FORBIDDEN", db, Caller{Subject: "users|43", Self: true, Scopes: self.Scopes}, Update{UserMetadata: Metadata{"lang": "fr"}}, FieldUserMetadata, false},
		{"self: empty subject → FORBIDDEN", db, Caller{Self: true, Scopes: self.Scopes}, Update{UserMetadata: Metadata{"lang": "fr"}}, FieldUserMetadata, false},
		{"self: without update:current_user_metadata", db, Caller{Subject: u.ID, Self: true, Scopes: scopes(ScopeReadCurrentUser)}, Update{UserMetadata: Metadata{"lang": "fr"}}, FieldUserMetadata, false},
		{"self: management scopes do not count", db, Caller{Subject: u.ID, Self: true, Scopes: scopes(ScopeUpdateUsers)}, Update{UserMetadata: Metadata{"lang": "fr"}}, FieldUserMetadata, false},
		{"self: management scopes do not allow other fields", db, Caller{Subject: u.ID, Self: true, Scopes: scopes(ScopeUpdateUsers, ScopeUpdateCurrentUserMetadata)}, Update{Name: ptr("X")}, FieldName, false},
		{"scope is checked before the matrix", legacy, appOnly, Update{Email: ptr("x@example.com")}, FieldEmail, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uu := u
			uu.Connection = tt.conn.Name
			_, err := DecideUpdate(uu, tt.conn, tt.caller, tt.req, DefaultLimits(), now)
			if tt.ok {
				mustNoErr(t, err)
				return
			}
			wantRefusal(t, err, ReasonForbidden, tt.field)
		})
	}
}

func TestAllOrNothing(t *testing.T) {
	oidc := Connection{Name: "google", Strategy: StrategyOIDC, SyncUserProfile: true}
	t.Run("one refused field refuses the request and the input user is not mutated", func(t *testing.T) {
		u := baseUser("google")
		req := Update{UserMetadata: Metadata{"lang": "fr", "theme": nil}, Blocked: ptr(true), Name: ptr("X")}
		d, err := DecideUpdate(u, oidc, admin(), req, DefaultLimits(), now)
		wantRefusal(t, err, ReasonFieldNotUpdatable, FieldName)
		if !reflect.DeepEqual(d, Decision{}) {
			t.Errorf("decision on refusal = %+v, want zero", d)
		}
		if !reflect.DeepEqual(u, baseUser("google")) {
			t.Errorf("input user mutated: %+v", u)
		}
	})
	t.Run("two refused fields: the first in check order is named, every time", func(t *testing.T) {
		req := Update{Picture: ptr("p"), Username: ptr("u"), Email: ptr("e@example.com")}
		for i := 0; i < 50; i++ {
			_, err := DecideUpdate(baseUser("google"), oidc, admin(), req, DefaultLimits(), now)
			wantRefusal(t, err, ReasonFieldNotUpdatable, FieldEmail)
		}
	})
	t.Run("matrix refusal comes before bad input", func(t *testing.T) {
		req := Update{UserMetadata: Metadata{"a.b": 1.0}, Name: ptr("X")}
		_, err := DecideUpdate(baseUser("google"), oidc, admin(), req, DefaultLimits(), now)
		wantRefusal(t, err, ReasonFieldNotUpdatable, FieldName)
	})
	t.Run("bad value refuses the allowed fields too", func(t *testing.T) {
		u := baseUser("users")
		req := Update{Name: ptr("X"), Blocked: ptr(true), AppMetadata: Metadata{"email": "x"}}
		d, err := DecideUpdate(u, Connection{Name: "users", Strategy: StrategyDatabase}, admin(), req, DefaultLimits(), now)
		wantRefusal(t, err, ReasonBadInput, FieldAppMetadata)
		if !reflect.DeepEqual(d, Decision{}) || !reflect.DeepEqual(u, baseUser("users")) {
			t.Errorf("partial result or mutation: %+v / %+v", d, u)
		}
	})
	t.Run("an accepted update does not mutate the input either", func(t *testing.T) {
		u := baseUser("users")
		req := Update{UserMetadata: Metadata{"lang": nil, "x": 1.0}, AppMetadata: Metadata{}, Name: ptr("X")}
		d, err := DecideUpdate(u, Connection{Name: "users", Strategy: StrategyDatabase}, admin(), req, DefaultLimits(), now)
		mustNoErr(t, err)
		if !reflect.DeepEqual(u, baseUser("users")) {
			t.Errorf("input user mutated: %+v", u)
		}
		if !reflect.DeepEqual(d.User.UserMetadata, Metadata{"theme": Metadata{"color": "blue"}, "x": 1.0}) || len(d.User.AppMetadata) != 0 {
			t.Errorf("metadata = %v / %v", d.User.UserMetadata, d.User.AppMetadata)
		}
	})
}

func TestDecideValues(t *testing.T) {
	db := Connection{Name: "users", Strategy: StrategyDatabase}
	decide := func(t *testing.T, u User, req Update, lim Limits) (Decision, error) {
		t.Helper()
		return DecideUpdate(u, db, admin(), req, lim, now)
	}
	t.Run("same values: accepted, nothing changes, UpdatedAt kept", func(t *testing.T) {
		u := baseUser("users")
		req := Update{Email: ptr("ADA@example.com"), Username: ptr("ada"), Name: ptr("Ada Lovelace"), Nickname: ptr("ada"),
			Blocked: ptr(false), EmailVerified: ptr(false), UserMetadata: Metadata{"lang": "en", "gone": nil}, AppMetadata: Metadata{"plan": "free"}}
		d, err := decide(t, u, req, DefaultLimits())
		mustNoErr(t, err)
		if len(d.Changed) != 0 || !d.User.UpdatedAt.Equal(created) || !reflect.DeepEqual(d.User, u) {
			t.Errorf("Changed = %v, UpdatedAt = %v, user = %+v", d.Changed, d.User.UpdatedAt, d.User)
		}
	})
	t.Run("same value of a refused field is still refused", func(t *testing.T) {
		_, err := DecideUpdate(baseUser("google"), Connection{Name: "google", Strategy: StrategyOIDC, SyncUserProfile: true},
			admin(), Update{Name: ptr("Ada Lovelace")}, DefaultLimits(), now)
		wantRefusal(t, err, ReasonFieldNotUpdatable, FieldName)
	})
	t.Run("email change resets emailVerified", func(t *testing.T) {
		u := baseUser("users")
		u.EmailVerified = true
		d, err := decide(t, u, Update{Email: ptr("New@Example.com")}, DefaultLimits())
		mustNoErr(t, err)
		if d.User.Email != "new@example.com" || d.User.EmailVerified {
			t.Errorf("email %q verified %v, want lower-cased and unverified", d.User.Email, d.User.EmailVerified)
		}
		if !reflect.DeepEqual(d.Changed, []string{FieldEmail, FieldEmailVerified}) {
			t.Errorf("Changed = %v", d.Changed)
		}
	})
	t.Run("email change with emailVerified keeps it", func(t *testing.T) {
		d, err := decide(t, baseUser("users"), Update{Email: ptr("new@example.com"), EmailVerified: ptr(true)}, DefaultLimits())
		mustNoErr(t, err)
		if !d.User.EmailVerified {
			t.Error("EmailVerified = false, want true")
		}
	})
	t.Run("same email does not reset emailVerified", func(t *testing.T) {
		u := baseUser("users")
		u.EmailVerified = true
		d, err := decide(t, u, Update{Email: ptr("ada@example.com")}, DefaultLimits())
		mustNoErr(t, err)
		if !d.User.EmailVerified || len(d.Changed) != 0 {
			t.Errorf("verified %v changed %v", d.User.EmailVerified, d.Changed)
		}
	})
	t.Run("lone emailVerified", func(t *testing.T) {
		d, err := decide(t, baseUser("users"), Update{EmailVerified: ptr(true)}, DefaultLimits())
		mustNoErr(t, err)
		if !d.User.EmailVerified || !reflect.DeepEqual(d.Changed, []string{FieldEmailVerified}) {
			t.Errorf("decision %+v", d)
		}
	})
	t.Run("clearing a root attribute with the empty string", func(t *testing.T) {
		d, err := decide(t, baseUser("users"), Update{Nickname: ptr("")}, DefaultLimits())
		mustNoErr(t, err)
		if d.User.Nickname != "" || !reflect.DeepEqual(d.Changed, []string{FieldNickname}) {
			t.Errorf("decision %+v", d)
		}
	})
	t.Run("Changed in check order", func(t *testing.T) {
		req := Update{AppMetadata: Metadata{"plan": "pro"}, Blocked: ptr(true), Picture: ptr("p"), Password: ptr("longenough"), Username: ptr("u")}
		d, err := decide(t, baseUser("users"), req, DefaultLimits())
		mustNoErr(t, err)
		want := []string{FieldUsername, FieldPassword, FieldPicture, FieldBlocked, FieldAppMetadata}
		if !reflect.DeepEqual(d.Changed, want) {
			t.Errorf("Changed = %v, want %v", d.Changed, want)
		}
	})
	bad := []struct {
		name  string
		req   Update
		lim   Limits
		field string
	}{
		{"invalid email", Update{Email: ptr("ada.example.com")}, DefaultLimits(), FieldEmail},
		{"empty email", Update{Email: ptr("")}, DefaultLimits(), FieldEmail},
		{"password too short", Update{Password: ptr("1234567")}, DefaultLimits(), FieldPassword},
		{"password too long", Update{Password: ptr(strings.Repeat("x", 73))}, DefaultLimits(), FieldPassword},
		{"password too short for zero Limits (defaults)", Update{Password: ptr("1234567")}, Limits{}, FieldPassword},
		{"userMetadata empty key", Update{UserMetadata: Metadata{"": 1.0}}, DefaultLimits(), FieldUserMetadata},
		{"userMetadata '$' key", Update{UserMetadata: Metadata{"$set": 1.0}}, DefaultLimits(), FieldUserMetadata},
		{"appMetadata reserved key", Update{AppMetadata: Metadata{"user_id": "x"}}, DefaultLimits(), FieldAppMetadata},
		{"userMetadata patch over the limit", Update{UserMetadata: Metadata{"k": strings.Repeat("x", 100)}}, Limits{MetadataMaxBytes: 64}, FieldUserMetadata},
		{"first bad value in check order", Update{Password: ptr("short"), Email: ptr("bad")}, DefaultLimits(), FieldEmail},
	}
	for _, tt := range bad {
		t.Run("BAD_USER_INPUT/"+tt.name, func(t *testing.T) {
			_, err := decide(t, baseUser("users"), tt.req, tt.lim)
			wantRefusal(t, err, ReasonBadInput, tt.field)
		})
	}
	t.Run("password of exactly the bounds with zero Limits", func(t *testing.T) {
		for _, n := range []int{8, 72} {
			_, err := decide(t, baseUser("users"), Update{Password: ptr(strings.Repeat("p", n))}, Limits{})
			mustNoErr(t, err)
		}
	})
	t.Run("merged metadata over the limit", func(t *testing.T) {
		u := baseUser("users")
		u.UserMetadata = Metadata{"big": strings.Repeat("x", 50)} // 60 bytes
		_, err := decide(t, u, Update{UserMetadata: Metadata{"more": "0123456789"}}, Limits{MetadataMaxBytes: 64})
		r := wantRefusal(t, err, ReasonBadInput, FieldUserMetadata)
		wantContains(t, r.Message, "after the merge")
		// Removing keys brings it back under the limit.
		d, err := decide(t, u, Update{UserMetadata: Metadata{"big": nil, "more": "0123456789"}}, Limits{MetadataMaxBytes: 64})
		mustNoErr(t, err)
		if !reflect.DeepEqual(d.User.UserMetadata, Metadata{"more": "0123456789"}) {
			t.Errorf("merged = %v", d.User.UserMetadata)
		}
	})
	t.Run("metadata merge: null removes, nested replaced, others kept", func(t *testing.T) {
		d, err := decide(t, baseUser("users"), Update{UserMetadata: Metadata{"lang": nil, "theme": Metadata{"font": "serif"}}}, DefaultLimits())
		mustNoErr(t, err)
		want := Metadata{"theme": Metadata{"font": "serif"}}
		if !reflect.DeepEqual(d.User.UserMetadata, want) {
			t.Errorf("merged = %v, want %v", d.User.UserMetadata, want)
		}
		if !reflect.DeepEqual(d.User.AppMetadata, Metadata{"plan": "free"}) {
			t.Errorf("appMetadata touched: %v", d.User.AppMetadata)
		}
	})
	t.Run("metadata {} clears", func(t *testing.T) {
		d, err := decide(t, baseUser("users"), Update{UserMetadata: Metadata{}, AppMetadata: Metadata{}}, DefaultLimits())
		mustNoErr(t, err)
		if d.User.UserMetadata == nil || len(d.User.UserMetadata) != 0 || len(d.User.AppMetadata) != 0 {
			t.Errorf("metadata = %v / %v, want both empty", d.User.UserMetadata, d.User.AppMetadata)
		}
		if !reflect.DeepEqual(d.Changed, []string{FieldUserMetadata, FieldAppMetadata}) {
			t.Errorf("Changed = %v", d.Changed)
		}
	})
	t.Run("metadata {} on empty metadata is no change", func(t *testing.T) {
		u := baseUser("users")
		u.UserMetadata = nil
		d, err := decide(t, u, Update{UserMetadata: Metadata{}}, DefaultLimits())
		mustNoErr(t, err)
		if len(d.Changed) != 0 {
			t.Errorf("Changed = %v", d.Changed)
		}
	})
	t.Run("metadata of a user with none", func(t *testing.T) {
		u := baseUser("users")
		u.AppMetadata = nil
		d, err := decide(t, u, Update{AppMetadata: Metadata{"roles": []any{"admin"}}}, DefaultLimits())
		mustNoErr(t, err)
		if !reflect.DeepEqual(d.User.AppMetadata, Metadata{"roles": []any{"admin"}}) {
			t.Errorf("appMetadata = %v", d.User.AppMetadata)
		}
	})
}
