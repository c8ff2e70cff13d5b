/**
 * BMKG's hazard warnings (CAP nowcasts received by POST /v1/warnings) on a page: the data
 * (GET /v1/warnings?active=true, and the supervisors' feed `warning.received` frames) and
 * the outlines on a map (../map.js), in a pane of their own under the stations, units and
 * incidents, so a warning never hides an incident. A warning that names its areas only
 * (no polygon) is drawn as the kecamatan it matched. Expired warnings drop off at each
 * redraw (`expires_at` against now), whatever the last read said.
 *
 *   const warnings = new WarningStore();
 *   const layer = new WarningLayer(regionMap, api);
 *   keepWarnings(api, warnings, () => layer.sync(warnings.active()));   // reads every 45 s
 *   feed.addEventListener('event', (e) => warnings.receive(e.detail));   // supervisors
 *
 * The map element gets `data-warnings` (how many are drawn); each outline's path carries
 * `data-warning-id` and the class `warning-area severity-<severity>`.
 */
import { h } from './dom.js';
import { formatDateTime } from './format.js';
import { t } from './i18n.js';
import { loadBoundaries } from './map.js';

const L = window.L;
export const WARNINGS_PANE = 'warnings';
export const WARNINGS_POLL_MS = 45000;
const REDRAW_MS = 30000; // expiry is checked at least this often
const MAX_AREA_NAMES = 8;
export const SEVERITIES = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'];
const SEVERITY_COLOURS = {
  Extreme: '#6a1b9a', Severe: '#c62828', Moderate: '#ef6c00', Minor: '#f9a825', Unknown: '#607d8b',
};

/** The warnings in force now. */
export async function loadWarnings(api) {
  return (await api.get('/v1/warnings?active=true')).items;
}

const time = (iso) => Date.parse(iso ?? '') || 0;

/** Warnings by id; `change` after every change, `stale` when a frame needs a re-read
 * (an Update or Cancel replaces an earlier warning the frame does not name). */
export class WarningStore extends EventTarget {
  constructor() {
    super();
    this.byId = new Map();
    this.liveSince = new Map(); // id -> when a frame brought it (a snapshot read before may miss it)
  }

  /** Hold the warnings of a read started at `startedAt` (plus those frames brought since). */
  replace(items, startedAt = Date.now()) {
    const fresh = new Map(items.map((warning) => [warning.id, warning]));
    for (const [id, at] of this.liveSince) {
      if (at >= startedAt && !fresh.has(id) && this.byId.has(id)) fresh.set(id, this.byId.get(id));
      if (at < startedAt) this.liveSince.delete(id);
    }
    this.byId = fresh;
    this.#changed();
  }

  /** A feed frame: true when it was a warning. */
  receive(event) {
    if (event.type !== 'warning.received' || !event.warning) return false;
    const warning = event.warning;
    if (warning.msg_type !== 'Alert') this.dispatchEvent(new Event('stale'));
    if (warning.active && warning.msg_type !== 'Cancel') {
      this.byId.set(warning.id, warning);
      this.liveSince.set(warning.id, Date.now());
    }
    this.#changed();
    return true;
  }

  /** In force now, most severe first, then newest. */
  active(now = Date.now()) {
    return [...this.byId.values()]
      .filter((warning) => warning.active !== false && time(warning.expires_at) > now)
      .sort((a, b) => severityRank(a.severity) - severityRank(b.severity)
        || time(b.sent_at) - time(a.sent_at) || a.id.localeCompare(b.id));
  }

  #changed() {
    this.dispatchEvent(new Event('change'));
  }
}

function severityRank(severity) {
  const rank = SEVERITIES.indexOf(severity);
  return rank < 0 ? SEVERITIES.length : rank;
}

/** A read now, every `pollMs` after, and a redraw every REDRAW_MS (expiry); `onError`
 * for a failed read (the next one tries again). Returns `read()` (e.g. after a frame
 * asks for it). */
export function keepWarnings(api, store, { pollMs = WARNINGS_POLL_MS, onError = () => {} } = {}) {
  let reading = null;
  async function read() {
    if (reading) return reading;
    const startedAt = Date.now();
    reading = loadWarnings(api)
      .then((items) => store.replace(items, startedAt))
      .catch(onError)
      .finally(() => { reading = null; });
    return reading;
  }
  store.addEventListener('stale', () => read());
  read();
  window.setInterval(read, pollMs);
  window.setInterval(() => store.dispatchEvent(new Event('change')), REDRAW_MS);
  return read;
}

/** The words of a warning's severity. */
export function severityLabel(severity) {
  return SEVERITIES.includes(severity) ? t(`cap.severity_${severity.toLowerCase()}`) : severity;
}

/** The kecamatan named (else the kelurahan), at most MAX_AREA_NAMES and "+n". */
export function areaNames(warning) {
  const areas = warning.areas ?? [];
  const kecamatan = areas.filter((area) => area.level === 'kecamatan');
  const names = (kecamatan.length ? kecamatan : areas).map((area) => area.name);
  if (!names.length) return (warning.area_descs ?? []).join('; ');
  const shown = names.slice(0, MAX_AREA_NAMES).join(', ');
  return names.length > MAX_AREA_NAMES ? `${shown} ${t('warnings.more_areas', { count: names.length - MAX_AREA_NAMES })}` : shown;
}

