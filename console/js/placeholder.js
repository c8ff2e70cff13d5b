/**
 * A page still to be built (operator, supervisor, wall): the shared header, the session
 * check, and "coming soon". `<body data-page="operator">` names the page.
 */
import { requireSession } from './auth.js';
import { byId } from './dom.js';
import { translatePage } from './i18n.js';
import { renderShell } from './shell.js';

const PAGE_ROLES = { operator: ['operator'], supervisor: ['supervisor', 'admin'], wall: ['supervisor', 'admin'] };
const page = document.body.dataset.page;
const session = requireSession(PAGE_ROLES[page] ?? []);
if (session) {
  translatePage();
  renderShell(byId('shell'), { session, titleKey: `${page}.title`, connection: false });
}
