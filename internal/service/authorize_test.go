//go:build unix

package service_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/db"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// countingJobs is the store counting the jobs recorded.
type countingJobs struct {
	*db.DB
	inserted *atomic.Int64
}

func (c countingJobs) InsertJob(ctx context.Context, j service.Job) error {
	c.inserted.Add(1)
	return c.DB.InsertJob(ctx, j)
}

// watchedReader is an upload that records whether anything read it.
type watchedReader struct {
	r    *strings.Reader
	read *atomic.Bool
}

func (w watchedReader) Read(p []byte) (int, error) {
	w.read.Store(true)
	return w.r.Read(p)
}

// allBut is a management caller holding every management scope but miss.
func allBut(miss policy.Scope) policy.Caller {
	c := service.Operator()
	c.Subject = "almost"
	delete(c.Scopes, miss)
	return c
}

// Every admin use case that takes the caller (writes, jobs, and the RBAC
// reads) decides on it before it reads or writes anything: a user (self-service) token is refused whatever its
// scopes, and so is a management token lacking any one of the scopes the
// use case needs — FORBIDDEN as a *policy.Refusal, the upload unread, no
// job recorded, no user or connection written. The operator (the CLI's
// caller) passes every one of these checks.
func TestAdminUseCasesRefuseCallers(t *testing.T) {
	ctx := context.Background()
	var inserted atomic.Int64
	e := newJobEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "p.db"), 0, func(d *db.DB) service.Store {
		return countingJobs{DB: d, inserted: &inserted}
	})
	// A completed export and its id, for the job and download use cases.
	out := filepath.Join(t.TempDir(), "users.ndjson")
	exp, err := e.svc.StartExport(ctx, service.Operator(), "imp", service.ExportNDJSON, nil, service.ExportTo(out))
	if err != nil {
		t.Fatal(err)
	}
	if exp, err = e.svc.WaitJob(ctx, service.Operator(), exp.ID, 10*time.Millisecond, nil); err != nil || exp.Status != service.JobCompleted {
		t.Fatalf("export: %v (%s)", err, exp.Status)
	}

	var read atomic.Bool
	upload := func(s string) watchedReader { return watchedReader{r: strings.NewReader(s), read: &read} }
	file := importFile(t, 1)
	newConn := 0
	for _, uc := range []struct {
		name  string
		needs []policy.Scope
		call  func(c policy.Caller) (job string, err error)
	}{
		{"CreateConnection", []policy.Scope{policy.ScopeCreateConnections}, func(c policy.Caller) (string, error) {
			newConn++
			_, err := e.svc.CreateConnection(ctx, c, service.ConnectionSpec{Name: "new" + strings.Repeat("x", newConn), Strategy: policy.StrategyDatabase})
			return "", err
		}},
		{"UpdateConnection", []policy.Scope{policy.ScopeUpdateConnections}, func(c policy.Caller) (string, error) {
			off := false
			_, err := e.svc.UpdateConnection(ctx, c, "imp", service.ConnectionSpec{SyncUserProfile: &off})
			return "", err
		}},
		{"SetConnectionScript", []policy.Scope{policy.ScopeUpdateConnections}, func(c policy.Caller) (string, error) {
			_, err := e.svc.SetConnectionScript(ctx, c, "imp", upload("\x00asm"))
			return "", err
		}},
		{"StartImport", []policy.Scope{policy.ScopeCreateUsers}, func(c policy.Caller) (string, error) {
			j, err := e.svc.StartImport(ctx, c, "imp", upload(`{"email":"a@example.com"}`+"\n"), false, service.JobDir(t.TempDir()))
			return j.ID, err
		}},
		{"StartImport upsert", []policy.Scope{policy.ScopeCreateUsers, policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			j, err := e.svc.StartImport(ctx, c, "imp", upload(`{"email":"a@example.com"}`+"\n"), true, service.JobDir(t.TempDir()))
			return j.ID, err
		}},
		{"StartImportFile", []policy.Scope{policy.ScopeCreateUsers}, func(c policy.Caller) (string, error) {
			j, err := e.svc.StartImportFile(ctx, c, "imp", file, false)
			return j.ID, err
		}},
		{"StartExport", []policy.Scope{policy.ScopeReadUsers}, func(c policy.Caller) (string, error) {
			j, err := e.svc.StartExport(ctx, c, "imp", service.ExportNDJSON, nil, service.JobDir(t.TempDir()))
			return j.ID, err
		}},
		{"StartExport password_hash", []policy.Scope{policy.ScopeReadUsers, policy.ScopeCreateUsers, policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			j, err := e.svc.StartExport(ctx, c, "imp", service.ExportNDJSON, []string{"email", "password_hash"}, service.JobDir(t.TempDir()))
			return j.ID, err
		}},
		{"Job", []policy.Scope{policy.ScopeReadUsers}, func(c policy.Caller) (string, error) {
			_, err := e.svc.Job(ctx, c, exp.ID)
			return "", err
		}},
		{"WaitJob", []policy.Scope{policy.ScopeReadUsers}, func(c policy.Caller) (string, error) {
			_, err := e.svc.WaitJob(ctx, c, exp.ID, 10*time.Millisecond, nil)
			return "", err
		}},
		{"ExportFile", []policy.Scope{policy.ScopeReadUsers}, func(c policy.Caller) (string, error) {
			f, _, err := e.svc.ExportFile(ctx, c, exp.ID)
			if f != nil {
				f.Close()
			}
			return "", err
		}},
		{"CreateUser", []policy.Scope{policy.ScopeCreateUsers}, func(c policy.Caller) (string, error) {
			_, err := e.svc.CreateUser(ctx, c, "imp", policy.Create{Email: c.Subject + "@example.com", Password: "correct horse battery"})
			return "", err
		}},
		{"ChangePassword", []policy.Scope{policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			return "", e.svc.ChangePassword(ctx, c, "imp|nope", "correct horse battery")
		}},
		{"ResetPassword", []policy.Scope{policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			return "", e.svc.ResetPassword(ctx, c, "imp", "nope@example.com", "correct horse battery")
		}},
		{"MarkEmailVerified", []policy.Scope{policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			_, err := e.svc.MarkEmailVerified(ctx, c, "imp|nope")
			return "", err
		}},
		{"DeleteUser", []policy.Scope{policy.ScopeDeleteUsers}, func(c policy.Caller) (string, error) {
			return "", e.svc.DeleteUser(ctx, c, "imp|nope")
		}},
		{"APIs", []policy.Scope{policy.ScopeReadResourceServers}, func(c policy.Caller) (string, error) {
			_, err := e.svc.APIs(ctx, c)
			return "", err
		}},
		{"API", []policy.Scope{policy.ScopeReadResourceServers}, func(c policy.Caller) (string, error) {
			_, err := e.svc.API(ctx, c, "https://api.example.com/nope")
			return "", err
		}},
		{"Roles", []policy.Scope{policy.ScopeReadRoles}, func(c policy.Caller) (string, error) {
			_, err := e.svc.Roles(ctx, c, service.ListRolesParams{Limit: 10})
			return "", err
		}},
		{"Role", []policy.Scope{policy.ScopeReadRoles}, func(c policy.Caller) (string, error) {
			_, err := e.svc.Role(ctx, c, "rol_nope")
			return "", err
		}},
		{"RoleUsers", []policy.Scope{policy.ScopeReadRoles, policy.ScopeReadUsers}, func(c policy.Caller) (string, error) {
			_, _, err := e.svc.RoleUsers(ctx, c, "rol_nope", "", 10)
			return "", err
		}},
		{"UserRoles", []policy.Scope{policy.ScopeReadUsers, policy.ScopeReadRoles}, func(c policy.Caller) (string, error) {
			_, err := e.svc.UserRoles(ctx, c, "imp|nope")
			return "", err
		}},
		{"UserPermissions", []policy.Scope{policy.ScopeReadUsers, policy.ScopeReadRoles}, func(c policy.Caller) (string, error) {
			_, err := e.svc.UserPermissions(ctx, c, "imp|nope")
			return "", err
		}},
		{"AssignRoles", []policy.Scope{policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			return "", e.svc.AssignRoles(ctx, c, "imp|nope", []string{"rol_nope"})
		}},
		{"RemoveRoles", []policy.Scope{policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			return "", e.svc.RemoveRoles(ctx, c, "imp|nope", []string{"rol_nope"})
		}},
		{"AssignPermissions", []policy.Scope{policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			return "", e.svc.AssignPermissions(ctx, c, "imp|nope", []policy.Permission{{API: "https://api.example.com/nope", Name: "read:x"}})
		}},
		{"RemovePermissions", []policy.Scope{policy.ScopeUpdateUsers}, func(c policy.Caller) (string, error) {
			return "", e.svc.RemovePermissions(ctx, c, "imp|nope", []policy.Permission{{API: "https://api.example.com/nope", Name: "read:x"}})
		}},
		{"CreateAPI", []policy.Scope{policy.ScopeCreateResourceServers}, func(c policy.Caller) (string, error) {
			_, err := e.svc.CreateAPI(ctx, c, service.APIInput{Identifier: "https://api.example.com/" + c.Subject, Name: "API"})
			return "", err
		}},
		{"UpdateAPI", []policy.Scope{policy.ScopeUpdateResourceServers}, func(c policy.Caller) (string, error) {
			name := "renamed"
			_, err := e.svc.UpdateAPI(ctx, c, "https://api.example.com/operator", service.APIPatch{Name: &name})
			return "", err
		}},
		{"DeleteAPI", []policy.Scope{policy.ScopeDeleteResourceServers}, func(c policy.Caller) (string, error) {
			return "", e.svc.DeleteAPI(ctx, c, "https://api.example.com/nope")
		}},
		{"CreateRole", []policy.Scope{policy.ScopeCreateRoles}, func(c policy.Caller) (string, error) {
			_, err := e.svc.CreateRole(ctx, c, "role-"+c.Subject, "", nil)
			return "", err
		}},
		{"UpdateRole", []policy.Scope{policy.ScopeUpdateRoles}, func(c policy.Caller) (string, error) {
			name := "x"
			_, err := e.svc.UpdateRole(ctx, c, "rol_nope", &name, nil)
			return "", err
		}},
		{"DeleteRole", []policy.Scope{policy.ScopeDeleteRoles}, func(c policy.Caller) (string, error) {
			return "", e.svc.DeleteRole(ctx, c, "rol_nope")
		}},
		{"AddRolePermissions", []policy.Scope{policy.ScopeUpdateRoles}, func(c policy.Caller) (string, error) {
			_, err := e.svc.AddRolePermissions(ctx, c, "rol_nope", nil)
			return "", err
		}},
		{"RemoveRolePermissions", []policy.Scope{policy.ScopeUpdateRoles}, func(c policy.Caller) (string, error) {
			_, err := e.svc.RemoveRolePermissions(ctx, c, "rol_nope", nil)
			return "", err
		}},
		{"CreateApplication", []policy.Scope{policy.ScopeCreateClients}, func(c policy.Caller) (string, error) {
			name := "app"
			_, _, err := e.svc.CreateApplication(ctx, c, service.ApplicationSpec{Name: &name, Type: service.AppM2M})
			return "", err
		}},
		{"UpdateApplication", []policy.Scope{policy.ScopeUpdateClients}, func(c policy.Caller) (string, error) {
			_, err := e.svc.UpdateApplication(ctx, c, "nope", service.ApplicationSpec{})
			return "", err
		}},
		{"RotateApplicationSecret", []policy.Scope{policy.ScopeUpdateClients}, func(c policy.Caller) (string, error) {
			_, _, err := e.svc.RotateApplicationSecret(ctx, c, "nope")
			return "", err
		}},
		{"DeleteApplication", []policy.Scope{policy.ScopeDeleteClients}, func(c policy.Caller) (string, error) {
			return "", e.svc.DeleteApplication(ctx, c, "nope")
		}},
	} {
		t.Run(uc.name, func(t *testing.T) {
			self := service.Operator()
			self.Subject, self.Self = "imp|u1", true
			callers := map[string]policy.Caller{"user token": self, "no scope": {Subject: "none", Scopes: map[policy.Scope]bool{}}}
			for _, s := range uc.needs {
				callers["lacking "+string(s)] = allBut(s)
			}
			for name, c := range callers {
				read.Store(false)
				jobsBefore := inserted.Load()
				connsBefore, err := e.store.Connections(ctx)
				if err != nil {
					t.Fatal(err)
				}
				usersBefore, err := e.store.CountUsersOfConnection(ctx, "imp")
				if err != nil {
					t.Fatal(err)
				}
				_, err = uc.call(c)
				var r *policy.Refusal
				if !errors.As(err, &r) || r.Reason != policy.ReasonForbidden {
					t.Fatalf("%s: got %v, want a FORBIDDEN refusal", name, err)
				}
				if read.Load() {
					t.Errorf("%s: the upload was read before the refusal", name)
				}
				if n := inserted.Load() - jobsBefore; n != 0 {
					t.Errorf("%s: %d jobs recorded", name, n)
				}
				if n, err := e.store.CountUsersOfConnection(ctx, "imp"); err != nil || n != usersBefore {
					t.Errorf("%s: %d users, %d before (%v)", name, n, usersBefore, err)
				}
				connsAfter, err := e.store.Connections(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(connsAfter) != len(connsBefore) || connsAfter[0].SyncUserProfile != connsBefore[0].SyncUserProfile {
					t.Errorf("%s: a connection was written", name)
				}
			}
			// The operator is not refused (whatever else the call says); a
			// job it starts is let finish before the store closes.
			var r *policy.Refusal
			job, err := uc.call(service.Operator())
			if errors.As(err, &r) {
				t.Fatalf("operator refused: %v", err)
			}
			if job != "" {
				if _, err := e.svc.WaitJob(ctx, service.Operator(), job, 10*time.Millisecond, nil); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
