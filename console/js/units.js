/**
 * Units (ambulances, patrol cars, fire engines, rescue teams): the data every page holds
 * about them, their markers on a map, and the words and colours they are shown with.
 *
 *   const units = new UnitStore();
 *   units.replace(await loadUnits(api));                  // a snapshot (GET /v1/units)
 *   feed.addEventListener('event', (e) => units.apply(e.detail) && draw());   // unit.* frames
 *   const markers = new UnitMarkers(regionMap);           // ../map.js createMap()
 *   markers.sync(units.values());
 *
 * A view of a unit older than the one held (by `updated_at`) is ignored, and a fix never
 * replaces a newer one, so replays, polls and snapshots never move a unit back. The status
 * machine mirrors dispatch/units/lifecycle.py (TRANSITIONS; tests/console/test_units.py
 * compares them), without `dispatched`: a unit is sent with POST /v1/incidents/{id}/units.
 */
import { h } from './dom.js';
import { ageSeconds, formatAge } from './format.js';
import { t } from './i18n.js';
import { UNITS_PANE } from './map.js';

const L = window.L;

export const UNIT_KINDS = ['ambulance', 'patrol', 'fire_engine', 'rescue', 'other'];
export const UNIT_STATUSES = ['available', 'dispatched', 'en_route', 'on_scene', 'transporting',
  'at_hospital', 'returning', 'out_of_service'];
/** The statuses a unit may be moved to by POST /v1/units/{code}/status, from each status. */
export const UNIT_TRANSITIONS = {
  available: ['out_of_service'],
  dispatched: ['en_route', 'on_scene', 'available', 'out_of_service'],
  en_route: ['on_scene', 'available', 'out_of_service'],
  on_scene: ['transporting', 'returning', 'available', 'out_of_service'],
  transporting: ['at_hospital', 'out_of_service'],
  at_hospital: ['returning', 'available', 'out_of_service'],
  returning: ['available', 'out_of_service'],
  out_of_service: ['available'],
};
/** Statuses from which a unit can be sent to an incident. */
export const DISPATCHABLE = new Set(['available', 'returning']);
const PAGE_LIMIT = 500;
const MAX_PAGES = 20;
const STACK_LEVELS = 4; // units at one spot are drawn one above the other, up to this many
const STACK_STEP_PX = 19; // console.css .unit-stack-N
const SAME_SPOT_DEG = 0.0002; // ~20 m: "the same spot" (units parked at their station)
const FAR_ZOOM = 13; // below it (the whole region) a unit is a dot with one letter, not a tag

const time = (iso) => Date.parse(iso ?? '') || 0;

/** The legal next statuses of a unit (buttons), in the machine's order. */
export function nextStatuses(status) {
  return UNIT_TRANSITIONS[status] ?? [];
}

export function statusLabel(status) {
  return t(`unit_status.${status}`);
}

export function kindLabel(kind) {
  return t(`unit_kind.${kind}`);
}

/** The short tag of a kind on markers and rows ("AMB", "PTL", ...). */
export function kindTag(kind) {
  return t(`unit_tag.${kind}`);
}

/** A coloured tag: the unit's kind, coloured by its status. */
export function unitChip(unit) {
  return h('span', {
    class: ['unit-chip', `unit-status-${unit.status}`], title: kindLabel(unit.kind), data: { kind: unit.kind },
  }, kindTag(unit.kind));
}

/** Every unit the session may see (an agency: its own), all pages of GET /v1/units. */
export async function loadUnits(api, { agency = null } = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
    if (agency) query.set('agency', agency);
    if (cursor) query.set('cursor', cursor);
    const answer = await api.get(`/v1/units?${query}`);
    items.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  return items;
}

/** Straight-line metres between two `{lat, lon}`. */
export function distanceMetres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(s)));
}

export class UnitStore {
  constructor() {
    this.byCode = new Map();
  }

  /** Hold exactly `units` (a snapshot), each kept only if not older than the one held. */
  replace(units) {
    const codes = new Set(units.map((unit) => unit.code));
    for (const code of [...this.byCode.keys()]) if (!codes.has(code)) this.byCode.delete(code);
    for (const unit of units) this.upsert(unit);
  }

  /** A view of one unit; returns true when what is held changed. */
  upsert(unit) {
    const held = this.byCode.get(unit.code);
    if (held && time(unit.updated_at) < time(held.updated_at)) return false;
    let position = unit.position;
    if (held?.position && (!position || time(position.at) < time(held.position.at))) position = held.position;
    const next = { ...unit, position };
    if (held && JSON.stringify(held) === JSON.stringify(next)) return false;
    this.byCode.set(unit.code, next);
    return true;
  }

  /** A feed frame (`unit.status`, `unit.position`); returns true when a unit changed. */
  apply(event) {
    return event.unit ? this.upsert(event.unit) : false;
  }

  get(code) {
    return this.byCode.get(code) ?? null;
  }

  /** In code order. */
  values() {
    return [...this.byCode.values()].sort((a, b) => a.code.localeCompare(b.code));
  }

