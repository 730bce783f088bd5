// The user page's Roles and Permissions tabs. Each tab is a plain object
// { id, label, panel }; pages/user.js puts them in the user page's tab list.
import { gql } from './api.js';
import { h, errorSlot, statusSlot, showError, clearError, busy, badge, link } from './ui.js';
import { can } from './session.js';

const USER_RBAC = `query UserRBAC($id: ID!, $after: String) {
  user(id: $id) {
    roles { id name description }
    permissions(first: 200, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { api name sources { direct roleId roleName } } }
  }
}`;
const ROLES = `query Roles($after: String) { roles(first: 100, after: $after) { nodes { id name } pageInfo { hasNextPage endCursor } } }`;
const APIS = `query Apis { apis { identifier name permissions { name description } } }`;
const ASSIGN_ROLES = `mutation AssignRoles($u: ID!, $r: [ID!]!) { assignRoles(userId: $u, roles: $r) { id } }`;
const REMOVE_ROLES = `mutation RemoveRoles($u: ID!, $r: [ID!]!) { removeRoles(userId: $u, roles: $r) { id } }`;
const ASSIGN_PERMS = `mutation AssignPermissions($u: ID!, $p: [PermissionInput!]!) { assignPermissions(userId: $u, permissions: $p) { id } }`;
const REMOVE_PERMS = `mutation RemovePermissions($u: ID!, $p: [PermissionInput!]!) { removePermissions(userId: $u, permissions: $p) { id } }`;

// rbacTabs returns the two tabs for user id, or [] when the token cannot
// read roles (read:users and read:roles).
export function rbacTabs(userId) {
  if (!can('read:users') || !can('read:roles')) return [];
  const roles = h('div', { id: 'tab-roles-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const perms = h('div', { id: 'tab-permissions-body' }, h('p', { class: 'muted' }, 'Loading…'));
  const load = async (statusId, msg) => {
    let data;
    try {
      data = (await gql(USER_RBAC, { id: userId })).user;
    } catch (e) {
      const err = errorSlot('rbac-error');
      showError(err, e);
      roles.replaceChildren(err);
      perms.replaceChildren();
      return;
    }
    drawRoles(roles, userId, data.roles, load);
    drawPermissions(perms, userId, data.permissions, load);
    const s = statusId && document.getElementById(statusId);
    if (s) s.textContent = msg;
  };
  load();
  return [
    { id: 'roles', label: 'Roles', panel: roles },
    { id: 'permissions', label: 'Permissions', panel: perms },
  ];
}

async function allRoles() {
  const out = [];
  let after = null;
  for (;;) {
    const r = (await gql(ROLES, { after })).roles;
    out.push(...r.nodes);
    if (!r.pageInfo.hasNextPage) return out;
    after = r.pageInfo.endCursor;
  }
}

function drawRoles(el, userId, roles, load) {
  const err = errorSlot('roles-error');
  const status = statusSlot('roles-status');
  const canWrite = can('update:users');
  const rows = roles.map((r) => h('tr', {},
    h('td', { 'data-label': 'Name' }, link('/dashboard/roles/' + encodeURIComponent(r.id), r.name)),
    h('td', { 'data-label': 'Description' }, r.description || '—'),
    canWrite ? h('td', {}, h('button', {
      type: 'button', class: 'secondary', 'data-remove-role': r.id, 'aria-label': `Remove role ${r.name}`,
      on: { click: (ev) => busy(ev.currentTarget, async () => {
        clearError(err);
        try {
          await gql(REMOVE_ROLES, { u: userId, r: [r.id] });
          await load('roles-status', `Role ${r.name} removed.`);
        } catch (e) { showError(err, e); }
      }) },
    }, 'Remove')) : null));
  el.replaceChildren(...present(
    h('p', { class: 'help' }, 'Roles are created on the ', link('/dashboard/roles', 'Roles page'), ' and assigned here; a user holds at most 50.'),
    roles.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'user-roles' },
        h('thead', {}, h('tr', {}, ['Name', 'Description', canWrite ? 'Action' : null].filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows)))
      : h('p', { class: 'muted', id: 'user-roles-empty' }, 'No roles assigned.'),
    canWrite ? assignRoleForm(userId, roles, load, err) : null,
    err, status));
}

