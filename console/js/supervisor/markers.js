/**
 * The open incidents and the agency stations on a board's map (supervisor page, wall),
 * on top of the shared map helper (../map.js). Stations sit in a pane of their own below
 * the incidents (Leaflet puts markers above every circle otherwise, and a station next to
 * an incident would hide it). The map element says how many incidents it shows
 * (`data-incidents`).
 */
import { createMap, incidentMarker, priorityLegend, stationMarker } from '../map.js';

const STATIONS_PANE = 'boardStations';

/** A board's map in `element`: the region filling it (finer zoom steps than the shared
 * default, so the whole region fits snugly), the priority legend and the stations. */
export function boardMap(element, api, agencies) {
  const regionMap = createMap(element, api);
  regionMap.map.options.zoomSnap = 0.25; // before the boundaries arrive and fit the view
  // A panel that changes size (an admin's layout, a window made full screen) keeps a whole map.
  new ResizeObserver(() => regionMap.map.invalidateSize({ animate: false })).observe(element);
  priorityLegend().addTo(regionMap.map);
  addStations(regionMap, agencies);
  return regionMap;
}

/** Stations of the active agencies, below the incidents. */
export function addStations(regionMap, agencies) {
  if (!regionMap.map.getPane(STATIONS_PANE)) {
    regionMap.map.createPane(STATIONS_PANE).style.zIndex = '390'; // overlayPane (incidents): 400
  }
  for (const agency of agencies) {
    if (!agency.station || agency.active === false) continue;
    const marker = stationMarker(agency);
    marker.options.pane = STATIONS_PANE;
    marker.addTo(regionMap.stations);
  }
}

/**
 * Keeps one marker per open incident with a location.
 *   const markers = new IncidentMarkers(regionMap, {radius: 10, onClick: select});
 *   markers.sync(open.byId.values(), selectedId);
 */
export class IncidentMarkers {
  constructor(regionMap, { radius = null, onClick = null } = {}) {
    this.regionMap = regionMap;
    this.radius = radius;
    this.onClick = onClick;
    this.markers = new Map(); // incident id -> [key, marker]
  }

  sync(incidents, selectedId = null) {
    const wanted = new Set();
    for (const incident of incidents) {
      if (!incident.location) continue;
      wanted.add(incident.id);
      const selected = incident.id === selectedId;
      const key = `${incident.priority}/${incident.location.lat}/${incident.location.lon}/${selected}`;
      const held = this.markers.get(incident.id);
      if (held?.[0] === key) continue;
      held?.[1].remove();
      const marker = incidentMarker(incident, { selected });
      if (this.radius && !selected) marker.setRadius(this.radius);
      if (this.onClick) marker.on('click', () => this.onClick(incident.id));
      marker.addTo(this.regionMap.incidents);
      if (selected) marker.bringToFront();
      this.markers.set(incident.id, [key, marker]);
    }
    for (const [id, [, marker]] of this.markers) {
      if (!wanted.has(id)) {
        marker.remove();
        this.markers.delete(id);
      }
    }
    this.regionMap.map.getContainer().dataset.incidents = String(this.markers.size);
  }
}
