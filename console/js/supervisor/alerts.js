/**
 * The supervisor's picked incident (a click on a row or a marker): a compact panel with
 * its number, priority, status, category and place, "EIDO" (GET /v1/incidents/{id}/eido
 * as a download: it needs the token, so it is fetched and offered as a Blob), and its
 * public CAP alerts: "Peringatan publik (CAP)" opens a form (headline, instruction,
 * severity/urgency/certainty with CAP 1.2's values, optional expiry in the centre's zone)
 * → POST /v1/incidents/{id}/alerts; the alerts in force for the incident (from the public
 * Atom feed GET /v1/alerts, whose identifiers name the incident's number) with a link to
 * the CAP document, "Perbarui" (POST /v1/alerts/{identifier}/update with the fields
 * changed) and "Batalkan" (…/cancel). A refusal (409, 422) shows its detail in the form or
 * the panel.
 */
import { ApiError } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { eidoButton } from '../eido.js';
import { CENTER_TIME_ZONE, formatDateTime } from '../format.js';
import { t } from '../i18n.js';
import { SEVERITIES, severityLabel } from '../warnings.js';

const URGENCIES = ['Immediate', 'Expected', 'Future', 'Past', 'Unknown'];
const CERTAINTIES = ['Observed', 'Likely', 'Possible', 'Unlikely', 'Unknown'];
const ZONE_OFFSETS = { 'Asia/Jakarta': '+07:00', 'Asia/Pontianak': '+07:00', 'Asia/Makassar': '+08:00', 'Asia/Jayapura': '+09:00' };
const CONFIRM_MS = 5000;
const ATOM = 'http://www.w3.org/2005/Atom';

