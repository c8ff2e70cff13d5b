/**
 * The agency page (/console/agency): the agency's open assignments, live.
 *
 * The queue is read (GET /v1/agencies/{code}/queue, each incident by GET
 * /v1/incidents/{id}) whenever the feed connects without a `since` (the first time, or
 * after a drop before any event), and kept current from the feed: assignment.created adds
 * a row (flash and beep), assignment.updated/escalated and incident.updated change rows,
 * a terminal status or incident.closed removes them; incident.note adds a note to the
 * incident's details (a merge or unmerge has its incidents' notes read again). Events
 * that arrive while the queue is being read are applied after it.
 *
 * The agency's units (./units.js) are read with the queue (GET /v1/units?agency=) and kept
 * current from the feed's `unit.status` and `unit.position` frames: listed with their
 * status buttons, drawn on the map, and offered by "Kirim unit" in the incident's details.
 */
import { ApiError, apiClient } from '../api.js';
import { startPage } from '../page.js';
import { loadCategories } from '../categories.js';
import { byId, h, isTyping, replaceChildren } from '../dom.js';
import { FeedClient } from '../feed.js';
import { t, translatePage } from '../i18n.js';
import { createMap } from '../map.js';
import { NotesView } from '../notes.js';
import { renderShell } from '../shell.js';
import { armSound, beep } from '../sound.js';
import { UnitMarkers, UnitStore, loadUnits } from '../units.js';
import { ACTIONS, isAllowed, perform } from './actions.js';
import { Detail } from './detail.js';
import { Queue } from './queue.js';
import { QueueList } from './rows.js';
import { SendUnit, UnitList, changeStatus, sendUnit } from './units.js';

const RETRY_MS = 5000;
const WAITING = new Set(['queued', 'escalated']); // counted in the tab's title

startPage(['agency'], start);

