/**
 * Possible duplicates: the open incidents near the caller's location (GET
 * /v1/incidents/nearby, any category until one is chosen, then that category's), shown as
 * soon as a location is known, each with its number, category, distance and age, and a
 * "link to this incident" action: the call is then registered as part of that incident
 * (`link_incident_id`) instead of opening a new one. Alt+T links the nearest (or unlinks).
 * Looked at again with every read of the open incidents (`again()`), so an incident another
 * operator opens nearby while the caller talks shows up too.
 */
import { h, replaceChildren } from '../dom.js';
import { formatAge, formatDistance } from '../format.js';
import { t } from '../i18n.js';

export class Duplicates extends EventTarget {
  constructor(api, section, list, linkState, categories) {
    super();
    this.api = api;
    this.section = section;
    this.list = list;
    this.linkState = linkState;
    this.categories = categories;
    this.items = [];
    this.linked = null; // the incident the call will be linked to: {incident_id, number, ...}
    this.sequence = 0;
    this.where = null; // [location, category] of the last look
    this.shownKey = null;
    this.render();
  }

  /** Look again where the last look was (nothing when no location is known). */
  again() {
    if (this.where?.[0]) this.update(...this.where);
  }

  /** Look again around `location` ({lat, lon} or null), of `category` (or any). */
  async update(location, category) {
    const sequence = ++this.sequence;
    this.where = [location, category];
    if (!location) {
      this.items = [];
      this.render();
      return;
    }
    const query = new URLSearchParams({ lat: String(location.lat), lon: String(location.lon) });
    if (category) query.set('category', category);
    try {
      const answer = await this.api.get(`/v1/incidents/nearby?${query}`);
      if (sequence !== this.sequence) return;
      this.items = answer.items;
      this.render();
    } catch {
      // Keep the last list: a blip must not hide a duplicate the operator was reading.
    }
  }

  link(item) {
    this.linked = item;
    this.render();
    this.dispatchEvent(new CustomEvent('link', { detail: item }));
  }

  unlink() {
    this.linked = null;
    this.render();
    this.dispatchEvent(new CustomEvent('link', { detail: null }));
  }

  /** Alt+T: link the nearest possible duplicate, or undo the link. */
  toggleNearest() {
    if (this.linked) this.unlink();
    else if (this.items[0]) this.link(this.items[0]);
  }

  reset() {
    this.sequence += 1;
    this.where = null;
    this.items = [];
    this.linked = null;
    this.render();
  }

  render() {
    const key = JSON.stringify([this.items, this.linked?.incident_id]);
    if (key === this.shownKey) return; // a look that found the same: the rows stay as they are
    this.shownKey = key;
    replaceChildren(this.list, this.items.map((item) => {
      const linked = this.linked?.incident_id === item.incident_id;
      return h('li', {
        class: ['duplicate', linked && 'linked'], data: { incidentId: item.incident_id, status: item.status },
      },
      h('span', { class: `priority-badge priority-${item.priority}`, title: t(`priority.${item.priority}`) }, `P${item.priority}`),
      h('span', { class: 'incident-number' }, item.number),
      h('span', { class: 'category' }, this.categories.label(item.category)),
      h('span', { class: 'distance' }, formatDistance(item.distance_m)),
      h('span', { class: 'age', title: t('operator.age_title') }, formatAge(item.age_s)),
      h('button', {
        type: 'button', class: ['link', linked && 'primary'], tabindex: -1, data: { link: item.incident_id },
        'aria-pressed': String(linked),
        onclick: () => (linked ? this.unlink() : this.link(item)),
      }, t(linked ? 'operator.linked' : 'operator.link')));
    }));
    this.section.hidden = this.items.length === 0 && !this.linked;
    if (this.linked) {
      replaceChildren(this.linkState,
        h('span', {}, t('operator.link_state', { number: this.linked.number })), ' ',
        h('button', { type: 'button', class: 'unlink', tabindex: -1, onclick: () => this.unlink() }, t('operator.unlink')));
      this.linkState.hidden = false;
    } else {
      replaceChildren(this.linkState);
      this.linkState.hidden = true;
    }
  }
}
