// The admin-scopes editor of a DATABASE connection: one checkbox per
// management scope. The server decides (only scopes the caller holds can be
// granted); the editor says so up front and shows the server's reason next
// to the checkboxes when it refuses.
import { h, errorSlot } from './ui.js';
import { can } from './session.js';

export const MANAGEMENT_SCOPES = [
  ['read:users', 'read users'],
  ['create:users', 'create users'],
  ['update:users', 'change users'],
  ['update:users_app_metadata', 'change users’ app metadata'],
  ['delete:users', 'delete users'],
  ['read:connections', 'read connections'],
  ['create:connections', 'create connections'],
  ['update:connections', 'change connections'],
  ['read:roles', 'read roles'],
  ['create:roles', 'create roles'],
  ['update:roles', 'change roles'],
  ['delete:roles', 'delete roles'],
  ['read:resource_servers', 'read APIs'],
  ['create:resource_servers', 'create APIs'],
  ['update:resource_servers', 'change APIs'],
  ['delete:resource_servers', 'delete APIs'],
  ['read:clients', 'read applications'],
  ['create:clients', 'create applications'],
  ['update:clients', 'change applications'],
  ['delete:clients', 'delete applications'],
];

// adminScopesField builds the fieldset. id prefixes every control's id;
// selected lists the scopes checked at first. value() returns the checked
// scopes in MANAGEMENT_SCOPES order; changed() whether they differ from
// selected.
export function adminScopesField({ id, selected = [] }) {
  const helpId = id + '-help';
  const errId = id + '-error';
  const boxes = MANAGEMENT_SCOPES.map(([scope, what]) => {
    const boxId = `${id}-${scope.replace(/[^a-z]+/g, '-')}`;
    const box = h('input', { type: 'checkbox', id: boxId, value: scope, checked: selected.includes(scope), 'aria-describedby': `${helpId} ${errId}` });
    const lacks = !can(scope);
    return {
      box,
      wrap: h('div', {}, h('label', { class: 'inline', for: boxId }, box,
        h('span', {}, h('code', {}, scope), ` — ${what}`, lacks ? h('span', { class: 'muted small' }, ' (your token lacks it)') : null))),
    };
  });
  const error = errorSlot(errId);
  const wrap = h('fieldset', { id, class: 'admin-scopes' },
    h('legend', {}, 'Admin scopes'),
    h('p', { class: 'help', id: helpId },
      'Every user of this connection, existing ones included, holds the checked scopes when they sign in: the login also returns a management token with exactly these scopes (valid 1 hour), which signs in to this dashboard. ' +
      'Sign-up closes on such a connection, and managing its users then needs every checked scope. You can grant only scopes your own token holds.'),
    boxes.map((b) => b.wrap),
    error);
  const value = () => boxes.filter((b) => b.box.checked).map((b) => b.box.value);
  const changed = () => {
    const v = value();
    return v.length !== selected.length || v.some((s) => !selected.includes(s));
  };
  return { wrap, input: boxes[0].box, error, value, changed };
}