  /** The units working on incident `id`. */
  onIncident(id) {
    return this.values().filter((unit) => unit.incident_id === id);
  }

  get size() {
    return this.byCode.size;
  }
}

/** What a unit's tooltip says: name and code, kind and status, speed, age of the fix. */
export function unitTooltip(unit, now = Date.now()) {
  const position = unit.position;
  const speed = position?.speed_kmh !== null && position?.speed_kmh !== undefined
    ? t('units.speed', { speed: Math.round(position.speed_kmh) }) : null;
  const age = position ? t('units.fix_age', { age: formatAge(ageSeconds(position.at, now)) }) : null;
  return h('div', { class: 'unit-tip', data: { unitCode: unit.code } },
    h('strong', {}, unit.name), ' ', h('span', { class: 'unit-tip-code' }, unit.code),
    h('div', {}, `${kindLabel(unit.kind)} · ${statusLabel(unit.status)}`),
    position ? h('div', { class: 'unit-tip-fix' }, [speed, age].filter(Boolean).join(' · ')) : null);
}

/**
 * One marker per unit with a position on a map from ../map.js: a tag of its kind coloured
 * by its status, standing on its spot (units at the same spot one above the other), the
 * tooltip of unitTooltip(). The tag carries `data-unit-code`, `data-status`, `data-kind`,
 * `data-lat`, `data-lon`; the map element says how many it shows (`data-units`). Zoomed
 * out below FAR_ZOOM (class `units-far` on the map) a unit is a small dot with the tag's
 * first letter, so that the fleet parked at the stations does not hide the region.
 */
export class UnitMarkers {
  constructor(regionMap, { onClick = null } = {}) {
    this.regionMap = regionMap;
    this.layer = regionMap.units;
    this.onClick = onClick;
    this.markers = new Map(); // code -> {marker, tag, unit}
    const map = regionMap.map;
    const far = () => map.getContainer().classList.toggle('units-far', map.getZoom() < FAR_ZOOM);
    map.on('zoomend', far);
    far();
  }

  sync(units) {
    const placed = [];
    const wanted = new Set();
    for (const unit of [...units].sort((a, b) => a.code.localeCompare(b.code))) {
      if (!unit.position) continue;
      wanted.add(unit.code);
      const stack = placed.filter((other) => Math.abs(other.lat - unit.position.lat) < SAME_SPOT_DEG
        && Math.abs(other.lon - unit.position.lon) < SAME_SPOT_DEG).length;
      placed.push(unit.position);
      this.#place(unit, Math.min(stack, STACK_LEVELS - 1));
    }
    for (const [code, held] of this.markers) {
      if (!wanted.has(code)) {
        held.marker.remove();
        this.markers.delete(code);
      }
    }
    this.regionMap.map.getContainer().dataset.units = String(this.markers.size);
  }

  #place(unit, stack) {
    let held = this.markers.get(unit.code);
    if (!held) {
      const tag = h('div', { class: 'unit-marker' }, h('span', { class: 'unit-tag' }), h('span', { class: 'unit-letter' }));
      const marker = L.marker([unit.position.lat, unit.position.lon], {
        pane: UNITS_PANE,
        icon: L.divIcon({ className: 'unit-icon', html: tag, iconSize: [0, 0] }),
        keyboard: false,
        riseOnHover: true,
      });
      held = { marker, tag, unit };
      marker.bindTooltip(() => unitTooltip(held.unit), { direction: 'auto' });
      if (this.onClick) marker.on('click', () => this.onClick(held.unit.code));
      marker.addTo(this.layer);
      this.markers.set(unit.code, held);
    }
    held.unit = unit;
    const { lat, lon } = unit.position;
    const at = held.marker.getLatLng();
    if (at.lat !== lat || at.lng !== lon) held.marker.setLatLng([lat, lon]);
    const tag = held.tag;
    tag.className = ['unit-marker', `unit-status-${unit.status}`, stack ? `unit-stack-${stack}` : null]
      .filter(Boolean).join(' ');
    Object.assign(tag.dataset, { unitCode: unit.code, status: unit.status, kind: unit.kind, lat, lon });
    tag.firstChild.textContent = kindTag(unit.kind);
    tag.lastChild.textContent = kindTag(unit.kind).slice(0, 1);
    held.marker.getTooltip().options.offset = L.point(0, -14 - STACK_STEP_PX * stack);
    if (held.marker.isTooltipOpen()) held.marker.getTooltip().setContent(() => unitTooltip(held.unit));
  }
}

/**
 * The units on a board's map (supervisor page, wall): the `units` and `unit` handlers
 * ../supervisor/live.js keepBoardLive() takes, and the store they fill.
 */
export function boardUnits(regionMap) {
  const store = new UnitStore();
  const markers = new UnitMarkers(regionMap);
  const draw = () => markers.sync(store.values());
  return {
    store,
    units: (list) => {
      store.replace(list);
      draw();
    },
    unit: (event) => {
      if (store.apply(event)) draw();
    },
  };
}
