/**
 * The selected assignment's incident: its details, the other agencies on it, its notes
 * (../notes.js: read and add, live from the feed), and the small map (the queue's
 * incidents by priority colour, the selected one larger with its accuracy circle, the
 * agency's station and coverage).
 */
import { eidoButton } from '../eido.js';
import { h, replaceChildren } from '../dom.js';
import { formatDateTime, formatDistance, formatTime } from '../format.js';
import { t } from '../i18n.js';
import { accuracyCircle, coverageOutline, incidentMarker, priorityLegend, stationMarker } from '../map.js';
import { priorityOf } from './queue.js';

export class Detail {
  /** `notes`: the page's NotesView (../notes.js), kept below the details across renders;
   * `sendUnit`: "Kirim unit" (./units.js SendUnit), kept between the details and the notes;
   * `api` (apiClient) adds an "EIDO" download to the head, `notice(text)` shows its failure. */
  constructor(container, regionMap, categories, onSelect, notes, sendUnit = null, { api = null, notice = () => {} } = {}) {
    this.container = container;
    this.api = api;
    this.notice = notice;
    this.body = h('div', { class: 'detail-body' });
    this.notes = notes;
    this.sendUnit = sendUnit;
    container.replaceChildren(this.body, ...(sendUnit ? [sendUnit.element] : []), notes.element);
    this.regionMap = regionMap;
    this.categories = categories;
    this.onSelect = onSelect;
    this.shownKey = null;
    priorityLegend().addTo(regionMap.map);
  }

  /** The agency's own station and coverage on the map. */
  showAgency(agency) {
    if (agency.coverage) coverageOutline(agency.coverage, agency.kind).addTo(this.regionMap.stations);
    stationMarker(agency).addTo(this.regionMap.stations);
  }

  /** Show `entry` (null: nothing selected) and the queue's incidents on the map. */
  show(entry, entries) {
    this.#drawMap(entry, entries);
    // The notes have a view of their own: a note typed there survives any re-render here.
    this.notes.show(entry?.incident ?? null);
    const key = entry ? [entry.assignment.id, entry.assignment.updated_at, entry.incident?.updated_at].join('/') : null;
    if (key === this.shownKey) return;
    const focusMoved = entry?.assignment.id !== this.shownKey?.split('/')[0];
    this.shownKey = key;
    if (!entry) {
      replaceChildren(this.body, h('p', { class: 'empty' }, t('agency.select_hint')));
      return;
    }
    replaceChildren(this.body, ...this.#render(entry));
    if (focusMoved && entry.incident?.location) this.regionMap.focus(entry.incident.location, 14);
  }

  #render({ assignment, incident }) {
    const priority = priorityOf({ assignment, incident });
    const header = h('div', { class: 'detail-head', data: { incidentId: assignment.incident_id } },
      h('span', { class: `priority-badge priority-${priority}` }, `P${priority}`),
      h('h2', { class: 'incident-number' }, incident?.number ?? '…'),
      h('span', { class: `status-badge status-${assignment.status}` }, t(`status.${assignment.status}`)),
      incident && this.api ? eidoButton(this.api, () => incident, (text) => this.notice(text, 'error')) : null);
    if (!incident) return [header];
    const area = incident.area;
    const place = area ? [area.kelurahan, area.kecamatan, area.kabkota].filter(Boolean).map((a) => a.name).join(', ') : '';
    const location = incident.location;
    const position = location
      ? [`${location.lat.toFixed(5)}, ${location.lon.toFixed(5)}`,
        location.accuracy_m ? `± ${formatDistance(location.accuracy_m)}` : null,
        location.source ? t(`source.${location.source}`) : null].filter(Boolean).join(' · ')
      : t('incident.no_location');
    const others = (incident.assignments ?? []).filter((other) => other.id !== assignment.id);
    const facts = [
      ['incident.category', this.categories.label(incident.category)],
      ['incident.priority', `P${priority} · ${t(`priority.${priority}`)}`],
      ['incident.area', place || t('agency.no_area')],
      ['incident.coordinates', position],
      ['incident.description', incident.description || '—'],
      ['incident.opened_at', formatDateTime(incident.created_at)],
      ['agency.assigned', [formatTime(assignment.created_at), t(`reason.${assignment.reason}`),
        formatDistance(assignment.distance_m)].filter(Boolean).join(' · ')],
    ];
    return [
      header,
      h('dl', { class: 'facts' }, facts.map(([key, value]) => [h('dt', {}, t(key)), h('dd', {}, value)])),
      others.length ? h('section', { class: 'others' },
        h('h3', {}, t('incident.other_agencies')),
        h('ul', {}, others.map((other) => h('li', { data: { assignmentId: other.id, status: other.status } },
          h('span', {}, other.agency.name), ' ',
          h('span', { class: `status-badge status-${other.status}` }, t(`status.${other.status}`)))))) : null,
    ];
  }

  #drawMap(selected, entries) {
    const layer = this.regionMap.incidents;
    const overlays = this.regionMap.overlays;
    layer.clearLayers();
    overlays.clearLayers();
    const drawn = new Set();
    for (const entry of entries) {
      const incident = entry.incident;
      if (!incident?.location || drawn.has(incident.id)) continue;
      drawn.add(incident.id);
      const isSelected = selected?.incident?.id === incident.id;
      const marker = incidentMarker(incident, { selected: isSelected });
      marker.on('click', () => this.onSelect(entry.assignment.id));
      layer.addLayer(marker);
      if (isSelected) accuracyCircle(incident.location)?.addTo(overlays);
    }
    layer.eachLayer((marker) => { if (marker.options.radius > 7) marker.bringToFront(); });
  }
}
