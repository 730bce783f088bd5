import { gql } from '../api.js';
import { h, add, replace, tabs, card, field, errorSlot, statusSlot, showError, clearError, reportError, busy, fmtTime, jsonText, parseObject, badge } from '../ui.js';
import { can } from '../session.js';
import { rbacTabs } from '../rbactabs.js';
import { userAppTabs } from './userapps.js';

const USER = `query User($id: ID!) {
  user(id: $id) {
    id connection email emailVerified username phoneNumber phoneVerified
    name givenName familyName nickname picture blocked migrated
    userMetadata appMetadata createdAt updatedAt lastLogin lastIp loginsCount
    identities { connection provider userId isSocial profileData }
    fieldRules { field updatable viaScript code reason }
  }
}`;

const UPDATE = `mutation UpdateUser($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }`;
const PASSWORD = `mutation ChangePassword($id: ID!, $password: String!) { changePassword(id: $id, password: $password) }`;
const VERIFY = `mutation MarkEmailVerified($id: ID!) { markEmailVerified(id: $id) { id } }`;
const DELETE = `mutation DeleteUser($id: ID!) { deleteUser(id: $id) }`;

const PROFILE_FIELDS = [
  ['name', 'Name'], ['givenName', 'Given name'], ['familyName', 'Family name'], ['nickname', 'Nickname'],
  ['picture', 'Picture URL'], ['username', 'Username'], ['phoneNumber', 'Phone number'],
];

export async function render(view, [id], { navigate }) {
  const top = errorSlot('user-error');
  view.append(top);
  let user;
  try {
    user = (await gql(USER, { id })).user;
  } catch (e) {
    view.prepend(h('h1', {}, 'User'));
    showError(top, e);
    return;
  }
  if (!user) {
    view.prepend(h('h1', {}, 'User not found'));
    view.append(h('p', {}, 'There is no user with this id: it may have been deleted. ', h('a', { href: '/dashboard/users', 'data-link': true }, 'Back to users')));
    return;
  }
  draw(view, user, navigate);
}

// reload fetches the user again, redraws the page and shows msg in the
// status slot statusId, keeping the focus on the control with focusId.
async function reload(view, id, navigate, statusId, msg, focusId) {
  const user = (await gql(USER, { id })).user;
  view.replaceChildren();
  draw(view, user, navigate);
  const s = statusId && document.getElementById(statusId);
  if (s) s.textContent = msg;
  const f = focusId && document.getElementById(focusId);
  if (f) f.focus();
}

function draw(view, u, navigate) {
  const rules = Object.fromEntries(u.fieldRules.map((r) => [r.field, r]));
  const canUpdate = can('update:users');
  const refresh = (statusId, msg, focusId) => reload(view, u.id, navigate, statusId, msg, focusId);
  const ctx = { rules, canUpdate, refresh, navigate };

  add(view,
    h('h1', {}, u.email || u.username || u.name || u.id),
    h('p', { id: 'user-badges' },
      u.picture ? h('img', { class: 'avatar', src: u.picture, alt: '', width: 32, height: 32, referrerpolicy: 'no-referrer' }) : null,
      badge(u.connection), u.blocked ? badge('blocked', 'bad') : null,
      u.email ? badge(u.emailVerified ? 'email verified' : 'email not verified', u.emailVerified ? 'ok' : null) : null,
      u.migrated ? badge('migrated') : null),
    actions(u, rules, canUpdate, refresh, navigate),
    tabs('user', userTabs.filter((t) => !t.visible || t.visible(u)), u, ctx));
}

