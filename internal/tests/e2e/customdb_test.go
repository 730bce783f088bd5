package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/profiled/profiled/client"
)

// forEachScriptStore runs f on both stores with the sandbox wired in.
func forEachScriptStore(t *testing.T, f func(t *testing.T, e *env)) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		t.Run(string(k), func(t *testing.T) { f(t, newScriptEnv(t, k)) })
	}
}

// The tests of this file run scripts: not in parallel, since under -race
// on a busy machine an instance's start can outlast a script deadline.

// TestLegacyLoginRefreshesCache: the custom database is the source of
// truth; a change made there shows up at the next login and not before.
func TestLegacyLoginRefreshesCache(t *testing.T) {
	forEachScriptStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		legacy := newLegacyDB(t)
		customConnection(t, e, "legacy", legacy, false, true)
		id := legacy.add(t, "ann@example.com", "ann password", "annie", "Ann Smith")
		anon, admin := e.client(""), e.adminClient()

		l, err := client.Login(ctx, anon, "legacy", "Ann@Example.com", "ann password")
		mustNoErr(t, err)
		u := l.Login.User
		wantID := fmt.Sprintf("legacy|%d", id)
		if u.Id != wantID || *u.Email != "ann@example.com" || *u.Nickname != "annie" || *u.Name != "Ann Smith" || !u.EmailVerified ||
			u.LoginsCount != 1 || len(u.Identities) != 1 || u.Identities[0].UserId != fmt.Sprint(id) || u.Identities[0].Connection != "legacy" || u.Migrated {
			t.Fatalf("first login = %+v", u)
		}
		// Service-owned data survives refreshes.
		_, err = client.UpdateUser(ctx, admin, u.Id, client.UpdateUserInput{UserMetadata: obj(map[string]any{"theme": "dark"}), AppMetadata: obj(map[string]any{"plan": "pro"})})
		mustNoErr(t, err)

		legacy.exec(t, "UPDATE users SET name = 'Ann Jones', nickname = 'aj' WHERE id = ?", id)
		got, err := client.GetUser(ctx, admin, u.Id)
		mustNoErr(t, err)
		if *got.User.Name != "Ann Smith" {
			t.Fatalf("a legacy change showed up before the next login: %v", *got.User.Name)
		}
		l, err = client.Login(ctx, anon, "legacy", "ann@example.com", "ann password")
		mustNoErr(t, err)
		got, err = client.GetUser(ctx, admin, u.Id)
		mustNoErr(t, err)
		g := got.User
		if *g.Name != "Ann Jones" || *g.Nickname != "aj" || g.LoginsCount != 2 || g.UserMetadata["theme"] != "dark" || deref(g.AppMetadata)["plan"] != "pro" {
			t.Fatalf("after the second login = %+v", g)
		}
		_, err = client.Login(ctx, anon, "legacy", "ann@example.com", "wrong password")
		wantCode(t, err, "INVALID_CREDENTIALS")
		_, err = client.Login(ctx, anon, "legacy", "nobody@example.com", "wrong password")
		wantCode(t, err, "INVALID_CREDENTIALS")
	})
}

// TestLegacySyncOff: root attributes are taken at the first login only and
// are editable from then on; other connection fields still refresh.
func TestLegacySyncOff(t *testing.T) {
	forEachScriptStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		legacy := newLegacyDB(t)
		customConnection(t, e, "nosync", legacy, false, false)
		id := legacy.add(t, "bo@example.com", "bo password", "bo", "Bo First")
		anon, admin := e.client(""), e.adminClient()
		l, err := client.Login(ctx, anon, "nosync", "bo@example.com", "bo password")
		mustNoErr(t, err)
		uid := l.Login.User.Id
		_, err = client.UpdateUser(ctx, admin, uid, client.UpdateUserInput{Nickname: ptr("edited")})
		mustNoErr(t, err)
		legacy.exec(t, "UPDATE users SET nickname = 'legacy-nick', email_verified = 0 WHERE id = ?", id)
		l, err = client.Login(ctx, anon, "nosync", "bo@example.com", "bo password")
		mustNoErr(t, err)
		if *l.Login.User.Nickname != "edited" || l.Login.User.EmailVerified {
			t.Fatalf("sync off: nickname %q (want edited), emailVerified %v (want false, refreshed)", *l.Login.User.Nickname, l.Login.User.EmailVerified)
		}
	})
}

