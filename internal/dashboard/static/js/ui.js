// Small DOM helpers. Text always goes in as text nodes (never innerHTML),
// so data from the API cannot inject markup.
import { describe } from './api.js';

export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'text') {
      el.textContent = v;
    } else if (k === 'value' && !svg) {
      el.value = v;
    } else if (k === 'checked' && !svg) {
      el.checked = !!v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

// add appends children to el, skipping null, undefined and false (the
// native append would write them as the text "null"); arrays are
// flattened and strings become text nodes.
export function add(el, ...children) {
  append(el, children);
  return el;
}

// replace replaces el's children as add appends them.
export function replace(el, ...children) {
  el.replaceChildren();
  return add(el, ...children);
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let seq = 0;
export function uid(prefix) {
  seq += 1;
  return `${prefix}-${seq}`;
}

// errorSlot is a live region placed right after the control it is about.
export function errorSlot(id) {
  return h('p', { class: 'error', id, role: 'alert', 'aria-live': 'assertive' });
}

export function statusSlot(id) {
  return h('p', { class: 'status', id, role: 'status', 'aria-live': 'polite' });
}

// field builds a labelled control with its help text and error slot.
export function field({ id, label, type = 'text', value = '', help, attrs = {}, control }) {
  const helpId = help ? id + '-help' : null;
  const errId = id + '-error';
  const describedBy = [helpId, errId].filter(Boolean).join(' ');
  let input = control;
  if (!input) {
    input = type === 'textarea'
      ? h('textarea', { id, name: id, 'aria-describedby': describedBy, ...attrs }, value)
      : h('input', { id, name: id, type, value, 'aria-describedby': describedBy, ...attrs });
  } else {
    input.id = id;
    input.setAttribute('aria-describedby', describedBy);
  }
  const error = errorSlot(errId);
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label), input, help ? h('p', { class: 'help', id: helpId }, help) : null, error);
  return { wrap, input, error };
}

export function showError(slot, err, input) {
  slot.textContent = typeof err === 'string' ? err : describe(err);
  if (input) input.setAttribute('aria-invalid', 'true');
}

export function clearError(slot, input) {
  slot.textContent = '';
  if (input) input.removeAttribute('aria-invalid');
}

// reportError puts an API error next to the control named by its
// extensions.field when the form has one, else in the fallback slot.
export function reportError(err, fallback, fields = {}) {
  const f = err && err.field ? fields[err.field] : null;
  if (f) {
    showError(f.error, err, f.input);
    f.input.focus();
  } else {
    showError(fallback, err);
  }
}

// busy disables a button while fn runs.
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
}

export function jsonText(v) {
  return JSON.stringify(v ?? null, null, 2);
}

// parseObject parses a JSON object typed by a person, with a sentence
// saying what is wrong.
export function parseObject(text, what) {
  const t = text.trim();
  if (t === '') return {};
  let v;
  try {
    v = JSON.parse(t);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${e.message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new Error(`${what} must be a JSON object ({ ... }), not ${Array.isArray(v) ? 'an array' : v === null ? 'null' : 'a ' + typeof v}`);
  }
  return v;
}

export function card(title, ...children) {
  const hid = uid('card');
  return h('section', { class: 'card', 'aria-labelledby': hid }, h('h2', { id: hid }, title), ...children);
}

export function badge(text, kind) {
  return h('span', { class: 'badge' + (kind ? ' ' + kind : '') }, text);
}

export function link(href, text, attrs = {}) {
  return h('a', { href, 'data-link': true, ...attrs }, text);
}

// tabs builds an ARIA tab list with one panel per tab ({ id, label,
// render(...args) → Node or Promise<Node> }); a panel renders the first time
// its tab is shown. The selected tab is kept in the URL's hash (#id), so a
// reload or a link opens it. Arrow keys, Home and End move between tabs.
export function tabs(name, list, ...args) {
  const bar = h('div', { class: 'tabs', role: 'tablist', 'aria-label': name });
  const panels = h('div', { class: 'tab-panels' });
  const buttons = [];
  const rendered = new Map();
  const fromHash = location.hash.slice(1);
  let current = list.some((t) => t.id === fromHash) ? fromHash : list[0] && list[0].id;

  // fill renders tab into panel: at once when render returns a node (so
  // a redrawn page can put a status message in it right away), when its
  // promise settles otherwise.
  function fill(panel, tab) {
    const done = (node) => {
      add(panel, node);
      panel.removeAttribute('aria-busy');
      panel.setAttribute('data-ready', '');
    };
    const failed = (e) => done(h('p', { class: 'error', role: 'alert' }, describe(e)));
    let r;
    try {
      r = tab.render(...args);
    } catch (e) {
      return failed(e);
    }
    if (r && typeof r.then === 'function') {
      panel.setAttribute('aria-busy', 'true');
      r.then(done, failed);
    } else {
      done(r);
    }
  }

  function show(id, focus) {
    current = id;
    for (const b of buttons) {
      const on = b.dataset.tab === id;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    for (const p of panels.children) p.hidden = p.dataset.tab !== id;
    if (location.hash.slice(1) !== id) history.replaceState(history.state, '', location.pathname + location.search + '#' + id);
    const panel = [...panels.children].find((p) => p.dataset.tab === id);
    if (!rendered.has(id)) {
      rendered.set(id, true);
      fill(panel, list.find((t) => t.id === id));
    }
  }

  for (const t of list) {
    const b = h('button', { type: 'button', role: 'tab', id: 'tab-' + t.id, 'data-tab': t.id, 'aria-controls': 'panel-' + t.id }, t.label);
    b.addEventListener('click', () => show(t.id, false));
    b.addEventListener('keydown', (e) => {
      const i = list.findIndex((x) => x.id === current);
      let j = null;
      if (e.key === 'ArrowRight') j = (i + 1) % list.length;
      else if (e.key === 'ArrowLeft') j = (i - 1 + list.length) % list.length;
      else if (e.key === 'Home') j = 0;
      else if (e.key === 'End') j = list.length - 1;
      if (j === null) return;
      e.preventDefault();
      show(list[j].id, true);
    });
    buttons.push(b);
    bar.append(b);
    panels.append(h('div', { role: 'tabpanel', id: 'panel-' + t.id, 'data-tab': t.id, 'aria-labelledby': 'tab-' + t.id, tabindex: '0', hidden: true }));
  }
  if (current) show(current, false);
  return h('div', { class: 'tabbed' }, bar, panels);
}
