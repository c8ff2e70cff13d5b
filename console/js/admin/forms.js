/**
 * The admin page's forms: a new user (POST /v1/users), a user's role and agency
 * (PATCH /v1/users/{id}, in a dialog) and a password reset (POST /v1/users/{id}/password,
 * in a dialog). The agency field is shown only for the agency role. A refusal shows the
 * server's problem `detail` (the password rule, a duplicate username, the last admin) in
 * the form's own message line.
 */
import { h, replaceChildren } from '../dom.js';
import { t } from '../i18n.js';

/** The roles an admin gives, in the order the form offers them. */
export const ROLES = ['operator', 'agency', 'supervisor', 'admin', 'gateway'];

/** The server's reason for a refusal, as its problem document says it. */
export function problemText(error) {
  const problem = error?.problem ?? {};
  if (problem.detail) return problem.detail;
  if (Array.isArray(problem.errors) && problem.errors.length) {
    return problem.errors.map((e) => e.msg ?? e.message ?? String(e)).join('; ');
  }
  return error?.message ?? String(error);
}

export function fillRoles(select, { withAny = false } = {}) {
  const keep = withAny ? [...select.options].filter((o) => o.value === '') : [];
  replaceChildren(select, keep, ROLES.map((role) => h('option', { value: role }, t(`role.${role}`))));
}

export function fillAgencies(select, agencies) {
  const keep = [...select.options].filter((o) => o.value === '');
  replaceChildren(select, keep,
    agencies.map((agency) => h('option', { value: agency.code }, `${agency.name} (${agency.code})`)));
}

function showMessage(element, text, kind) {
  element.textContent = text;
  element.dataset.kind = kind;
  element.hidden = false;
}

/** The agency field follows the role select: shown (and needed) for the agency role only. */
function agencyFollowsRole(form, label) {
  const update = () => {
    label.hidden = form.elements.role.value !== 'agency';
  };
  form.elements.role.addEventListener('change', update);
  return update;
}

function agencyCode(form) {
  return form.elements.role.value === 'agency' ? form.elements.agency_code.value : null;
}

/** The "new user" form; `onCreated(user)` after a 201. */
export function createForm(api, { form, agencyLabel, message, onCreated }) {
  fillRoles(form.elements.role);
  const update = agencyFollowsRole(form, agencyLabel);
  update();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = form.elements.username.value.trim();
    const role = form.elements.role.value;
    const password = form.elements.password.value;
    const agency = agencyCode(form);
    if (!username || !role || !password) {
      showMessage(message, t('admin.missing'), 'error');
      return;
    }
    if (role === 'agency' && !agency) {
      showMessage(message, t('admin.agency_needed'), 'error');
      form.elements.agency_code.focus();
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const body = { username, role, password };
      if (agency) body.agency_code = agency;
      const user = await api.post('/v1/users', body);
      form.elements.username.value = '';
      form.elements.password.value = '';
      showMessage(message, t('admin.created', { username: user.username }), 'ok');
      onCreated(user);
      form.elements.username.focus();
    } catch (error) {
      showMessage(message, t('admin.failed', { detail: problemText(error) }), 'error');
    } finally {
      button.disabled = false;
    }
  });
}

/** A dialog with a form: `open(user)`, Cancel and Escape close it. */
function formDialog(dialog, form, message, { prepare, submit }) {
  let user = null;
  for (const button of form.querySelectorAll('[data-action="cancel"]')) {
    button.addEventListener('click', () => dialog.close());
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      if (await submit(user)) dialog.close();
    } catch (error) {
      showMessage(message, t('admin.failed', { detail: problemText(error) }), 'error');
    } finally {
      button.disabled = false;
    }
  });
  return {
    open(target) {
      user = target;
      message.hidden = true;
      prepare(user);
      dialog.dataset.userId = user.id;
      dialog.showModal();
    },
  };
}

/** A user's role and agency; `onSaved(user)` after a 200. */
export function editDialog(api, { dialog, form, title, agencyLabel, message, onSaved }) {
  fillRoles(form.elements.role);
  const update = agencyFollowsRole(form, agencyLabel);
  return formDialog(dialog, form, message, {
    prepare(user) {
      title.textContent = t('admin.edit_title', { username: user.username });
      form.elements.role.value = user.role;
      form.elements.agency_code.value = user.agency_code ?? '';
      update();
      form.elements.role.focus();
    },
    async submit(user) {
      const role = form.elements.role.value;
      const agency = agencyCode(form);
      if (role === 'agency' && !agency) {
        showMessage(message, t('admin.agency_needed'), 'error');
        return false;
      }
      const changes = {};
      if (role !== user.role) changes.role = role;
      if ((agency ?? null) !== (user.agency_code ?? null)) changes.agency_code = agency;
      if (!Object.keys(changes).length) return true;
      onSaved(await api.patch(`/v1/users/${user.id}`, changes));
      return true;
    },
  });
}

/** A new password for a user; `onReset(user)` after the 204. */
export function resetDialog(api, { dialog, form, title, message, onReset }) {
  return formDialog(dialog, form, message, {
    prepare(user) {
      title.textContent = t('admin.reset_title', { username: user.username });
      form.elements.password.value = '';
      form.elements.password.focus();
    },
    async submit(user) {
      const password = form.elements.password.value;
      if (!password) {
        showMessage(message, t('admin.password_missing'), 'error');
        return false;
      }
      await api.post(`/v1/users/${user.id}/password`, { password });
      form.elements.password.value = '';
      onReset(user);
      return true;
    },
  });
}
