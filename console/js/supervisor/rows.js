/**
 * The rows of the board's lists (supervisor page and wall), kept across updates (keyed),
 * so a highlight survives other rows changing. Page contract: an incident row carries
 * `data-incident-id` and shows the number; an assignment row carries `data-assignment-id`
 * and `data-status` (and its incident's id and number too).
 *
 *   const list = new RowList(byId('pending'), pendingRow);
 *   list.render(open.pending().map((entry) => [entry.assignment.id, entry]));
 *   window.setInterval(() => list.tick(), 1000);   // the ages
 */
import { h, replaceChildren } from '../dom.js';
import { ageSeconds, formatAge } from '../format.js';
import { t } from '../i18n.js';

export class RowList {
  /**
   * @param list the `<ol>`/`<ul>` to fill
   * @param build {create(item) -> li, update(li, item)}
   */
  constructor(list, build) {
    this.list = list;
    this.build = build;
    this.rows = new Map();
  }

  /** Show `entries` ([key, item], in this order); returns the keys of new rows. */
  render(entries) {
    const wanted = new Set(entries.map(([key]) => key));
    for (const [key, row] of this.rows) {
      if (!wanted.has(key)) {
        row.remove();
        this.rows.delete(key);
      }
    }
    const created = [];
    entries.forEach(([key, item], index) => {
      let row = this.rows.get(key);
      if (!row) {
        row = this.build.create(item);
        this.rows.set(key, row);
        created.push(key);
      }
      this.build.update(row, item);
      if (this.list.children[index] !== row) this.list.insertBefore(row, this.list.children[index] ?? null);
    });
    return created;
  }

  /** Refresh the ages shown (`.age[data-since]`). */
  tick(now = Date.now()) {
    for (const age of this.list.querySelectorAll('.age[data-since]')) {
      age.textContent = formatAge(ageSeconds(age.dataset.since, now));
    }
  }

  /** Flash rows (new ones). */
  flash(keys) {
    for (const key of keys) {
      const row = this.rows.get(key);
      if (!row) continue;
      row.classList.remove('flash');
      void row.offsetWidth; // restart the animation
      row.classList.add('flash');
    }
  }

  row(key) {
    return this.rows.get(key) ?? null;
  }
}

function age(iso) {
  return h('span', { class: 'age', data: { since: iso }, title: t('supervisor.age_title') },
    formatAge(ageSeconds(iso)));
}

function kelurahanOf(incident) {
  return incident.area?.kelurahan?.name ?? t('supervisor.no_area');
}

/** Rows of open incidents: priority, number, category, age; below, the kelurahan and the
 * agencies on it (by kind, coloured by their assignment's status, named in the title). */
export function incidentRows(categories, { onSelect } = {}) {
  return {
    create(incident) {
      const row = h('li', { class: 'incident-row', tabindex: 0, data: { incidentId: incident.id } });
      if (onSelect) {
        row.addEventListener('click', () => onSelect(row.dataset.incidentId));
        row.addEventListener('keydown', (event) => {
          if (event.key === 'Enter') onSelect(row.dataset.incidentId);
        });
      }
      return row;
    },
    update(row, incident) {
      const key = `${incident.updated_at}/${incident.priority}`;
      if (row.dataset.key === key) return;
      row.dataset.key = key;
      row.dataset.priority = incident.priority;
      row.dataset.incidentStatus = incident.status;
      const agencies = (incident.assignments ?? []).filter((a) => !['cancelled', 'declined'].includes(a.status));
      replaceChildren(row,
        h('span', { class: `priority-badge priority-${incident.priority}`, title: t(`priority.${incident.priority}`) },
          `P${incident.priority}`),
        h('span', { class: 'incident-number' }, incident.number),
        h('span', { class: 'category', title: categories.label(incident.category) }, categories.label(incident.category)),
        h('span', { class: 'kelurahan' }, kelurahanOf(incident)),
        h('span', { class: 'agencies' }, agencies.map((assignment) => h('span', {
          class: `agency-chip status-${assignment.status}`,
          data: { agency: assignment.agency.code },
          title: `${assignment.agency.name}: ${t(`status.${assignment.status}`)}`,
        }, t(`supervisor.kind_${assignment.agency.kind}`)))),
        age(incident.created_at));
    },
  };
}

/** Rows of assignments waiting for their agency; an overdue one is marked "Terlambat"
 * (its status, escalated, in the tag's title). */
export function pendingRows({ onSelect } = {}) {
  return {
    create({ assignment }) {
      const row = h('li', { class: 'pending-row', tabindex: 0, data: { assignmentId: assignment.id } });
      if (onSelect) row.addEventListener('click', () => onSelect(row.dataset.incidentId));
      return row;
    },
    update(row, { assignment, incident, overdue }) {
      const key = `${assignment.updated_at}/${assignment.status}/${incident.updated_at}`;
      if (row.dataset.key === key) return;
      row.dataset.key = key;
      row.dataset.status = assignment.status;
      row.dataset.incidentId = incident.id;
      row.dataset.overdue = String(overdue);
      row.dataset.priority = incident.priority;
      row.classList.toggle('overdue', overdue);
      replaceChildren(row,
        h('span', { class: `priority-badge priority-${incident.priority}` }, `P${incident.priority}`),
        h('span', { class: 'incident-number' }, incident.number),
        h('span', { class: 'agency', title: assignment.agency.code }, assignment.agency.name),
        overdue
          ? h('span', { class: 'overdue-tag', title: t(`status.${assignment.status}`) }, t('supervisor.overdue'))
          : h('span', { class: `status-badge status-${assignment.status}` }, t(`status.${assignment.status}`)),
        age(assignment.created_at));
    },
  };
}
