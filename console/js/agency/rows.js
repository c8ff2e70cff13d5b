/**
 * The queue's rows. One `<li>` per assignment, kept across updates (keyed by assignment id)
 * so that a flash or a half-typed decline reason survives other rows changing. Each row
 * carries the page contract's attributes: `data-assignment-id`, `data-status`,
 * `data-incident-id`, the incident's number as text, and one button per action
 * (`data-action`), enabled only when legal in the row's status.
 */
import { h } from '../dom.js';
import { ageSeconds, formatAge } from '../format.js';
import { t } from '../i18n.js';
import { ACTIONS, isAllowed } from './actions.js';
import { priorityOf } from './queue.js';

export class QueueList {
  /**
   * @param list the `<ol>` to fill
   * @param handlers {select(id), act(id, action), decline(id, reason)}
   * @param categories from loadCategories()
   */
  constructor(list, handlers, categories) {
    this.list = list;
    this.handlers = handlers;
    this.categories = categories;
    this.rows = new Map(); // assignment id -> li
  }

  /** Make the list show `entries` (in this order); returns the ids of rows it created. */
  render(entries, selectedId) {
    const wanted = new Set(entries.map((entry) => entry.assignment.id));
    for (const [id, row] of this.rows) {
      if (!wanted.has(id)) {
        row.remove();
        this.rows.delete(id);
      }
    }
    const created = [];
    entries.forEach((entry, index) => {
      let row = this.rows.get(entry.assignment.id);
      if (!row) {
        row = this.#create(entry);
        this.rows.set(entry.assignment.id, row);
        created.push(entry.assignment.id);
      }
      this.#update(row, entry, entry.assignment.id === selectedId);
      if (this.list.children[index] !== row) this.list.insertBefore(row, this.list.children[index] ?? null);
    });
    return created;
  }

  /** Refresh the ages (once a second). */
  tick(now = Date.now()) {
    for (const age of this.list.querySelectorAll('.age[data-since]')) {
      age.textContent = formatAge(ageSeconds(age.dataset.since, now));
    }
  }

  /** Flash a row (a new assignment). */
  flash(id) {
    const row = this.rows.get(id);
    if (!row) return;
    row.classList.remove('flash');
    void row.offsetWidth; // restart the animation
    row.classList.add('flash');
  }

  row(id) {
    return this.rows.get(id) ?? null;
  }

  /** Open the decline form of a row, its reason field focused. */
  openDecline(id) {
    const row = this.rows.get(id);
    const form = row?.querySelector('form.decline-form');
    if (!form || row.querySelector('button[data-action="decline"]').disabled) return;
    form.hidden = false;
    form.elements.reason.focus();
  }

  closeDecline(id) {
    const form = this.rows.get(id)?.querySelector('form.decline-form');
    if (!form) return;
    form.hidden = true;
    form.reset();
  }

  #create(entry) {
    const id = entry.assignment.id;
    const buttons = ACTIONS.map(({ action, key }) => h('button', {
      type: 'button',
      class: ['action', `action-${action}`],
      data: { action },
      title: t('agency.shortcut_hint', { key: key.toUpperCase() }),
      'aria-keyshortcuts': key,
      onclick: () => { // the click goes on to the row, which selects it
        if (action === 'decline') this.openDecline(id);
        else this.handlers.act(id, action);
      },
    }, t(`action.${action}`)));
    const form = h('form', {
      class: 'decline-form', hidden: true,
      onsubmit: (event) => {
        event.preventDefault();
        const reason = event.target.elements.reason.value.trim();
        if (reason) this.handlers.decline(id, reason);
      },
      onkeydown: (event) => {
        if (event.key === 'Escape') {
          event.stopPropagation();
          this.closeDecline(id);
          this.rows.get(id)?.focus();
        }
      },
    },
    h('label', {},
      h('span', {}, t('agency.decline_reason')),
      h('input', { name: 'reason', required: true, maxlength: 2000, autocomplete: 'off',
        placeholder: t('agency.decline_placeholder') })),
    h('button', { type: 'submit', class: 'danger', data: { confirm: 'decline' } }, t('agency.decline_confirm')),
    h('button', { type: 'button', onclick: () => this.closeDecline(id) }, t('common.cancel')));
    return h('li', {
      class: 'assignment', tabindex: -1,
      data: { assignmentId: id },
      onclick: () => this.handlers.select(id),
    },
    h('div', { class: 'row-main' },
      h('span', { class: 'priority-badge' }),
      h('span', { class: 'incident-number' }),
      h('span', { class: 'category' }),
      h('span', { class: 'kelurahan' }),
      h('span', { class: 'age', title: t('agency.age_title') }),
      h('span', { class: 'status-badge' })),
    h('div', { class: 'row-actions' }, buttons),
    form);
  }

  #update(row, entry, selected) {
    const { assignment, incident } = entry;
    const priority = priorityOf(entry);
    row.dataset.status = assignment.status;
    row.dataset.incidentId = assignment.incident_id;
    row.dataset.priority = String(priority);
    row.classList.toggle('selected', selected);
    row.setAttribute('aria-selected', String(selected));
    const set = (selector, text) => {
      const element = row.querySelector(selector);
      if (element.textContent !== text) element.textContent = text;
    };
    const badge = row.querySelector('.priority-badge');
    badge.className = `priority-badge priority-${priority}`;
    badge.title = t(`priority.${priority}`);
    set('.priority-badge', `P${priority}`);
    set('.incident-number', incident?.number ?? '…');
    set('.category', incident ? this.categories.label(incident.category) : '');
    row.querySelector('.category').title = row.querySelector('.category').textContent;
    set('.kelurahan', incident?.area?.kelurahan?.name ?? t('agency.no_area'));
    const age = row.querySelector('.age');
    age.dataset.since = assignment.created_at;
    set('.age', formatAge(ageSeconds(assignment.created_at)));
    const status = row.querySelector('.status-badge');
    status.className = `status-badge status-${assignment.status}`;
    set('.status-badge', t(`status.${assignment.status}`));
    for (const button of row.querySelectorAll('.row-actions button[data-action]')) {
      button.disabled = row.dataset.busy === 'true' || !isAllowed(button.dataset.action, assignment.status);
    }
    if (!isAllowed('decline', assignment.status)) this.closeDecline(assignment.id);
  }
}

