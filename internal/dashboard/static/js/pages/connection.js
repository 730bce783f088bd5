import { gql, upload } from '../api.js';
import { h, card, field, errorSlot, statusSlot, showError, clearError, reportError, busy, parseObject, jsonText, fmtTime } from '../ui.js';
import { can } from '../session.js';
import { adminScopesField } from '../adminscopes.js';

const GET = `query Connection($name: String!) {
  connection(name: $name) {
    name strategy importMode syncUserProfile requiresUsername actions hasScript scriptSha256
    hasDatabaseURL configurationKeys scriptTimeoutMs adminScopes createdAt updatedAt
  }
}`;
const UPDATE = `mutation UpdateConnection($name: String!, $input: UpdateConnectionInput!) { updateConnection(name: $name, input: $input) { name } }`;
const SET_SCRIPT = `mutation SetConnectionScript($connection: String!, $wasm: Upload!) { setConnectionScript(connection: $connection, wasm: $wasm) { name actions scriptSha256 } }`;
const TRY = `mutation TryConnectionScript($connection: String!, $action: TryAction!, $email: String, $username: String, $password: String) {
  tryConnectionScript(connection: $connection, action: $action, email: $email, username: $username, password: $password) {
    ok profile attributes logs durationMs errorCode errorMessage
  }
}`;

export async function render(view, [name]) {
  const top = errorSlot('connection-error');
  view.append(h('h1', {}, name), top);
  await load(view, name, top);
}

async function load(view, name, top, statusId, msg, focusId) {
  let c;
  try {
    c = (await gql(GET, { name })).connection;
  } catch (e) {
    showError(top, e);
    return;
  }
  view.replaceChildren(h('h1', {}, c ? c.name : name), top);
  if (!c) {
    view.append(h('p', {}, 'There is no connection with this name. ', h('a', { href: '/dashboard/connections', 'data-link': true }, 'Back to connections')));
    return;
  }
  const reload = (sid, m, fid) => load(view, name, top, sid, m, fid);
  const custom = c.strategy === 'CUSTOM_DATABASE';
  view.append(h('div', { class: 'grid' }, summary(c), can('update:connections') ? settings(c, reload) : null));
  if (custom && can('update:connections')) view.append(h('div', { class: 'grid' }, scriptCard(c, reload), tryCard(c)));
  const s = statusId && document.getElementById(statusId);
  if (s) s.textContent = msg;
  const f = focusId && document.getElementById(focusId);
  if (f) f.focus();
}

function summary(c) {
  const item = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
  const custom = c.strategy === 'CUSTOM_DATABASE';
  return card('Summary', h('dl', { class: 'props', id: 'connection-summary' },
    item('Strategy', c.strategy),
    custom ? item('Mode', c.importMode ? 'import: users migrate into this service at their first login' : 'legacy: the custom database stays the source of truth') : null,
    item('Sync profile', c.syncUserProfile ? 'root attributes are overwritten at each login' : 'root attributes are set at the first login, then editable here'),
    passwords(c) ? item('Sign in with', h('span', { id: 'connection-requires-username' }, c.requiresUsername
      ? 'username or email (requires username: every new user needs a username)'
      : 'email (usernames are not used to sign in)')) : null,
    c.strategy === 'DATABASE' ? item('Admin scopes', h('span', { id: 'connection-admin-scopes' }, c.adminScopes.length
      ? `${c.adminScopes.join(', ')} — every user of this connection holds them when they sign in; sign-up is closed`
      : 'none: its users hold no management scopes')) : null,
    custom ? item('Script', c.hasScript ? c.actions.join(', ') : 'none uploaded') : null,
    custom && c.scriptSha256 ? item('Script SHA-256', h('code', { class: 'small' }, c.scriptSha256)) : null,
    custom ? item('Database URL', c.hasDatabaseURL ? 'set (never shown)' : 'not set') : null,
    custom ? item('Configuration keys', c.configurationKeys.length ? c.configurationKeys.join(', ') : 'none') : null,
    custom ? item('Script timeout', `${c.scriptTimeoutMs} ms`) : null,
    item('Created', fmtTime(c.createdAt)),
    item('Updated', fmtTime(c.updatedAt))));
}

// passwords: the connection's users sign in with a password here (the
// strategies where requiresUsername applies).
function passwords(c) {
  return c.strategy === 'DATABASE' || c.strategy === 'CUSTOM_DATABASE';
}