/** A `datetime-local` value read in the centre's zone, as ISO 8601 with its offset. */
export function centreTime(value) {
  if (!value) return null;
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}${ZONE_OFFSETS[CENTER_TIME_ZONE] ?? '+07:00'}`;
}

/** The alerts in force (public Atom feed), each {identifier, headline, instruction,
 * msgType, updated, url}. */
export async function loadAlerts() {
  const response = await fetch('/v1/alerts', { cache: 'no-store', headers: { Accept: 'application/atom+xml' } });
  if (!response.ok) throw new ApiError(response.status, null);
  const doc = new DOMParser().parseFromString(await response.text(), 'application/xml');
  return [...doc.getElementsByTagNameNS(ATOM, 'entry')].map((entry) => {
    const text = (name) => entry.getElementsByTagNameNS(ATOM, name)[0]?.textContent ?? '';
    const url = entry.getElementsByTagNameNS(ATOM, 'link')[0]?.getAttribute('href') ?? text('id');
    return {
      identifier: decodeURIComponent(url.split('/').pop()),
      headline: text('title'),
      instruction: text('summary'),
      msgType: entry.getElementsByTagNameNS(ATOM, 'category')[0]?.getAttribute('term') ?? 'Alert',
      updated: text('updated'),
      url: `/v1/alerts/${encodeURIComponent(decodeURIComponent(url.split('/').pop()))}`,
    };
  });
}

function options(select, values, labelOf, chosen) {
  replaceChildren(select, values.map((value) => h('option', { value, selected: value === chosen }, labelOf(value))));
}

export class IncidentPanel {
  /**
   * @param api        apiClient(session)
   * @param section    the panel (`#incident-panel`), hidden while nothing is picked
   * @param dialog     the alert form's `<dialog>` (`#alert-dialog`)
   * @param categories loadCategories(api)
   * @param onClose    called when the panel is put away
   */
  constructor(api, section, dialog, categories, { onClose = () => {}, notice = () => {} } = {}) {
    this.api = api;
    this.section = section;
    this.dialog = dialog;
    this.categories = categories;
    this.onClose = onClose;
    this.notice = notice;
    this.incident = null;
    this.alerts = [];
    this.receipt = null; // the last message published from here {identifier, url, msg_type}
    this.head = h('div', { class: 'panel-head incident-panel-head' });
    this.body = h('div', { class: 'incident-panel-body' });
    this.errorLine = h('p', { class: 'detail-error', role: 'alert', hidden: true });
    this.alertList = h('ul', { class: 'alert-list' });
    section.replaceChildren(this.head, this.body, this.errorLine, this.alertList);
    this.#wireDialog();
  }

  get id() {
    return this.incident?.id ?? null;
  }

  /** Show `incident` (null: put the panel away). A new view of the same incident (a feed
   * event) re-renders its details and keeps the rest. */
  show(incident) {
    const changed = incident?.id !== this.incident?.id;
    this.incident = incident;
    this.section.hidden = !incident;
    if (!incident) return;
    this.section.dataset.incidentId = incident.id;
    this.#renderDetails();
    if (changed) {
      this.receipt = null;
      this.alerts = [];
      this.#error(null);
      this.#renderAlerts();
      this.reloadAlerts();
    }
  }

  async reloadAlerts() {
    const incident = this.incident;
    if (!incident) return;
    try {
      const prefix = `SIAGA112-${incident.number}-`;
      const alerts = (await loadAlerts()).filter((alert) => alert.identifier.startsWith(prefix));
      if (this.incident?.id !== incident.id) return;
      this.alerts = alerts;
      this.#renderAlerts();
    } catch (error) {
      this.#error(t('alerts.load_failed', { detail: error.message }));
    }
  }

  #renderDetails() {
    const incident = this.incident;
    const area = incident.area;
    const place = area ? [area.kelurahan, area.kecamatan].filter(Boolean).map((a) => a.name).join(', ') : t('supervisor.no_area');
    replaceChildren(this.head,
      h('span', { class: `priority-badge priority-${incident.priority}` }, `P${incident.priority}`),
      h('h2', { class: 'incident-number', data: { incidentId: incident.id } }, incident.number),
      h('span', { class: 'incident-category' }, this.categories.label(incident.category)),
      h('button', {
        type: 'button', class: 'close', data: { action: 'close-incident' }, title: t('common.close'),
        'aria-label': t('common.close'), onclick: () => this.close(),
      }, '×'));
    replaceChildren(this.body,
      h('p', { class: 'incident-line' }, place, ' · ', t('alerts.opened', { time: formatDateTime(incident.created_at) })),
      incident.description ? h('p', { class: 'incident-line muted', title: incident.description }, incident.description) : null,
      h('div', { class: 'incident-actions' },
        h('button', { type: 'button', class: 'primary', data: { action: 'alert' }, onclick: () => this.openForm(null) },
          t('alerts.new')),
        eidoButton(this.api, () => this.incident, (message) => this.#error(message))));
  }

  #renderAlerts() {
    const rows = this.alerts.map((alert) => {
      const cancelled = alert.msgType === 'Cancel';
      return h('li', { class: ['alert-row', cancelled && 'cancelled'], data: { alertIdentifier: alert.identifier, msgType: alert.msgType } },
        h('span', { class: `msg-badge msg-${alert.msgType.toLowerCase()}` }, t(`alerts.msg_${alert.msgType.toLowerCase()}`)),
        h('span', { class: 'alert-headline', title: alert.instruction }, alert.headline),
        h('a', { href: alert.url, target: '_blank', rel: 'noopener', class: 'alert-link', title: alert.identifier }, t('alerts.document')),
        cancelled ? null : h('button', { type: 'button', data: { action: 'alert-update' }, onclick: () => this.openForm(alert) }, t('alerts.update')),
        cancelled ? null : h('button', { type: 'button', class: 'danger', data: { action: 'alert-cancel' }, onclick: (event) => this.#cancel(alert, event.currentTarget) }, t('alerts.cancel')));
    });
    const receipt = this.receipt
      ? h('li', { class: 'alert-receipt', data: { identifier: this.receipt.identifier } },
        t(`alerts.published_${this.receipt.msg_type.toLowerCase()}`), ' ',
        h('a', { href: `/v1/alerts/${encodeURIComponent(this.receipt.identifier)}`, target: '_blank', rel: 'noopener', class: 'receipt-link' },
          this.receipt.identifier))
      : null;
    replaceChildren(this.alertList, receipt, rows,
      rows.length ? null : h('li', { class: 'empty' }, t('alerts.none')));
  }

  /** Cancel needs a second click ("Ya, batalkan") within CONFIRM_MS. */
  async #cancel(alert, button) {
    if (button.dataset.confirm !== 'true') {
      button.dataset.confirm = 'true';
      button.textContent = t('alerts.cancel_confirm');
      window.setTimeout(() => {
        if (!button.isConnected || button.disabled) return;
        button.dataset.confirm = 'false';
        button.textContent = t('alerts.cancel');
      }, CONFIRM_MS);
      return;
    }
    button.disabled = true;
    this.#error(null);
    try {
      this.receipt = await this.api.post(`/v1/alerts/${encodeURIComponent(alert.identifier)}/cancel`);
      this.#renderAlerts();
      await this.reloadAlerts();
    } catch (error) {
      this.#error(t('alerts.failed', { detail: error.message }));
      button.disabled = false;
      if (error instanceof ApiError && error.status === 409) this.reloadAlerts();
    }
  }

  close() {
    this.show(null);
    this.onClose();
  }

  /** The form: a new alert (`alert` null) or an Update of `alert`. */
  openForm(alert) {
    if (!this.incident) return;
    const form = this.form;
    form.reset();
    this.updating = alert;
    this.formError.hidden = true;
    this.dialog.dataset.mode = alert ? 'update' : 'new';
    this.dialogTitle.textContent = alert
      ? t('alerts.update_title', { number: this.incident.number })
      : t('alerts.form_title', { number: this.incident.number });
    this.submitButton.textContent = t(alert ? 'alerts.update' : 'alerts.publish');
    options(form.elements.severity, SEVERITIES, severityLabel, alert ? '' : 'Moderate');
    options(form.elements.urgency, URGENCIES, (v) => t(`cap.urgency_${v.toLowerCase()}`), alert ? '' : 'Expected');
    options(form.elements.certainty, CERTAINTIES, (v) => t(`cap.certainty_${v.toLowerCase()}`), alert ? '' : 'Likely');
    for (const name of ['severity', 'urgency', 'certainty']) {
      const select = form.elements[name];
      if (alert) select.prepend(h('option', { value: '', selected: true }, t('alerts.unchanged')));
    }
    form.elements.headline.value = alert ? alert.headline : '';
    form.elements.instruction.value = alert ? alert.instruction : '';
    form.elements.headline.required = !alert;
    form.elements.instruction.required = !alert;
    this.dialog.showModal();
    form.elements.headline.focus();
  }

  #wireDialog() {
    const dialog = this.dialog;
    this.form = dialog.querySelector('form');
    this.dialogTitle = dialog.querySelector('h2');
    this.formError = dialog.querySelector('.form-error');
    this.submitButton = this.form.querySelector('button[type="submit"]');
    for (const button of dialog.querySelectorAll('[data-action="alert-close"]')) {
      button.addEventListener('click', () => dialog.close());
    }
    this.form.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = this.#body();
      this.submitButton.disabled = true;
      this.formError.hidden = true;
      try {
        const path = this.updating
          ? `/v1/alerts/${encodeURIComponent(this.updating.identifier)}/update`
          : `/v1/incidents/${this.incident.id}/alerts`;
        this.receipt = await this.api.post(path, body);
        dialog.close();
        this.#renderAlerts();
        this.notice(t('alerts.published_notice', { identifier: this.receipt.identifier }));
        await this.reloadAlerts();
      } catch (error) {
        this.formError.textContent = t('alerts.failed', { detail: error.message });
        this.formError.dataset.status = error instanceof ApiError ? String(error.status) : '';
        this.formError.hidden = false;
      } finally {
        this.submitButton.disabled = false;
      }
    });
  }

  #body() {
    const elements = this.form.elements;
    const body = {};
    for (const name of ['headline', 'instruction', 'severity', 'urgency', 'certainty']) {
      const value = elements[name].value.trim();
      if (value || !this.updating) body[name] = value;
    }
    if (this.updating) {
      if (body.headline === this.updating.headline) delete body.headline;
      if (body.instruction === this.updating.instruction) delete body.instruction;
    }
    const expires = centreTime(elements.expires.value);
    if (expires) body.expires = expires;
    return body;
  }

  #error(message) {
    this.errorLine.textContent = message ?? '';
    this.errorLine.hidden = !message;
  }
}
