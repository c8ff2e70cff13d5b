/**
 * The shift's open incidents beside the call form, and on the map: number, category,
 * kelurahan, age, and each assignment's state with its acknowledgement timer (amber in the
 * last third of the agency's time to acknowledge, red once it has passed or the assignment
 * was escalated).
 *
 * Operators may read no live feed (api/feeds.py: agency feeds for their agency and
 * supervisors, /v1/feed for supervisors only), so the list is read again every POLL_MS:
 * GET /v1/incidents?status= for each open status (the endpoint takes one status at a
 * time). The header's connection state says whether the last read worked.
 *
 * A click on a row picks the incident (its details and notes below the map, detail.js);
 * its "Gabungkan" button (`data-action="merge"`) opens the merge form in the row
 * (merge.js), kept across the list's re-renders.
 */
import { h, replaceChildren } from '../dom.js';
import { ageSeconds, formatAge, formatDateTime } from '../format.js';
import { t } from '../i18n.js';
import { incidentMarker } from '../map.js';
import { MergeForm } from './merge.js';

const POLL_MS = 2500;
const OPEN_STATUSES = ['open', 'dispatched', 'acknowledged', 'on_scene'];
const PAGE = 200;
// The service's default time to acknowledge by priority (settings.ack_timeout_s), used
// while the API does not report an assignment's `ack_due_at`.
const ACK_TIMEOUT_S = [60, 120, 300, 600];
const AWAITING_ACK = new Set(['queued', 'escalated']);
const NOT_SHOWN = new Set(['declined', 'cancelled']); // replaced by another agency's assignment

/** When an assignment must be acknowledged by (ms since the epoch) and its full window. */
export function ackDue(assignment, incidentPriority) {
  const priority = assignment.priority ?? incidentPriority ?? 4;
  const windowMs = ACK_TIMEOUT_S[Math.min(Math.max(priority, 1), 4) - 1] * 1000;
  const due = assignment.ack_due_at ? Date.parse(assignment.ack_due_at)
    : Date.parse(assignment.created_at) + windowMs;
  return { due, windowMs };
}

/** 'ok', 'due' (amber: the last third of the window) or 'overdue' (red). */
export function ackState(assignment, incidentPriority, now = Date.now()) {
  if (assignment.status === 'escalated') return 'overdue';
  const { due, windowMs } = ackDue(assignment, incidentPriority);
  if (now >= due) return 'overdue';
  return due - now <= windowMs / 3 ? 'due' : 'ok';
}

export class OpenIncidents {
  constructor(api, list, count, regionMap, categories, shell) {
    this.api = api;
    this.list = list;
    this.count = count;
    this.regionMap = regionMap;
    this.categories = categories;
    this.shell = shell;
    this.incidents = new Map();
    this.loaded = false;
    this.failing = false;
    this.timer = null;
    this.reading = false; // a read is on its way
    this.readAgain = false; // ...and another was asked for meanwhile
    this.shownSignature = '';
    this.selectedId = null;
    this.merge = null; // the open merge form: {id, form}
    this.onSelect = null; // (id) => ...: a row was picked
    this.onRead = null; // () => ...: after each read of the list
    this.onMerged = null; // ({merged, into}) => ...: a merge went through
  }

  start() {
    this.refresh();
    window.setInterval(() => this.tick(), 1000);
  }

  /** Read the open incidents now (and again POLL_MS after the answer). */
  async refresh() {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    window.clearTimeout(this.timer);
    this.reading = true;
    try {
      const pages = await Promise.all(OPEN_STATUSES.map(
        (status) => this.api.get(`/v1/incidents?status=${status}&limit=${PAGE}`)));
      this.incidents = new Map(pages.flatMap((page) => page.items).map((incident) => [incident.id, incident]));
      this.loaded = true;
      this.failing = false;
      this.shell.setConnection('connected');
      this.render();
      this.onRead?.();
    } catch {
      if (!this.failing) this.shell.setConnection('reconnecting');
      this.failing = true;
    } finally {
      this.reading = false;
      if (this.readAgain) {
        this.readAgain = false;
        this.refresh();
      } else {
        this.timer = window.setTimeout(() => this.refresh(), POLL_MS);
      }
    }
  }

  /** An incident the operator just opened or linked: shown at once, before the next read. */
  upsert(incident) {
    if (!incident || incident.status === 'closed') return;
    this.incidents.set(incident.id, incident);
    this.render();
    this.flash(incident.id);
  }

  flash(id) {
    const row = this.list.querySelector(`li.incident[data-incident-id="${id}"]`);
    if (!row) return;
    row.scrollIntoView({ block: 'nearest' });
    row.classList.remove('flash');
    void row.offsetWidth; // restart the animation
    row.classList.add('flash');
  }

  /** Mark the picked incident's row (null: none). */
  select(id) {
    this.selectedId = id;
    for (const row of this.list.querySelectorAll('li.incident')) {
      row.classList.toggle('selected', row.dataset.incidentId === id);
    }
  }

