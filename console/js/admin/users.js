/**
 * The users' table of the admin page: GET /v1/users with the filters (role, agency,
 * active), 50 at a time ("more" reads the next page with `next_cursor`), one row per user:
 * `<tr data-user-id="<uuid>" data-active="true|false">` with its action buttons
 * (`data-action="edit" | "reset_password" | "disable" | "enable"`).
 */
import { h, replaceChildren } from '../dom.js';
import { formatDateTime } from '../format.js';
import { t } from '../i18n.js';

const PAGE_SIZE = 50;

export class UserTable {
  /**
   * @param api         apiClient(session)
   * @param elements    {body, count, loading, empty, more}
   * @param options     {agencyNames: Map code → name, self: username, onAction(action, user, button)}
   */
  constructor(api, elements, { agencyNames, self, onAction }) {
    this.api = api;
    this.elements = elements;
    this.agencyNames = agencyNames;
    this.self = self;
    this.onAction = onAction;
    this.users = new Map();
    this.nextCursor = null;
    this.filters = {};
    this.generation = 0;
  }

  /** The first page for `filters` ({role, agency, active}: '' is any). */
  async load(filters) {
    this.filters = filters;
    this.users.clear();
    this.nextCursor = null;
    replaceChildren(this.elements.body);
    this.elements.loading.hidden = false;
    this.elements.empty.hidden = true;
    this.elements.more.hidden = true;
    this.elements.count.textContent = '';
    await this.#read(null);
  }

  /** The next page. */
  async more() {
    if (!this.nextCursor) return;
    this.elements.more.disabled = true;
    try {
      await this.#read(this.nextCursor);
    } finally {
      this.elements.more.disabled = false;
    }
  }

  async #read(cursor) {
    const generation = ++this.generation;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    for (const [name, value] of Object.entries(this.filters)) if (value) query.set(name, value);
    if (cursor) query.set('cursor', cursor);
    try {
      const page = await this.api.get(`/v1/users?${query}`);
      if (generation !== this.generation) return; // the filters changed meanwhile
      for (const user of page.items) this.upsert(user, { append: true });
      this.nextCursor = page.next_cursor ?? null;
    } finally {
      if (generation === this.generation) {
        this.elements.loading.hidden = true;
        this.#summary();
      }
    }
  }

  user(id) {
    return this.users.get(id) ?? null;
  }

  row(id) {
    return this.elements.body.querySelector(`tr[data-user-id="${CSS.escape(id)}"]`);
  }

  /** Show `user`: its row redrawn, or a new row (at the end for a page read, on top,
   * highlighted, for a user just created here). */
  upsert(user, { append = false } = {}) {
    this.users.set(user.id, user);
    const fresh = this.#render(user);
    const old = this.row(user.id);
    if (old) {
      old.replaceWith(fresh);
    } else if (append) {
      this.elements.body.append(fresh);
    } else {
      this.elements.body.prepend(fresh);
      fresh.classList.add('fresh');
    }
    this.#summary();
    return fresh;
  }

  #summary() {
    const count = this.users.size;
    this.elements.count.textContent = this.nextCursor
      ? t('admin.count_more', { count })
      : t('admin.count', { count });
    this.elements.empty.hidden = count > 0 || !this.elements.loading.hidden;
    this.elements.more.hidden = !this.nextCursor;
  }

  #render(user) {
    const isSelf = user.username === this.self;
    const agency = user.agency_code ?? '';
    const button = (action, key, kind) => h('button', {
      type: 'button', class: kind, data: { action },
      onclick: (event) => this.onAction(action, this.users.get(user.id), event.currentTarget),
    }, t(key));
    return h('tr', { class: ['user', !user.active && 'inactive'], data: { userId: user.id, active: String(user.active), role: user.role } },
      h('td', { class: 'username', title: user.username },
        h('span', { class: 'name' }, user.username),
        isSelf ? h('span', { class: 'you' }, ` ${t('admin.you')}`) : null),
      h('td', { class: 'role' }, t(`role.${user.role}`)),
      h('td', { class: 'agency', title: agency ? `${this.agencyNames.get(agency) ?? ''} (${agency})` : null },
        agency || '–'),
      h('td', { class: 'state' },
        h('span', { class: ['state-badge', user.active ? 'state-active' : 'state-inactive'] },
          t(user.active ? 'admin.active' : 'admin.inactive'))),
      h('td', { class: 'when' }, user.created_at ? formatDateTime(user.created_at) : '–'),
      h('td', { class: 'when last-login' },
        user.last_login_at ? formatDateTime(user.last_login_at) : t('admin.never')),
      h('td', { class: 'actions' },
        button('edit', 'admin.edit'),
        button('reset_password', 'admin.reset_password'),
        user.active ? button('disable', 'admin.disable', 'warn') : button('enable', 'admin.enable')));
  }
}
