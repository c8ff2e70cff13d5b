/**
 * The operator page (/console/operator): one call at a time, typed while the caller talks.
 *
 * The form's fields carry the API's names (CONSOLE.md page contract). The caller's number is
 * looked up as soon as it is plausible (CallerWatch: repeat-caller warning, waiting AML); the
 * location comes from the AML, the address search, a map click or typed coordinates
 * (LocationPicker); as soon as there is one, the open incidents near it are listed as
 * possible duplicates (Duplicates), of any category until one is chosen. Ctrl+Enter
 * registers the call (POST /v1/calls: opens and routes an incident, or links the call to
 * the chosen duplicate); F2/F3/F4 register it and close it as prank / ghost / information.
 * Beside the form: the open incidents (OpenIncidents: a click picks one, "Gabungkan"
 * merges one into another) and the map; below the map, the picked incident with its notes
 * (IncidentDetail) and the units to send to it (recommend.js). The units are on the map,
 * read again every UNITS_POLL_MS (operators have no feed). BMKG's warnings in force are
 * outlined on the map under the incidents (../warnings.js, re-read every 45 s).
 */
import { apiClient } from '../api.js';
import { startPage } from '../page.js';
import { loadCategories } from '../categories.js';
import { byId, h, replaceChildren } from '../dom.js';
import { formatTime } from '../format.js';
import { t, translatePage } from '../i18n.js';
import { createMap, priorityLegend, stationMarker } from '../map.js';
import { renderShell } from '../shell.js';
import { UnitMarkers, UnitStore, loadUnits } from '../units.js';
import { mapWarnings } from '../warnings.js';
import { CallerWatch, cleanNumber } from './caller.js';
import { CategoryPicker } from './category.js';
import { IncidentDetail } from './detail.js';
import { Duplicates } from './duplicates.js';
import { OpenIncidents } from './incidents.js';
import { LocationPicker } from './location.js';
import { SHORTCUTS, keysOf, shortcutFor } from './shortcuts.js';
import { fieldErrors, newIdempotencyKey, postCall } from './submit.js';

const DISPOSITION_KEYS = { prank: 'disposition.prank', ghost: 'disposition.ghost', info: 'disposition.info' };
const UNITS_POLL_MS = 4000;
const SOURCE_KEYS = { aml: 'source.aml', manual: 'source.manual', address: 'source.address', cell: 'source.cell' };

startPage(['operator'], start);

