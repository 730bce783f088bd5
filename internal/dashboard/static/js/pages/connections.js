import { gql } from '../api.js';
import { h, card, field, errorSlot, showError, clearError, reportError, busy, parseObject, link, badge } from '../ui.js';
import { can } from '../session.js';
import { adminScopesField } from '../adminscopes.js';

const LIST = `query Connections { connections { name strategy importMode syncUserProfile requiresUsername hasScript actions adminScopes } }`;
const CREATE = `mutation CreateConnection($input: ConnectionInput!) { createConnection(input: $input) { name } }`;

const STRATEGIES = [
  ['DATABASE', 'Database — users live in this service'],
  ['CUSTOM_DATABASE', 'Custom database — your own database, through scripts'],
  ['OIDC', 'OIDC — an upstream identity provider'],
  ['PASSWORDLESS', 'Passwordless — one-time codes by email or SMS'],
];

export async function render(view, _params, { navigate }) {
  view.append(h('h1', {}, 'Connections'));
  if (can('read:connections')) {
    const err = errorSlot('connections-error');
    view.append(err);
    try {
      const cs = (await gql(LIST)).connections;
      view.append(card('All connections', cs.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'connection-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Strategy', 'Mode', 'Sync profile', 'Sign in with', 'Script', 'Admin scopes'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, cs.map((c) => h('tr', {},
          h('td', { 'data-label': 'Name' }, link('/dashboard/connections/' + encodeURIComponent(c.name), c.name)),
          h('td', { 'data-label': 'Strategy' }, c.strategy),
          h('td', { 'data-label': 'Mode' }, c.strategy === 'CUSTOM_DATABASE' ? (c.importMode ? 'import (migrate at login)' : 'legacy') : '—'),
          h('td', { 'data-label': 'Sync profile' }, c.syncUserProfile ? 'at each login' : 'first login only'),
          h('td', { 'data-label': 'Sign in with' }, signInWith(c)),
          h('td', { 'data-label': 'Script' }, c.strategy !== 'CUSTOM_DATABASE' ? '—' : c.hasScript ? c.actions.join(', ') : badge('none', 'bad')),
          h('td', { 'data-label': 'Admin scopes' }, c.adminScopes.length ? c.adminScopes.join(', ') : '—'))))))
        : h('p', { class: 'muted' }, 'No connections yet.')));
    } catch (e) {
      showError(err, e);
    }
  }
  if (can('create:connections')) view.append(createForm(navigate));
}

// signInWith says what a connection's users type to sign in.
export function signInWith(c) {
  if (c.strategy !== 'DATABASE' && c.strategy !== 'CUSTOM_DATABASE') return '—';
  return c.requiresUsername ? 'username or email' : 'email';
}

function createForm(navigate) {
  const name = field({ id: 'conn-name', label: 'Name', help: 'Lower-case letters, digits and dashes; it cannot change later.', attrs: { required: true, autocomplete: 'off', spellcheck: 'false' } });
  const strategy = field({ id: 'conn-strategy', label: 'Strategy', control: h('select', {}, STRATEGIES.map(([v, t]) => h('option', { value: v }, t))) });
  const importMode = h('input', { type: 'checkbox', id: 'conn-import' });
  const sync = h('input', { type: 'checkbox', id: 'conn-sync', checked: true });
  const requiresUsername = h('input', { type: 'checkbox', id: 'conn-requires-username', 'aria-describedby': 'conn-requires-username-help conn-requires-username-error' });
  const usernameErr = errorSlot('conn-requires-username-error');
  const usernameWrap = h('div', { class: 'field' },
    h('label', { class: 'inline', for: 'conn-requires-username' }, requiresUsername, 'Requires username: users have a username and may sign in with it or their email'),
    h('p', { class: 'help', id: 'conn-requires-username-help' }, 'Like Auth0’s “Requires Username”. On a database connection every new user then needs a username (1 to 15 characters: letters, digits and _ . + - ! # $ ^ ` ~ \' @, not an email address; stored lower-cased). A custom database’s scripts receive the username as typed.'),
    usernameErr);
  const dbURL = field({ id: 'conn-db-url', label: 'Database URL', type: 'password', help: 'mysql://USER:PASS@HOST:PORT/DB or sqlite:PATH. Stored, never shown again.', attrs: { autocomplete: 'off' } });
  const config = field({ id: 'conn-config', label: 'Configuration (JSON object of strings, numbers, booleans)', type: 'textarea', value: '{}', help: 'Settings and secrets handed to the scripts. Stored, never shown again: only the key names are.', attrs: { rows: 3, spellcheck: 'false' } });
  const timeout = field({ id: 'conn-timeout', label: 'Script timeout (ms)', type: 'number', value: '20000', attrs: { min: 100, max: 60000, step: 100 } });
  const customOnly = h('fieldset', { id: 'conn-custom' }, h('legend', {}, 'Custom database'),
    h('label', { class: 'inline', for: 'conn-import' }, importMode, 'Import mode: migrate users into this service at their first login'),
    dbURL.wrap, config.wrap, timeout.wrap);
  const syncWrap = h('label', { class: 'inline', for: 'conn-sync' }, sync, 'Sync user profile attributes (name, nickname, picture…) at each login');
  const adminScopes = adminScopesField({ id: 'conn-admin-scopes' });
  const update = () => {
    customOnly.hidden = strategy.input.value !== 'CUSTOM_DATABASE';
    adminScopes.wrap.hidden = strategy.input.value !== 'DATABASE';
    usernameWrap.hidden = strategy.input.value !== 'DATABASE' && strategy.input.value !== 'CUSTOM_DATABASE';
  };
  strategy.input.addEventListener('change', update);
  update();
  const formErr = errorSlot('create-connection-error');
  const submit = h('button', { type: 'submit', id: 'create-connection-submit' }, 'Create connection');
  const form = h('form', { id: 'create-connection-form', novalidate: true }, name.wrap, strategy.wrap, syncWrap, usernameWrap, customOnly, adminScopes.wrap, h('div', { class: 'actions' }, submit), formErr);
  const fields = { name, strategy, databaseURL: dbURL, configuration: config, scriptTimeoutMs: timeout, adminScopes, requiresUsername: { input: requiresUsername, error: usernameErr } };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(formErr);
    for (const f of Object.values(fields)) clearError(f.error, f.input);
    const input = { name: name.input.value.trim(), strategy: strategy.input.value, syncUserProfile: sync.checked };
    if (!input.name) return showError(name.error, 'Enter a name.', name.input);
    if (input.strategy === 'DATABASE' && adminScopes.value().length) input.adminScopes = adminScopes.value();
    if (!usernameWrap.hidden && requiresUsername.checked) input.requiresUsername = true;
    if (input.strategy === 'CUSTOM_DATABASE') {
      input.importMode = importMode.checked;
      if (dbURL.input.value.trim()) input.databaseURL = dbURL.input.value.trim();
      try {
        const c = parseObject(config.input.value, 'The configuration');
        if (Object.keys(c).length) input.configuration = c;
      } catch (err) {
        config.input.focus();
        return showError(config.error, err.message, config.input);
      }
      const ms = Number(timeout.input.value);
      if (!Number.isInteger(ms)) return showError(timeout.error, 'Enter a whole number of milliseconds.', timeout.input);
      input.scriptTimeoutMs = ms;
    }
    busy(submit, async () => {
      try {
        const c = (await gql(CREATE, { input })).createConnection;
        navigate('/connections/' + encodeURIComponent(c.name));
      } catch (err) {
        reportError(err, formErr, fields);
      }
    });
  });
  return card('Create a connection', form);
}
