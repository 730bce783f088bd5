// APIs (resource servers): list, create, and change one's permissions and
// settings (enforce RBAC, permissions in the access token).
import { gql } from '../api.js';
import { h, card, field, errorSlot, statusSlot, showError, clearError, reportError, busy, badge } from '../ui.js';
import { can } from '../session.js';

const LIST = `query Apis { apis { identifier name enforceRbac permissionsInToken permissions { name description } } }`;
const CREATE = `mutation CreateApi($input: ApiInput!) { createApi(input: $input) { identifier } }`;
const UPDATE = `mutation UpdateApi($id: String!, $input: UpdateApiInput!) { updateApi(identifier: $id, input: $input) { identifier } }`;
const DELETE = `mutation DeleteApi($id: String!) { deleteApi(identifier: $id) }`;

// parsePermissions reads "name — description" lines.
function parsePermissions(text) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const [name, ...rest] = line.split(/\s+/);
    out.push({ name, description: rest.join(' ').replace(/^[-—:]\s*/, '') });
  }
  return out;
}

function permissionsText(ps) {
  return ps.map((p) => (p.description ? `${p.name} ${p.description}` : p.name)).join('\n');
}

export async function render(view, _params, { navigate }) {
  view.append(h('h1', {}, 'APIs'));
  const err = errorSlot('apis-error');
  const status = statusSlot('apis-status');
  view.append(h('p', { class: 'help' }, 'Your APIs and the permissions they define. A token asked for an API’s identifier (login with an audience) carries scopes and a permissions claim as its settings say.'), err, status);
  const redraw = () => { view.replaceChildren(); return render(view, [], { navigate }); };
  if (can('read:resource_servers')) {
    try {
      const apis = (await gql(LIST)).apis;
      if (!apis.length) view.append(card('All APIs', h('p', { class: 'muted' }, 'No APIs yet.')));
      for (const a of apis) view.append(apiCard(a, redraw));
    } catch (e) {
      showError(err, e);
    }
  }
  if (can('create:resource_servers')) view.append(createForm(redraw));
}

function apiCard(a, redraw) {
  const slug = a.identifier.replace(/[^a-zA-Z0-9]+/g, '-');
  const err = errorSlot('api-error-' + slug);
  const status = statusSlot('api-status-' + slug);
  const body = [
    h('p', {}, h('code', {}, a.identifier), ' ', a.enforceRbac ? badge('RBAC enforced', 'ok') : badge('RBAC off'), ' ', a.permissionsInToken ? badge('permissions in token', 'ok') : null),
  ];
  if (!can('update:resource_servers')) {
    body.push(a.permissions.length ? h('ul', {}, a.permissions.map((p) => h('li', {}, h('code', {}, p.name), p.description ? ' — ' + p.description : ''))) : h('p', { class: 'muted' }, 'No permissions.'));
  } else {
    const perms = field({ id: 'api-perms-' + slug, label: 'Permissions (one per line: name, then a description)', type: 'textarea', value: permissionsText(a.permissions), attrs: { rows: Math.max(3, a.permissions.length + 1), spellcheck: 'false' } });
    const rbac = h('input', { type: 'checkbox', id: 'api-rbac-' + slug, checked: a.enforceRbac });
    const inToken = h('input', { type: 'checkbox', id: 'api-token-' + slug, checked: a.permissionsInToken });
    const save = h('button', { type: 'submit' }, 'Save API');
    body.push(h('form', { on: { submit: (e) => {
      e.preventDefault();
      clearError(err); clearError(perms.error, perms.input);
      busy(save, async () => {
        try {
          await gql(UPDATE, { id: a.identifier, input: { permissions: parsePermissions(perms.input.value), enforceRbac: rbac.checked, permissionsInToken: inToken.checked } });
          await redraw();
          const s = document.getElementById('apis-status');
          if (s) s.textContent = `API ${a.name} saved.`;
        } catch (x) { reportError(x, err, { permissions: perms }); }
      });
    } } }, perms.wrap,
    h('label', { class: 'inline', for: rbac.id }, rbac, 'Enable RBAC: tokens carry only the requested permissions the user holds'),
    h('label', { class: 'inline', for: inToken.id }, inToken, 'Add permissions in the access token (a permissions claim; needs RBAC)'),
    h('div', { class: 'actions' }, save)));
  }
  if (can('delete:resource_servers')) {
    body.push(h('button', { type: 'button', class: 'danger', on: { click: (e) => {
      if (!confirm(`Delete the API ${a.name}? Its permissions are taken from every role and user.`)) return;
      busy(e.currentTarget, async () => {
        try { await gql(DELETE, { id: a.identifier }); await redraw(); } catch (x) { showError(err, x); }
      });
    } } }, 'Delete API'));
  }
  body.push(err, status);
  return card(a.name, ...body);
}

function createForm(redraw) {
  const identifier = field({ id: 'api-identifier', label: 'Identifier (the audience)', help: 'e.g. https://api.example.com — it cannot change later.', attrs: { required: true, autocomplete: 'off', spellcheck: 'false' } });
  const name = field({ id: 'api-name', label: 'Name', attrs: { required: true } });
  const perms = field({ id: 'api-permissions', label: 'Permissions (one per line: name, then a description)', type: 'textarea', attrs: { rows: 3, spellcheck: 'false' } });
  const rbac = h('input', { type: 'checkbox', id: 'api-rbac' });
  const inToken = h('input', { type: 'checkbox', id: 'api-in-token' });
  const formErr = errorSlot('create-api-error');
  const submit = h('button', { type: 'submit', id: 'create-api-submit' }, 'Create API');
  const fields = { identifier, name, permissions: perms };
  const form = h('form', { id: 'create-api-form', novalidate: true }, identifier.wrap, name.wrap, perms.wrap,
    h('label', { class: 'inline', for: 'api-rbac' }, rbac, 'Enable RBAC'),
    h('label', { class: 'inline', for: 'api-in-token' }, inToken, 'Add permissions in the access token'),
    h('div', { class: 'actions' }, submit), formErr);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(formErr);
    for (const f of Object.values(fields)) clearError(f.error, f.input);
    const input = { identifier: identifier.input.value.trim(), name: name.input.value.trim(), permissions: parsePermissions(perms.input.value), enforceRbac: rbac.checked, permissionsInToken: inToken.checked };
    if (!input.identifier) return showError(identifier.error, 'Enter an identifier.', identifier.input);
    busy(submit, async () => {
      try {
        await gql(CREATE, { input });
        await redraw();
      } catch (x) { reportError(x, formErr, fields); }
    });
  });
  return card('Create an API', form);
}