  /** Open (or close, when open) the merge form of `incident` in its row. */
  openMerge(incident) {
    const open = this.merge;
    if (open) open.form.cancel();
    if (open?.id === incident.id) return;
    const form = new MergeForm(this.api, incident, [...this.incidents.values()], this.categories);
    this.merge = { id: incident.id, form };
    form.addEventListener('cancel', () => {
      if (this.merge?.form === form) this.merge = null;
    });
    form.addEventListener('merged', (event) => {
      if (this.merge?.form === form) this.merge = null;
      this.incidents.delete(event.detail.merged.id);
      this.shownSignature = '';
      this.upsert(event.detail.into);
      this.onMerged?.(event.detail);
      this.refresh();
    });
    const row = this.list.querySelector(`li.incident[data-incident-id="${incident.id}"]`);
    row?.append(form.element);
    row?.querySelector('button.merge')?.setAttribute('aria-expanded', 'true');
    form.addEventListener('cancel', () => row?.querySelector('button.merge')?.setAttribute('aria-expanded', 'false'));
    form.load().then(() => form.focus());
  }

  sorted() {
    return [...this.incidents.values()].sort((a, b) => (a.priority - b.priority)
      || (Date.parse(b.created_at) - Date.parse(a.created_at)));
  }

  render() {
    const incidents = this.sorted();
    // Most reads change nothing: leave the rows (and the map's tooltips) alone then.
    const signature = JSON.stringify([this.loaded, incidents.map((i) => [i.id, i.updated_at, i.assignments])]);
    if (signature === this.shownSignature) return;
    this.shownSignature = signature;
    if (this.merge && !this.incidents.has(this.merge.id)) { // merged or closed elsewhere
      this.merge.form.element.remove();
      this.merge = null;
    }
    replaceChildren(this.list, incidents.map((incident) => this.#row(incident)),
      this.loaded && !incidents.length ? h('li', { class: 'empty' }, t('operator.incidents_empty')) : null);
    this.count.textContent = this.loaded ? t('operator.incidents_count', { count: incidents.length }) : t('common.loading');
    this.regionMap.incidents.clearLayers();
    for (const incident of incidents) {
      if (!incident.location) continue;
      const marker = incidentMarker(incident);
      marker.options.bubblingMouseEvents = false; // a click on an incident does not place the caller
      marker.on('click', () => this.flash(incident.id));
      this.regionMap.incidents.addLayer(marker);
    }
  }

  /** Ages and acknowledgement timers, once a second. */
  tick(now = Date.now()) {
    for (const age of this.list.querySelectorAll('.age[data-since]')) {
      age.textContent = formatAge(ageSeconds(age.dataset.since, now));
    }
    for (const timer of this.list.querySelectorAll('.ack-timer')) {
      const incident = this.incidents.get(timer.dataset.incidentId);
      const assignment = incident?.assignments.find((a) => a.id === timer.dataset.assignmentId);
      if (assignment) this.#timer(timer, assignment, incident, now);
    }
  }

  #row(incident) {
    const assignments = incident.assignments.filter((a) => !NOT_SHOWN.has(a.status));
    return h('li', {
      class: ['incident', incident.id === this.selectedId && 'selected'],
      data: { incidentId: incident.id, priority: incident.priority, status: incident.status },
      onclick: () => {
        if (incident.location) this.regionMap.focus(incident.location, 15);
        this.onSelect?.(incident.id);
      },
    },
    h('div', { class: 'incident-main' },
      h('span', { class: `priority-badge priority-${incident.priority}`, title: t(`priority.${incident.priority}`) },
        `P${incident.priority}`),
      h('span', { class: 'incident-number' }, incident.number),
      h('span', { class: 'age', data: { since: incident.created_at }, title: formatDateTime(incident.created_at) },
        formatAge(ageSeconds(incident.created_at))),
      h('button', {
        type: 'button', class: 'merge', data: { action: 'merge', incidentId: incident.id },
        title: t('operator.merge_title'), 'aria-expanded': String(this.merge?.id === incident.id),
        onclick: (event) => {
          event.stopPropagation();
          this.openMerge(this.incidents.get(incident.id) ?? incident);
        },
      }, t('operator.merge'))),
    h('div', { class: 'incident-sub' },
      h('span', { class: 'category' }, this.categories.label(incident.category)),
      h('span', { class: 'kelurahan' }, incident.area?.kelurahan?.name ?? t('operator.outside_area'))),
    assignments.length ? h('ul', { class: 'incident-assignments' }, assignments.map((assignment) => {
      const timer = AWAITING_ACK.has(assignment.status)
        ? h('span', { class: 'ack-timer', data: { incidentId: incident.id, assignmentId: assignment.id } }) : null;
      if (timer) this.#timer(timer, assignment, incident);
      return h('li', { class: 'incident-assignment', data: { assignmentId: assignment.id, status: assignment.status } },
        h('span', { class: 'agency', title: assignment.agency.name }, assignment.agency.code),
        h('span', { class: `status-badge status-${assignment.status}` }, t(`status.${assignment.status}`)),
        timer);
    })) : null,
    this.merge?.id === incident.id ? this.merge.form.element : null);
  }

  #timer(element, assignment, incident, now = Date.now()) {
    const state = ackState(assignment, incident.priority, now);
    const { due } = ackDue(assignment, incident.priority);
    const seconds = Math.round(Math.abs(due - now) / 1000);
    element.dataset.state = state;
    element.title = t('operator.ack_due', { time: formatDateTime(new Date(due).toISOString()) });
    element.textContent = state === 'overdue'
      ? `${t('operator.overdue')} +${formatAge(seconds)}` : formatAge(seconds);
  }
}
