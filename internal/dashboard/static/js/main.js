// The dashboard's router: History API paths under /dashboard/, one module
// per page. Navigation shows only what the token's scopes allow; the API
// enforces them anyway.
import { h } from './ui.js';
import { current, can, signOut } from './session.js';
import * as signin from './pages/signin.js';
import * as home from './pages/home.js';
import * as users from './pages/users.js';
import * as user from './pages/user.js';
import * as connections from './pages/connections.js';
import * as connection from './pages/connection.js';
import * as roles from './pages/roles.js';
import * as apis from './pages/apis.js';
import * as applications from './pages/applications.js';

const BASE = '/dashboard';

const routes = [
  { re: /^\/signin$/, page: signin, title: 'Sign in', public: true },
  { re: /^\/?$/, page: home, title: 'Home', nav: '/' },
  { re: /^\/users$/, page: users, title: 'Users', nav: '/users' },
  { re: /^\/users\/([^/]+)$/, page: user, title: 'User', nav: '/users' },
  { re: /^\/connections$/, page: connections, title: 'Connections', nav: '/connections' },
  { re: /^\/connections\/([^/]+)$/, page: connection, title: 'Connection', nav: '/connections' },
  { re: /^\/roles$/, page: roles, title: 'Roles', nav: '/roles' },
  { re: /^\/roles\/([^/]+)$/, page: roles, title: 'Role', nav: '/roles' },
  { re: /^\/apis$/, page: apis, title: 'APIs', nav: '/apis' },
  { re: /^\/applications$/, page: applications, title: 'Applications', nav: '/applications' },
];

export function navigate(path, replace = false) {
  const url = BASE + path;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

function renderNav(active) {
  const nav = document.getElementById('nav');
  const session = document.getElementById('session');
  nav.replaceChildren();
  session.replaceChildren();
  const info = current();
  if (!info) return;
  const items = [['/', 'Home', can('read:users')], ['/users', 'Users', can('read:users') || can('create:users')], ['/connections', 'Connections', can('read:connections') || can('create:connections')],
    ['/roles', 'Roles', can('read:roles') || can('create:roles')], ['/apis', 'APIs', can('read:resource_servers') || can('create:resource_servers')],
    ['/applications', 'Applications', can('read:clients') || can('create:clients')]];
  for (const [path, label, ok] of items) {
    if (!ok) continue;
    nav.append(h('a', { href: BASE + path, 'data-link': true, 'aria-current': active === path ? 'page' : null }, label));
  }
  session.append(
    h('span', { title: info.scopes.join(' ') }, `${info.scopes.length} scope${info.scopes.length === 1 ? '' : 's'}`),
    h('button', { type: 'button', id: 'signout', on: { click: () => { signOut(); navigate('/signin'); } } }, 'Sign out'));
}

let renderSeq = 0;

export async function render() {
  const seq = ++renderSeq;
  let path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  let route = routes.find((r) => r.re.test(path));
  const main = document.getElementById('main');
  if (!route) {
    renderNav('');
    document.title = 'Not found · Profiled';
    main.replaceChildren(h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: BASE + '/', 'data-link': true }, 'Back to the dashboard')));
    return;
  }
  if (!route.public && !current()) {
    history.replaceState(null, '', BASE + '/signin');
    route = routes[0];
    path = '/signin';
  }
  const params = (path.match(route.re) || []).slice(1).map(decodeURIComponent);
  renderNav(route.nav || '');
  document.title = `${route.title} · Profiled`;
  const view = h('div', { class: 'page' });
  main.replaceChildren(view);
  try {
    await route.page.render(view, params, { navigate, isCurrent: () => seq === renderSeq, search: new URLSearchParams(location.search) });
  } catch (e) {
    view.append(h('p', { class: 'error', role: 'alert' }, String(e && e.message ? e.message : e)));
  }
  if (seq === renderSeq) {
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      if (document.activeElement === document.body || document.activeElement === main) h1.focus({ preventScroll: true });
    }
    main.setAttribute('data-ready', route.title);
  }
}

document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = a.getAttribute('href');
  if (!href.startsWith(BASE)) return;
  e.preventDefault();
  const url = new URL(href, location.origin);
  history.pushState(null, '', url.pathname + url.search);
  render();
});
window.addEventListener('popstate', render);
render();