// userTabs are the user page's tabs, in order. A tab is { id, label,
// render(user, ctx) → Node or Promise<Node>, visible?(user) → boolean };
// render runs the first time the tab is shown (a tab may fetch its own
// data with gql), ctx holds { rules, canUpdate, refresh, navigate }. To add
// a tab (Devices, Authorized applications, Roles, Permissions…), add one
// entry here.
export const userTabs = [
  { id: 'details', label: 'Details', render: (u, c) => detailsTab(u, c) },
  { id: 'identities', label: 'Identity provider attributes', render: (u) => identitiesCard(u) },
  { id: 'history', label: 'History', render: (u) => historyCard(u) },
  { id: 'devices', label: 'Devices', render: (u) => appsPanel(u, 'devices') },
  { id: 'authorized-applications', label: 'Authorized applications', render: (u) => appsPanel(u, 'authorized-applications') },
  { id: 'roles', label: 'Roles', visible: () => rbacVisible(), render: (u) => rbacPanel(u, 'roles') },
  { id: 'permissions', label: 'Permissions', visible: () => rbacVisible(), render: (u) => rbacPanel(u, 'permissions') },
  { id: 'raw', label: 'Raw JSON', render: (u) => rawCard(u) },
];

// The Roles and Permissions tabs share one load of the user's roles and
// permissions (rbactabs.js): made once per user object shown.
let rbacShown = { user: null, tabs: [] };
function rbacVisible() {
  return can('read:users') && can('read:roles');
}
let appsShown = { user: null, tabs: [] };
function appsPanel(u, id) {
  if (appsShown.user !== u) appsShown = { user: u, tabs: userAppTabs(u.id) };
  return appsShown.tabs.find((x) => x.id === id).panel;
}
function rbacPanel(u, id) {
  if (rbacShown.user !== u) rbacShown = { user: u, tabs: rbacTabs(u.id) };
  const t = rbacShown.tabs.find((x) => x.id === id);
  return t ? t.panel : null;
}

function detailsTab(u, { rules, canUpdate, refresh }) {
  return h('div', {},
    h('div', { class: 'grid' },
      details(u),
      emailCard(u, rules, canUpdate, refresh),
    ),
    profileCard(u, rules, canUpdate, refresh),
    h('div', { class: 'grid' },
      metadataCard(u, 'userMetadata', 'User metadata', 'user-metadata', rules, refresh,
        'Preferences the user may read and change themselves (language, theme…).'),
      metadataCard(u, 'appMetadata', 'App metadata', 'app-metadata', rules, refresh,
        'Facts that change what the user may do (plan, roles). Users never see it.')));
}

// auth0Shape is the user as Auth0's Management API returns one (snake_case,
// user_id, identities with isSocial and profileData), so people migrating
// can compare and paste; absent attributes are left out, as Auth0 does.
export function auth0Shape(u) {
  const out = {};
  const put = (k, v) => {
    if (v !== null && v !== undefined && v !== '') out[k] = v;
  };
  put('user_id', u.id);
  put('email', u.email);
  if (u.email) out.email_verified = !!u.emailVerified;
  put('username', u.username);
  put('phone_number', u.phoneNumber);
  if (u.phoneNumber) out.phone_verified = !!u.phoneVerified;
  put('name', u.name);
  put('given_name', u.givenName);
  put('family_name', u.familyName);
  put('nickname', u.nickname);
  put('picture', u.picture);
  if (u.blocked) out.blocked = true;
  out.user_metadata = u.userMetadata || {};
  out.app_metadata = u.appMetadata || {};
  out.identities = (u.identities || []).map((i) => {
    const id = { connection: i.connection, provider: i.provider, user_id: i.userId, isSocial: !!i.isSocial };
    if (i.profileData && Object.keys(i.profileData).length) id.profileData = i.profileData;
    return id;
  });
  put('created_at', u.createdAt);
  put('updated_at', u.updatedAt);
  put('last_login', u.lastLogin);
  put('last_ip', u.lastIp);
  out.logins_count = u.loginsCount || 0;
  return out;
}

