/**
 * The agency's units on its page: a list (name and code, kind, status, the incident it
 * works on, age of its last fix) with one button per legal next status
 * (`data-action="unit:<status>"`, POST /v1/units/{code}/status; a 409's detail is shown in
 * the row), and "Kirim unit" in the selected incident's details (SendUnit: one of the
 * units free to go, nearest first, POST /v1/incidents/{id}/units). Rows carry
 * `data-unit-code` and `data-status`; they are kept across updates (keyed by code).
 */
import { h, replaceChildren } from '../dom.js';
import { ageSeconds, formatAge, formatDistance } from '../format.js';
import { t } from '../i18n.js';
import { DISPATCHABLE, distanceMetres, kindLabel, nextStatuses, statusLabel, unitChip } from '../units.js';

/** Move a unit to `status`; the updated Unit (an ApiError on a refusal). */
export function changeStatus(api, code, status) {
  return api.post(`/v1/units/${encodeURIComponent(code)}/status`, { status });
}

/** Send a unit to an incident; the Unit, now `dispatched`. */
export function sendUnit(api, incidentId, code) {
  return api.post(`/v1/incidents/${encodeURIComponent(incidentId)}/units`, { unit_code: code });
}

export class UnitList {
  /**
   * @param list      the `<ol>` to fill
   * @param handlers  {change(code, status), incidentNumber(id) -> string|null, select(incidentId)}
   */
  constructor(list, handlers) {
    this.list = list;
    this.handlers = handlers;
    this.rows = new Map(); // code -> li
    this.errors = new Map(); // code -> the last refusal, shown until the row's next click
  }

  render(units) {
    const wanted = new Set(units.map((unit) => unit.code));
    for (const [code, row] of this.rows) {
      if (!wanted.has(code)) {
        row.remove();
        this.rows.delete(code);
      }
    }
    units.forEach((unit, index) => {
      let row = this.rows.get(unit.code);
      if (!row) {
        row = h('li', { class: 'unit-row', data: { unitCode: unit.code } });
        this.rows.set(unit.code, row);
      }
      this.#update(row, unit);
      if (this.list.children[index] !== row) this.list.insertBefore(row, this.list.children[index] ?? null);
    });
  }

  row(code) {
    return this.rows.get(code) ?? null;
  }

  /** A refusal (or failure) shown in the unit's row until one of its buttons is clicked. */
  showError(code, message) {
    this.errors.set(code, message);
    const line = this.rows.get(code)?.querySelector('.unit-error');
    if (!line) return;
    line.textContent = message;
    line.hidden = false;
  }

  /** Refresh the ages of the fixes (once a second). */
  tick(now = Date.now()) {
    for (const age of this.list.querySelectorAll('.unit-fix[data-since]')) {
      age.textContent = formatAge(ageSeconds(age.dataset.since, now));
    }
  }

  #update(row, unit) {
    const number = unit.incident_id ? this.handlers.incidentNumber(unit.incident_id) : null;
    const error = this.errors.get(unit.code) ?? null;
    const key = JSON.stringify([unit.status, unit.incident_id, unit.position?.at, unit.name, number, error]);
    if (row.dataset.key === key) return;
    row.dataset.key = key;
    row.dataset.status = unit.status;
    row.dataset.kind = unit.kind;
    replaceChildren(row,
      h('div', { class: 'unit-main' },
        unitChip(unit),
        h('span', { class: 'unit-name', title: `${unit.name} · ${unit.code} · ${kindLabel(unit.kind)}` },
          unit.name, ' ', h('span', { class: 'unit-code' }, unit.code)),
        h('span', { class: ['status-badge', 'unit-status', `unit-status-${unit.status}`] }, statusLabel(unit.status)),
        unit.incident_id
          ? h('button', {
            type: 'button', class: 'unit-incident link', data: { incidentId: unit.incident_id },
            onclick: () => this.handlers.select(unit.incident_id),
          }, number ?? '…')
          : h('span', { class: 'unit-incident' }),
        unit.position
          ? h('span', { class: 'unit-fix', title: t('units.fix_title'), data: { since: unit.position.at } },
            formatAge(ageSeconds(unit.position.at)))
          : h('span', { class: 'unit-fix none', title: t('units.fix_title') }, t('units.no_fix'))),
      h('div', { class: 'unit-actions' }, nextStatuses(unit.status).map((status) => h('button', {
        type: 'button', data: { action: `unit:${status}` },
        onclick: (event) => this.#click(event.currentTarget, unit.code, status),
      }, statusLabel(status)))),
      h('p', { class: 'unit-error', role: 'alert', hidden: !error }, error ?? ''));
  }

  async #click(button, code, status) {
    const row = this.rows.get(code);
    this.errors.delete(code);
    const line = row.querySelector('.unit-error');
    line.hidden = true;
    for (const other of row.querySelectorAll('.unit-actions button')) other.disabled = true;
    row.dataset.busy = 'true';
    try {
      await this.handlers.change(code, status);
    } finally {
      delete row.dataset.busy;
      if (button.isConnected) for (const other of row.querySelectorAll('.unit-actions button')) other.disabled = false;
    }
  }
}

