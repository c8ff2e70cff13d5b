/**
 * The session: the access token from POST /auth/token, kept in sessionStorage only (gone
 * when the tab closes; never localStorage, never a cookie). Role and agency are read from
 * the token's payload (claims `role`, `agency`, `name`, `exp`); the server checks the
 * signature on every call, the page only needs to know where to go.
 *
 *   const session = requireSession(['agency']);   // at the top of a page's module
 *   if (session) start(session);                   // null: the browser is being sent away
 */
import { withLang } from './i18n.js';

const TOKEN_KEY = 'siaga112.token';
export const LOGIN_PAGE = '/console/';

/** Where each role works (CONSOLE.md, page contract). */
export const LANDING_PAGES = {
  operator: '/console/operator',
  agency: '/console/agency',
  supervisor: '/console/supervisor',
  admin: '/console/supervisor',
};

/** The JWT's payload, decoded (not verified: the server does that), or null. */
export function decodeClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = part + '='.repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** `{token, role, agency, username, expiresAt}` of a stored, unexpired token, or null. */
export function currentSession() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const claims = token && decodeClaims(token);
  if (!claims || typeof claims.role !== 'string') return null;
  const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
  if (expiresAt <= Date.now()) return null;
  return { token, role: claims.role, agency: claims.agency ?? null, username: claims.name ?? '', expiresAt };
}

/** The page a role lands on after logging in (null: a role with no page, e.g. gateway). */
export function landingPage(role) {
  return LANDING_PAGES[role] ?? null;
}

/** Forget the token and show the log-in page; `reason` ('expired') is shown there. */
export function goToLogin(reason) {
  clearToken();
  const target = new URL(withLang(LOGIN_PAGE), window.location.origin);
  if (reason) target.searchParams.set('reason', reason);
  window.location.replace(target.pathname + target.search);
}

/**
 * The session of a page that only `roles` may use. Without a valid token the browser goes
 * to the log-in page; with another role's token, to that role's page. Returns null then
 * (the page must stop). Also returns to the log-in page when the token expires.
 */
export function requireSession(roles) {
  const session = currentSession();
  if (!session) {
    goToLogin(sessionStorage.getItem(TOKEN_KEY) ? 'expired' : undefined);
    return null;
  }
  if (!roles.includes(session.role)) {
    const page = landingPage(session.role);
    if (page) window.location.replace(withLang(page));
    else goToLogin('no_page');
    return null;
  }
  watchExpiry(session);
  return session;
}

/** Back to the log-in page when the stored token expires (a password change stores a new
 * one with a later expiry: the timer then waits for that one). */
function watchExpiry(session) {
  window.setTimeout(() => {
    const stored = currentSession();
    if (stored) watchExpiry(stored);
    else goToLogin('expired');
  }, Math.min(Math.max(session.expiresAt - Date.now(), 0), 2 ** 31 - 1));
}

const LOGOUT_WAIT_MS = 3000;

/** Log out: revoke the token at the server (POST /auth/logout: every token of this user
 * issued before it is refused from then on), forget it, and show the log-in page. The
 * token is forgotten here whatever the server answers, or when it does not answer. */
export async function logout() {
  const session = currentSession();
  clearToken();
  if (session) {
    const abort = new AbortController();
    const timer = window.setTimeout(() => abort.abort(), LOGOUT_WAIT_MS);
    try {
      await fetch('/auth/logout', {
        method: 'POST', headers: { Authorization: `Bearer ${session.token}` }, signal: abort.signal,
      });
    } catch {
      // Offline: the token is forgotten here all the same and expires at the end of the shift.
    } finally {
      window.clearTimeout(timer);
    }
  }
  goToLogin();
}
