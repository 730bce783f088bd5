package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// APIs (resource servers), roles and their assignments: service.RBACQueries.
// Permissions are stored by the API's id and named by its identifier
// outside the store.

var _ service.RBACQueries = (*queries)(nil)

const apiColumns = `id, identifier, name, enforce_rbac, permissions_in_token, created_at, updated_at`

type apiRow struct {
	ID                 string `db:"id"`
	Identifier         string `db:"identifier"`
	Name               string `db:"name"`
	EnforceRBAC        bool   `db:"enforce_rbac"`
	PermissionsInToken bool   `db:"permissions_in_token"`
	CreatedAt          dbTime `db:"created_at"`
	UpdatedAt          dbTime `db:"updated_at"`
}

type apiPermRow struct {
	APIID       string `db:"api_id"`
	Name        string `db:"name"`
	Description string `db:"description"`
}

// placeholders returns "?, ?, …" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// forUpdate appends FOR UPDATE on MySQL (SQLite transactions hold the
// write lock from BEGIN).
func (q *queries) forUpdate(query string) string {
	if q.dialect == DialectMySQL {
		return query + " FOR UPDATE"
	}
	return query
}

// apisWith reads rows and attaches their permissions (by name).
func (q *queries) apisWith(ctx context.Context, x runner, op string, rows []apiRow) ([]policy.API, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var perms []apiPermRow
	if err := x.sel(ctx, &perms, `SELECT api_id, name, description FROM resource_server_permissions WHERE api_id IN (`+
		placeholders(len(ids))+`) ORDER BY api_id, name`, anys(ids)...); err != nil {
		return nil, translate(err, op, "resource_server_permissions")
	}
	byAPI := map[string][]policy.APIPermission{}
	for _, p := range perms {
		byAPI[p.APIID] = append(byAPI[p.APIID], policy.APIPermission{Name: p.Name, Description: p.Description})
	}
	out := make([]policy.API, len(rows))
	for i, r := range rows {
		out[i] = policy.API{ID: r.ID, Identifier: r.Identifier, Name: r.Name, EnforceRBAC: r.EnforceRBAC,
			PermissionsInToken: r.PermissionsInToken, CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
			Permissions: byAPI[r.ID]}
	}
	return out, nil
}

func (q *queries) APIs(ctx context.Context) ([]policy.API, error) {
	var rows []apiRow
	if err := q.r.sel(ctx, &rows, `SELECT `+apiColumns+` FROM resource_servers ORDER BY identifier`); err != nil {
		return nil, translate(err, "list APIs", "resource_servers")
	}
	return q.apisWith(ctx, q.r, "list APIs", rows)
}

func (q *queries) apiBy(ctx context.Context, x runner, identifier string, lock bool) (policy.API, error) {
	op := fmt.Sprintf("API %q", identifier)
	query := `SELECT ` + apiColumns + ` FROM resource_servers WHERE identifier = ?`
	if lock {
		query = q.forUpdate(query)
	}
	var rows []apiRow
	if err := x.sel(ctx, &rows, query, identifier); err != nil {
		return policy.API{}, translate(err, op, "resource_servers")
	}
	if len(rows) == 0 {
		return policy.API{}, fmt.Errorf("db: %s: %w", op, service.ErrNotFound)
	}
	apis, err := q.apisWith(ctx, x, op, rows)
	if err != nil {
		return policy.API{}, err
	}
	return apis[0], nil
}

func (q *queries) APIByIdentifier(ctx context.Context, identifier string) (policy.API, error) {
	return q.apiBy(ctx, q.r, identifier, false)
}

func (q *queries) APIByIdentifierForUpdate(ctx context.Context, identifier string) (policy.API, error) {
	return q.apiBy(ctx, q.w, identifier, true)
}

func (q *queries) APIsByIdentifiers(ctx context.Context, identifiers []string) (map[string]policy.API, error) {
	out := map[string]policy.API{}
	if len(identifiers) == 0 {
		return out, nil
	}
	var rows []apiRow
	if err := q.r.sel(ctx, &rows, `SELECT `+apiColumns+` FROM resource_servers WHERE identifier IN (`+
		placeholders(len(identifiers))+`)`, anys(identifiers)...); err != nil {
		return nil, translate(err, "APIs by identifier", "resource_servers")
	}
	apis, err := q.apisWith(ctx, q.r, "APIs by identifier", rows)
	if err != nil {
		return nil, err
	}
	for _, a := range apis {
		out[a.Identifier] = a
	}
	return out, nil
}