/**
 * "Kirim unit" in the selected incident's details: the agency's units free to go
 * (available or returning), nearest to the incident first, and the units already on it.
 * One element kept across the details' re-renders (a choice survives a feed event).
 */
export class SendUnit {
  constructor(onSend) {
    this.onSend = onSend; // (incident, code) => Promise
    this.incident = null;
    this.units = [];
    this.select = h('select', { name: 'unit_code', 'aria-label': t('units.send_title') });
    this.button = h('button', { type: 'submit', class: 'primary', data: { action: 'send-unit' } }, t('units.send_button'));
    this.errorLine = h('p', { class: 'send-unit-error', role: 'alert', hidden: true });
    this.onIncident = h('ul', { class: 'on-incident' });
    this.form = h('form', { class: 'send-unit-form', onsubmit: (event) => this.#submit(event) },
      h('label', {}, h('span', {}, t('units.send_title')), this.select), this.button, this.errorLine);
    this.element = h('section', { class: 'send-unit', hidden: true },
      this.form, h('div', { class: 'on-incident-box' }, h('h3', {}, t('units.on_incident')), this.onIncident));
  }

  /** The selected incident (null: none) and the agency's units. */
  show(incident, units) {
    if (incident?.id !== this.incident?.id) this.#error(null);
    this.incident = incident;
    this.units = units;
    this.element.hidden = !incident || incident.status === 'closed';
    if (this.element.hidden) return;
    this.element.dataset.incidentId = incident.id;
    const free = units.filter((unit) => DISPATCHABLE.has(unit.status))
      .map((unit) => ({ unit, distance: unit.position && incident.location ? distanceMetres(unit.position, incident.location) : null }))
      .sort((a, b) => (a.distance ?? Infinity) - (b.distance ?? Infinity) || a.unit.code.localeCompare(b.unit.code));
    const chosen = this.select.value;
    const signature = JSON.stringify(free.map(({ unit, distance }) => [unit.code, unit.status, Math.round((distance ?? -1) / 100)]));
    if (this.select.dataset.signature !== signature) {
      this.select.dataset.signature = signature;
      replaceChildren(this.select, free.length
        ? free.map(({ unit, distance }) => h('option', { value: unit.code },
          [unit.name, unit.status === 'available' ? null : statusLabel(unit.status), formatDistance(distance)]
            .filter(Boolean).join(' · ')))
        : h('option', { value: '' }, t('units.send_none')));
      if (free.some(({ unit }) => unit.code === chosen)) this.select.value = chosen;
    }
    this.select.disabled = !free.length;
    this.button.disabled = !free.length || this.form.getAttribute('aria-busy') === 'true';
    const working = units.filter((unit) => unit.incident_id === incident.id);
    this.onIncident.parentElement.hidden = !working.length;
    replaceChildren(this.onIncident, working.map((unit) => h('li', { data: { unitCode: unit.code, status: unit.status } },
      unitChip(unit), ' ', h('span', { class: 'unit-name' }, unit.name), ' ',
      h('span', { class: ['status-badge', 'unit-status', `unit-status-${unit.status}`] }, statusLabel(unit.status)))));
  }

  async #submit(event) {
    event.preventDefault();
    const code = this.select.value;
    const incident = this.incident;
    if (!code || !incident) return;
    this.form.setAttribute('aria-busy', 'true');
    this.button.disabled = true;
    this.#error(null);
    try {
      await this.onSend(incident, code);
    } catch (error) {
      this.#error(t('units.send_failed', { detail: error.message }));
    } finally {
      this.form.removeAttribute('aria-busy');
      this.show(this.incident, this.units);
    }
  }

  #error(message) {
    this.errorLine.textContent = message ?? '';
    this.errorLine.hidden = !message;
  }
}