// TestLegacyIDsNamespaced: two connections whose scripts return the same id
// make two users.
func TestLegacyIDsNamespaced(t *testing.T) {
	e := newScriptEnv(t, sqliteStore)
	ctx := context.Background()
	a, b := newLegacyDB(t), newLegacyDB(t)
	customConnection(t, e, "conn-a", a, false, true)
	customConnection(t, e, "conn-b", b, false, true)
	ida := a.add(t, "same@example.com", "password-a", "a", "A")
	idb := b.add(t, "same@example.com", "password-b", "b", "B")
	if ida != idb {
		t.Fatalf("setup: ids %d and %d differ", ida, idb)
	}
	la, err := client.Login(ctx, e.client(""), "conn-a", "same@example.com", "password-a")
	mustNoErr(t, err)
	lb, err := client.Login(ctx, e.client(""), "conn-b", "same@example.com", "password-b")
	mustNoErr(t, err)
	if la.Login.User.Id == lb.Login.User.Id || *la.Login.User.Name != "A" || *lb.Login.User.Name != "B" {
		t.Fatalf("users collide: %s / %s", la.Login.User.Id, lb.Login.User.Id)
	}
	byEmail, err := client.UsersByEmail(ctx, e.adminClient(), "same@example.com")
	mustNoErr(t, err)
	if len(byEmail.UsersByEmail) != 2 {
		t.Fatalf("usersByEmail = %d users", len(byEmail.UsersByEmail))
	}
}

// TestLegacyLifecycle: signup, admin create, email change, password change,
// verify, delete — each through its script; failures change nothing.
func TestLegacyLifecycle(t *testing.T) {
	forEachScriptStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		legacy := newLegacyDB(t)
		customConnection(t, e, "legacy", legacy, false, true)
		anon, admin := e.client(""), e.adminClient()

		s, err := client.Signup(ctx, anon, "legacy", "new@example.com", "signup password", nil, obj(map[string]any{"lang": "fr"}))
		mustNoErr(t, err)
		uid := s.Signup.Id
		if legacy.count(t, "email = ?", "new@example.com") != 1 || !strings.HasPrefix(uid, "legacy|") || s.Signup.UserMetadata["lang"] != "fr" {
			t.Fatalf("signup = %+v", s.Signup)
		}
		_, err = client.Signup(ctx, anon, "legacy", "new@example.com", "other password", nil, nil)
		wantCode(t, err, "USER_EXISTS")
		legacy.add(t, "only-legacy@example.com", "pw-legacy-1", "x", "X")
		_, err = client.CreateUser(ctx, admin, client.CreateUserInput{Connection: "legacy", Email: "only-legacy@example.com", Password: ptr("whatever-123")})
		wantCode(t, err, "USER_EXISTS")
		c, err := client.CreateUser(ctx, admin, client.CreateUserInput{Connection: "legacy", Email: "admin-made@example.com", Password: ptr("admin password"), Nickname: ptr("am")})
		mustNoErr(t, err)
		if *c.CreateUser.Nickname != "am" || c.CreateUser.LoginsCount != 0 {
			t.Fatalf("createUser = %+v", c.CreateUser)
		}

		// Fields the custom database owns are refused, with where to change them.
		_, err = client.UpdateUser(ctx, admin, uid, client.UpdateUserInput{Username: ptr("newname")})
		wantCode(t, err, "FIELD_NOT_UPDATABLE")
		if !strings.Contains(err.Error(), "custom database") {
			t.Fatalf("refusal without guidance: %v", err)
		}
		_, err = client.UpdateUser(ctx, admin, uid, client.UpdateUserInput{Nickname: ptr("nick")})
		wantCode(t, err, "FIELD_NOT_UPDATABLE")

		// Email change runs get_user (new email free) then change_email.
		_, err = client.UpdateUser(ctx, admin, uid, client.UpdateUserInput{Email: ptr("admin-made@example.com")})
		wantCode(t, err, "USER_EXISTS")
		up, err := client.UpdateUser(ctx, admin, uid, client.UpdateUserInput{Email: ptr("renamed@example.com"), EmailVerified: ptr(true)})
		mustNoErr(t, err)
		if *up.UpdateUser.Email != "renamed@example.com" || !up.UpdateUser.EmailVerified || legacy.count(t, "email = ? AND email_verified = 1", "renamed@example.com") != 1 {
			t.Fatalf("email change = %+v", up.UpdateUser)
		}

		// Password change runs change_password; the service stores none.
		_, err = client.ChangePassword(ctx, admin, uid, "changed password")
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "legacy", "renamed@example.com", "signup password")
		wantCode(t, err, "INVALID_CREDENTIALS")
		_, err = client.Login(ctx, anon, "legacy", "renamed@example.com", "changed password")
		mustNoErr(t, err)
		stored, err := e.store.UserByID(ctx, uid)
		mustNoErr(t, err)
		if stored.PasswordHash != "" {
			t.Fatal("the service stored a password for a legacy user")
		}

		// Blocked: refused only after the password was checked.
		_, err = client.UpdateUser(ctx, admin, uid, client.UpdateUserInput{Blocked: ptr(true)})
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "legacy", "renamed@example.com", "wrong password")
		wantCode(t, err, "INVALID_CREDENTIALS")
		_, err = client.Login(ctx, anon, "legacy", "renamed@example.com", "changed password")
		wantCode(t, err, "USER_BLOCKED")

		// Delete runs the delete script first.
		_, err = client.DeleteUser(ctx, admin, uid)
		mustNoErr(t, err)
		if legacy.count(t, "email = ?", "renamed@example.com") != 0 {
			t.Fatal("delete did not reach the custom database")
		}
		gone, err := client.GetUser(ctx, admin, uid)
		mustNoErr(t, err)
		if gone.User != nil {
			t.Fatal("the cached user survived delete")
		}
	})
}