/** A warning's tooltip: event, headline, severity, until when, its areas. */
export function warningTooltip(warning) {
  return h('div', { class: 'warning-tooltip' },
    h('strong', { class: 'warning-event' }, warning.event),
    warning.headline ? h('div', {}, warning.headline) : null,
    h('div', {}, h('span', { class: `severity-badge severity-${warning.severity.toLowerCase()}` },
      severityLabel(warning.severity)), ' ',
    t('warnings.until', { time: formatDateTime(warning.expires_at) })),
    h('div', { class: 'warning-areas' }, areaNames(warning)));
}

/** The outlines of warnings on a map: `sync(warnings)` draws exactly these. */
export class WarningLayer {
  constructor(regionMap, api) {
    this.regionMap = regionMap;
    this.api = api;
    const map = regionMap.map;
    if (!map.getPane(WARNINGS_PANE)) {
      // above the boundaries (350), below stations (390), units (395) and incidents (400)
      map.createPane(WARNINGS_PANE).style.zIndex = '370';
    }
    this.group = L.layerGroup().addTo(map);
    this.drawn = new Map(); // id -> [key, layer]
    this.kecamatan = null; // code -> feature, for warnings without a polygon
    this.generation = 0;
  }

  async sync(warnings) {
    const generation = ++this.generation;
    if (!this.kecamatan && warnings.some((warning) => !warning.geometry)) {
      try {
        const collection = await loadBoundaries(this.api, 'kecamatan');
        this.kecamatan = new Map(collection.features.map((feature) => [feature.properties.code, feature]));
      } catch {
        this.kecamatan = new Map();
      }
      if (generation !== this.generation) return; // a newer sync runs
    }
    const wanted = new Set();
    for (const warning of warnings) {
      const geometry = this.#geometryOf(warning);
      if (!geometry) continue;
      wanted.add(warning.id);
      const key = `${warning.sent_at}/${warning.expires_at}/${warning.severity}`;
      if (this.drawn.get(warning.id)?.[0] === key) continue;
      this.drawn.get(warning.id)?.[1].remove();
      const colour = SEVERITY_COLOURS[warning.severity] ?? SEVERITY_COLOURS.Unknown;
      const layer = L.geoJSON(geometry, {
        pane: WARNINGS_PANE,
        style: {
          color: colour, weight: 2.5, dashArray: '8 5', fillColor: colour, fillOpacity: 0.12,
          className: `warning-area severity-${warning.severity.toLowerCase()}`,
        },
      }).bindTooltip(warningTooltip(warning), { sticky: true, direction: 'auto', className: 'warning-tip' });
      layer.addTo(this.group);
      layer.eachLayer((part) => part.getElement?.()?.setAttribute('data-warning-id', warning.id));
      this.drawn.set(warning.id, [key, layer]);
    }
    for (const [id, [, layer]] of this.drawn) {
      if (!wanted.has(id)) {
        layer.remove();
        this.drawn.delete(id);
      }
    }
    this.regionMap.map.getContainer().dataset.warnings = String(this.drawn.size);
  }

  /** Fit the map to a drawn warning. */
  show(id) {
    const layer = this.drawn.get(id)?.[1];
    if (layer) this.regionMap.map.fitBounds(layer.getBounds(), { padding: [16, 16], maxZoom: 13, animate: false });
  }

  #geometryOf(warning) {
    if (warning.geometry) return warning.geometry;
    const features = (warning.areas ?? []).filter((area) => area.level === 'kecamatan')
      .map((area) => this.kecamatan?.get(area.code)).filter(Boolean);
    return features.length ? { type: 'FeatureCollection', features } : null;
  }
}

/** A page's warnings on its map, read every `pollMs` (and from `feed`'s frames when it
 * has one: re-read whenever it connects afresh). Returns `{store, layer, read}`. */
export function mapWarnings(regionMap, api, { feed = null, pollMs = WARNINGS_POLL_MS } = {}) {
  const store = new WarningStore();
  const layer = new WarningLayer(regionMap, api);
  store.addEventListener('change', () => layer.sync(store.active()));
  if (feed) feed.addEventListener('event', (message) => store.receive(message.detail));
  const read = keepWarnings(api, store, { pollMs });
  if (feed) feed.addEventListener('open', (message) => { if (!message.detail.resumed) read(); });
  return { store, layer, read };
}

/** A list item of a warning (`data-warning-id`): severity, event, areas, until when. */
export function warningItem(warning, onClick) {
  return h('li', {
    class: `warning-item severity-${warning.severity.toLowerCase()}`, tabindex: 0,
    data: { warningId: warning.id, identifier: warning.identifier, severity: warning.severity },
    title: [warning.headline, warning.description].filter(Boolean).join('\n'),
    onclick: () => onClick?.(warning.id),
    onkeydown: (event) => { if (event.key === 'Enter') onClick?.(warning.id); },
  },
  h('span', { class: `severity-badge severity-${warning.severity.toLowerCase()}` }, severityLabel(warning.severity)),
  h('span', { class: 'warning-event' }, warning.event),
  h('span', { class: 'warning-areas' }, areaNames(warning)),
  h('span', { class: 'warning-until' }, t('warnings.until_short', { time: formatDateTime(warning.expires_at) })));
}
