/**
 * How every signed-in page starts: the session for its roles (else off to the log-in
 * page), then the page's own `start(session)`. A 401 while starting is already on its way
 * to the log-in page; any other error goes to the browser console.
 */
import { ApiError } from './api.js';
import { requireSession } from './auth.js';

export function startPage(roles, start) {
  const session = requireSession(roles);
  if (!session) return;
  start(session).catch((error) => {
    if (error instanceof ApiError && error.status === 401) return;
    throw error;
  });
}
