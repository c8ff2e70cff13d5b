/**
 * Maps: Leaflet (vendored: console/vendor/leaflet, loaded by the page with a plain
 * `<script src>` before its modules) on a basemap drawn from the service's boundaries
 * (GET /v1/geo/boundaries?level=kabkota|kecamatan|kelurahan), never a tile server. No
 * WebGL: Leaflet draws SVG.
 *
 *   const regionMap = createMap(byId('map'), api);          // boundaries load in the background
 *   regionMap.incidents.addLayer(incidentMarker(incident)); // coloured by priority
 *   regionMap.focus(incident.location);
 *
 * Kelurahan lines appear from zoom 12 on (the whole region at once would be a grey mesh).
 * The map element gets `data-boundaries="kabkota kecamatan ..."` as levels arrive.
 */
import { h } from './dom.js';
import { t } from './i18n.js';

const L = window.L;

/** Priority 1 (life-threatening) red … 4 grey. */
export const PRIORITY_COLOURS = { 1: '#d32f2f', 2: '#ef6c00', 3: '#f9a825', 4: '#9e9e9e' };
export const AGENCY_KIND_COLOURS = {
  police: '#1565c0', fire: '#c62828', health: '#2e7d32', disaster: '#6a1b9a', sar: '#ef6c00', utility: '#546e7a',
};
/** The pane of the units' markers (../units.js UnitMarkers). */
export const UNITS_PANE = 'units';
const REGION_CENTER = [-7.47, 112.43]; // until the kabupaten/kota boundaries arrive
const KELURAHAN_MIN_ZOOM = 12;
const BOUNDARY_STYLES = {
  kabkota: { color: '#455a64', weight: 2.5, fillColor: '#f4f1ea', fillOpacity: 1 },
  kecamatan: { color: '#78909c', weight: 1.4, fill: false },
  kelurahan: { color: '#b0bec5', weight: 0.7, fill: false },
};

const boundaryDocuments = new Map(); // level -> Promise of a FeatureCollection (one fetch per page)

/** The boundaries of one level, fetched once per page. */
export function loadBoundaries(api, level) {
  if (!boundaryDocuments.has(level)) {
    boundaryDocuments.set(level, api.get(`/v1/geo/boundaries?level=${level}`));
  }
  return boundaryDocuments.get(level);
}

/**
 * A map in `element` with the boundaries of `levels` as its basemap. Returns
 * `{map, incidents, stations, overlays, units, ready, focus(location, zoom)}`: `incidents`,
 * `stations`, `overlays` and `units` (the vehicles, in a pane just under the incidents:
 * see ../units.js) are layer groups drawn above the boundaries; `ready` settles when every
 * level is drawn.
 */
export function createMap(element, api, { levels = ['kabkota', 'kecamatan', 'kelurahan'], fit = true } = {}) {
  const map = L.map(element, { zoomSnap: 0.5, minZoom: 8, maxZoom: 18, attributionControl: true });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(t('map.attribution'));
  map.setView(REGION_CENTER, 11);
  map.createPane('boundaries').style.zIndex = '350'; // below overlayPane (400): markers stay on top
  // Units (../units.js) under the incidents (overlayPane, 400): a parked fleet never hides one.
  map.createPane(UNITS_PANE).style.zIndex = '395';
  let userMoved = false;
  map.on('dragstart', () => { userMoved = true; });

  const drawn = [];
  const ready = Promise.all(levels.map(async (level) => {
    const layer = L.geoJSON(await loadBoundaries(api, level), {
      pane: 'boundaries',
      style: BOUNDARY_STYLES[level],
      interactive: level === 'kelurahan',
      onEachFeature: (feature, featureLayer) => {
        if (level === 'kelurahan') featureLayer.bindTooltip(feature.properties.name, { sticky: true });
      },
    });
    if (level === 'kelurahan') {
      const toggle = () => (map.getZoom() >= KELURAHAN_MIN_ZOOM ? layer.addTo(map) : layer.remove());
      map.on('zoomend', toggle);
      toggle();
    } else {
      layer.addTo(map);
    }
    if (level === 'kabkota') {
      layer.bringToBack();
      if (fit && !userMoved && layer.getLayers().length) {
        map.fitBounds(layer.getBounds(), { padding: [8, 8], animate: false });
      }
    }
    drawn.push(level);
    element.dataset.boundaries = levels.filter((name) => drawn.includes(name)).join(' ');
  }));

  return {
    map,
    ready,
    incidents: L.layerGroup().addTo(map),
    stations: L.layerGroup().addTo(map),
    overlays: L.layerGroup().addTo(map),
    units: L.layerGroup().addTo(map),
    /** Centre on a `{lat, lon}` (from now on boundaries no longer re-fit the view). */
    focus(location, zoom = 14) {
      if (!location) return;
      userMoved = true;
      // Not animated: Leaflet ignores a move asked for while a zoom animation runs.
      map.setView([location.lat, location.lon], Math.max(zoom, map.getZoom()), { animate: false });
    },
  };
}

/** An incident as a dot coloured by its priority, its number as tooltip. */
export function incidentMarker(incident, { selected = false } = {}) {
  const { lat, lon } = incident.location;
  return L.circleMarker([lat, lon], {
    radius: selected ? 10 : 7,
    color: selected ? '#111' : '#fff',
    weight: selected ? 3 : 2,
    fillColor: PRIORITY_COLOURS[incident.priority] ?? PRIORITY_COLOURS[4],
    fillOpacity: 0.95,
  }).bindTooltip(incident.number);
}

/** A location's accuracy as a circle of `accuracy_m` (nothing when the accuracy is unknown). */
export function accuracyCircle(location) {
  if (!location?.accuracy_m) return null;
  return L.circle([location.lat, location.lon], {
    radius: location.accuracy_m, color: '#1565c0', weight: 1, fillColor: '#1565c0', fillOpacity: 0.1,
    interactive: false,
  });
}

/** An agency's station: a square in its kind's colour, its name as tooltip. */
export function stationMarker(agency) {
  return L.marker([agency.station.lat, agency.station.lon], {
    icon: L.divIcon({ className: `station station-${agency.kind}`, html: '', iconSize: [14, 14] }),
    keyboard: false,
  }).bindTooltip(agency.name);
}

/** An agency's coverage as a dashed outline. */
export function coverageOutline(geometry, kind) {
  return L.geoJSON(geometry, {
    style: { color: AGENCY_KIND_COLOURS[kind] ?? '#333', weight: 2, dashArray: '6 4', fill: false },
    interactive: false,
  });
}

/** A legend of the priority colours (a Leaflet control, top right). */
export function priorityLegend() {
  const legend = L.control({ position: 'topright' });
  legend.onAdd = () => h('div', { class: 'map-legend' },
    [1, 2, 3, 4].map((priority) => h('span', { class: `legend-item priority-${priority}` }, t(`priority.${priority}`))));
  return legend;
}
