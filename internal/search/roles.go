package search

// roles:NAME matches users holding the role named NAME (exact,
// case-sensitive, as role names are unique as written); roles:adm* a role
// whose name starts with adm; _exists_:roles any role. The store's
// user_roles (role_id, user_id) index and roles' unique name make it a
// short index range per matching role.
var rolesField = &field{name: "roles", col: "roles", kind: kindRole}

// The tables a roles: term reads (the store's RBAC tables).
const (
	rolesTable     = "roles"
	userRolesTable = "user_roles"
)

func (c *compiler) role(t *term) {
	c.w("(users.id IN (SELECT ur.user_id FROM " + userRolesTable + " ur JOIN " + rolesTable + " r ON r.id = ur.role_id WHERE ")
	c.pred(t, "r.name", false)
	c.w("))")
}
