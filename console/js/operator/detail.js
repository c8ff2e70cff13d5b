/**
 * The incident the operator picked in the open incidents (a click on its row), below the
 * map: its number, category, kelurahan, calls, the merges it took part in, and its notes
 * (../notes.js: read and add). Read with GET /v1/incidents/{id} when picked and again
 * after every read of the list (operators have no feed), so a note added elsewhere shows
 * up within a poll.
 *
 * Merges: an incident merged into this one is listed with "Batalkan penggabungan"
 * (POST /v1/incidents/{merged}/unmerge), found in this incident's timeline (its
 * incident.merged events not followed by an incident.unmerged); an incident that was
 * merged into another says into which. Event 'changed' (an unmerge or a unit sent: the
 * list is read again), 'close'.
 *
 * Units: the nearest available ones with "Kirim", and those already sent (recommend.js).
 */
import { eidoButton } from '../eido.js';
import { h, replaceChildren } from '../dom.js';
import { formatDateTime } from '../format.js';
import { t } from '../i18n.js';
import { NotesView } from '../notes.js';
import { Recommendations } from './recommend.js';

const UNMERGED = "incident.unmerged"; // an event type (double quotes: not a catalogue key)

/** The merges into `incident` still in force, oldest first: [{merged_incident_id, merged_number, ...}]. */
export function mergesInto(incident) {
  const active = new Map();
  for (const event of incident.timeline ?? []) {
    const merge = event.after?.merge;
    if (!merge || merge.into_incident_id !== incident.id) continue;
    if (event.type === 'incident.merged') active.set(merge.merged_incident_id, merge);
    else if (event.type === UNMERGED) active.delete(merge.merged_incident_id);
  }
  return [...active.values()];
}

/** The merge that closed `incident` (it has `merged_into`), as its timeline tells it. */
function mergeOf(incident) {
  const events = (incident.timeline ?? []).filter((event) => event.type === 'incident.merged'
    && event.after?.merge?.merged_incident_id === incident.id);
  return events.at(-1)?.after.merge ?? null;
}

export class IncidentDetail extends EventTarget {
  /** `units`: the page's UnitStore (../units.js); `agencies`: Map code -> name. */
  constructor(api, section, categories, { units, agencies }) {
    super();
    this.api = api;
    this.section = section;
    this.categories = categories;
    this.id = null;
    this.incident = null;
    this.shownKey = null;
    this.head = h('div', { class: 'detail-head' });
    this.body = h('div', { class: 'detail-body' });
    this.errorLine = h('p', { class: 'detail-error', role: 'alert', hidden: true });
    this.notes = new NotesView(api);
    this.notes.addEventListener('added', () => this.reload());
    this.recommend = new Recommendations(api, units, agencies);
    this.recommend.addEventListener('sent', (event) => {
      this.dispatchEvent(new CustomEvent('changed', { detail: { sent: event.detail } }));
    });
    section.replaceChildren(this.head, this.body, this.errorLine, this.recommend.element, this.notes.element);
    section.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && event.target === section) this.close();
    });
  }

  /** The page's units changed (a poll): the units sent to the incident are shown again. */
  unitsChanged() {
    this.recommend.render();
  }

  /** Show incident `id` (null: nothing). */
  async select(id) {
    if (id === this.id) return;
    this.id = id;
    this.incident = null;
    this.shownKey = null;
    this.#error(null);
    this.section.hidden = !id;
    if (!id) {
      this.notes.show(null);
      this.recommend.show(null);
      delete this.section.dataset.incidentId;
      return;
    }
    this.section.dataset.incidentId = id;
    replaceChildren(this.head, h('span', { class: 'loading' }, t('common.loading')));
    replaceChildren(this.body);
    this.recommend.show(null);
    await this.reload();
  }

  close() {
    this.select(null);
    this.dispatchEvent(new CustomEvent('close'));
  }

  /** Read the shown incident again. */
  async reload() {
    const id = this.id;
    if (!id) return;
    try {
      const incident = await this.api.get(`/v1/incidents/${id}`);
      if (this.id !== id) return;
      this.incident = incident;
      this.render();
    } catch (error) {
      if (this.id === id && !this.incident) this.#error(t('operator.detail_failed', { detail: error.message }));
    }
  }

  render() {
    const incident = this.incident;
    this.notes.show(incident);
    this.recommend.show(incident);
    const key = JSON.stringify([incident.id, incident.updated_at, incident.call_ids, incident.timeline?.length]);
    if (key === this.shownKey) return;
    this.shownKey = key;
    this.section.dataset.status = incident.status;
    replaceChildren(this.head,
      h('span', { class: `priority-badge priority-${incident.priority}`, title: t(`priority.${incident.priority}`) },
        `P${incident.priority}`),
      h('h3', { class: 'incident-number' }, incident.number),
      h('span', { class: 'category' }, this.categories.label(incident.category)),
      eidoButton(this.api, () => this.incident, (message) => this.#error(message)),
      h('button', {
        type: 'button', class: 'close', data: { action: 'close-detail' }, title: t('operator.detail_close'),
        'aria-label': t('operator.detail_close'), onclick: () => this.close(),
      }, '×'));
    const facts = [
      incident.area?.kelurahan?.name ?? t('operator.outside_area'),
      t('operator.detail_calls', { count: incident.call_ids.length }),
      t('operator.detail_opened', { time: formatDateTime(incident.created_at) }),
    ];
    const merged = incident.merged_into ? mergeOf(incident) : null;
    replaceChildren(this.body,
      h('p', { class: 'detail-facts' }, facts.map((fact, index) => [index ? ' · ' : '', h('span', {}, fact)])),
      incident.description ? h('p', { class: 'detail-description' }, incident.description) : null,
      incident.merged_into ? h('p', { class: 'merged-banner', data: { mergedInto: incident.merged_into } },
        t('operator.merged_into', { number: merged?.into_number ?? '' }), ' ',
        h('button', {
          type: 'button', data: { action: 'unmerge', incidentId: incident.id },
          onclick: (event) => this.unmerge(incident.id, event.currentTarget),
        }, t('operator.unmerge'))) : null,
      mergesInto(incident).map((merge) => h('p', { class: 'merge-line', data: { mergedIncidentId: merge.merged_incident_id } },
        h('span', {}, t('operator.merged_from', { number: merge.merged_number, calls: merge.call_ids.length })), ' ',
        h('button', {
          type: 'button', data: { action: 'unmerge', incidentId: merge.merged_incident_id },
          onclick: (event) => this.unmerge(merge.merged_incident_id, event.currentTarget),
        }, t('operator.unmerge')))));
  }

  /** Undo the merge of `mergedId` (this incident, or one merged into it). */
  async unmerge(mergedId, button) {
    button.disabled = true;
    this.#error(null);
    try {
      const reopened = await this.api.post(`/v1/incidents/${mergedId}/unmerge`);
      this.dispatchEvent(new CustomEvent('changed', { detail: { unmerged: reopened } }));
      await this.reload();
    } catch (error) {
      this.#error(t('operator.unmerge_failed', { detail: error.message }));
      button.disabled = false;
    }
  }

  #error(message) {
    this.errorLine.textContent = message ?? '';
    this.errorLine.hidden = !message;
  }
}
