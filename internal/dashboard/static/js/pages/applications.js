import { gql } from '../api.js';
import { h, card, field, errorSlot, showError, clearError, reportError, busy, fmtTime } from '../ui.js';
import { can } from '../session.js';

const LIST = `query Applications { applications { id name type confidential redirectURIs webOrigins logoutURLs grantTypes managementScopes
  accessTokenLifetime refreshToken { rotation absoluteLifetime idleLifetime maxActive } createdAt } }`;
const CREATE = `mutation CreateApplication($input: CreateApplicationInput!) { createApplication(input: $input) { application { id name } clientSecret } }`;
const ROTATE = `mutation Rotate($id: ID!) { rotateApplicationSecret(id: $id) { application { id } clientSecret } }`;
const DELETE = `mutation Delete($id: ID!) { deleteApplication(id: $id) }`;

const TYPES = [
  ['SPA', 'Single-page application (public client, PKCE)'],
  ['REGULAR_WEB', 'Regular web application (confidential client)'],
  ['NATIVE', 'Native application (public client, PKCE)'],
  ['M2M', 'Machine to machine (client_credentials, management scopes)'],
];

// pending is a secret to show on the next render (after a create).
let pending = null;

const lines = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

// secretCard shows a client secret once: it is never readable again.
function secretCard(app, secret) {
  return card('Client secret of ' + app.name,
    h('p', {}, 'Copy it now: only its hash is kept, and it will not be shown again.'),
    h('p', {}, h('code', { id: 'client-secret' }, secret)));
}

export async function render(view, _params, { navigate }) {
  view.append(h('h1', {}, 'Applications'));
  const shown = h('div', { id: 'secret-slot' });
  view.append(shown);
  if (pending) {
    shown.append(secretCard(pending.app, pending.secret));
    pending = null;
  }
  if (can('read:clients')) {
    const err = errorSlot('applications-error');
    view.append(err);
    try {
      const apps = (await gql(LIST)).applications;
      view.append(card('All applications', apps.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'application-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Type', 'Client ID', 'Redirect URIs', 'Grants', 'Refresh tokens', 'Created', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, apps.map((a) => h('tr', {},
          h('td', { 'data-label': 'Name' }, a.name),
          h('td', { 'data-label': 'Type' }, a.type),
          h('td', { 'data-label': 'Client ID' }, h('code', {}, a.id)),
          h('td', { 'data-label': 'Redirect URIs' }, a.redirectURIs.join(' ') || '—'),
          h('td', { 'data-label': 'Grants' }, a.grantTypes.join(', ') + (a.managementScopes.length ? ' (' + a.managementScopes.join(', ') + ')' : '')),
          h('td', { 'data-label': 'Refresh tokens' }, (a.refreshToken.rotation ? 'rotating' : 'not rotating') + `, ${a.refreshToken.maxActive} devices`),
          h('td', { 'data-label': 'Created' }, fmtTime(a.createdAt)),
          h('td', {}, actions(a, shown, navigate)))))))
        : h('p', { class: 'muted' }, 'No applications yet.')));
    } catch (e) {
      showError(err, e);
    }
  }
  if (can('create:clients')) view.append(createForm(shown, navigate));
}

function actions(a, shown, navigate) {
  const out = h('span', {});
  if (can('update:clients') && a.confidential) {
    const b = h('button', { type: 'button', class: 'secondary', 'data-rotate': a.id }, 'Rotate secret');
    b.addEventListener('click', () => busy(b, async () => {
      if (!confirm('Rotate the secret of ' + a.name + '? The old one stops working at once.')) return;
      const r = (await gql(ROTATE, { id: a.id })).rotateApplicationSecret;
      shown.replaceChildren(secretCard(a, r.clientSecret));
    }));
    out.append(b);
  }
  if (can('delete:clients')) {
    const b = h('button', { type: 'button', class: 'danger', 'data-delete': a.id }, 'Delete');
    b.addEventListener('click', () => busy(b, async () => {
      if (!confirm('Delete ' + a.name + '? Its users\' refresh tokens are revoked.')) return;
      await gql(DELETE, { id: a.id });
      navigate('/applications', true);
    }));
    out.append(b);
  }
  return out;
}

function createForm(shown, navigate) {
  const name = field({ id: 'app-name', label: 'Name', help: 'Shown on the sign-in page.', attrs: { required: true, autocomplete: 'off' } });
  const type = field({ id: 'app-type', label: 'Type', control: h('select', {}, TYPES.map(([v, t]) => h('option', { value: v }, t))) });
  const redirects = field({ id: 'app-redirects', label: 'Redirect URIs (one per line)', type: 'textarea', help: 'Exact URLs; https, or http on localhost.', attrs: { rows: 2, spellcheck: 'false' } });
  const origins = field({ id: 'app-origins', label: 'Allowed web origins (one per line)', type: 'textarea', attrs: { rows: 2, spellcheck: 'false' } });
  const logouts = field({ id: 'app-logouts', label: 'Allowed logout URLs (one per line)', type: 'textarea', attrs: { rows: 2, spellcheck: 'false' } });
  const scopes = field({ id: 'app-scopes', label: 'Management scopes (M2M; space-separated)', help: 'You can grant only scopes your token holds.', attrs: { spellcheck: 'false' } });
  const formErr = errorSlot('create-application-error');
  const submit = h('button', { type: 'submit', id: 'create-application-submit' }, 'Create application');
  const fields = { name, type, redirectURIs: redirects, webOrigins: origins, logoutURLs: logouts, managementScopes: scopes };
  const form = h('form', { id: 'create-application-form', novalidate: true }, name.wrap, type.wrap, redirects.wrap, origins.wrap, logouts.wrap, scopes.wrap,
    h('div', { class: 'actions' }, submit), formErr);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(formErr);
    for (const f of Object.values(fields)) clearError(f.error, f.input);
    const input = { name: name.input.value.trim(), type: type.input.value };
    if (!input.name) return showError(name.error, 'Enter a name.', name.input);
    for (const [k, f] of [['redirectURIs', redirects], ['webOrigins', origins], ['logoutURLs', logouts], ['managementScopes', scopes]]) {
      const v = lines(f.input.value);
      if (v.length) input[k] = v;
    }
    busy(submit, async () => {
      try {
        const r = (await gql(CREATE, { input })).createApplication;
        if (r.clientSecret) pending = { app: r.application, secret: r.clientSecret };
        navigate('/applications', true);
      } catch (err) {
        reportError(err, formErr, fields);
      }
    });
  });
  return card('Create an application', form);
}
