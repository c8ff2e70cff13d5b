/**
 * The wall (/console/wall): the room's big screen (1920×1080), read-only. A full map of
 * the open incidents (by priority colour, agency stations, on the shipped boundaries), a
 * summary strip (open incidents in all and per priority, assignments waiting for their
 * agency now and how many of them are overdue, calls of the shift) and the newest open
 * incidents beside the map. Live from the supervisors' feed like the supervisor board
 * (../supervisor/live.js): a new incident flashes in the list and rings on the map.
 * BMKG's warnings in force are outlined on the map (../warnings.js: live from the feed's
 * `warning.received` for a supervisor, re-read every 45 s).
 */
import { apiClient } from '../api.js';
import { startPage } from '../page.js';
import { loadCategories } from '../categories.js';
import { byId, h } from '../dom.js';
import { t, translatePage } from '../i18n.js';
import { renderShell } from '../shell.js';
import { boardUnits } from '../units.js';
import { mapWarnings } from '../warnings.js';
import { shiftLabels } from '../supervisor/board.js';
import { OpenIncidents } from '../supervisor/incidents.js';
import { keepBoardLive } from '../supervisor/live.js';
import { IncidentMarkers, boardMap } from '../supervisor/markers.js';
import { RowList, incidentRows } from '../supervisor/rows.js';

const L = window.L;
const RING_MS = 60000; // how long a new incident rings on the map

startPage(['supervisor', 'admin'], start);

async function start(session) {
  translatePage();
  const live = session.role === 'supervisor';
  const shell = renderShell(byId('shell'), { session, titleKey: 'wall.title', connection: live });
  shell.slot.append(h('button', {
    type: 'button', class: 'fullscreen', data: { action: 'fullscreen' },
    onclick: () => document.documentElement.requestFullscreen?.().catch(() => {}),
  }, t('wall.fullscreen')));
  const api = apiClient(session);
  const [categories, agencies] = await Promise.all([loadCategories(api), api.get('/v1/agencies')]);

  const regionMap = boardMap(byId('map'), api, agencies);
  const markers = new IncidentMarkers(regionMap, { radius: 10 });
  const units = boardUnits(regionMap); // the vehicles, live from unit.* frames
  const open = new OpenIncidents();
  const list = new RowList(byId('incidents'), incidentRows(categories));
  const stat = Object.fromEntries([...document.querySelectorAll('[data-stat]')].map((e) => [e.dataset.stat, e]));
  let loaded = false;

  function setStat(name, value) {
    const element = stat[name];
    if (!element) return;
    if (element.textContent !== String(value)) element.textContent = String(value);
    element.dataset.value = String(value);
  }

  function ring(incident) {
    if (!incident.location) return;
    const circle = L.circleMarker([incident.location.lat, incident.location.lon], {
      radius: 22, color: '#d32f2f', weight: 3, fill: false, interactive: false, className: 'new-incident-ring',
    }).addTo(regionMap.overlays);
    window.setTimeout(() => circle.remove(), RING_MS);
  }

  function renderIncidents() {
    const fresh = list.render(open.newestFirst().map((incident) => [incident.id, incident]));
    if (loaded) {
      list.flash(fresh);
      for (const id of fresh) ring(open.get(id));
    }
    const byPriority = open.countByPriority();
    const pending = open.pending();
    setStat('open_total', open.size);
    for (const priority of [1, 2, 3, 4]) setStat(`open_priority_${priority}`, byPriority[priority]);
    setStat('pending', pending.length);
    setStat('overdue', pending.filter((entry) => entry.overdue).length);
    byId('incidents-empty').hidden = open.size > 0;
    markers.sync(open.byId.values());
    loaded = true;
    document.body.dataset.incidents = 'loaded';
  }

  if (!live) byId('calls-tile').hidden = true;
  const { feed } = keepBoardLive(api, session, open, {
    incidents: renderIncidents,
    units: units.units,
    unit: units.unit,
    stats: (figures) => {
      setStat('calls_total', figures.calls.total);
      const labels = shiftLabels(figures.shift);
      byId('shift-label').textContent = `${labels.name} · ${labels.window}`;
      document.body.dataset.figures = 'loaded';
    },
    failed: (error) => shell.notice(t('wall.load_failed', { detail: error.message }), 'error'),
  });
  if (feed) shell.watchFeed(feed);
  mapWarnings(regionMap, api, { feed }); // BMKG's warnings outlined under the incidents
  window.setInterval(() => list.tick(), 1000);
}