async function start(session) {
  translatePage();
  const shell = renderShell(byId('shell'), { session, titleKey: 'operator.title' });
  const api = apiClient(session);
  const form = byId('call-form');
  renderShortcuts();

  const regionMap = createMap(byId('map'), api);
  // The picked incident's details take room from the map: it keeps its whole area.
  new ResizeObserver(() => regionMap.map.invalidateSize({ animate: false })).observe(byId('map'));
  priorityLegend().addTo(regionMap.map);
  mapWarnings(regionMap, api); // BMKG's warnings (the calls they cause), re-read every 45 s
  const categories = await loadCategories(api);
  const agencyNames = new Map();
  api.get('/v1/agencies').then((agencies) => {
    for (const agency of agencies) {
      agencyNames.set(agency.code, agency.name);
      if (agency.active && agency.station) regionMap.stations.addLayer(stationMarker(agency));
    }
  }).catch(() => {});
  const units = new UnitStore();
  const unitMarkers = new UnitMarkers(regionMap);

  const errors = new FieldErrors(form);
  const caller = new CallerWatch(api, form.elements.caller_number, byId('caller-info'));
  const location = new LocationPicker(api, form, byId('location-summary'), regionMap, (name, message) => errors.set(name, message));
  const picker = new CategoryPicker(form.elements.category, form.elements.priority, byId('category-filter'), categories);
  const duplicates = new Duplicates(api, byId('duplicates'), byId('duplicates-list'), byId('link-state'), categories);
  const incidents = new OpenIncidents(api, byId('incidents'), byId('incidents-count'), regionMap, categories, shell);
  const detail = new IncidentDetail(api, byId('incident-detail'), categories, { units, agencies: agencyNames });

  let unitsTimer = null;
  let unitsReading = false; // a read is on its way
  let unitsAgain = false; // ...and another was asked for meanwhile
  /** Read the units now, and again UNITS_POLL_MS after the answer. */
  async function readUnits() {
    if (unitsReading) {
      unitsAgain = true;
      return;
    }
    unitsReading = true;
    window.clearTimeout(unitsTimer);
    try {
      units.replace(await loadUnits(api));
      unitMarkers.sync(units.values());
      detail.unitsChanged();
    } catch {
      // the list's poll shows the connection state; the next read tries again
    } finally {
      unitsReading = false;
      if (unitsAgain) {
        unitsAgain = false;
        readUnits();
      } else {
        unitsTimer = window.setTimeout(readUnits, UNITS_POLL_MS);
      }
    }
  }
  readUnits();
  incidents.onSelect = (id) => {
    const next = detail.id === id ? null : id; // a second click puts it away
    incidents.select(next);
    detail.select(next);
  };
  incidents.onRead = () => {
    detail.reload();
    duplicates.again(); // a duplicate opened meanwhile, nearby, shows up too
  };
  incidents.onMerged = ({ merged, into }) => {
    shell.notice(t('operator.merged_notice', { from: merged.number, into: into.number }));
    incidents.select(into.id);
    if (detail.id === into.id) detail.reload();
    else detail.select(into.id);
  };
  detail.addEventListener('close', () => incidents.select(null));
  detail.addEventListener('changed', (event) => {
    incidents.refresh();
    if (event.detail?.sent) readUnits();
  });
  incidents.start();

  caller.addEventListener('aml', (event) => location.setAml(event.detail));
  location.addEventListener('change', (event) => duplicates.update(event.detail, picker.value));
  picker.addEventListener('change', () => {
    errors.set('category', null);
    duplicates.update(location.shown, picker.value);
  });
  duplicates.addEventListener('link', (event) => {
    errors.set('category', null);
    byId('submit-text').textContent = t(event.detail ? 'operator.submit_link' : 'operator.submit');
  });
  for (const name of ['caller_number', 'address', 'description', 'priority']) {
    form.elements[name].addEventListener('input', () => errors.set(name, null));
  }

  /** One call being taken: its idempotency key follows the body it was made for. */
  let attempt = { body: null, key: null, call: null };
  let busy = false;

  function newCall({ focus = true } = {}) {
    form.reset();
    errors.clear();
    caller.reset();
    location.reset();
    picker.reset();
    duplicates.reset();
    attempt = { body: null, key: null, call: null };
    byId('submit-text').textContent = t('operator.submit');
    if (focus) form.elements.caller_number.focus();
  }

  /** The body of POST /v1/calls for `kind` ('incident' or a disposition), or null when the
   * form is not ready (the reason is shown next to its field). */
  function callBody(kind) {
    const number = cleanNumber(form.elements.caller_number.value);
    let ready = true;
    if (!number) {
      errors.set('caller_number', t('operator.caller_required'));
      ready = false;
    }
    const body = { caller_number: number, ...location.payload() };
    const description = form.elements.description.value.trim();
    if (description) body.description = description;
    if (kind === 'incident') {
      if (duplicates.linked) {
        body.link_incident_id = duplicates.linked.incident_id;
      } else if (picker.value) {
        body.category = picker.value;
        if (form.elements.priority.value) body.priority = Number(form.elements.priority.value);
      } else {
        errors.set('category', t('operator.category_required', {
          link: keysOf('link'), prank: keysOf('prank'), info: keysOf('info') }));
        ready = false;
      }
    }
    if (!ready) errors.focusFirst();
    return ready ? body : null;
  }

  async function send(kind) {
    if (busy) return; // a second Ctrl+Enter while the first is on its way
    busy = true;
    try {
      errors.clear();
      await location.settle();
      const body = callBody(kind);
      if (!body) return;
      form.setAttribute('aria-busy', 'true');
      byId('call-state').textContent = t('operator.sending');
      let call = attempt.call;
      let incident = null;
      if (!call) {
        // The call is registered once; what follows (a disposition) may be retried alone.
        const postBody = kind === 'incident' ? body : withoutIncident(body);
        const text = JSON.stringify(postBody);
        if (attempt.body !== text) attempt = { body: text, key: newIdempotencyKey(), call: null };
        call = await postCall(session, postBody, attempt.key);
        incident = call.incident;
        if (kind !== 'incident') attempt.call = call;
      } else if (kind === 'incident') {
        // Registered earlier for a disposition that did not go through: open or link now.
        const { category, priority, description, link_incident_id: link } = body;
        incident = await api.post(`/v1/calls/${call.id}/incident`,
          link ? { link_incident_id: link } : { category, priority, description });
      }
      if (kind !== 'incident') {
        call = await api.post(`/v1/calls/${call.id}/disposition`, { disposition: kind });
      }
      showResult(call, incident, kind, Boolean(body.link_incident_id));
      if (incident) incidents.upsert(incident);
      incidents.refresh();
      newCall();
    } catch (error) {
      const named = fieldErrors(error);
      for (const [name, message] of named) errors.set(name, message);
      if (named.length) errors.focusFirst();
      else shell.notice(t('operator.send_failed', { detail: error.message }), 'error');
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
      byId('call-state').textContent = t('operator.ready');
    }
  }

  function showResult(call, incident, kind, linked) {
    const result = byId('result');
    result.dataset.callId = call.id;
    result.dataset.kind = kind;
    delete result.dataset.incidentId;
    const where = call.location
      ? `${t(SOURCE_KEYS[call.location.source] ?? 'operator.location')}${call.area ? ` · ${call.area.kelurahan.name}` : ''}`
      : t('operator.location_unknown');
    const lines = [];
    if (incident) {
      result.dataset.incidentId = incident.id;
      lines.push(h('p', { class: 'result-main' },
        t(linked ? 'operator.result_linked' : 'operator.result_opened'), ' ',
        h('strong', { class: 'incident-number' }, incident.number), ' · ',
        categories.label(incident.category), ' · ',
        h('span', { class: `priority-badge priority-${incident.priority}` }, `P${incident.priority}`)));
    } else {
      lines.push(h('p', { class: 'result-main' },
        t('operator.result_closed', { disposition: t(DISPOSITION_KEYS[kind]) })));
    }
    lines.push(h('p', { class: 'result-meta' },
      `${call.caller_number} · ${formatTime(call.received_at)} · `,
      h('span', { class: 'result-source', data: { source: call.location?.source ?? '' } }, where)));
    if (!call.in_service_area && incident && !linked) lines.push(h('p', { class: 'result-warning' }, t('operator.result_fallback')));
    for (const warning of call.location_warnings ?? []) lines.push(h('p', { class: 'result-warning' }, warning));
    replaceChildren(result, lines);
    result.hidden = false;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send('incident');
  });
  for (const button of form.querySelectorAll('button[data-disposition]')) {
    button.addEventListener('click', () => send(button.dataset.disposition));
  }
  // Enter in a one-line field never registers a call (only Ctrl+Enter or the button does);
  // after the caller's number it goes on to the address.
  form.addEventListener('keydown', (event) => {
    const target = event.target;
    if (event.key === 'Enter' && !event.ctrlKey && !event.metaKey && target instanceof HTMLInputElement) {
      event.preventDefault();
      if (target === form.elements.caller_number) form.elements.address.focus();
    }
  });

  window.addEventListener('keydown', (event) => {
    const shortcut = shortcutFor(event);
    if (!shortcut || event.repeat) return;
    // Ctrl+Enter in a note or the merge form is theirs (it sends the note / the merge).
    if (shortcut.id === 'submit' && event.target instanceof Element && event.target.closest('.note-form, .merge-form')) return;
    event.preventDefault();
    event.stopPropagation();
    switch (shortcut.id) {
      case 'submit': send('incident'); break;
      case 'prank': case 'ghost': case 'info': send(shortcut.id); break;
      case 'priority': {
        picker.setPriority(Number(event.code.slice(-1)));
        errors.set('priority', null);
        break;
      }
      case 'link': duplicates.toggleNearest(); break;
      case 'new': newCall(); break;
      default: form.elements[shortcut.id]?.focus();
    }
  }, true);

  newCall();
  document.body.dataset.ready = 'true'; // for the browser tests: the form is wired
}

