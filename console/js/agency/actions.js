/**
 * What an agency may do with one of its assignments, one click (or one key) each, and the
 * API call behind each action. `from` mirrors the state machine of
 * dispatch/assignments/lifecycle.py (TRANSITIONS; tests/console/test_agency.py compares
 * them): only actions legal in the row's status are enabled.
 */
export const ACTIONS = [
  { action: 'ack', status: 'acknowledged', key: '1', from: ['queued', 'escalated'] },
  { action: 'en_route', status: 'en_route', key: '2', from: ['acknowledged'] },
  { action: 'on_scene', status: 'on_scene', key: '3', from: ['acknowledged', 'en_route'] },
  { action: 'completed', status: 'completed', key: '4', from: ['acknowledged', 'en_route', 'on_scene'] },
  { action: 'decline', status: 'declined', key: 'x', from: ['queued', 'escalated', 'acknowledged', 'en_route'] },
];

export function actionFor(name) {
  return ACTIONS.find((entry) => entry.action === name) ?? null;
}

export function isAllowed(name, status) {
  return actionFor(name)?.from.includes(status) ?? false;
}

/**
 * POST /v1/assignments/{id}/ack, or /status with {status, note?}; the updated Assignment.
 * A decline needs a reason (`note`).
 */
export function perform(api, assignmentId, name, note) {
  const path = `/v1/assignments/${encodeURIComponent(assignmentId)}`;
  if (name === 'ack') return api.post(`${path}/ack`);
  const body = { status: actionFor(name).status };
  if (note) body.note = note;
  return api.post(`${path}/status`, body);
}
