/**
 * One's own password (/console/password, every role; linked from every page's header):
 * current password, new password twice, POST /auth/password. The change ends every other
 * session of the account (their tokens are refused from then on) and answers with a new
 * token: this tab keeps working with it (stored as the log-in page stores one). A wrong
 * current password (401) or a new one that breaks the rule (422, its detail shown) leaves
 * everything as it was.
 */
import { ApiError, request } from './api.js';
import { landingPage, saveToken } from './auth.js';
import { byId } from './dom.js';
import { t, translatePage, withLang } from './i18n.js';
import { startPage } from './page.js';
import { renderShell } from './shell.js';

startPage(['operator', 'agency', 'supervisor', 'admin'], start);

async function start(session) {
  translatePage();
  renderShell(byId('shell'), { session, titleKey: 'password.title', connection: false });
  const form = byId('password-form');
  const message = byId('password-message');
  const back = byId('password-back');
  const home = landingPage(session.role);
  back.href = withLang(home);
  back.textContent = t('password.back', { page: t(`${home.split('/').pop()}.title`) });
  byId('password-account').textContent = t('password.account', {
    username: session.username, role: t(`role.${session.role}`),
  });
  form.elements.username.value = session.username; // for the browser's password manager

  const show = (text, kind) => {
    message.textContent = text;
    message.dataset.kind = kind;
    message.hidden = false;
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const current = form.elements.current_password.value;
    const fresh = form.elements.new_password.value;
    const repeat = form.elements.new_password_repeat.value;
    if (!current || !fresh || !repeat) {
      show(t('password.missing'), 'error');
      return;
    }
    if (fresh !== repeat) {
      show(t('password.mismatch'), 'error');
      form.elements.new_password_repeat.select();
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const answer = await request('POST', '/auth/password', {
        token: session.token, json: { current_password: current, new_password: fresh },
        refusedIsAnswer: true,
      });
      saveToken(answer.access_token);
      session.token = answer.access_token;
      form.reset();
      form.elements.username.value = session.username;
      show(t('password.changed'), 'ok');
    } catch (error) {
      if (!(error instanceof ApiError)) {
        show(t('password.failed', { detail: error.message }), 'error');
      } else if (error.status === 401) {
        show(t('password.wrong_current'), 'error');
        form.elements.current_password.select();
      } else if (error.status === 422) {
        show(t('password.rejected', { detail: error.problem.detail ?? error.message }), 'error');
        form.elements.new_password.select();
      } else {
        show(t('password.failed', { detail: error.problem.detail ?? error.message }), 'error');
      }
    } finally {
      button.disabled = false;
    }
  });
}
