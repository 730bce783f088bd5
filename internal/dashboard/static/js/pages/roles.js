// Roles: the list (with create), and one role's permissions and users.
import { gql } from '../api.js';
import { h, card, field, errorSlot, statusSlot, showError, clearError, reportError, busy, link } from '../ui.js';
import { can } from '../session.js';

const LIST = `query Roles($after: String) { roles(first: 100, after: $after) { nodes { id name description permissions { api name } } pageInfo { hasNextPage endCursor } } }`;
const CREATE = `mutation CreateRole($input: RoleInput!) { createRole(input: $input) { id } }`;
const ROLE = `query Role($id: ID!) { role(id: $id) { id name description permissions { api name } } }`;
const ROLE_USERS = `query RoleUsers($id: ID!) { role(id: $id) { users(first: 100) { totalCount edges { node { id email } } } } }`;
const APIS = `query Apis { apis { identifier name permissions { name } } }`;
const ADD = `mutation AddRolePermissions($id: ID!, $p: [PermissionInput!]!) { addRolePermissions(id: $id, permissions: $p) { id } }`;
const REMOVE = `mutation RemoveRolePermissions($id: ID!, $p: [PermissionInput!]!) { removeRolePermissions(id: $id, permissions: $p) { id } }`;
const DELETE = `mutation DeleteRole($id: ID!) { deleteRole(id: $id) }`;

export async function render(view, params, ctx) {
  if (params.length) return renderRole(view, params[0], ctx);
  view.append(h('h1', {}, 'Roles'));
  const err = errorSlot('roles-page-error');
  view.append(h('p', { class: 'help' }, 'A role is a named set of permissions of your APIs. Assign roles on a user’s page.'), err);
  if (can('read:roles')) {
    try {
      const roles = [];
      let after = null;
      for (;;) {
        const r = (await gql(LIST, { after })).roles;
        roles.push(...r.nodes);
        if (!r.pageInfo.hasNextPage) break;
        after = r.pageInfo.endCursor;
      }
      view.append(card('All roles', roles.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'role-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Description', 'Permissions'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, roles.map((r) => h('tr', {},
          h('td', { 'data-label': 'Name' }, link('/dashboard/roles/' + encodeURIComponent(r.id), r.name)),
          h('td', { 'data-label': 'Description' }, r.description || '—'),
          h('td', { 'data-label': 'Permissions' }, String(r.permissions.length)))))))
        : h('p', { class: 'muted' }, 'No roles yet.')));
    } catch (e) {
      showError(err, e);
    }
  }
  if (can('create:roles')) view.append(createForm(ctx.navigate));
}

function createForm(navigate) {
  const name = field({ id: 'role-name', label: 'Name', attrs: { required: true, autocomplete: 'off' } });
  const description = field({ id: 'role-description', label: 'Description' });
  const formErr = errorSlot('create-role-error');
  const submit = h('button', { type: 'submit', id: 'create-role-submit' }, 'Create role');
  const fields = { name, description };
  const form = h('form', { id: 'create-role-form', novalidate: true }, name.wrap, description.wrap, h('div', { class: 'actions' }, submit), formErr);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(formErr);
    for (const f of Object.values(fields)) clearError(f.error, f.input);
    const input = { name: name.input.value.trim(), description: description.input.value.trim() };
    if (!input.name) return showError(name.error, 'Enter a name.', name.input);
    busy(submit, async () => {
      try {
        const r = (await gql(CREATE, { input })).createRole;
        navigate('/roles/' + encodeURIComponent(r.id));
      } catch (x) { reportError(x, formErr, fields); }
    });
  });
  return card('Create a role', form);
}

async function renderRole(view, id, ctx) {
  const err = errorSlot('role-error');
  const status = statusSlot('role-status');
  let role;
  try {
    role = (await gql(ROLE, { id })).role;
  } catch (e) {
    view.append(h('h1', {}, 'Role'), err);
    showError(err, e);
    return;
  }
  if (!role) {
    view.append(h('h1', {}, 'Role not found'), h('p', {}, link('/dashboard/roles', 'Back to roles')));
    return;
  }
  const redraw = async (msg) => {
    view.replaceChildren();
    await renderRole(view, id, ctx);
    const s = document.getElementById('role-status');
    if (s && msg) s.textContent = msg;
  };
  const canWrite = can('update:roles');
  view.append(h('h1', {}, role.name), role.description ? h('p', {}, role.description) : null, err, status);
  const rows = role.permissions.map((p) => h('tr', {},
    h('td', { 'data-label': 'Permission' }, h('code', {}, p.name)),
    h('td', { 'data-label': 'API' }, p.api),
    canWrite ? h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${p.name} of ${p.api}`, on: { click: (e) => busy(e.currentTarget, async () => {
      try { await gql(REMOVE, { id, p: [{ api: p.api, name: p.name }] }); await redraw(`Permission ${p.name} removed.`); } catch (x) { showError(err, x); }
    }) } }, 'Remove')) : null));
  const permCard = card('Permissions', role.permissions.length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'role-permissions' },
      h('thead', {}, h('tr', {}, ['Permission', 'API', canWrite ? 'Action' : null].filter(Boolean).map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)))
    : h('p', { class: 'muted' }, 'No permissions yet.'));
  if (canWrite && can('read:resource_servers')) {
    const select = h('select', { id: 'role-add-permission', 'aria-describedby': 'role-error' }, h('option', { value: '' }, 'Loading…'));
    gql(APIS).then(({ apis }) => {
      const opts = [];
      for (const a of apis) for (const p of a.permissions) {
        if (!role.permissions.some((x) => x.api === a.identifier && x.name === p.name)) opts.push(h('option', { value: JSON.stringify({ api: a.identifier, name: p.name }) }, `${p.name} (${a.name})`));
      }
      select.replaceChildren(h('option', { value: '' }, opts.length ? 'Choose a permission…' : 'No other permission'), ...opts);
    }, (e) => showError(err, e));
    const add = h('button', { type: 'submit', id: 'role-add-permission-submit' }, 'Add permission');
    permCard.append(h('form', { class: 'inline', on: { submit: (e) => {
      e.preventDefault();
      clearError(err, select);
      if (!select.value) { showError(err, 'Choose a permission to add.', select); return; }
      const p = JSON.parse(select.value);
      busy(add, async () => {
        try { await gql(ADD, { id, p: [p] }); await redraw(`Permission ${p.name} added.`); } catch (x) { showError(err, x, select); }
      });
    } } }, h('label', { for: 'role-add-permission' }, 'Permission'), select, add));
  }
  view.append(permCard);
  if (can('read:users')) {
    try {
      const u = (await gql(ROLE_USERS, { id })).role.users;
      view.append(card(`Users (${u.totalCount})`, u.edges.length
        ? h('ul', { id: 'role-users' }, u.edges.map((e) => h('li', {}, link('/dashboard/users/' + encodeURIComponent(e.node.id), e.node.email || e.node.id))))
        : h('p', { class: 'muted' }, 'No user holds this role.'),
      u.totalCount > u.edges.length ? h('p', { class: 'help' }, `Showing 100 of ${u.totalCount}; search users with roles:${role.name}.`) : null));
    } catch (e) { showError(err, e); }
  }
  if (can('delete:roles')) {
    view.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger', id: 'delete-role', on: { click: (e) => {
      if (!confirm(`Delete the role ${role.name}? Its users lose it at their next token.`)) return;
      busy(e.currentTarget, async () => {
        try { await gql(DELETE, { id }); ctx.navigate('/roles'); } catch (x) { showError(err, x); }
      });
    } } }, 'Remove this role')));
  }
}
