import { gql } from '../api.js';
import { h, replace, card, field, errorSlot, showError, clearError, reportError, busy, fmtTime, parseObject, link, badge } from '../ui.js';
import { can } from '../session.js';

const USERS = `query Users($query: String, $first: Int, $after: String, $sort: String) {
  users(query: $query, first: $first, after: $after, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id email username name nickname picture connection lastLogin loginsCount blocked } }
  }
}`;

const CONNECTIONS = `query ConnectionNames { connections { name strategy requiresUsername } }`;

const CREATE = `mutation CreateUser($input: CreateUserInput!) { createUser(input: $input) { id } }`;

const PAGE = 20;

// COLUMNS of the users table; sort is the API's sort field (user search
// sort: field:1 or field:-1).
const COLUMNS = [
  { label: 'Email', sort: 'email' },
  { label: 'Username', sort: 'username' },
  { label: 'Name', sort: 'name' },
  { label: 'Connection', sort: 'connection' },
  { label: 'Last login', sort: 'last_login' },
  { label: 'Logins', sort: 'logins_count' },
  { label: 'Blocked', sort: 'blocked' },
];

export async function render(view, _params, { navigate, search }) {
  const head = h('div', { class: 'row page-head' }, h('h1', { class: 'grow' }, 'Users'));
  view.append(head);
  if (can('create:users')) {
    const { open, dialog } = await createDialog(navigate);
    head.append(h('div', {}, h('button', { type: 'button', id: 'create-user-open', 'aria-haspopup': 'dialog', on: { click: open } }, 'Create user')));
    view.append(dialog);
  }
  if (can('read:users')) view.append(searchSection(search.get('q') || '', search.get('sort') || '', navigate));
}

function searchSection(initial, initialSort, navigate) {
  const q = field({
    id: 'user-search', label: 'Search users', type: 'search', value: initial,
    help: 'The query language: email:"ada@example.com", username:ada, name:Ada*, connection:main AND blocked:true, logins_count:[10 TO *], user_metadata.lang:en. Leave it empty to list every user.',
    attrs: { autocomplete: 'off', spellcheck: 'false' },
  });
  const submit = h('button', { type: 'submit', id: 'user-search-submit' }, 'Search');
  const form = h('form', { role: 'search', id: 'user-search-form' }, h('div', { class: 'row' }, h('div', { class: 'grow' }, q.wrap), h('div', {}, submit)));
  const results = h('div', { id: 'user-results', 'aria-live': 'polite' });
  const cursors = [null];
  let page = 0;
  let sort = /^[a-z_]+:-?1$/.test(initialSort) ? initialSort : '';
  const remember = () => {
    const query = q.input.value.trim();
    const p = new URLSearchParams();
    if (query) p.set('q', query);
    if (sort) p.set('sort', sort);
    history.replaceState(null, '', '/dashboard/users' + (p.toString() ? '?' + p : ''));
  };
  const sortBy = (field) => {
    sort = sort === field + ':1' ? field + ':-1' : field + ':1';
    cursors.length = 1;
    page = 0;
    remember();
    load();
  };

  async function load() {
    clearError(q.error, q.input);
    const query = q.input.value.trim();
    let data;
    try {
      data = (await gql(USERS, { query: query || null, first: PAGE, after: cursors[page], sort: sort || null })).users;
    } catch (e) {
      if (e.code === 'BAD_USER_INPUT' && (e.field === 'query' || e.field === '')) {
        showError(q.error, `This search cannot run: ${e.message.replace(/\.$/, '')}. Fix the query, or leave the box empty to list every user.`, q.input);
      } else {
        showError(q.error, e, q.input);
      }
      results.replaceChildren();
      return;
    }
    cursors[page + 1] = data.pageInfo.endCursor;
    const rows = data.edges.map(({ node: u }) => h('tr', {},
      h('td', { 'data-label': 'Email' }, u.picture ? h('img', { class: 'avatar', src: u.picture, alt: '', width: 28, height: 28, loading: 'lazy', referrerpolicy: 'no-referrer' }) : null,
        link('/dashboard/users/' + encodeURIComponent(u.id), u.email || u.username || u.id, { class: 'user-link' })),
      h('td', { 'data-label': 'Username', class: 'username' }, u.username || '—'),
      h('td', { 'data-label': 'Name' }, u.name || u.nickname || '—'),
      h('td', { 'data-label': 'Connection' }, u.connection),
      h('td', { 'data-label': 'Last login' }, fmtTime(u.lastLogin)),
      h('td', { 'data-label': 'Logins' }, String(u.loginsCount)),
      h('td', { 'data-label': 'Blocked' }, u.blocked ? badge('blocked', 'bad') : 'no')));
    const prev = h('button', { type: 'button', class: 'secondary', id: 'users-prev', disabled: page === 0 }, 'Previous page');
    const next = h('button', { type: 'button', class: 'secondary', id: 'users-next', disabled: !data.pageInfo.hasNextPage }, 'Next page');
    prev.addEventListener('click', () => { page -= 1; load(); });
    next.addEventListener('click', () => { page += 1; load(); });
    const from = data.edges.length ? page * PAGE + 1 : 0;
    replace(results,
      h('p', { class: 'muted', id: 'user-count' }, `${data.totalCount} user${data.totalCount === 1 ? '' : 's'} match${data.totalCount === 1 ? 'es' : ''}` +
        (data.edges.length ? `; showing ${from}–${from + data.edges.length - 1}.` : '.')),
      rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'user-table' },
        h('thead', {}, h('tr', {}, COLUMNS.map((c) => {
          const dir = sort === c.sort + ':1' ? 'ascending' : sort === c.sort + ':-1' ? 'descending' : null;
          return h('th', { scope: 'col', 'aria-sort': dir },
            h('button', { type: 'button', class: 'sort', id: 'sort-' + c.sort, on: { click: () => sortBy(c.sort) } }, c.label));
        }))),
        h('tbody', {}, rows)))
        : h('p', { class: 'empty', id: 'user-empty' }, query ? 'No users match this search. Check the spelling, use a trailing * for a prefix, or clear the box to list every user.' : 'No users yet. Create one with “Create user”, or import a file.'),
      h('div', { class: 'actions' }, prev, next));
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    cursors.length = 1;
    page = 0;
    remember();
    busy(submit, load);
  });
  load();
  return card('Find users', form, results);
}