func (q *queries) insertAPIPermissions(ctx context.Context, apiID string, ps []policy.APIPermission) error {
	for len(ps) > 0 {
		chunk := ps[:min(len(ps), 200)]
		ps = ps[len(chunk):]
		args := make([]any, 0, 3*len(chunk))
		var b strings.Builder
		for i, p := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?)")
			args = append(args, apiID, p.Name, p.Description)
		}
		if _, err := q.w.exec(ctx, `INSERT INTO resource_server_permissions (api_id, name, description) VALUES `+b.String(), args...); err != nil {
			return translate(err, fmt.Sprintf("insert permissions of API %q", apiID), "resource_server_permissions")
		}
	}
	return nil
}

func (q *queries) InsertAPI(ctx context.Context, a policy.API) error {
	if _, err := q.w.exec(ctx, `INSERT INTO resource_servers (`+apiColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Identifier, a.Name, a.EnforceRBAC, a.PermissionsInToken, dbTime{a.CreatedAt}, dbTime{a.UpdatedAt}); err != nil {
		return translate(err, fmt.Sprintf("insert API %q", a.Identifier), "resource_servers")
	}
	return q.insertAPIPermissions(ctx, a.ID, a.Permissions)
}

func (q *queries) UpdateAPI(ctx context.Context, a policy.API) error {
	op := fmt.Sprintf("update API %q", a.Identifier)
	res, err := q.w.exec(ctx, `UPDATE resource_servers SET name = ?, enforce_rbac = ?, permissions_in_token = ?, updated_at = ? WHERE id = ?`,
		a.Name, a.EnforceRBAC, a.PermissionsInToken, dbTime{a.UpdatedAt}, a.ID)
	if err := affectedOne(res, err, op, "resource_servers"); err != nil {
		return err
	}
	var old []apiPermRow
	if err := q.w.sel(ctx, &old, `SELECT api_id, name, description FROM resource_server_permissions WHERE api_id = ?`, a.ID); err != nil {
		return translate(err, op, "resource_server_permissions")
	}
	want := map[string]string{}
	for _, p := range a.Permissions {
		want[p.Name] = p.Description
	}
	have := map[string]bool{}
	for _, p := range old {
		have[p.Name] = true
		d, keep := want[p.Name]
		switch {
		case !keep: // cascades to role_permissions and user_permissions
			if _, err := q.w.exec(ctx, `DELETE FROM resource_server_permissions WHERE api_id = ? AND name = ?`, a.ID, p.Name); err != nil {
				return translate(err, op, "resource_server_permissions")
			}
		case d != p.Description:
			if _, err := q.w.exec(ctx, `UPDATE resource_server_permissions SET description = ? WHERE api_id = ? AND name = ?`, d, a.ID, p.Name); err != nil {
				return translate(err, op, "resource_server_permissions")
			}
		}
	}
	var added []policy.APIPermission
	for _, p := range a.Permissions {
		if !have[p.Name] {
			added = append(added, p)
		}
	}
	return q.insertAPIPermissions(ctx, a.ID, added)
}

func (q *queries) DeleteAPI(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, `DELETE FROM resource_servers WHERE id = ?`, id)
	return affectedOne(res, err, fmt.Sprintf("delete API %q", id), "resource_servers")
}

// ---- roles ----

const roleColumns = `id, name, description, created_at, updated_at`

type roleRow struct {
	ID          string `db:"id"`
	Name        string `db:"name"`
	Description string `db:"description"`
	CreatedAt   dbTime `db:"created_at"`
	UpdatedAt   dbTime `db:"updated_at"`
}

type permRow struct {
	Owner string `db:"owner"`
	API   string `db:"identifier"`
	Name  string `db:"name"`
}

// rolesWith attaches their permissions to roles read as rows.
func (q *queries) rolesWith(ctx context.Context, x runner, op string, rows []roleRow) ([]policy.Role, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var perms []permRow
	if err := x.sel(ctx, &perms, `SELECT rp.role_id AS owner, rs.identifier, rp.name FROM role_permissions rp
		JOIN resource_servers rs ON rs.id = rp.api_id WHERE rp.role_id IN (`+placeholders(len(ids))+`)
		ORDER BY rp.role_id, rs.identifier, rp.name`, anys(ids)...); err != nil {
		return nil, translate(err, op, "role_permissions")
	}
	byRole := map[string][]policy.Permission{}
	for _, p := range perms {
		byRole[p.Owner] = append(byRole[p.Owner], policy.Permission{API: p.API, Name: p.Name})
	}
	out := make([]policy.Role, len(rows))
	for i, r := range rows {
		out[i] = policy.Role{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: byRole[r.ID],
			CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time}
	}
	return out, nil
}

