// The management token lives in sessionStorage only (gone when the tab
// closes). Its payload is decoded here for display (scopes, expiry); the
// server verifies the signature and enforces every scope.
import { gqlAs, describe } from './api.js';

const KEY = 'profiled.token';

export function decodeToken(token) {
  const parts = token.trim().split('.');
  if (parts.length !== 3) throw new Error('This is not a JWT: a token has three parts separated by dots.');
  let payload;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
  } catch {
    throw new Error('The token’s payload cannot be read: check that you pasted all of it.');
  }
  if (typeof payload !== 'object' || payload === null) throw new Error('The token’s payload is not a JSON object.');
  const scope = typeof payload.scope === 'string' ? payload.scope : '';
  return {
    subject: String(payload.sub ?? ''),
    scopes: scope.split(/\s+/).filter(Boolean),
    expires: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null,
  };
}

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

// The server is asked whether it accepts the token: a signature is checked
// there only. FORBIDDEN means a valid token without read:connections.
const CHECK = 'query TokenCheck { connections { name } }';

// signIn checks the token here (shape, expiry, kind) and then with the
// server, and keeps it only if the server accepts it.
export async function signIn(raw) {
  const t = raw.trim().replace(/^Bearer\s+/i, '');
  const info = decodeToken(t);
  if (info.expires && info.expires.getTime() <= Date.now()) throw new Error('This token has expired: create a new one.');
  if (info.scopes.length === 0) throw new Error('This token carries no scopes: it cannot manage anything.');
  if (info.scopes.includes('read:current_user')) throw new Error('This is a user token (from login). The dashboard needs a management token.');
  try {
    await gqlAs(t, CHECK);
  } catch (err) {
    if (err.code === 'UNAUTHENTICATED') throw new Error('The server refused this token: its signature is not one of this server’s keys, or it was revoked. Create a new one on this server.');
    if (err.code !== 'FORBIDDEN') throw new Error('The server could not check this token: ' + describe(err));
  }
  sessionStorage.setItem(KEY, t);
  return info;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

// current returns the decoded token, or null when signed out or expired.
export function current() {
  const t = token();
  if (!t) return null;
  try {
    const info = decodeToken(t);
    if (info.expires && info.expires.getTime() <= Date.now()) return null;
    return info;
  } catch {
    return null;
  }
}

export function can(scope) {
  const c = current();
  return !!c && c.scopes.includes(scope);
}
