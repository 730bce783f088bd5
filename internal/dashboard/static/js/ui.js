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