// TestCustomDatabaseDown: CONNECTION_UNAVAILABLE, nothing written, cache
// intact.
func TestCustomDatabaseDown(t *testing.T) {
	forEachScriptStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		legacy := newLegacyDB(t)
		customConnection(t, e, "legacy", legacy, false, true)
		legacy.add(t, "d@example.com", "d password", "d", "D")
		anon, admin := e.client(""), e.adminClient()
		l, err := client.Login(ctx, anon, "legacy", "d@example.com", "d password")
		mustNoErr(t, err)
		uid := l.Login.User.Id
		_, err = client.UpdateConnection(ctx, admin, "legacy", client.UpdateConnectionInput{DatabaseURL: ptr("mysql://root@127.0.0.1:1/nowhere")})
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "legacy", "d@example.com", "d password")
		wantCode(t, err, "CONNECTION_UNAVAILABLE")
		_, err = client.DeleteUser(ctx, admin, uid)
		wantCode(t, err, "CONNECTION_UNAVAILABLE")
		_, err = client.ChangePassword(ctx, admin, uid, "another password")
		wantCode(t, err, "CONNECTION_UNAVAILABLE")
		got, err := client.GetUser(ctx, admin, uid)
		mustNoErr(t, err)
		if got.User == nil || got.User.LoginsCount != 1 || *got.User.Name != "D" {
			t.Fatalf("cached profile after failures = %+v", got.User)
		}
	})
}

// TestImportModeMigration: the first login migrates; later logins never
// ask the custom database again.
func TestImportModeMigration(t *testing.T) {
	forEachScriptStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		legacy := newLegacyDB(t)
		customConnection(t, e, "import", legacy, true, true)
		id := legacy.add(t, "mig@example.com", "old password", "mig", "Mig Rated")
		anon, admin := e.client(""), e.adminClient()

		l, err := client.Login(ctx, anon, "import", "mig@example.com", "old password")
		mustNoErr(t, err)
		u := l.Login.User
		if !u.Migrated || u.Id != fmt.Sprintf("import|%d", id) || *u.Name != "Mig Rated" {
			t.Fatalf("migrated user = %+v", u)
		}
		// Changes in the legacy database never show up now.
		legacy.exec(t, "UPDATE users SET name = 'Changed There', password = 'not-a-hash' WHERE id = ?", id)
		l, err = client.Login(ctx, anon, "import", "mig@example.com", "old password")
		mustNoErr(t, err)
		if *l.Login.User.Name != "Mig Rated" || l.Login.User.LoginsCount != 2 {
			t.Fatalf("after a legacy change = %+v", l.Login.User)
		}
		// Not even reachable: migrated users still log in.
		_, err = client.UpdateConnection(ctx, admin, "import", client.UpdateConnectionInput{DatabaseURL: ptr("mysql://root@127.0.0.1:1/nowhere")})
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "import", "mig@example.com", "old password")
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "import", "mig@example.com", "wrong password")
		wantCode(t, err, "INVALID_CREDENTIALS")
		// The service is the IdP: every field is updatable.
		up, err := client.UpdateUser(ctx, admin, u.Id, client.UpdateUserInput{Email: ptr("moved@example.com"), Nickname: ptr("n2"), Password: ptr("brand new password")})
		mustNoErr(t, err)
		if *up.UpdateUser.Email != "moved@example.com" || *up.UpdateUser.Nickname != "n2" {
			t.Fatalf("update migrated = %+v", up.UpdateUser)
		}
		_, err = client.Login(ctx, anon, "import", "moved@example.com", "brand new password")
		mustNoErr(t, err)
	})
}

