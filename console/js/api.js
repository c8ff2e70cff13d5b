/**
 * Calls to the public API (API.md) with the session's bearer token. JSON in, JSON out;
 * an error answer becomes an ApiError carrying the problem document (RFC 9457). A 401 means
 * the token is no longer good (expired, revoked): the page returns to the log-in page.
 *
 *   const api = apiClient(session);
 *   const queue = await api.get(`/v1/agencies/${code}/queue`);
 *   await api.post(`/v1/assignments/${id}/status`, {status: 'declined', note: reason});
 */
import { goToLogin } from './auth.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

/** One request; `json` is sent as a JSON body, `form` as an urlencoded one. A 401 sends
 * the page to the log-in page, unless `refusedIsAnswer` (a 401 that answers the request
 * itself, e.g. a wrong current password on POST /auth/password). */
export async function request(method, path, { token, json, form, refusedIsAnswer = false } = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  const response = await fetch(path, { method, headers, body, cache: 'no-store' });
  const type = response.headers.get('Content-Type') ?? '';
  const payload = type.includes('json') ? await response.json() : null;
  if (!response.ok) {
    if (response.status === 401 && token && !refusedIsAnswer) goToLogin('expired');
    throw new ApiError(response.status, payload);
  }
  return payload;
}

/** get/post/patch bound to a session's token (read at each call: a page that gets a new
 * token, after a password change, sets `session.token`). */
export function apiClient(session) {
  return {
    get: (path) => request('GET', path, { token: session.token }),
    post: (path, json = {}) => request('POST', path, { token: session.token, json }),
    patch: (path, json) => request('PATCH', path, { token: session.token, json }),
  };
}
