// The dashboard talks to the GraphQL API only: fetch('/graphql') with the
// bearer token. Errors carry the API's extensions.code, turned into
// sentences by describe().
import { token } from './session.js';

export class ApiError extends Error {
  constructor(code, message, field, all) {
    super(message);
    this.code = code;
    this.field = field || '';
    this.all = all || [];
  }
}

async function send(body, headers, bearer) {
  const h = { ...headers };
  const t = bearer === undefined ? token() : bearer;
  if (t) h.Authorization = 'Bearer ' + t;
  let res;
  try {
    res = await fetch('/graphql', { method: 'POST', headers: h, body, credentials: 'omit' });
  } catch {
    throw new ApiError('NETWORK', 'The server cannot be reached.');
  }
  let json;
  try {
    json = await res.json();
  } catch {
    throw new ApiError('INTERNAL', `The server answered ${res.status} without a GraphQL response.`);
  }
  if (json.errors && json.errors.length) {
    const e = json.errors[0];
    const ext = e.extensions || {};
    const err = new ApiError(ext.code || 'INTERNAL', e.message || 'error', ext.field, json.errors);
    err.data = json.data;
    throw err;
  }
  return json.data;
}

// gql runs one operation and returns its data, or throws an ApiError.
export function gql(query, variables = {}) {
  return send(JSON.stringify({ query, variables }), { 'Content-Type': 'application/json' });
}

// gqlAs runs one operation with this bearer token instead of the session's.
export function gqlAs(bearer, query, variables = {}) {
  return send(JSON.stringify({ query, variables }), { 'Content-Type': 'application/json' }, bearer);
}

// upload runs an operation with one file, as the GraphQL multipart request
// spec says: operations (file variable null), map, then the file part.
export function upload(query, variables, fileVar, file) {
  const fd = new FormData();
  fd.append('operations', JSON.stringify({ query, variables: { ...variables, [fileVar]: null } }));
  fd.append('map', JSON.stringify({ 0: ['variables.' + fileVar] }));
  fd.append('0', file, file.name);
  return send(fd, {});
}

const sentences = {
  UNAUTHENTICATED: () => 'Your token is missing, expired or not valid for this server. Sign in again with a fresh management token.',
  FORBIDDEN: (m) => `Your token does not allow this: ${m}.`,
  NOT_FOUND: (m) => `Not found: ${m}. It may have been deleted.`,
  BAD_USER_INPUT: (m) => `Please check the value: ${m}.`,
  FIELD_NOT_UPDATABLE: (m) => `This cannot be changed here: ${m}.`,
  INVALID_CREDENTIALS: () => 'Wrong email or password.',
  USER_BLOCKED: () => 'This user is blocked: an administrator must unblock them before they can log in.',
  USER_EXISTS: (m) => `That already exists: ${m}.`,
  SCRIPT_ERROR: (m) => `The connection’s script failed: ${m}.`,
  SCRIPT_TIMEOUT: () => 'The connection’s script took too long and was stopped. Check that the custom database answers, or raise the script timeout.',
  CONNECTION_UNAVAILABLE: (m) => `The custom database or its script is not available: ${m}.`,
  TOO_MANY_ATTEMPTS: () => 'Too many failed logins for this account from this address. Wait, or unblock the user to lift it.',
  INTERNAL: () => 'Something went wrong on the server. Try again; if it keeps happening, check the server’s logs.',
  NETWORK: () => 'The server cannot be reached. Check your connection and that the service is running.',
  GRAPHQL_VALIDATION_FAILED: (m) => `The server does not understand this dashboard’s request (is it another version?): ${m}.`,
  GRAPHQL_PARSE_FAILED: (m) => `The server could not read this dashboard’s request: ${m}.`,
};

function clean(m) {
  return String(m || '').replace(/[.\s]+$/, '');
}

// describe turns an error into a sentence a person understands.
export function describe(err) {
  if (err instanceof ApiError) {
    const f = sentences[err.code];
    return f ? f(clean(err.message)) : clean(err.message) + '.';
  }
  return clean(err && err.message ? err.message : String(err)) + '.';
}