// TestImportModeSignup refuses emails the legacy database already has and
// creates new users locally.
func TestImportModeSignup(t *testing.T) {
	forEachScriptStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		legacy := newLegacyDB(t)
		customConnection(t, e, "import", legacy, true, true)
		legacy.add(t, "taken@example.com", "pw-taken-1", "t", "T")
		anon := e.client("")
		_, err := client.Signup(ctx, anon, "import", "taken@example.com", "password-123", nil, nil)
		wantCode(t, err, "USER_EXISTS")
		s, err := client.Signup(ctx, anon, "import", "fresh@example.com", "password-123", nil, nil)
		mustNoErr(t, err)
		if !s.Signup.Migrated || legacy.count(t, "email = ?", "fresh@example.com") != 0 {
			t.Fatalf("import signup = %+v", s.Signup)
		}
		_, err = client.Login(ctx, anon, "import", "fresh@example.com", "password-123")
		mustNoErr(t, err)
	})
}

// TestVerifyAndReset: markEmailVerified runs verify for a legacy user;
// resetPassword migrates a not-yet-migrated import-mode user.
func TestVerifyAndReset(t *testing.T) {
	forEachScriptStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		anon, admin := e.client(""), e.adminClient()

		legacy := newLegacyDB(t)
		customConnection(t, e, "legacy", legacy, false, true)
		id := legacy.add(t, "v@example.com", "v password", "v", "V")
		legacy.exec(t, "UPDATE users SET email_verified = 0 WHERE id = ?", id)
		l, err := client.Login(ctx, anon, "legacy", "v@example.com", "v password")
		mustNoErr(t, err)
		if l.Login.User.EmailVerified {
			t.Fatal("setup: verified already")
		}
		v, err := client.MarkEmailVerified(ctx, admin, l.Login.User.Id)
		mustNoErr(t, err)
		if !v.MarkEmailVerified.EmailVerified || legacy.count(t, "id = ? AND email_verified = 1", id) != 1 {
			t.Fatalf("verify did not reach the custom database: %+v", v.MarkEmailVerified)
		}
		// Legacy user who never logged in: get_user then change_password.
		legacy.add(t, "never@example.com", "never password", "n", "N")
		_, err = client.ResetPassword(ctx, admin, "legacy", "never@example.com", "reset password 1")
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "legacy", "never@example.com", "reset password 1")
		mustNoErr(t, err)

		imp := newLegacyDB(t)
		customConnection(t, e, "import", imp, true, true)
		imp.add(t, "late@example.com", "legacy password", "late", "Late Comer")
		_, err = client.ResetPassword(ctx, admin, "import", "nobody@example.com", "reset password 2")
		wantCode(t, err, "NOT_FOUND")
		_, err = client.ResetPassword(ctx, admin, "import", "late@example.com", "reset password 2")
		mustNoErr(t, err)
		_, err = client.Login(ctx, anon, "import", "late@example.com", "legacy password")
		wantCode(t, err, "INVALID_CREDENTIALS")
		l, err = client.Login(ctx, anon, "import", "late@example.com", "reset password 2")
		mustNoErr(t, err)
		if !l.Login.User.Migrated || *l.Login.User.Name != "Late Comer" {
			t.Fatalf("reset-migrated user = %+v", l.Login.User)
		}
	})
}