function rawCard(u) {
  const pre = h('pre', { id: 'raw-json', tabindex: '0', 'aria-label': 'The user as JSON' }, jsonText(auth0Shape(u)));
  const shape = h('select', { id: 'raw-shape' },
    h('option', { value: 'auth0' }, 'Auth0 (Management API v2)'),
    h('option', { value: 'graphql' }, 'Profiled GraphQL'));
  shape.addEventListener('change', () => {
    pre.textContent = jsonText(shape.value === 'auth0' ? auth0Shape(u) : raw(u));
  });
  return card('Raw JSON',
    h('label', { for: 'raw-shape' }, 'Shape'), shape,
    h('p', { class: 'help' }, 'Auth0’s shape (user_id, email_verified, user_metadata, app_metadata, identities) is what an Auth0 export or the Management API gives, to compare after a migration.'),
    pre);
}

function raw(u) {
  const { fieldRules, logs, ...rest } = u;
  return rest;
}

function reasonFor(rule) {
  return rule ? rule.reason || '' : 'unknown field';
}

function actions(u, rules, canUpdate, refresh, navigate) {
  const err = errorSlot('actions-error');
  const status = statusSlot('actions-status');
  const row = h('div', { class: 'actions' });
  if (canUpdate || can('update:users_app_metadata')) {
    const r = rules.blocked;
    const b = h('button', { type: 'button', id: 'block-toggle', class: u.blocked ? 'secondary' : 'danger', disabled: !r.updatable, 'aria-describedby': 'actions-error' },
      u.blocked ? 'Unblock' : 'Block');
    b.addEventListener('click', () => busy(b, async () => {
      clearError(err);
      try {
        await gql(UPDATE, { id: u.id, input: { blocked: !u.blocked } });
        await refresh('actions-status', u.blocked ? 'The user is unblocked: they can log in again.' : 'The user is blocked: every login now fails.', 'block-toggle');
      } catch (e) {
        showError(err, e);
      }
    }));
    row.append(b);
  }
  if (canUpdate && u.email && !u.emailVerified) {
    const v = h('button', { type: 'button', id: 'verify-email', class: 'secondary' }, 'Mark email verified');
    v.addEventListener('click', () => busy(v, async () => {
      clearError(err);
      try {
        await gql(VERIFY, { id: u.id });
        await refresh('actions-status', 'The email address is marked verified.', 'block-toggle');
      } catch (e) {
        showError(err, e);
      }
    }));
    row.append(v);
  }
  let confirmBox = null;
  if (can('delete:users')) {
    const d = h('button', { type: 'button', id: 'delete-user', class: 'danger', 'aria-expanded': 'false', 'aria-controls': 'delete-confirm-box' }, 'Delete…');
    const yes = h('button', { type: 'button', id: 'delete-confirm', class: 'danger' }, 'Delete permanently');
    const no = h('button', { type: 'button', id: 'delete-cancel', class: 'secondary' }, 'Cancel');
    confirmBox = h('div', { class: 'confirm', id: 'delete-confirm-box', role: 'group', 'aria-labelledby': 'delete-confirm-text', hidden: true },
      h('p', { id: 'delete-confirm-text' }, `Delete ${u.email || u.username || u.id}? Their profile, metadata and history go away.` +
        (u.connection && u.identities.some((i) => i.provider === 'custom-database') && !u.migrated ? ' The connection’s delete script removes them from the custom database too.' : '')),
      h('div', { class: 'actions' }, yes, no));
    d.addEventListener('click', () => {
      confirmBox.hidden = false;
      d.setAttribute('aria-expanded', 'true');
      no.focus();
    });
    no.addEventListener('click', () => {
      confirmBox.hidden = true;
      d.setAttribute('aria-expanded', 'false');
      d.focus();
    });
    yes.addEventListener('click', () => busy(yes, async () => {
      clearError(err);
      try {
        await gql(DELETE, { id: u.id });
        navigate('/users');
      } catch (e) {
        showError(err, e);
      }
    }));
    row.append(d);
  }
  if (!row.childElementCount) return null;
  return card('Actions', row, confirmBox, err, status);
}

