/**
 * "Gabungkan": merging an open incident into another (two operators opened one emergency
 * twice). The form opens inside the incident's row: which incident to merge it into (the
 * other open incidents, nearest first by GET /v1/incidents/nearby around it, then the
 * rest), what will happen, and the button that does it (POST /v1/incidents/{id}/merge).
 * A refusal (409: one of them closed meanwhile; 422) is shown in the form with its detail.
 * Events: 'merged' ({merged, into}: the incident merged and the survivor), 'cancel'.
 */
import { h, replaceChildren } from '../dom.js';
import { formatDistance } from '../format.js';
import { t } from '../i18n.js';

const NEARBY_RADIUS_M = 10000; // the endpoint's largest radius

export class MergeForm extends EventTarget {
  /**
   * @param api from apiClient()
   * @param incident the incident to merge (it will be closed)
   * @param others the other open incidents (as the list holds them)
   * @param categories from loadCategories()
   */
  constructor(api, incident, others, categories) {
    super();
    this.api = api;
    this.incident = incident;
    this.others = others;
    this.categories = categories;
    this.busy = false;
    this.select = h('select', {
      name: 'into_incident_id', onchange: () => this.#summarise(),
    }, h('option', { value: '' }, t('common.loading')));
    this.summary = h('p', { class: 'merge-summary' });
    this.errorLine = h('p', { class: 'merge-error', role: 'alert', hidden: true });
    this.confirm = h('button', { type: 'submit', class: 'primary', data: { action: 'merge-confirm' }, disabled: true },
      t('operator.merge_confirm'));
    this.element = h('form', {
      class: 'merge-form', novalidate: true, data: { incidentId: incident.id },
      onclick: (event) => event.stopPropagation(), // not a click on the row
      onsubmit: (event) => {
        event.preventDefault();
        this.submit();
      },
      onkeydown: (event) => {
        if (event.key === 'Escape') {
          event.preventDefault();
          this.cancel();
        } else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          this.submit();
        }
      },
    },
    h('label', {}, h('span', {}, t('operator.merge_into')), this.select),
    this.summary,
    this.errorLine,
    h('div', { class: 'merge-actions' },
      this.confirm,
      h('button', { type: 'button', data: { action: 'merge-cancel' }, onclick: () => this.cancel() }, t('common.cancel'))));
  }

  /** Fill the choice: nearest first, then the others by number. */
  async load() {
    let nearby = [];
    const location = this.incident.location;
    if (location) {
      const query = new URLSearchParams({
        lat: String(location.lat), lon: String(location.lon), radius_m: String(NEARBY_RADIUS_M) });
      try {
        nearby = (await this.api.get(`/v1/incidents/nearby?${query}`)).items;
      } catch {
        nearby = []; // the list below still offers every open incident
      }
    }
    const choices = nearby.filter((item) => item.incident_id !== this.incident.id).map((item) => ({
      id: item.incident_id, number: item.number, category: item.category, distance_m: item.distance_m }));
    const listed = new Set(choices.map((choice) => choice.id));
    const rest = this.others.filter((other) => other.id !== this.incident.id && !listed.has(other.id))
      .sort((a, b) => a.number.localeCompare(b.number))
      .map((other) => ({ id: other.id, number: other.number, category: other.category, distance_m: null }));
    this.choices = [...choices, ...rest];
    replaceChildren(this.select, this.choices.length
      ? this.choices.map((choice) => h('option', { value: choice.id, data: { number: choice.number } },
        [choice.number, choice.distance_m === null ? null : formatDistance(choice.distance_m),
          this.categories.label(choice.category)].filter(Boolean).join(' · ')))
      : h('option', { value: '' }, t('operator.merge_none')));
    this.confirm.disabled = !this.choices.length;
    this.#summarise();
  }

  focus() {
    this.select.focus();
  }

  cancel() {
    this.element.remove();
    this.dispatchEvent(new CustomEvent('cancel'));
  }

  async submit() {
    const into = this.choices?.find((choice) => choice.id === this.select.value);
    if (!into || this.busy) return;
    this.busy = true;
    this.confirm.disabled = true;
    this.element.setAttribute('aria-busy', 'true');
    this.#error(null);
    try {
      const survivor = await this.api.post(`/v1/incidents/${this.incident.id}/merge`, { into_incident_id: into.id });
      this.element.remove();
      this.dispatchEvent(new CustomEvent('merged', { detail: { merged: this.incident, into: survivor } }));
    } catch (error) {
      this.#error(t('operator.merge_failed', { detail: error.message }));
    } finally {
      this.busy = false;
      this.confirm.disabled = !this.choices?.length;
      this.element.removeAttribute('aria-busy');
    }
  }

  #summarise() {
    const into = this.choices?.find((choice) => choice.id === this.select.value);
    this.summary.textContent = into
      ? t('operator.merge_summary', { from: this.incident.number, into: into.number }) : '';
    this.#error(null);
  }

  #error(message) {
    this.errorLine.textContent = message ?? '';
    this.errorLine.hidden = !message;
  }
}
