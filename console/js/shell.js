/**
 * The header every signed-in page shares: the page's title, who is signed in, the center's
 * clock, the feed's connection state (always visible: "Terhubung" / "Koneksi terputus,
 * menyambung ulang…"), links to the users' page (admins) and to one's password, the
 * language switch and the log-out button; plus a notice line for
 * messages ("the action was refused: …").
 *
 *   const shell = renderShell(byId('shell'), {session, titleKey: 'agency.title'});
 *   // {connection: false} for a page without a feed
 *   shell.watchFeed(feed);            // connection state from a FeedClient
 *   shell.notice(t('...'), 'error');  // a message that fades after a while
 */
import { logout } from './auth.js';
import { h, replaceChildren } from './dom.js';
import { formatTime } from './format.js';
import { lang, t, withLang } from './i18n.js';

const CONNECTION_TEXT = {
  connecting: 'common.connecting',
  connected: 'common.connected',
  reconnecting: 'common.reconnecting',
  failed: 'common.feed_failed',
};
const NOTICE_MS = 8000;
/** Links of the header: the users' page for admins (who land on the board), and one's own
 * password for everyone. */
const NAV_LINKS = [
  { path: '/console/supervisor', key: 'common.nav_board', roles: ['admin'] },
  { path: '/console/admin', key: 'common.nav_users', roles: ['admin'] },
  { path: '/console/password', key: 'common.nav_password', roles: null },
];

function navigation(role) {
  const here = window.location.pathname.replace(/\/$/, '');
  const links = NAV_LINKS.filter((link) => !link.roles || link.roles.includes(role)).map((link) =>
    h('a', {
      href: withLang(link.path), class: 'nav-link', data: { nav: link.path.split('/').pop() },
      'aria-current': link.path === here ? 'page' : null,
    }, t(link.key)));
  return h('nav', { class: 'shell-nav', 'aria-label': t('common.nav_label') }, links);
}

export function renderShell(header, { session, titleKey, connection: showConnection = true }) {
  document.title = `${t(titleKey)} · Siaga112`;
  const connection = h('span', { id: 'connection', class: 'connection', role: 'status', data: { state: 'connecting' } },
    t(CONNECTION_TEXT.connecting));
  const clock = h('span', { class: 'clock', id: 'clock' });
  const notice = h('div', { id: 'notice', class: 'notice', role: 'alert', hidden: true });
  const other = lang === 'en' ? 'id' : 'en';
  replaceChildren(header,
    h('div', { class: 'brand' }, h('img', { src: '/console/img/logo.svg', alt: '', width: 24, height: 24 }), 'Siaga112'),
    h('h1', { class: 'page-title' }, t(titleKey)),
    h('div', { class: 'shell-slot', id: 'shell-slot' }),
    showConnection ? connection : null,
    clock,
    h('span', { class: 'who', title: `${t('common.signed_in_as')} ${session.username} (${t(`role.${session.role}`)})` },
      session.username),
    navigation(session.role),
    h('a', { class: 'lang-switch', href: withLang(window.location.pathname, other), hreflang: other },
      t('common.switch_language')),
    h('button', { type: 'button', class: 'logout', data: { action: 'logout' }, onclick: () => logout() },
      t('common.logout')),
    notice);
  const tick = () => { clock.textContent = formatTime(new Date().toISOString()); };
  tick();
  window.setInterval(tick, 1000);
  let noticeTimer = null;

  return {
    /** An element in the header for a page's own indicator (e.g. the sound hint). */
    slot: header.querySelector('#shell-slot'),
    setConnection(state) {
      connection.dataset.state = state;
      connection.textContent = t(CONNECTION_TEXT[state] ?? CONNECTION_TEXT.connecting);
    },
    watchFeed(feed) {
      this.setConnection(feed.state);
      feed.addEventListener('state', () => this.setConnection(feed.state));
    },
    notice(text, kind = 'info') {
      notice.textContent = text;
      notice.dataset.kind = kind;
      notice.hidden = false;
      window.clearTimeout(noticeTimer);
      noticeTimer = window.setTimeout(() => { notice.hidden = true; }, NOTICE_MS);
    },
  };
}