func (q *queries) Roles(ctx context.Context, p service.ListRolesParams) ([]policy.Role, error) {
	query := `SELECT ` + roleColumns + ` FROM roles WHERE name > ?`
	args := []any{p.After}
	if p.NameFilter != "" {
		query += ` AND LOWER(name) LIKE ? ESCAPE '!'`
		args = append(args, "%"+likeEscape(strings.ToLower(p.NameFilter))+"%")
	}
	query += ` ORDER BY name LIMIT ?`
	args = append(args, pageSize(p.Limit))
	var rows []roleRow
	if err := q.r.sel(ctx, &rows, query, args...); err != nil {
		return nil, translate(err, "list roles", "roles")
	}
	return q.rolesWith(ctx, q.r, "list roles", rows)
}

// likeEscape escapes LIKE's wildcards with '!'.
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

func (q *queries) CountRolesForUpdate(ctx context.Context) (int, error) {
	var n int
	// A locking read of every role (and the gaps between): on MySQL a
	// concurrent insert waits until this transaction ends.
	if err := q.w.get(ctx, &n, q.forUpdate(`SELECT COUNT(*) FROM roles`)); err != nil {
		return 0, translate(err, "count roles", "roles")
	}
	return n, nil
}

func (q *queries) roleBy(ctx context.Context, x runner, op, query string, arg any) (policy.Role, error) {
	var rows []roleRow
	if err := x.sel(ctx, &rows, query, arg); err != nil {
		return policy.Role{}, translate(err, op, "roles")
	}
	if len(rows) == 0 {
		return policy.Role{}, fmt.Errorf("db: %s: %w", op, service.ErrNotFound)
	}
	rs, err := q.rolesWith(ctx, x, op, rows)
	if err != nil {
		return policy.Role{}, err
	}
	return rs[0], nil
}

func (q *queries) RoleByID(ctx context.Context, id string) (policy.Role, error) {
	return q.roleBy(ctx, q.r, fmt.Sprintf("role %q", id), `SELECT `+roleColumns+` FROM roles WHERE id = ?`, id)
}

func (q *queries) RoleByIDForUpdate(ctx context.Context, id string) (policy.Role, error) {
	return q.roleBy(ctx, q.w, fmt.Sprintf("role %q for update", id), q.forUpdate(`SELECT `+roleColumns+` FROM roles WHERE id = ?`), id)
}

func (q *queries) RoleByName(ctx context.Context, name string) (policy.Role, error) {
	return q.roleBy(ctx, q.r, "role by name", `SELECT `+roleColumns+` FROM roles WHERE name = ?`, name)
}

func (q *queries) InsertRole(ctx context.Context, r policy.Role) error {
	_, err := q.w.exec(ctx, `INSERT INTO roles (`+roleColumns+`) VALUES (?, ?, ?, ?, ?)`,
		r.ID, r.Name, r.Description, dbTime{r.CreatedAt}, dbTime{r.UpdatedAt})
	return translate(err, fmt.Sprintf("insert role %q", r.ID), "roles")
}

func (q *queries) UpdateRole(ctx context.Context, r policy.Role) error {
	res, err := q.w.exec(ctx, `UPDATE roles SET name = ?, description = ?, updated_at = ? WHERE id = ?`,
		r.Name, r.Description, dbTime{r.UpdatedAt}, r.ID)
	return affectedOne(res, err, fmt.Sprintf("update role %q", r.ID), "roles")
}

func (q *queries) DeleteRole(ctx context.Context, id string) error {
	res, err := q.w.exec(ctx, `DELETE FROM roles WHERE id = ?`, id)
	return affectedOne(res, err, fmt.Sprintf("delete role %q", id), "roles")
}

// permsExec runs one statement per permission, with the API's id looked
// up by identifier inside the statement.
func (q *queries) permsExec(ctx context.Context, op, table, query string, ps []policy.Permission, lead ...any) error {
	for _, p := range ps {
		args := append(append([]any(nil), lead...), p.Name, p.API)
		if _, err := q.w.exec(ctx, query, args...); err != nil {
			return translate(err, op, table)
		}
	}
	return nil
}

func (q *queries) AddRolePermissions(ctx context.Context, roleID string, ps []policy.Permission) error {
	return q.permsExec(ctx, fmt.Sprintf("add permissions to role %q", roleID), "role_permissions",
		`INSERT INTO role_permissions (role_id, api_id, name) SELECT ?, id, ? FROM resource_servers WHERE identifier = ?`, ps, roleID)
}

