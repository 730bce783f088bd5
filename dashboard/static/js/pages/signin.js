import { h, field, errorSlot, showError, clearError } from '../ui.js';
import { signIn, current } from '../session.js';

export async function render(view, _params, { navigate }) {
  const info = current();
  const tok = field({
    id: 'token', label: 'Management token', type: 'textarea',
    help: 'Paste a token from “profiled token create --scope …”. It is kept in this tab only (sessionStorage) and sent to this server’s API only.',
    attrs: { autocomplete: 'off', spellcheck: 'false', required: true, rows: 5 },
  });
  const formErr = errorSlot('signin-error');
  const form = h('form', { id: 'signin-form', class: 'card', novalidate: true },
    tok.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'signin-submit' }, 'Sign in')),
    formErr);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearError(tok.error, tok.input);
    if (!tok.input.value.trim()) {
      showError(tok.error, 'Paste a token first.', tok.input);
      tok.input.focus();
      return;
    }
    try {
      signIn(tok.input.value);
    } catch (err) {
      showError(tok.error, err.message, tok.input);
      tok.input.focus();
      return;
    }
    navigate('/');
  });
  view.append(
    h('h1', {}, 'Sign in to Profiled'),
    info ? h('p', { class: 'muted' }, 'You are signed in; pasting another token replaces it.') : null,
    form,
    h('p', { class: 'help' }, 'The dashboard shows only what the token’s scopes allow; the server checks every request anyway.'));
}