function details(u) {
  const item = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
  return card('Details', h('dl', { class: 'props', id: 'user-details' },
    item('User id', h('code', {}, u.id)),
    item('Connection', u.connection),
    item('Username', h('span', { id: 'user-username' }, u.username || '—')),
    item('Created', fmtTime(u.createdAt)),
    item('Updated', fmtTime(u.updatedAt)),
    item('Last login', fmtTime(u.lastLogin)),
    item('Last IP', u.lastIp || '—'),
    item('Logins', String(u.loginsCount)),
    item('Phone verified', u.phoneVerified ? 'yes' : 'no')));
}

// readOnly marks a control read-only and puts the policy's reason under it.
function readOnly(f, reason, id) {
  f.input.readOnly = true;
  f.input.setAttribute('aria-readonly', 'true');
  const p = h('p', { class: 'reason', id }, `Read-only: ${reason}`);
  f.input.setAttribute('aria-describedby', (f.input.getAttribute('aria-describedby') || '') + ' ' + id);
  f.error.before(p);
}

function emailCard(u, rules, canUpdate, refresh) {
  const emailRule = rules.email;
  const email = field({ id: 'email-input', label: 'Email', type: 'email', value: u.email || '', attrs: { autocomplete: 'off' } });
  const status = statusSlot('email-status');
  const parts = [];
  const form = h('form', { id: 'email-form', novalidate: true }, email.wrap);
  if (!emailRule.updatable) {
    readOnly(email, reasonFor(emailRule), 'email-reason');
  } else if (canUpdate) {
    const verified = h('input', { type: 'checkbox', id: 'email-verified-input' });
    const submit = h('button', { type: 'submit', id: 'email-submit' }, 'Change email');
    add(form,
      h('label', { class: 'inline', for: 'email-verified-input' }, verified, 'Mark the new address verified'),
      emailRule.viaScript ? h('p', { class: 'help' }, 'The connection’s change_email script runs first; if it fails nothing changes.') : null,
      h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      clearError(email.error, email.input);
      const v = email.input.value.trim();
      if (!v) return showError(email.error, 'Enter an email address.', email.input);
      if (v.toLowerCase() === (u.email || '') && !verified.checked) return showError(email.error, 'This is already the user’s email.', email.input);
      const input = { email: v };
      if (verified.checked) input.emailVerified = true;
      busy(submit, async () => {
        try {
          await gql(UPDATE, { id: u.id, input });
          await refresh('email-status', 'The email address is changed.', 'email-input');
        } catch (err) {
          showError(email.error, err, email.input);
        }
      });
    });
  }
  parts.push(form, status);
  parts.push(passwordForm(u, rules.password, canUpdate, refresh));
  return card('Email and password', ...parts);
}

function passwordForm(u, rule, canUpdate, refresh) {
  const pw = field({ id: 'password-input', label: 'New password', type: 'password', help: '8 to 72 bytes. Prefer letting users reset their own password.', attrs: { autocomplete: 'new-password' } });
  const status = statusSlot('password-status');
  const form = h('form', { id: 'password-form', novalidate: true }, pw.wrap);
  if (!rule.updatable) {
    readOnly(pw, reasonFor(rule), 'password-reason');
    pw.input.disabled = true;
  } else if (canUpdate) {
    const submit = h('button', { type: 'submit', id: 'password-submit' }, 'Change password');
    add(form, rule.viaScript ? h('p', { class: 'help' }, 'The connection’s change_password script sets it in the custom database.') : null,
      h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      clearError(pw.error, pw.input);
      if (!pw.input.value) return showError(pw.error, 'Enter the new password.', pw.input);
      busy(submit, async () => {
        try {
          await gql(PASSWORD, { id: u.id, password: pw.input.value });
          pw.input.value = '';
          status.textContent = 'The password is changed.';
        } catch (err) {
          showError(pw.error, err, pw.input);
        }
      });
    });
  }
  return h('div', {}, form, status);
}

