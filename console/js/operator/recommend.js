/**
 * Which units to send to the picked incident (in its details, below the map): the nearest
 * available units of the kinds its category needs (GET /v1/incidents/{id}/recommendations,
 * nearest first), each with its agency, straight-line distance and an ETA marked as an
 * estimate (the service's: distance × 1.3 at a per-kind speed, no road network), and a
 * "Kirim" button (`data-action="dispatch-unit"`, POST /v1/incidents/{id}/units); below
 * them, the units already working on the incident and their status (from the page's
 * units, ../units.js, read on the operator's poll).
 *
 * Read again with every read of the incident (the operator's poll); rows are rebuilt only
 * when what they show changed, so a click is never lost to a re-render. Event 'sent'
 * (detail: the Unit) after a unit was sent.
 */
import { h, replaceChildren } from '../dom.js';
import { formatDistance } from '../format.js';
import { t } from '../i18n.js';
import { kindLabel, statusLabel, unitChip } from '../units.js';

export class Recommendations extends EventTarget {
  /**
   * @param api       apiClient(session)
   * @param units     the page's UnitStore (units already on the incident)
   * @param agencies  Map agency code -> name
   */
  constructor(api, units, agencies) {
    super();
    this.api = api;
    this.units = units;
    this.agencies = agencies;
    this.incident = null;
    this.items = null;
    this.shownKey = null;
    this.seq = 0; // reads answered out of order: only the newest is shown
    this.list = h('ol', { class: 'recommendations' });
    this.empty = h('p', { class: 'recommend-empty', hidden: true }, t('recommend.none'));
    this.errorLine = h('p', { class: 'recommend-error', role: 'alert', hidden: true });
    this.sentList = h('ul', { class: 'units-sent' });
    this.sentBox = h('div', { class: 'units-sent-box', hidden: true },
      h('h4', {}, t('recommend.sent_title')), this.sentList);
    this.element = h('section', { class: 'recommend', hidden: true },
      h('h4', {}, t('recommend.title'), ' ',
        h('span', { class: 'recommend-note' }, t('recommend.estimate_note'))),
      this.list, this.empty, this.errorLine, this.sentBox);
  }

  /** Show the recommendations of `incident` (null: none) and read them again. */
  async show(incident) {
    if (incident?.id !== this.incident?.id) {
      this.items = null;
      this.shownKey = null;
      this.#error(null);
      replaceChildren(this.list);
    }
    this.incident = incident;
    this.element.hidden = !incident || incident.status === 'closed';
    if (this.element.hidden) return;
    this.element.dataset.incidentId = incident.id;
    this.render();
    await this.reload();
  }

  /** Read the recommendations of the shown incident again. */
  async reload() {
    const incident = this.incident;
    if (!incident || incident.status === 'closed') return;
    const seq = ++this.seq;
    try {
      const items = await this.api.get(`/v1/incidents/${incident.id}/recommendations`);
      if (seq !== this.seq || this.incident?.id !== incident.id) return;
      this.items = items;
      this.#error(null);
      this.render();
    } catch (error) {
      if (seq === this.seq && this.incident?.id === incident.id) {
        this.#error(t('recommend.failed', { detail: error.message }));
      }
    }
  }

  /** Draw what is held (also after the page's units changed). */
  render() {
    const incident = this.incident;
    if (!incident) return;
    const sent = this.units.onIncident(incident.id);
    const key = JSON.stringify([incident.id, this.items?.map((item) => [item.unit.code, Math.round(item.distance_m), item.eta_s]),
      sent.map((unit) => [unit.code, unit.status])]);
    if (key === this.shownKey) return;
    this.shownKey = key;
    const items = this.items ?? [];
    replaceChildren(this.list, items.map((item) => this.#row(item)));
    this.empty.hidden = this.items === null || items.length > 0;
    this.sentBox.hidden = !sent.length;
    replaceChildren(this.sentList, sent.map((unit) => h('li', {
      class: 'unit-sent', data: { unitCode: unit.code, status: unit.status },
    }, unitChip(unit),
    h('span', { class: 'unit-name' }, unit.name),
    h('span', { class: 'agency' }, this.agencies.get(unit.agency_code) ?? unit.agency_code),
    h('span', { class: ['status-badge', 'unit-status', `unit-status-${unit.status}`] }, statusLabel(unit.status)))));
  }

  #row(item) {
    const { unit } = item;
    const minutes = Math.max(1, Math.round(item.eta_s / 60));
    return h('li', {
      class: 'recommendation',
      data: { unitCode: unit.code, agencyCode: unit.agency_code, distanceM: item.distance_m, etaS: item.eta_s },
    },
    unitChip(unit),
    h('span', { class: 'unit-name', title: `${unit.name} · ${kindLabel(unit.kind)}` }, unit.name),
    h('span', { class: 'agency', title: this.agencies.get(unit.agency_code) ?? unit.agency_code },
      this.agencies.get(unit.agency_code) ?? unit.agency_code),
    h('span', { class: 'distance' }, formatDistance(item.distance_m)),
    h('span', { class: 'eta', title: t('recommend.eta_title') }, t('recommend.eta', { minutes }), h('sup', {}, '*')),
    h('button', {
      type: 'button', data: { action: 'dispatch-unit', unitCode: unit.code },
      onclick: (event) => this.send(unit.code, event.currentTarget),
    }, t('recommend.send')));
  }

  /** Send unit `code` to the shown incident. */
  async send(code, button) {
    const incident = this.incident;
    if (!incident) return;
    button.disabled = true;
    this.#error(null);
    try {
      const unit = await this.api.post(`/v1/incidents/${incident.id}/units`, { unit_code: code });
      this.seq += 1; // a read started before this is out of date
      this.units.upsert(unit);
      this.dispatchEvent(new CustomEvent('sent', { detail: unit }));
      this.shownKey = null;
      this.items = this.items?.filter((item) => item.unit.code !== code) ?? null;
      this.render();
      await this.reload();
    } catch (error) {
      this.#error(t('recommend.send_failed', { detail: error.message }));
      if (button.isConnected) button.disabled = false;
    }
  }

  #error(message) {
    this.errorLine.textContent = message ?? '';
    this.errorLine.hidden = !message;
  }
}