function settings(c, reload) {
  const custom = c.strategy === 'CUSTOM_DATABASE';
  const requiresUsername = passwords(c) ? h('input', { type: 'checkbox', id: 'set-requires-username', checked: c.requiresUsername, 'aria-describedby': 'set-requires-username-help' }) : null;
  const importMode = h('input', { type: 'checkbox', id: 'set-import', checked: c.importMode });
  const sync = h('input', { type: 'checkbox', id: 'set-sync', checked: c.syncUserProfile });
  const dbURL = field({ id: 'set-db-url', label: 'Replace the database URL', type: 'password', help: 'Leave empty to keep the current one.', attrs: { autocomplete: 'off' } });
  const config = field({ id: 'set-config', label: 'Replace the configuration (JSON object)', type: 'textarea', help: 'Leave empty to keep it. The values are secrets and are never shown; a new object replaces the whole configuration.', attrs: { rows: 3, spellcheck: 'false' } });
  const timeout = field({ id: 'set-timeout', label: 'Script timeout (ms)', type: 'number', value: String(c.scriptTimeoutMs), attrs: { min: 100, max: 60000, step: 100 } });
  const adminScopes = c.strategy === 'DATABASE' ? adminScopesField({ id: 'set-admin-scopes', selected: c.adminScopes }) : null;
  const formErr = errorSlot('settings-error');
  const status = statusSlot('settings-status');
  const submit = h('button', { type: 'submit', id: 'settings-save' }, 'Save settings');
  const form = h('form', { id: 'settings-form', novalidate: true },
    custom ? h('label', { class: 'inline', for: 'set-import' }, importMode, 'Import mode (migrate users at their first login)') : null,
    h('div', {}, h('label', { class: 'inline', for: 'set-sync' }, sync, 'Sync user profile attributes at each login')),
    requiresUsername ? h('div', {}, h('label', { class: 'inline', for: 'set-requires-username' }, requiresUsername, 'Requires username: users may sign in with their username or their email'),
      h('p', { class: 'help', id: 'set-requires-username-help' }, c.strategy === 'DATABASE'
        ? 'Every new user then needs a username (1 to 15 characters, stored lower-cased). Users created before keep what they have: one without a username signs in by email.'
        : 'The login and get_user scripts then receive the username as the user typed it.')) : null,
    custom ? [dbURL.wrap, config.wrap, timeout.wrap] : null,
    adminScopes ? adminScopes.wrap : null,
    h('div', { class: 'actions' }, submit), formErr, status);
  const fields = { importMode: { input: importMode, error: formErr }, databaseURL: dbURL, configuration: config, scriptTimeoutMs: timeout };
  if (requiresUsername) fields.requiresUsername = { input: requiresUsername, error: formErr };
  if (adminScopes) fields.adminScopes = adminScopes;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(formErr);
    for (const f of [dbURL, config, timeout, adminScopes].filter(Boolean)) clearError(f.error, f.input);
    const input = { syncUserProfile: sync.checked };
    if (requiresUsername && requiresUsername.checked !== c.requiresUsername) input.requiresUsername = requiresUsername.checked;
    // Sent only when changed: an unchanged list grants nothing, so an
    // editor lacking one of its scopes may still save the other settings.
    if (adminScopes && adminScopes.changed()) input.adminScopes = adminScopes.value();
    if (custom) {
      input.importMode = importMode.checked;
      if (dbURL.input.value.trim()) input.databaseURL = dbURL.input.value.trim();
      if (config.input.value.trim()) {
        try {
          input.configuration = parseObject(config.input.value, 'The configuration');
        } catch (err) {
          config.input.focus();
          return showError(config.error, err.message, config.input);
        }
      }
      const ms = Number(timeout.input.value);
      if (!Number.isInteger(ms)) return showError(timeout.error, 'Enter a whole number of milliseconds.', timeout.input);
      input.scriptTimeoutMs = ms;
    }
    busy(submit, async () => {
      try {
        await gql(UPDATE, { name: c.name, input });
        await reload('settings-status', 'Settings saved.', 'settings-save');
      } catch (err) {
        reportError(err, formErr, fields);
      }
    });
  });
  return card('Settings', form);
}