function profileCard(u, rules, canUpdate, refresh) {
  const fields = {};
  const cols = [];
  for (const [name, label] of PROFILE_FIELDS) {
    const f = field({ id: 'profile-' + name, label, value: u[name] || '', attrs: { autocomplete: 'off' } });
    const rule = rules[name];
    if (!rule.updatable || !canUpdate) readOnly(f, !rule.updatable ? reasonFor(rule) : 'your token cannot update users.', 'profile-' + name + '-reason');
    fields[name] = f;
    cols.push(f.wrap);
  }
  const formErr = errorSlot('profile-error');
  const status = statusSlot('profile-status');
  const editable = PROFILE_FIELDS.filter(([n]) => rules[n].updatable && canUpdate);
  const form = h('form', { id: 'profile-form', novalidate: true }, h('div', { class: 'grid' }, cols));
  if (editable.length) {
    const submit = h('button', { type: 'submit', id: 'profile-save' }, 'Save profile');
    form.append(h('div', { class: 'actions' }, submit), formErr, status);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      clearError(formErr);
      for (const f of Object.values(fields)) clearError(f.error, f.input);
      const input = {};
      for (const [n] of editable) {
        const v = fields[n].input.value.trim();
        if (v !== (u[n] || '')) input[n] = v;
      }
      if (!Object.keys(input).length) {
        status.textContent = 'Nothing changed.';
        return;
      }
      busy(submit, async () => {
        try {
          await gql(UPDATE, { id: u.id, input });
          await refresh('profile-status', 'The profile is saved.', 'profile-save');
        } catch (err) {
          reportError(err, formErr, fields);
        }
      });
    });
  }
  return card('Profile', h('p', { class: 'help' }, 'Root attributes and identifiers. Which of them may change depends on the user’s connection (the update policy).'), form);
}

// patchFor turns an edited object into the merge patch that makes the
// stored object equal to it: changed keys, and removed keys set to null.
function patchFor(before, after) {
  const patch = {};
  for (const k of Object.keys(before)) if (!(k in after)) patch[k] = null;
  for (const [k, v] of Object.entries(after)) if (JSON.stringify(before[k]) !== JSON.stringify(v)) patch[k] = v;
  return patch;
}

function metadataCard(u, key, title, id, rules, refresh, help) {
  const rule = rules[key];
  const f = field({ id, label: title + ' (JSON object)', type: 'textarea', value: jsonText(u[key] || {}), help, attrs: { spellcheck: 'false', rows: 8 } });
  const status = statusSlot(id + '-status');
  const form = h('form', { id: id + '-form', novalidate: true }, f.wrap);
  if (!rule.updatable) {
    readOnly(f, reasonFor(rule), id + '-reason');
  } else {
    const submit = h('button', { type: 'submit', id: id + '-save' }, 'Save ' + title.toLowerCase());
    form.append(h('div', { class: 'actions' }, submit), status);
    f.input.addEventListener('input', () => {
      try {
        parseObject(f.input.value, title);
        clearError(f.error, f.input);
      } catch (err) {
        showError(f.error, err.message, f.input);
      }
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      clearError(f.error, f.input);
      status.textContent = '';
      let next;
      try {
        next = parseObject(f.input.value, title);
      } catch (err) {
        f.input.focus();
        return showError(f.error, err.message, f.input);
      }
      const patch = patchFor(u[key] || {}, next);
      if (!Object.keys(patch).length) {
        status.textContent = 'Nothing changed.';
        return;
      }
      busy(submit, async () => {
        try {
          await gql(UPDATE, { id: u.id, input: { [key]: Object.keys(next).length ? patch : {} } });
          await refresh(id + '-status', `${title} saved.`, id + '-save');
        } catch (err) {
          showError(f.error, err, f.input);
        }
      });
    });
  }
  return card(title, form);
}

