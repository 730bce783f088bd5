import { gql, describe } from '../api.js';
import { h, card, field, errorSlot, showError, clearError, busy } from '../ui.js';
import { signIn, current } from '../session.js';

// The login of a user of a connection that grants admin scopes returns a
// management token, used exactly as a pasted one. Only the token and its
// scopes are read; the user tokens login also returns are dropped.
const ADMIN_LOGIN = `mutation AdminSignIn($connection: String!, $email: String, $username: String, $password: String!) {
  login(connection: $connection, email: $email, username: $username, password: $password) { managementToken managementScopes }
}`;

export async function render(view, _params, { navigate }) {
  const info = current();
  view.append(h('h1', {}, 'Sign in to Profiled'));
  if (info) view.append(h('p', { class: 'muted' }, 'You are signed in; signing in again replaces the current token.'));
  view.append(
    h('div', { class: 'grid' }, tokenForm(navigate), accountForm(navigate)),
    h('p', { class: 'help' }, 'The dashboard shows only what the token’s scopes allow; the server checks every request anyway.'));
}

function tokenForm(navigate) {
  const tok = field({
    id: 'token', label: 'Management token', type: 'textarea',
    help: 'Paste a token from “profiled token create --scope …”. It is kept in this tab only (sessionStorage) and sent to this server’s API only.',
    attrs: { autocomplete: 'off', spellcheck: 'false', required: true, rows: 5 },
  });
  const formErr = errorSlot('signin-error');
  const form = h('form', { id: 'signin-form', novalidate: true },
    tok.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'signin-submit' }, 'Sign in')),
    formErr);
  const submit = form.querySelector('#signin-submit');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(tok.error, tok.input);
    if (!tok.input.value.trim()) {
      showError(tok.error, 'Paste a token first.', tok.input);
      tok.input.focus();
      return;
    }
    const ok = await busy(submit, async () => {
      try {
        await signIn(tok.input.value);
        return true;
      } catch (err) {
        showError(tok.error, err.message, tok.input);
        return false;
      }
    });
    if (ok) navigate('/');
    else tok.input.focus();
  });
  return card('Paste a management token', form);
}

function accountForm(navigate) {
  const conn = field({
    id: 'admin-connection', label: 'Connection',
    help: 'The name of a connection whose users hold admin scopes.',
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', required: true },
  });
  // One field, as on the hosted sign-in page: with '@' an email, without
  // one a username (for a connection with requiresUsername).
  const email = field({
    id: 'admin-email', label: 'Email or username',
    help: 'A username works on a connection that requires usernames.',
    attrs: { autocomplete: 'username', spellcheck: 'false', autocapitalize: 'none', required: true },
  });
  const password = field({ id: 'admin-password', label: 'Password', type: 'password', attrs: { autocomplete: 'current-password', required: true } });
  const formErr = errorSlot('admin-signin-error');
  const submit = h('button', { type: 'submit', id: 'admin-signin-submit' }, 'Sign in with this account');
  const form = h('form', { id: 'admin-signin-form', novalidate: true },
    conn.wrap, email.wrap, password.wrap, h('div', { class: 'actions' }, submit), formErr);
  const all = [conn, email, password];
  const fail = (f, msg) => {
    showError(f.error, msg, f.input);
    f.input.focus();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(formErr);
    for (const f of all) clearError(f.error, f.input);
    const id = email.input.value.trim();
    const vars = { connection: conn.input.value.trim(), password: password.input.value };
    if (id.includes('@')) vars.email = id;
    else vars.username = id;
    if (!vars.connection) return fail(conn, 'Enter the connection’s name.');
    if (!id) return fail(email, 'Enter your email address or username.');
    if (!vars.password) return fail(password, 'Enter your password.');
    // The button is disabled while the request runs, so focus moves back
    // to it (next to the form's error) only once busy is over.
    const focusAfter = await busy(submit, async () => {
      let res;
      try {
        res = (await gql(ADMIN_LOGIN, vars)).login;
      } catch (err) {
        switch (err.code) {
          case 'INVALID_CREDENTIALS':
            password.input.value = '';
            return fail(password, vars.username ? 'Wrong connection, username or password.' : 'Wrong connection, email or password.');
          case 'USER_BLOCKED':
            showError(formErr, 'This account is blocked: another administrator must unblock it before it can sign in.');
            return submit;
          case 'TOO_MANY_ATTEMPTS':
            showError(formErr, 'Too many failed sign-ins for this account from this address. Wait up to an hour, or ask another administrator to unblock the account.');
            return submit;
          default:
            if (err.field === 'connection') return fail(conn, describe(err));
            if (err.field === 'username') return fail(email, describe(err));
            showError(formErr, err);
            return submit;
        }
      }
      password.input.value = '';
      if (!res.managementToken) {
        showError(formErr, 'This account holds no admin scopes: its connection grants its users none. Use an account of a connection whose users hold admin scopes, or paste a management token.');
        return submit;
      }
      try {
        await signIn(res.managementToken);
      } catch (err) {
        showError(formErr, err.message);
        return submit;
      }
      navigate('/');
      return null;
    });
    if (focusAfter) focusAfter.focus();
  });
  return card('Sign in with an admin account', form);
}