async function start(session) {
  translatePage();
  const shell = renderShell(byId('shell'), { session, titleKey: 'agency.title' });
  const api = apiClient(session);
  const code = session.agency;
  renderShortcuts(byId('shortcuts-list'));
  const soundHint = h('span', { id: 'sound', class: 'sound-hint', data: { sound: 'off' } }, t('agency.sound_hint'));
  shell.slot.append(soundHint);
  armSound((armed) => {
    soundHint.dataset.sound = armed ? 'on' : 'unavailable';
    soundHint.textContent = t(armed ? 'agency.sound_on' : 'agency.sound_unavailable');
  });

  const [categories, agency] = await Promise.all([
    loadCategories(api), api.get(`/v1/agencies/${encodeURIComponent(code)}`)]);
  byId('agency-name').textContent = agency.name;
  const queue = new Queue(code);
  const list = new QueueList(byId('queue'), { select, act, decline }, categories);
  const notes = new NotesView(api);
  notes.addEventListener('added', (event) => {
    queue.addNote(event.detail);
    render();
  });
  const units = new UnitStore();
  const numbers = new Map(); // incident id -> number, for units on incidents no longer queued
  const unitList = new UnitList(byId('units'), {
    change: changeUnitStatus,
    incidentNumber,
    select: (incidentId) => select(queue.sorted().find((entry) => entry.incident?.id === incidentId)?.assignment.id),
  });
  const sendForm = new SendUnit(async (incident, code) => {
    const unit = await sendUnit(api, incident.id, code);
    units.upsert(unit);
    shell.notice(t('units.sent_notice', { unit: unit.name, number: incident.number }));
    renderUnits();
  });
  const regionMap = createMap(byId('map'), api);
  // The details above the map change its height: it keeps its whole area (and its centre).
  new ResizeObserver(() => regionMap.map.invalidateSize({ animate: false })).observe(byId('map'));
  const detail = new Detail(byId('detail'), regionMap, categories, select, notes, sendForm,
    { api, notice: (text, kind) => shell.notice(text, kind) });
  detail.showAgency(agency);
  const unitMarkers = new UnitMarkers(regionMap);
  let selectedId = null;
  let loaded = false;
  let unitsLoaded = false;

  function renderUnits() {
    const list = units.values();
    unitList.render(list);
    unitMarkers.sync(list);
    byId('units-count').textContent = t('units.count', { count: list.length });
    byId('units-empty').hidden = !unitsLoaded || list.length > 0;
    sendForm.show(queue.get(selectedId)?.incident ?? null, list);
  }

  /** The number of an incident a unit works on: from the queue, else read once. */
  function incidentNumber(id) {
    if (!id) return null;
    const held = [...queue.entries.values()].find((entry) => entry.incident?.id === id)?.incident;
    if (held) return held.number;
    if (!numbers.has(id)) {
      numbers.set(id, null);
      api.get(`/v1/incidents/${id}`).then((incident) => {
        numbers.set(id, incident.number);
        renderUnits();
      }).catch(() => {});
    }
    return numbers.get(id);
  }

  async function changeUnitStatus(code, status) {
    try {
      units.upsert(await changeStatus(api, code, status));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      unitList.showError(code, t('units.change_failed', { detail: error.message }));
      // The unit moved elsewhere meanwhile (a 409): show where it is now.
      if (error.problem?.status_now) {
        try {
          units.upsert(await api.get(`/v1/units/${encodeURIComponent(code)}`));
        } catch {
          // the feed tells it too
        }
      }
    } finally {
      renderUnits();
    }
  }

  async function readUnits() {
    try {
      units.replace(await loadUnits(api, { agency: code }));
      unitsLoaded = true;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        shell.notice(t('units.load_failed', { detail: error.message }), 'error');
      }
    }
    renderUnits();
  }

  function render() {
    const entries = queue.sorted();
    if (!queue.get(selectedId)) selectedId = entries[0]?.assignment.id ?? null;
    list.render(entries, selectedId);
    byId('queue-empty').hidden = !loaded || entries.length > 0;
    byId('queue-loading').hidden = loaded;
    byId('queue-count').textContent = t('agency.count', { count: entries.length });
    const waiting = entries.filter((entry) => WAITING.has(entry.assignment.status)).length;
    document.title = `${waiting ? `(${waiting}) ` : ''}${t('agency.title')} · Siaga112`;
    detail.show(queue.get(selectedId), entries);
    renderUnits();
  }

  function select(id) {
    if (!id || !queue.get(id)) return;
    selectedId = id;
    render();
    list.row(id)?.scrollIntoView({ block: 'nearest' });
  }

  function announce(ids) {
    if (!ids.length) return;
    for (const id of ids) list.flash(id);
    beep();
  }

  /** One feed event; returns the ids of assignments it added to the queue. */
  function apply(event) {
    const added = new Set();
    if (event.assignment && queue.upsert(event.assignment, event.incident) === 'added') added.add(event.assignment.id);
    if (event.incident) for (const id of queue.applyIncident(event.incident)) added.add(id);
    if (event.type === 'incident.closed' && event.incident) queue.removeIncident(event.incident.id);
    if (event.type === 'incident.note' && event.note) queue.addNote(event.note);
    if (event.unit) units.apply(event);
    if (event.merge) { // incident.merged, incident.unmerged
      rereadNotes([event.merge.merged_incident_id, event.merge.into_incident_id]);
    }
    // A new row's incident came from the feed, without its notes: they are read once.
    const unread = [...added].map((id) => queue.get(id)?.incident)
      .filter((incident) => incident && !Array.isArray(incident.notes)).map((incident) => incident.id);
    if (unread.length) rereadNotes([...new Set(unread)]);
    return [...added];
  }

  /** A merge or unmerge moved notes between incidents: read those shown again. */
  async function rereadNotes(incidentIds) {
    const held = new Set([...queue.entries.values()].map((entry) => entry.incident?.id));
    for (const id of incidentIds.filter((incidentId) => held.has(incidentId))) {
      try {
        queue.setNotes(id, (await api.get(`/v1/incidents/${id}`)).notes);
        render();
      } catch {
        // no longer ours (the assignment left with the merge): the feed says so too
      }
    }
  }

  let buffered = null; // feed events that arrive while the queue is being read
  async function loadQueue() {
    buffered = [];
    try {
      const page = await api.get(`/v1/agencies/${encodeURIComponent(code)}/queue`);
      const incidentIds = [...new Set(page.items.map((assignment) => assignment.incident_id))];
      const incidents = new Map((await Promise.all(incidentIds.map(
        (id) => api.get(`/v1/incidents/${id}`).catch(() => null)))).filter(Boolean).map((i) => [i.id, i]));
      const before = new Set(queue.entries.keys());
      queue.entries.clear();
      for (const assignment of page.items) queue.upsert(assignment, incidents.get(assignment.incident_id));
      const added = [];
      for (const event of buffered) added.push(...apply(event));
      const fresh = loaded ? [...queue.entries.keys()].filter((id) => !before.has(id)) : added;
      loaded = true;
      render();
      announce([...new Set(fresh)]);
    } catch (error) {
      for (const event of buffered) apply(event); // nothing the feed said is dropped
      render();
      if (error instanceof ApiError && error.status === 401) return; // on the way to log-in
      shell.notice(t('agency.load_failed', { detail: error.message }), 'error');
      window.setTimeout(loadQueue, RETRY_MS);
    } finally {
      buffered = null;
    }
  }

  async function act(id, action, note) {
    const entry = queue.get(id);
    if (!entry || !isAllowed(action, entry.assignment.status)) return;
    const row = list.row(id);
    row.dataset.busy = 'true';
    render();
    try {
      queue.upsert(await perform(api, id, action, note), entry.incident);
      if (action === 'decline') shell.notice(t('agency.declined_notice', { number: entry.incident?.number ?? '' }));
    } catch (error) {
      const now = error.problem?.status_now;
      shell.notice(now ? t('agency.action_conflict', { status: t(`status.${now}`) })
        : t('agency.action_failed', { detail: error.message }), 'error');
    } finally {
      delete row.dataset.busy;
      render();
    }
  }

  function decline(id, reason) {
    return act(id, 'decline', reason);
  }

  const feed = new FeedClient(`/v1/agencies/${encodeURIComponent(code)}/feed`, session.token);
  shell.watchFeed(feed);
  feed.addEventListener('event', (message) => {
    if (buffered) {
      buffered.push(message.detail);
      return;
    }
    const added = apply(message.detail);
    render();
    announce(added);
  });
  feed.addEventListener('open', (message) => {
    if (!message.detail.resumed) {
      loadQueue();
      readUnits();
    }
  });
  feed.addEventListener('state', () => {
    if (feed.state === 'failed' && !loaded) {
      loadQueue();
      readUnits();
    }
  });
  feed.start();
  render();
  window.setInterval(() => {
    list.tick();
    unitList.tick();
  }, 1000);

  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || isTyping(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const entries = queue.sorted();
    const index = entries.findIndex((entry) => entry.assignment.id === selectedId);
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === 'ArrowDown' || key === 'j') {
      select(entries[Math.min(index + 1, entries.length - 1)]?.assignment.id);
    } else if (key === 'ArrowUp' || key === 'k') {
      select(entries[Math.max(index - 1, 0)]?.assignment.id);
    } else {
      const shortcut = ACTIONS.find((entry) => entry.key === key);
      if (!shortcut || !selectedId) return;
      if (shortcut.action === 'decline') list.openDecline(selectedId);
      else act(selectedId, shortcut.action);
    }
    event.preventDefault();
  });
}

/** The keyboard shortcuts, documented on the page from the same table the keys use. */
function renderShortcuts(list) {
  const item = (keys, text) => h('div', {}, h('dt', {}, keys.map((key) => h('kbd', {}, key))), h('dd', {}, text));
  replaceChildren(list,
    item(['↑', '↓'], t('agency.shortcut_select')),
    ACTIONS.map(({ action, key }) => item([key.toUpperCase()], t(`action.${action}`))),
    item(['Esc'], t('agency.shortcut_escape')));
}