function scriptCard(c, reload) {
  const file = field({ id: 'script-file', label: 'Script module (.wasm)', type: 'file', help: 'Built with “profiled script build SRC -o OUT.wasm”. It replaces the current module.', attrs: { accept: '.wasm,application/wasm' } });
  const submit = h('button', { type: 'submit', id: 'script-upload' }, 'Upload module');
  const status = statusSlot('script-status');
  const form = h('form', { id: 'script-form', novalidate: true }, file.wrap, h('div', { class: 'actions' }, submit), status);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(file.error, file.input);
    const f = file.input.files && file.input.files[0];
    if (!f) return showError(file.error, 'Choose a .wasm file first.', file.input);
    busy(submit, async () => {
      try {
        const res = (await upload(SET_SCRIPT, { connection: c.name }, 'wasm', f)).setConnectionScript;
        await reload('script-status', `Module uploaded; it exports ${res.actions.join(', ') || 'no actions'}.`, 'script-upload');
      } catch (err) {
        showError(file.error, err, file.input);
      }
    });
  });
  return card('Script', form);
}

function tryCard(c) {
  const action = field({ id: 'try-action', label: 'Action', control: h('select', {}, h('option', { value: 'LOGIN' }, 'login (email and password)'), h('option', { value: 'GET_USER' }, 'get_user (email)')) });
  const email = field({ id: 'try-email', label: 'Email', type: 'email', attrs: { autocomplete: 'off' } });
  const username = c.requiresUsername
    ? field({ id: 'try-username', label: 'Or a username', help: 'What a user typing their username sends to the script. Give the email or the username.', attrs: { autocomplete: 'off', spellcheck: 'false' } })
    : null;
  const password = field({ id: 'try-password', label: 'Password', type: 'password', help: 'Sent to the script only; never shown or logged.', attrs: { autocomplete: 'off' } });
  const submit = h('button', { type: 'submit', id: 'try-run' }, 'Run');
  const formErr = errorSlot('try-error');
  const result = h('div', { id: 'try-result', 'aria-live': 'polite' });
  const sync = () => { password.wrap.hidden = action.input.value !== 'LOGIN'; };
  action.input.addEventListener('change', sync);
  sync();
  const form = h('form', { id: 'try-form', novalidate: true }, action.wrap, email.wrap, username ? username.wrap : null, password.wrap, h('div', { class: 'actions' }, submit), formErr);
  const fields = { email, password, action, connection: { input: submit, error: formErr } };
  if (username) fields.username = username;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(formErr);
    for (const f of [email, password, username].filter(Boolean)) clearError(f.error, f.input);
    const vars = { connection: c.name, action: action.input.value };
    const e1 = email.input.value.trim();
    const u1 = username ? username.input.value.trim() : '';
    if (e1 && u1) return showError(username.error, 'Give the email or the username, not both.', username.input);
    if (!e1 && !u1) return showError(email.error, username ? 'Enter an email or a username to try.' : 'Enter an email to try.', email.input);
    if (e1) vars.email = e1;
    else vars.username = u1;
    if (vars.action === 'LOGIN') {
      if (!password.input.value) return showError(password.error, 'Enter a password to try login.', password.input);
      vars.password = password.input.value;
    }
    result.replaceChildren();
    busy(submit, async () => {
      try {
        const r = (await gql(TRY, vars)).tryConnectionScript;
        result.replaceChildren(h('div', {},
          h('p', { id: 'try-outcome', class: r.ok ? 'status' : 'error' },
            r.ok ? `The script returned a profile in ${r.durationMs} ms.` : `The script did not return a profile (${r.durationMs} ms): ${tryMessage(r)}`),
          r.ok ? [h('h3', {}, 'Normalized profile'), h('pre', { id: 'try-profile', tabindex: '0' }, jsonText(r.profile))] : null,
          r.attributes ? [h('h3', {}, 'Raw attributes'), h('pre', { id: 'try-attributes', tabindex: '0' }, jsonText(r.attributes))] : null,
          h('h3', {}, 'Script log'),
          h('pre', { id: 'try-logs', tabindex: '0' }, r.logs.length ? r.logs.join('\n') : '(no log lines)'),
          h('p', { class: 'help' }, 'Nothing was stored: no user was created or changed.')));
      } catch (err) {
        reportError(err, formErr, fields);
      }
    });
  });
  return card('Try the script', h('p', { class: 'help' }, 'Runs the connection’s login or get_user with test input.'), form, result);
}

function tryMessage(r) {
  switch (r.errorCode) {
    case 'INVALID_CREDENTIALS': return 'the script refused this email and password.';
    case 'NOT_FOUND': return 'the script found no user with this email.';
    case 'SCRIPT_TIMEOUT': return 'the script took too long and was stopped.';
    case 'CONNECTION_UNAVAILABLE': return `the custom database cannot be reached (${r.errorMessage}).`;
    default: return `${r.errorMessage} (${r.errorCode}).`;
  }
}
