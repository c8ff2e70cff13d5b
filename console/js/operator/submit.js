/**
 * Sending the call: POST /v1/calls with an Idempotency-Key (one per call taken, so a
 * retry after a network failure, or a second Ctrl+Enter, registers nothing twice), then
 * for a disposition POST /v1/calls/{id}/disposition. A refusal's problem document is
 * turned into the form field it names: `field` (the service's own checks) or the last
 * part of `errors[].loc` (request validation: ["body", "location", "lat"] -> lat).
 */
import { ApiError } from '../api.js';
import { goToLogin } from '../auth.js';

const FIELDS = new Set(['caller_number', 'address', 'lat', 'lon', 'category', 'priority', 'description',
  'link_incident_id']);

/** A fresh key (crypto.randomUUID needs a secure context; a room PC may use plain http). */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** POST /v1/calls; throws ApiError like api.js (a 401 goes to the log-in page). */
export async function postCall(session, body, idempotencyKey) {
  const response = await fetch('/v1/calls', {
    method: 'POST',
    cache: 'no-store',
    headers: {
      Accept: 'application/json',
      'Content-Type': 'application/json',
      Authorization: `Bearer ${session.token}`,
      'Idempotency-Key': idempotencyKey,
    },
    body: JSON.stringify(body),
  });
  const type = response.headers.get('Content-Type') ?? '';
  const payload = type.includes('json') ? await response.json() : null;
  if (!response.ok) {
    if (response.status === 401) goToLogin('expired');
    throw new ApiError(response.status, payload);
  }
  return payload;
}

/**
 * The form fields a refusal names, each with its message: [[name, message], ...]. A field
 * of the body that is not a form field of its own (location) is shown on lat and lon.
 */
export function fieldErrors(error) {
  if (!(error instanceof ApiError)) return [];
  const problem = error.problem ?? {};
  const found = [];
  const add = (name, message) => {
    if (name === 'location') {
      found.push(['lat', message]);
      return;
    }
    if (FIELDS.has(name)) found.push([name, message]);
  };
  if (typeof problem.field === 'string') add(problem.field.split('.').pop(), problem.detail ?? error.message);
  for (const item of Array.isArray(problem.errors) ? problem.errors : []) {
    const loc = Array.isArray(item.loc) ? item.loc.filter((part) => typeof part === 'string') : [];
    const name = [...loc].reverse().find((part) => FIELDS.has(part) || part === 'location');
    if (name) add(name, item.msg ?? problem.detail);
  }
  return found;
}
