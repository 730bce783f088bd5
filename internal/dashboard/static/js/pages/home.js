import { gql } from '../api.js';
import { h, card, errorSlot, showError, link } from '../ui.js';
import { can, current } from '../session.js';

const STATS = `query Stats {
  stats {
    users blocked migrated notMigrated retentionDays
    usersByConnection { connection strategy users blocked migrated }
    loginsPerDay { day success failure }
  }
}`;

export async function render(view) {
  const info = current();
  view.append(h('h1', {}, 'Overview'));
  if (!can('read:users')) {
    view.append(card('Your access',
      h('p', {}, 'This token cannot read users, so there are no counts to show. Its scopes:'),
      h('ul', {}, info.scopes.map((s) => h('li', {}, h('code', {}, s))))));
    return;
  }
  const err = errorSlot('stats-error');
  view.append(err);
  let st;
  try {
    st = (await gql(STATS)).stats;
  } catch (e) {
    showError(err, e);
    return;
  }
  const tile = (id, n, label) => h('div', { class: 'tile', id }, h('span', { class: 'n' }, String(n)), label);
  view.append(h('div', { class: 'tiles', id: 'stats-tiles' },
    tile('stat-users', st.users, 'users'),
    tile('stat-blocked', st.blocked, 'blocked'),
    tile('stat-migrated', st.migrated, 'migrated from a custom database'),
    tile('stat-not-migrated', st.notMigrated, 'still in a legacy custom database')));

  const rows = st.usersByConnection.map((c) => h('tr', {},
    h('td', { 'data-label': 'Connection' }, can('read:connections') ? link('/dashboard/connections/' + encodeURIComponent(c.connection), c.connection) : c.connection),
    h('td', { 'data-label': 'Strategy' }, c.strategy || 'deleted'),
    h('td', { 'data-label': 'Users' }, String(c.users)),
    h('td', { 'data-label': 'Blocked' }, String(c.blocked)),
    h('td', { 'data-label': 'Migrated' }, String(c.migrated))));
  view.append(h('div', { class: 'grid' },
    card('Users per connection', rows.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'connection-counts' },
        h('thead', {}, h('tr', {}, ['Connection', 'Strategy', 'Users', 'Blocked', 'Migrated'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows)))
      : h('p', { class: 'muted' }, 'No connections yet.')),
    card(`Logins per day (last ${st.retentionDays} days)`, chart(st.loginsPerDay))));
}

// chart draws successful and failed logins per day as grouped bars in
// inline SVG, with a table of the same numbers for screen readers.
function chart(days) {
  const W = 640, H = 220, L = 36, B = 28, T = 10, R = 8;
  const max = Math.max(1, ...days.map((d) => Math.max(d.success, d.failure)));
  const step = (W - L - R) / Math.max(1, days.length);
  const bw = Math.max(1, step / 2 - 1);
  const y = (n) => T + (H - T - B) * (1 - n / max);
  const totalOk = days.reduce((a, d) => a + d.success, 0);
  const totalBad = days.reduce((a, d) => a + d.failure, 0);
  const label = `${totalOk} successful and ${totalBad} failed logins from ${days[0]?.day ?? ''} to ${days[days.length - 1]?.day ?? ''}`;
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title', id: 'logins-chart' },
    h('svg:title', { id: 'chart-title' }, label),
    h('svg:line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
    h('svg:line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
    h('svg:text', { x: L - 4, y: T + 4, 'text-anchor': 'end' }, String(max)),
    h('svg:text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, '0'));
  days.forEach((d, i) => {
    const x = L + i * step + 1;
    for (const [n, cls, dx, what] of [[d.success, 'bar-ok', 0, 'successful'], [d.failure, 'bar-bad', bw, 'failed']]) {
      if (n > 0) {
        svg.append(h('svg:rect', { class: cls, x: x + dx, y: y(n), width: bw, height: H - B - y(n) },
          h('svg:title', {}, `${d.day}: ${n} ${what}`)));
      }
    }
    if (i % Math.ceil(days.length / 6) === 0 || i === days.length - 1) {
      svg.append(h('svg:text', { x: x + bw, y: H - B + 16, 'text-anchor': 'middle' }, d.day.slice(5)));
    }
  });
  return h('div', { class: 'chart' }, svg,
    h('div', { class: 'legend' }, h('span', { class: 'ok' }, `Successful (${totalOk})`), h('span', { class: 'bad' }, `Failed (${totalBad})`)),
    h('details', {}, h('summary', {}, 'Show the numbers'),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), h('th', { scope: 'col' }, 'Successful'), h('th', { scope: 'col' }, 'Failed'))),
        h('tbody', {}, days.filter((d) => d.success || d.failure).map((d) => h('tr', {}, h('td', {}, d.day), h('td', {}, String(d.success)), h('td', {}, String(d.failure)))))))));
}
