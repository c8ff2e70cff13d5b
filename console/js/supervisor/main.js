/**
 * The supervisor page (/console/supervisor; admins land here too): the shift board.
 *
 * Figures of the current shift (board.js) from GET /v1/stats/shifts/current, then from
 * every `stats.updated` of the supervisors' feed; the open incidents (list and map) and
 * the assignments still waiting for their agency, overdue ones (escalated) first and
 * highlighted, from GET /v1/incidents and then from the feed's incident and assignment
 * events (live.js). CSV export of the shift shown. An admin, who may read neither the
 * statistics nor the feed, sees the incidents, re-read every 15 s.
 *
 * BMKG's warnings in force (../warnings.js) are listed above the map and outlined on it,
 * live from `warning.received` frames (and re-read every 45 s); a picked incident (row or
 * marker) opens a compact panel with its public CAP alerts and EIDO (alerts.js).
 */
import { apiClient } from '../api.js';
import { startPage } from '../page.js';
import { loadCategories } from '../categories.js';
import { byId, replaceChildren } from '../dom.js';
import { t, translatePage } from '../i18n.js';
import { renderShell } from '../shell.js';
import { boardUnits } from '../units.js';
import { mapWarnings, warningItem } from '../warnings.js';
import { IncidentPanel } from './alerts.js';
import { ShiftBoard } from './board.js';
import { downloadShiftCsv } from './export.js';
import { OpenIncidents } from './incidents.js';
import { POLL_MS, keepBoardLive } from './live.js';
import { IncidentMarkers, boardMap } from './markers.js';
import { RowList, incidentRows, pendingRows } from './rows.js';

startPage(['supervisor', 'admin'], start);

async function start(session) {
  translatePage();
  const live = session.role === 'supervisor';
  const shell = renderShell(byId('shell'), { session, titleKey: 'supervisor.title', connection: live });
  const api = apiClient(session);
  const [categories, agencies] = await Promise.all([loadCategories(api), api.get('/v1/agencies')]);
  const agencyNames = new Map(agencies.map((agency) => [agency.code, agency.name]));

  if (!live) { // the layout without the figures, before the map takes its size
    byId('figures-unavailable').textContent = t('supervisor.stats_forbidden', { seconds: POLL_MS / 1000 });
    byId('figures-unavailable').hidden = false;
    byId('figures').dataset.unavailable = 'true';
    document.body.dataset.figures = 'unavailable';
  }
  const regionMap = boardMap(byId('map'), api, agencies);
  let selectedId = null;

  const board = new ShiftBoard(categories, agencyNames);
  const open = new OpenIncidents();
  const panel = new IncidentPanel(api, byId('incident-panel'), byId('alert-dialog'), categories, {
    notice: (text) => shell.notice(text),
    onClose: () => {
      selectedId = null;
      for (const row of byId('open-incidents').querySelectorAll('.selected')) row.classList.remove('selected');
      drawMarkers();
    },
  });
  const select = (id) => {
    const incident = open.get(id);
    if (!incident) return;
    selectedId = id;
    panel.show(incident);
    for (const row of byId('open-incidents').querySelectorAll('.selected')) row.classList.remove('selected');
    incidentList.row(id)?.classList.add('selected');
    drawMarkers();
    regionMap.focus(incident.location, 14);
  };
  const incidentList = new RowList(byId('open-incidents'), incidentRows(categories, { onSelect: select }));
  const pendingList = new RowList(byId('pending'), pendingRows({ onSelect: select }));
  let incidentsLoaded = false;

  const markers = new IncidentMarkers(regionMap, { onClick: (id) => select(id) });
  const units = boardUnits(regionMap); // the vehicles, live from unit.* frames
  const drawMarkers = () => markers.sync(open.byId.values(), selectedId);

  function renderIncidents() {
    const fresh = incidentList.render(open.byUrgency().map((incident) => [incident.id, incident]));
    const pending = open.pending();
    const freshPending = pendingList.render(pending.map((entry) => [entry.assignment.id, entry]));
    if (incidentsLoaded) {
      incidentList.flash(fresh);
      pendingList.flash(freshPending);
    }
    incidentList.row(selectedId)?.classList.add('selected');
    if (panel.id) {
      const picked = open.get(panel.id);
      if (picked) panel.show(picked);
      else panel.close();
    }
    const overdue = pending.filter((entry) => entry.overdue).length;
    byId('open-count').textContent = t('supervisor.incidents_count', { count: open.size });
    byId('pending-count').textContent = overdue
      ? t('supervisor.pending_overdue_count', { count: pending.length, overdue })
      : t('supervisor.pending_count', { count: pending.length });
    byId('pending-count').dataset.overdue = String(overdue);
    byId('pending-empty').hidden = pending.length > 0;
    byId('open-empty').hidden = open.size > 0;
    byId('open-total').textContent = String(open.size);
    drawMarkers();
    incidentsLoaded = true;
    document.body.dataset.incidents = 'loaded';
  }

  const exportButton = byId('export-csv');
  exportButton.addEventListener('click', async () => {
    if (!board.shift) return;
    exportButton.disabled = true;
    try {
      shell.notice(t('supervisor.exported', { file: await downloadShiftCsv(session, board.shift) }));
    } catch (error) {
      shell.notice(t('supervisor.export_failed', { detail: error.message }), 'error');
    } finally {
      exportButton.disabled = false;
    }
  });

  const { feed } = keepBoardLive(api, session, open, {
    incidents: renderIncidents,
    units: units.units,
    unit: units.unit,
    stats: (figures) => {
      board.show(figures);
      exportButton.disabled = false;
    },
    failed: (error) => shell.notice(t('supervisor.load_failed', { detail: error.message }), 'error'),
  });
  if (feed) shell.watchFeed(feed);

  const warnings = mapWarnings(regionMap, api, { feed });
  warnings.store.addEventListener('change', () => {
    const active = warnings.store.active();
    replaceChildren(byId('warnings'), active.map((warning) => warningItem(warning, (id) => warnings.layer.show(id))));
    byId('warnings-count').textContent = t('warnings.count', { count: active.length });
    byId('warnings-panel').hidden = active.length === 0;
    document.body.dataset.warnings = String(active.length);
  });

  window.setInterval(() => {
    incidentList.tick();
    pendingList.tick();
  }, 1000);
  window.setInterval(() => board.tick(), 60000);
}
