// api.js: calls to Arbiter's JSON API from the browser. Writes carry the
// session's CSRF token; errors become exceptions carrying the server's
// {"error": {code, message, field}}.

let csrf = null;

export class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.code = error ? error.code : 'network';
    this.field = error ? error.field : undefined;
    this.problems = error ? error.problems : undefined;
    this.lines = error ? error.lines : undefined;
  }
}

export function setCsrf(token) { csrf = token; }

export function api(method, path, body) {
  return send(method, path, body === undefined ? undefined : JSON.stringify(body), 'application/json');
}

// Sends a file (or any Blob) as the raw body, e.g. JSON Lines for imports.
export function upload(path, blob, type) {
  return send('POST', path, blob, type);
}

async function send(method, path, body, type) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = type;
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body });
  } catch (e) {
    throw new ApiError(0, { code: 'network', message: 'The server cannot be reached.' });
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) throw new ApiError(res.status, data && data.error);
  return data;
}

// Loads who I am, remembering the CSRF token; sends anonymous users to /login.
export async function me() {
  try {
    const m = await api('GET', '/api/v1/me');
    setCsrf(m.csrf_token);
    return m;
  } catch (e) {
    if (e.status === 401) location.assign('/login');
    throw e;
  }
}
