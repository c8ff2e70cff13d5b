/**
 * The log-in page (/console/): POST /auth/token with the form's `username` and
 * `password`, keep the token (sessionStorage), go to the role's page. An already signed-in
 * tab goes straight to its page.
 */
import { request } from './api.js';
import { clearToken, currentSession, decodeClaims, landingPage, saveToken } from './auth.js';
import { byId } from './dom.js';
import { lang, t, translatePage, withLang } from './i18n.js';

const REASONS = { expired: 'login.expired', no_page: 'login.no_page' };

translatePage();
document.title = `${t('login.title')} · Siaga112`;
const form = byId('login-form');
const message = byId('login-message');
const switcher = byId('lang-switch');
switcher.href = withLang(window.location.pathname, lang === 'en' ? 'id' : 'en');

const session = currentSession();
const reason = new URLSearchParams(window.location.search).get('reason');
if (session && landingPage(session.role)) {
  window.location.replace(withLang(landingPage(session.role)));
} else if (REASONS[reason]) {
  show(t(REASONS[reason]), 'info');
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  if (!username || !password) {
    show(t('login.missing'), 'error');
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const answer = await request('POST', '/auth/token', { form: { username, password } });
    const role = decodeClaims(answer.access_token)?.role;
    if (!landingPage(role)) {
      clearToken();
      show(t('login.no_page'), 'error');
      return;
    }
    saveToken(answer.access_token);
    window.location.assign(withLang(landingPage(role)));
  } catch (error) {
    const key = { 401: 'login.wrong_credentials', 429: 'login.too_many' }[error.status] ?? 'login.failed';
    show(t(key), 'error');
    form.elements.password.select();
  } finally {
    button.disabled = false;
  }
});

function show(text, kind) {
  message.textContent = text;
  message.dataset.kind = kind;
  message.hidden = false;
}