func (q *queries) RemoveRolePermissions(ctx context.Context, roleID string, ps []policy.Permission) error {
	return q.permsExec(ctx, fmt.Sprintf("remove permissions from role %q", roleID), "role_permissions",
		`DELETE FROM role_permissions WHERE role_id = ? AND name = ? AND api_id = (SELECT id FROM resource_servers WHERE identifier = ?)`, ps, roleID)
}

// ---- assignments ----

func (q *queries) UserRoles(ctx context.Context, userID string) ([]policy.Role, error) {
	var rows []roleRow
	if err := q.r.sel(ctx, &rows, `SELECT r.id, r.name, r.description, r.created_at, r.updated_at FROM user_roles ur
		JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = ? ORDER BY r.name`, userID); err != nil {
		return nil, translate(err, "roles of a user", "user_roles")
	}
	return q.rolesWith(ctx, q.r, "roles of a user", rows)
}

func (q *queries) AddUserRoles(ctx context.Context, userID string, roleIDs []string, now time.Time) error {
	for _, id := range roleIDs {
		if _, err := q.w.exec(ctx, `INSERT INTO user_roles (user_id, role_id, created_at) VALUES (?, ?, ?)`, userID, id, dbTime{now}); err != nil {
			return translate(err, fmt.Sprintf("assign role %q", id), "user_roles")
		}
	}
	return nil
}

func (q *queries) RemoveUserRoles(ctx context.Context, userID string, roleIDs []string) error {
	if len(roleIDs) == 0 {
		return nil
	}
	_, err := q.w.exec(ctx, `DELETE FROM user_roles WHERE user_id = ? AND role_id IN (`+placeholders(len(roleIDs))+`)`,
		append([]any{userID}, anys(roleIDs)...)...)
	return translate(err, "remove roles", "user_roles")
}

func (q *queries) UserDirectPermissions(ctx context.Context, userID string) ([]policy.Permission, error) {
	var rows []permRow
	if err := q.r.sel(ctx, &rows, `SELECT up.user_id AS owner, rs.identifier, up.name FROM user_permissions up
		JOIN resource_servers rs ON rs.id = up.api_id WHERE up.user_id = ? ORDER BY rs.identifier, up.name`, userID); err != nil {
		return nil, translate(err, "permissions of a user", "user_permissions")
	}
	out := make([]policy.Permission, len(rows))
	for i, r := range rows {
		out[i] = policy.Permission{API: r.API, Name: r.Name}
	}
	return out, nil
}

func (q *queries) AddUserPermissions(ctx context.Context, userID string, ps []policy.Permission, now time.Time) error {
	for _, p := range ps {
		if _, err := q.w.exec(ctx, `INSERT INTO user_permissions (user_id, api_id, name, created_at)
			SELECT ?, id, ?, ? FROM resource_servers WHERE identifier = ?`, userID, p.Name, dbTime{now}, p.API); err != nil {
			return translate(err, "assign permissions", "user_permissions")
		}
	}
	return nil
}

func (q *queries) RemoveUserPermissions(ctx context.Context, userID string, ps []policy.Permission) error {
	return q.permsExec(ctx, "remove permissions", "user_permissions",
		`DELETE FROM user_permissions WHERE user_id = ? AND name = ? AND api_id = (SELECT id FROM resource_servers WHERE identifier = ?)`, ps, userID)
}

func (q *queries) UserAPIPermissions(ctx context.Context, userID, apiID string) ([]string, error) {
	var names []string
	if err := q.r.sel(ctx, &names, `SELECT name FROM user_permissions WHERE user_id = ? AND api_id = ?
		UNION SELECT rp.name FROM user_roles ur JOIN role_permissions rp ON rp.role_id = ur.role_id
		WHERE ur.user_id = ? AND rp.api_id = ?`, userID, apiID, userID, apiID); err != nil {
		return nil, translate(err, "permissions of a user for an API", "user_permissions")
	}
	return names, nil
}

func (q *queries) RoleUsers(ctx context.Context, roleID, after string, limit int) ([]policy.User, int, error) {
	var total int
	if err := q.r.get(ctx, &total, `SELECT COUNT(*) FROM user_roles WHERE role_id = ?`, roleID); err != nil {
		return nil, 0, translate(err, "count users of a role", "user_roles")
	}
	users, err := q.selectUsers(ctx, "users of a role", `SELECT `+prefixed("u.", userColumns)+` FROM user_roles ur
		JOIN users u ON u.id = ur.user_id WHERE ur.role_id = ? AND ur.user_id > ? ORDER BY ur.user_id LIMIT ?`,
		roleID, after, pageSize(limit))
	return users, total, err
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
