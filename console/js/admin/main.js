/**
 * The users' page (/console/admin; admins only, who land on the supervisor board and come
 * here from the header's "Pengguna" link): the accounts of the service (API.md, "Accounts
 * and sessions").
 *
 * The table (users.js) lists the users with filters by role, agency and state, 50 at a
 * time; each row disables or enables its user (PATCH active: a disabled user's sessions end
 * at once), changes its role and agency, or resets its password (forms.js, dialogs). The
 * form beside it creates a user. Every refusal shows the server's reason (a password
 * shorter than the rule, a duplicate username, the last active admin) in a message line.
 */
import { apiClient } from '../api.js';
import { byId } from '../dom.js';
import { t, translatePage } from '../i18n.js';
import { startPage } from '../page.js';
import { renderShell } from '../shell.js';
import { createForm, editDialog, fillAgencies, fillRoles, problemText, resetDialog } from './forms.js';
import { UserTable } from './users.js';

startPage(['admin'], start);

async function start(session) {
  translatePage();
  renderShell(byId('shell'), { session, titleKey: 'admin.title', connection: false });
  const api = apiClient(session);
  const message = byId('admin-message');
  const show = (text, kind) => {
    message.textContent = text;
    message.dataset.kind = kind;
    message.hidden = false;
  };

  const filters = byId('filters');
  fillRoles(filters.elements.role, { withAny: true });
  const agencies = await api.get('/v1/agencies');
  const agencyNames = new Map(agencies.map((agency) => [agency.code, agency.name]));
  for (const select of [filters.elements.agency, byId('create-form').elements.agency_code,
    byId('edit-form').elements.agency_code]) {
    fillAgencies(select, agencies);
  }

  const edit = editDialog(api, {
    dialog: byId('edit-dialog'), form: byId('edit-form'), title: byId('edit-title'),
    agencyLabel: byId('edit-agency'), message: byId('edit-message'),
    onSaved: (user) => {
      table.upsert(user);
      show(t('admin.updated', { username: user.username }), 'ok');
    },
  });
  const reset = resetDialog(api, {
    dialog: byId('reset-dialog'), form: byId('reset-form'), title: byId('reset-title'),
    message: byId('reset-message'),
    onReset: (user) => show(t('admin.reset_done', { username: user.username }), 'ok'),
  });

  async function setActive(user, active, button) {
    button.disabled = true;
    try {
      const changed = await api.patch(`/v1/users/${user.id}`, { active });
      table.upsert(changed);
      show(t(active ? 'admin.enabled_notice' : 'admin.disabled_notice', { username: changed.username }), 'ok');
    } catch (error) {
      button.disabled = false;
      show(t('admin.failed', { detail: problemText(error) }), 'error');
    }
  }

  const table = new UserTable(api, {
    body: byId('users-body'), count: byId('users-count'), loading: byId('users-loading'),
    empty: byId('users-empty'), more: byId('more'),
  }, {
    agencyNames,
    self: session.username,
    onAction(action, user, button) {
      if (!user) return;
      if (action === 'disable') setActive(user, false, button);
      else if (action === 'enable') setActive(user, true, button);
      else if (action === 'edit') edit.open(user);
      else if (action === 'reset_password') reset.open(user);
    },
  });

  createForm(api, {
    form: byId('create-form'), agencyLabel: byId('create-agency'), message: byId('create-message'),
    onCreated: (user) => table.upsert(user),
  });

  const currentFilters = () => ({
    role: filters.elements.role.value,
    agency: filters.elements.agency.value,
    active: filters.elements.active.value,
  });
  const reload = () => table.load(currentFilters()).catch((error) => {
    show(t('admin.load_failed', { detail: problemText(error) }), 'error');
  });
  filters.addEventListener('change', reload);
  filters.addEventListener('submit', (event) => event.preventDefault());
  byId('more').addEventListener('click', () => table.more().catch((error) => {
    show(t('admin.load_failed', { detail: problemText(error) }), 'error');
  }));
  await reload();
}