/** A disposition closes a call that has no incident: no category, no link. */
function withoutIncident(body) {
  const { category, priority, link_incident_id: link, ...rest } = body;
  return rest;
}

/** Field errors shown next to their fields (`#error-<name>`), in the form's order. */
class FieldErrors {
  constructor(form) {
    this.form = form;
  }

  set(name, message) {
    const element = document.getElementById(`error-${name}`);
    const field = this.form.elements[name];
    if (!element) return;
    element.textContent = message ?? '';
    element.hidden = !message;
    if (field) field.toggleAttribute('aria-invalid', Boolean(message));
  }

  clear() {
    for (const element of this.form.querySelectorAll('.field-error')) {
      this.set(element.id.slice('error-'.length), null);
    }
  }

  focusFirst() {
    const first = this.form.querySelector('[aria-invalid]');
    if (first instanceof HTMLElement) first.focus();
  }
}

/** The shortcut keys beside the fields and buttons, and the list of every shortcut. */
function renderShortcuts() {
  for (const kbd of document.querySelectorAll('kbd[data-shortcut]')) {
    kbd.textContent = keysOf(kbd.dataset.shortcut);
  }
  const item = ({ keys, text }) => h('div', { class: 'shortcut' },
    h('dt', {}, keys.map((key) => h('kbd', {}, key))), h('dd', {}, t(text)));
  replaceChildren(byId('shortcuts-list'),
    SHORTCUTS.map(item),
    item({ keys: ['↑', '↓', 'Enter'], text: 'operator.shortcut_pick' }),
    item({ keys: ['Esc'], text: 'operator.shortcut_escape' }));
}