// createDialog puts the create form in a modal dialog opened by the
// "Create user" button; Escape or Cancel closes it.
async function createDialog(navigate) {
  const form = await createForm(navigate);
  const cancel = h('button', { type: 'button', class: 'secondary', id: 'create-user-cancel' }, 'Cancel');
  const dialog = h('dialog', { id: 'create-user-dialog', 'aria-labelledby': 'create-user-title' },
    h('h2', { id: 'create-user-title' }, 'Create a user'), form);
  form.querySelector('.actions').append(cancel);
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    const b = document.getElementById('create-user-open');
    if (b) b.focus();
  });
  return {
    dialog,
    open: () => {
      dialog.showModal();
      const first = dialog.querySelector('select, input');
      if (first) first.focus();
    },
  };
}

async function createForm(navigate) {
  let connControl;
  // byName: the connections read, to know which require a username.
  const byName = new Map();
  if (can('read:connections')) {
    connControl = h('select', { required: true });
    try {
      const cs = (await gql(CONNECTIONS)).connections;
      for (const c of cs) {
        byName.set(c.name, c);
        connControl.append(h('option', { value: c.name }, `${c.name} (${c.strategy}${c.requiresUsername ? ', requires username' : ''})`));
      }
      if (!cs.length) connControl.append(h('option', { value: '' }, 'No connections yet'));
    } catch {
      connControl = null;
    }
  }
  const conn = field({ id: 'new-connection', label: 'Connection', control: connControl || h('input', { type: 'text', required: true, autocomplete: 'off' }) });
  const email = field({ id: 'new-email', label: 'Email', type: 'email', attrs: { required: true, autocomplete: 'off' } });
  const username = field({ id: 'new-username', label: 'Username', help: 'This connection requires one: 1 to 15 characters, letters, digits and _ . + - ! # $ ^ ` ~ \' @ (not an email address); stored lower-cased. The user may sign in with it or the email.', attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' } });
  // needsUsername: the chosen connection requires usernames (unknown when
  // the token cannot read connections: the field then shows, optional, and
  // the server says whether it is needed).
  const needsUsername = () => {
    const c = byName.get(conn.input.value.trim());
    return c ? c.requiresUsername : null;
  };
  const syncUsername = () => {
    const n = needsUsername();
    username.wrap.hidden = n === false;
    if (n) username.input.setAttribute('required', '');
    else username.input.removeAttribute('required');
  };
  conn.input.addEventListener('change', syncUsername);
  conn.input.addEventListener('input', syncUsername);
  syncUsername();
  const password = field({ id: 'new-password', label: 'Password', type: 'password', help: '8 to 72 bytes; required for database and custom-database connections.', attrs: { autocomplete: 'new-password' } });
  const um = field({ id: 'new-user-metadata', label: 'User metadata (JSON object)', type: 'textarea', value: '{}', attrs: { spellcheck: 'false', rows: 4 } });
  const am = can('update:users') || can('create:users')
    ? field({ id: 'new-app-metadata', label: 'App metadata (JSON object)', type: 'textarea', value: '{}', attrs: { spellcheck: 'false', rows: 4 } })
    : null;
  const formErr = errorSlot('create-user-error');
  const submit = h('button', { type: 'submit', id: 'create-user-submit' }, 'Create user');
  const form = h('form', { id: 'create-user-form', novalidate: true },
    h('div', { class: 'grid' }, h('div', {}, conn.wrap, email.wrap, username.wrap, password.wrap), h('div', {}, um.wrap, am ? am.wrap : null)),
    h('div', { class: 'actions' }, submit), formErr);
  const fields = { connection: conn, email, username, password, userMetadata: um, appMetadata: am };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const f of Object.values(fields)) if (f) clearError(f.error, f.input);
    clearError(formErr);
    const input = { connection: conn.input.value.trim(), email: email.input.value.trim() };
    if (!input.connection) return showError(conn.error, 'Choose a connection.', conn.input);
    if (!input.email) return showError(email.error, 'Enter an email address.', email.input);
    if (!username.wrap.hidden && username.input.value.trim()) input.username = username.input.value.trim();
    if (needsUsername() && !input.username) return showError(username.error, `Enter a username: connection ${input.connection} requires one.`, username.input);
    if (password.input.value) input.password = password.input.value;
    try {
      input.userMetadata = parseObject(um.input.value, 'User metadata');
    } catch (err) {
      um.input.focus();
      return showError(um.error, err.message, um.input);
    }
    if (am) {
      try {
        const v = parseObject(am.input.value, 'App metadata');
        if (Object.keys(v).length) input.appMetadata = v;
      } catch (err) {
        am.input.focus();
        return showError(am.error, err.message, am.input);
      }
    }
    await busy(submit, async () => {
      try {
        const u = (await gql(CREATE, { input })).createUser;
        const d = document.getElementById('create-user-dialog');
        if (d && d.open) d.close();
        navigate('/users/' + encodeURIComponent(u.id));
      } catch (err) {
        reportError(err, formErr, fields);
      }
    });
  });
  return form;
}
