package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// state is one column of POLICY.md's matrix, set up through the store
// (the flows that produce these users have their own tests).
type state struct {
	name     string
	strategy policy.Strategy
	importM  bool
	sync     bool
	migrated bool
}

var matrixStates = []state{
	{"DATABASE", policy.StrategyDatabase, false, true, false},
	{"CUSTOM_DATABASE legacy sync on", policy.StrategyCustomDatabase, false, true, false},
	{"CUSTOM_DATABASE legacy sync off", policy.StrategyCustomDatabase, false, false, false},
	{"CUSTOM_DATABASE import migrated", policy.StrategyCustomDatabase, true, true, true},
	{"OIDC sync on", policy.StrategyOIDC, false, true, false},
	{"OIDC sync off", policy.StrategyOIDC, false, false, false},
	{"PASSWORDLESS", policy.StrategyPasswordless, false, true, false},
}

// seedStateUser stores a connection in the given state and one user of it.
func seedStateUser(t *testing.T, e *env, i int, s state) policy.User {
	t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	conn := service.Connection{
		Connection:    policy.Connection{Name: fmt.Sprintf("conn-%d", i), Strategy: s.strategy, ImportMode: s.importM, SyncUserProfile: s.sync, Actions: map[policy.Action]bool{}},
		Configuration: map[string]any{}, CreatedAt: now, UpdatedAt: now,
	}
	mustNoErr(t, e.store.InsertConnection(ctx, conn))
	u := policy.User{
		ID: policy.UserIDFor(conn.Name, "42"), Connection: conn.Name, Email: fmt.Sprintf("user%d@example.com", i),
		Name: "Original", Nickname: "orig", Migrated: s.migrated, UserMetadata: policy.Metadata{}, AppMetadata: policy.Metadata{},
		Identities: []policy.Identity{{Connection: conn.Name, Provider: "test", UserID: "42"}},
		CreatedAt:  now, UpdatedAt: now,
	}
	mustNoErr(t, e.store.InsertUser(ctx, u))
	return u
}

func TestUpdatePolicyMatrix(t *testing.T) {
	t.Parallel()
	yes, no := "", "FIELD_NOT_UPDATABLE"
	rows := []struct {
		field string
		in    client.UpdateUserInput
		want  []string // one per matrixStates column
	}{
		{"userMetadata", client.UpdateUserInput{UserMetadata: obj(map[string]any{"k": 1})}, []string{yes, yes, yes, yes, yes, yes, yes}},
		{"appMetadata", client.UpdateUserInput{AppMetadata: obj(map[string]any{"k": 1})}, []string{yes, yes, yes, yes, yes, yes, yes}},
		{"blocked", client.UpdateUserInput{Blocked: ptr(true)}, []string{yes, yes, yes, yes, yes, yes, yes}},
		{"email", client.UpdateUserInput{Email: ptr("changed@example.com")}, []string{yes, no, no, yes, no, no, yes}},
		{"emailVerified", client.UpdateUserInput{EmailVerified: ptr(true)}, []string{yes, no, no, yes, no, no, yes}},
		{"password", client.UpdateUserInput{Password: ptr("a brand new password")}, []string{yes, no, no, yes, no, no, no}},
		{"username", client.UpdateUserInput{Username: ptr("newname")}, []string{yes, no, no, yes, no, no, yes}},
		{"phoneNumber", client.UpdateUserInput{PhoneNumber: ptr("+14155550100")}, []string{yes, no, no, yes, no, no, yes}},
		{"name", client.UpdateUserInput{Name: ptr("New Name")}, []string{yes, no, yes, yes, no, yes, yes}},
		{"givenName", client.UpdateUserInput{GivenName: ptr("New")}, []string{yes, no, yes, yes, no, yes, yes}},
		{"familyName", client.UpdateUserInput{FamilyName: ptr("Name")}, []string{yes, no, yes, yes, no, yes, yes}},
		{"nickname", client.UpdateUserInput{Nickname: ptr("newnick")}, []string{yes, no, yes, yes, no, yes, yes}},
		{"picture", client.UpdateUserInput{Picture: ptr("https://example.com/p.png")}, []string{yes, no, yes, yes, no, yes, yes}},
	}
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := e.adminClient()
		n := 0
		for _, row := range rows {
			for col, st := range matrixStates {
				t.Run(row.field+"/"+st.name, func(t *testing.T) {
					n++
					u := seedStateUser(t, e, n, st)
					_, err := client.UpdateUser(ctx, admin, u.ID, row.in)
					wantCode(t, err, row.want[col])
					if err != nil {
						if f := field(err); f != row.field {
							t.Fatalf("refusal names field %q, want %q", f, row.field)
						}
						if st.strategy == policy.StrategyCustomDatabase && !strings.Contains(err.Error(), "custom database") {
							t.Fatalf("refusal does not say where to change it: %v", err)
						}
						after, gerr := e.store.UserByID(ctx, u.ID)
						mustNoErr(t, gerr)
						if !after.UpdatedAt.Equal(u.UpdatedAt) || after.Name != u.Name || after.Email != u.Email {
							t.Fatalf("a refused update wrote: %+v", after)
						}
					}
				})
			}
		}

		// All-or-nothing: an allowed field next to a refused one writes nothing.
		n++
		u := seedStateUser(t, e, n, matrixStates[1])
		_, err := client.UpdateUser(ctx, admin, u.ID, client.UpdateUserInput{UserMetadata: obj(map[string]any{"ok": true}), Nickname: ptr("refused")})
		wantCode(t, err, "FIELD_NOT_UPDATABLE")
		after, err := e.store.UserByID(ctx, u.ID)
		mustNoErr(t, err)
		if len(after.UserMetadata) != 0 || after.Nickname != "orig" {
			t.Fatalf("all-or-nothing broken: %+v", after)
		}
	})
}

// TestAppMetadataScopeAlone: update:users_app_metadata changes appMetadata
// and nothing else.
func TestAppMetadataScopeAlone(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := seedStateUser(t, e, 1, matrixStates[0])
		c := e.client(e.token(policy.ScopeUpdateUsersAppMetadata))
		_, err := client.UpdateUser(ctx, c, u.ID, client.UpdateUserInput{AppMetadata: obj(map[string]any{"plan": "pro"})})
		mustNoErr(t, err)
		for name, in := range map[string]client.UpdateUserInput{
			"name":         {Name: ptr("x")},
			"userMetadata": {UserMetadata: obj(map[string]any{"a": 1})},
			"blocked":      {Blocked: ptr(true)},
			"both":         {AppMetadata: obj(map[string]any{"plan": "max"}), Nickname: ptr("x")},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := client.UpdateUser(ctx, c, u.ID, in)
				wantCode(t, err, "FORBIDDEN")
			})
		}
		got, err := e.store.UserByID(ctx, u.ID)
		mustNoErr(t, err)
		if got.AppMetadata["plan"] != "pro" || got.Blocked || got.Nickname != "orig" {
			t.Fatalf("user = %+v", got)
		}
	})
}