function assignRoleForm(userId, held, load, err) {
  const select = h('select', { id: 'assign-role', 'aria-describedby': 'roles-error' }, h('option', { value: '' }, 'Loading roles…'));
  const button = h('button', { type: 'submit', id: 'assign-role-submit' }, 'Assign role');
  allRoles().then((rs) => {
    const free = rs.filter((r) => !held.some((x) => x.id === r.id));
    select.replaceChildren(h('option', { value: '' }, free.length ? 'Choose a role…' : 'No other role to assign'),
      ...free.map((r) => h('option', { value: r.id }, r.name)));
  }, (e) => showError(err, e));
  return h('form', { class: 'inline', id: 'assign-role-form', on: { submit: (ev) => {
    ev.preventDefault();
    if (!select.value) { showError(err, 'Choose a role to assign.', select); select.focus(); return; }
    busy(button, async () => {
      clearError(err, select);
      const name = select.selectedOptions[0].textContent;
      try {
        await gql(ASSIGN_ROLES, { u: userId, r: [select.value] });
        await load('roles-status', `Role ${name} assigned.`);
      } catch (e) { showError(err, e, select); }
    });
  } } }, h('label', { for: 'assign-role' }, 'Role'), select, button);
}

function sourceText(s) {
  return s.direct ? 'Direct' : `Role: ${s.roleName}`;
}

function drawPermissions(el, userId, page, load) {
  const err = errorSlot('permissions-error');
  const status = statusSlot('permissions-status');
  const canWrite = can('update:users');
  const rows = page.nodes.map((p) => {
    const direct = p.sources.some((s) => s.direct);
    return h('tr', {},
      h('td', { 'data-label': 'Permission' }, h('code', {}, p.name)),
      h('td', { 'data-label': 'API' }, p.api),
      h('td', { 'data-label': 'Assignment', class: 'sources' }, p.sources.map((s) => badge(sourceText(s), s.direct ? 'ok' : null))),
      canWrite ? h('td', {}, direct ? h('button', {
        type: 'button', class: 'secondary', 'aria-label': `Remove direct permission ${p.name} of ${p.api}`,
        on: { click: (ev) => busy(ev.currentTarget, async () => {
          clearError(err);
          try {
            await gql(REMOVE_PERMS, { u: userId, p: [{ api: p.api, name: p.name }] });
            await load('permissions-status', `Permission ${p.name} removed.`);
          } catch (e) { showError(err, e); }
        }) },
      }, 'Remove') : h('span', { class: 'muted' }, 'through roles')) : null);
  });
  el.replaceChildren(...present(
    h('p', { class: 'help' }, 'Everything the user holds: assigned directly or through a role (the Assignment column says which). Tokens for an API carry them as its settings say.'),
    page.nodes.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'user-permissions' },
        h('thead', {}, h('tr', {}, ['Permission', 'API', 'Assignment', canWrite ? 'Action' : null].filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows)))
      : h('p', { class: 'muted', id: 'user-permissions-empty' }, 'No permissions.'),
    page.pageInfo.hasNextPage ? h('p', { class: 'help' }, `Showing 200 of ${page.totalCount}.`) : null,
    canWrite && can('read:resource_servers') ? assignPermissionForm(userId, load, err) : null,
    err, status));
}

function assignPermissionForm(userId, load, err) {
  const select = h('select', { id: 'assign-permission', 'aria-describedby': 'permissions-error' }, h('option', { value: '' }, 'Loading permissions…'));
  const button = h('button', { type: 'submit', id: 'assign-permission-submit' }, 'Assign permission');
  gql(APIS).then(({ apis }) => {
    const opts = [];
    for (const a of apis) {
      for (const p of a.permissions) opts.push(h('option', { value: JSON.stringify({ api: a.identifier, name: p.name }) }, `${p.name} (${a.name})`));
    }
    select.replaceChildren(h('option', { value: '' }, opts.length ? 'Choose a permission…' : 'No API defines permissions yet'), ...opts);
  }, (e) => showError(err, e));
  return h('form', { class: 'inline', id: 'assign-permission-form', on: { submit: (ev) => {
    ev.preventDefault();
    if (!select.value) { showError(err, 'Choose a permission to assign.', select); select.focus(); return; }
    busy(button, async () => {
      clearError(err, select);
      const p = JSON.parse(select.value);
      try {
        await gql(ASSIGN_PERMS, { u: userId, p: [p] });
        await load('permissions-status', `Permission ${p.name} assigned.`);
      } catch (e) { showError(err, e, select); }
    });
  } } }, h('label', { for: 'assign-permission' }, 'Permission'), select, button);
}


// present drops the null and false items of a list of children
// (replaceChildren would show them as text).
function present(...items) {
  return items.filter((x) => x !== null && x !== undefined && x !== false);
}