function identitiesCard(u) {
  return card('Identity provider attributes', u.identities.length ? u.identities.map((i, n) => h('div', { class: 'identity' },
    h('dl', { class: 'props' },
      h('dt', {}, 'Connection'), h('dd', {}, i.connection),
      h('dt', {}, 'Provider'), h('dd', {}, i.provider),
      h('dt', {}, 'User id at the provider'), h('dd', {}, h('code', {}, i.userId)),
      h('dt', {}, 'Social'), h('dd', {}, i.isSocial ? 'yes' : 'no')),
    h('p', { class: 'help', id: 'identity-' + n + '-label' }, 'Profile data'),
    h('pre', { tabindex: '0', 'aria-labelledby': 'identity-' + n + '-label' }, jsonText(i.profileData || {}))))
    : h('p', { class: 'muted' }, 'No identities.'));
}

const LOGS = `query UserLogs($id: ID!, $first: Int, $after: String) {
  user(id: $id) { logs(first: $first, after: $after) { edges { node { id time type connection ip userAgent success detail } } pageInfo { hasNextPage endCursor } } }
}`;

const LOG_PAGE = 25;

// historyCard pages through the user's events (newest first) with the
// API's cursors, and filters the loaded ones by text (event, IP, user
// agent, details) and result.
function historyCard(u) {
  const events = [];
  let after = null;
  let more = true;
  const err = errorSlot('history-error');
  const q = field({ id: 'history-filter', label: 'Filter', type: 'search', help: 'Matches the event, IP address, user agent and details of the loaded events.', attrs: { autocomplete: 'off', spellcheck: 'false' } });
  const result = h('select', { id: 'history-result' },
    h('option', { value: '' }, 'Any result'), h('option', { value: 'ok' }, 'Succeeded'), h('option', { value: 'failed' }, 'Failed'));
  const count = h('p', { class: 'muted', id: 'history-count', 'aria-live': 'polite' });
  const body = h('div', { id: 'history-body' });
  const older = h('button', { type: 'button', class: 'secondary', id: 'history-more' }, 'Load older events');

  function draw() {
    const needle = q.input.value.trim().toLowerCase();
    const shown = events.filter((e) => (!result.value || (result.value === 'ok') === e.success) &&
      (!needle || [e.type, e.ip, e.userAgent, e.detail, e.connection].some((v) => v && v.toLowerCase().includes(needle))));
    count.textContent = `${shown.length} of ${events.length} loaded event${events.length === 1 ? '' : 's'}` + (more ? '; older events can be loaded.' : '.');
    replace(body, shown.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'history' },
      h('thead', {}, h('tr', {}, ['When', 'Event', 'Result', 'IP', 'User agent', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, shown.map((e) => h('tr', {},
        h('td', { 'data-label': 'When' }, fmtTime(e.time)),
        h('td', { 'data-label': 'Event' }, e.type),
        h('td', { 'data-label': 'Result' }, e.success ? badge('ok', 'ok') : badge('failed', 'bad')),
        h('td', { 'data-label': 'IP' }, e.ip || '—'),
        h('td', { 'data-label': 'User agent', class: 'ua' }, e.userAgent || '—'),
        h('td', { 'data-label': 'Details' }, e.detail || '—'))))))
      : h('p', { class: 'empty', id: 'history-empty' }, events.length ? 'No loaded event matches the filter.' : 'No events in the retention window.'));
    older.hidden = !more;
  }

  async function load() {
    clearError(err);
    try {
      const logs = (await gql(LOGS, { id: u.id, first: LOG_PAGE, after })).user.logs;
      for (const e of logs.edges) events.push(e.node);
      more = logs.pageInfo.hasNextPage;
      after = logs.pageInfo.endCursor;
    } catch (e) {
      showError(err, e);
    }
    draw();
  }
  q.input.addEventListener('input', draw);
  result.addEventListener('change', draw);
  older.addEventListener('click', () => busy(older, load));
  const c = card('History',
    h('div', { class: 'row' }, h('div', { class: 'grow' }, q.wrap), h('div', {}, h('label', { for: 'history-result' }, 'Result'), result)),
    count, body, h('div', { class: 'actions' }, older), err);
  return load().then(() => c);
}
