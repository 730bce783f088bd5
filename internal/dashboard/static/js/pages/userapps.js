// The user's Devices (refresh-token holders, with Unlink) and Authorized
// applications (grants, with Revoke). Loaded on their own so the rest of
// the user page does not wait for them.
import { gql } from '../api.js';
import { h, card, errorSlot, showError, busy, fmtTime } from '../ui.js';
import { can } from '../session.js';

const QUERY = `query UserApps($id: ID!) { user(id: $id) {
  devices { id name clientId application { name } ip lastIp createdAt lastUsedAt }
  authorizedApplications { id scopes createdAt application { id name } } } }`;
const UNLINK = `mutation Unlink($id: ID!) { unlinkDevice(id: $id) { id } }`;
const REVOKE = `mutation Revoke($id: ID!) { revokeGrant(id: $id) { id } }`;

// userAppTabs returns the user page's Devices and Authorized applications
// tabs ({ id, label, panel }), filled by one query.
export function userAppTabs(userId) {
  const devices = h('div', { id: 'user-devices' }, h('p', { class: 'muted' }, 'Loading…'));
  const apps = h('div', { id: 'user-apps' }, h('p', { class: 'muted' }, 'Loading…'));
  load(devices, apps, userId);
  return [
    { id: 'devices', label: 'Devices', panel: devices },
    { id: 'authorized-applications', label: 'Authorized applications', panel: apps },
  ];
}

async function load(devBox, appBox, userId) {
  const err = errorSlot('user-apps-error');
  let u;
  try {
    u = (await gql(QUERY, { id: userId })).user;
  } catch (e) {
    devBox.replaceChildren(err);
    appBox.replaceChildren();
    showError(err, e);
    return;
  }
  if (!u) return;
  const reload = () => load(devBox, appBox, userId);
  const canUpdate = can('update:users');
  const button = (label, id, mutation, what) => {
    if (!canUpdate) return null;
    const b = h('button', { type: 'button', class: 'danger', 'data-id': id }, label);
    b.addEventListener('click', () => busy(b, async () => {
      if (!confirm(what)) return;
      try {
        await gql(mutation, { id });
        reload();
      } catch (e) {
        showError(err, e);
      }
    }));
    return b;
  };
  const devices = u.devices.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'devices' },
    h('thead', {}, h('tr', {}, ['Device', 'Application', 'Signed in', 'Last used', 'IP', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, u.devices.map((d) => h('tr', {},
      h('td', { 'data-label': 'Device' }, d.name),
      h('td', { 'data-label': 'Application' }, d.application ? d.application.name : d.clientId),
      h('td', { 'data-label': 'Signed in' }, fmtTime(d.createdAt)),
      h('td', { 'data-label': 'Last used' }, fmtTime(d.lastUsedAt)),
      h('td', { 'data-label': 'IP' }, d.lastIp || d.ip || '—'),
      h('td', {}, button('Unlink', d.id, UNLINK, 'Unlink ' + d.name + '? Its refresh tokens stop working.')))))))
    : h('p', { class: 'muted' }, 'No device holds a refresh token.');
  const apps = u.authorizedApplications.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'responsive', id: 'authorized-apps' },
    h('thead', {}, h('tr', {}, ['Application', 'Scopes', 'Since', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, u.authorizedApplications.map((g) => h('tr', {},
      h('td', { 'data-label': 'Application' }, g.application.name),
      h('td', { 'data-label': 'Scopes' }, g.scopes.join(' ') || '—'),
      h('td', { 'data-label': 'Since' }, fmtTime(g.createdAt)),
      h('td', {}, button('Revoke', g.id, REVOKE, 'Revoke ' + g.application.name + '? The user\'s devices on it are unlinked.')))))))
    : h('p', { class: 'muted' }, 'No authorized applications.');
  devBox.replaceChildren(card('Devices', devices, err));
  appBox.replaceChildren(card('Authorized applications', apps));
}
