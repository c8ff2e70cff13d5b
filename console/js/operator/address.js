/**
 * The address field as a combobox (WAI-ARIA "list autocomplete"): typing searches places
 * (GET /v1/geo/search?q=) once typing pauses; ↓/↑ move through the hits, Enter picks the
 * highlighted one, Esc closes the list; a click picks too. Enter never submits the form
 * from here (a half-typed address must not register a call).
 *
 * Events: 'pick' (detail: the hit), 'edit' (the text changed after a pick: the picked place
 * no longer stands).
 */
import { h, replaceChildren } from '../dom.js';
import { t } from '../i18n.js';
import { debounce } from './debounce.js';
import { hitContext } from './places.js';

const TYPING_PAUSE_MS = 200;
const MIN_QUERY = 3;
const LIMIT = 8;
const LEVEL_KEYS = {
  provinsi: 'operator.level_provinsi',
  kabkota: 'operator.level_kabkota',
  kecamatan: 'operator.level_kecamatan',
  kelurahan: 'operator.level_kelurahan',
};

export class AddressSearch extends EventTarget {
  constructor(api, input, list) {
    super();
    this.api = api;
    this.input = input;
    this.list = list;
    this.hits = [];
    this.active = -1;
    this.noMatch = false; // the last search found nothing
    this.sequence = 0;
    this.searchSoon = debounce(() => this.search(), TYPING_PAUSE_MS);
    input.addEventListener('input', () => {
      this.dispatchEvent(new CustomEvent('edit'));
      if (input.value.trim().length >= MIN_QUERY) this.searchSoon();
      else this.close();
    });
    input.addEventListener('keydown', (event) => this.#key(event));
    input.addEventListener('blur', () => window.setTimeout(() => this.close(), 150));
  }

  async search() {
    const query = this.input.value.trim();
    const sequence = ++this.sequence;
    if (query.length < MIN_QUERY) return;
    this.input.setAttribute('aria-busy', 'true');
    try {
      const hits = await this.api.get(`/v1/geo/search?q=${encodeURIComponent(query)}&limit=${LIMIT}`);
      const contexts = await Promise.all(hits.map((hit) => hitContext(this.api, hit)));
      if (sequence !== this.sequence || document.activeElement !== this.input) return;
      this.hits = hits.map((hit, index) => ({ ...hit, context: contexts[index] }));
      this.noMatch = hits.length === 0;
      this.active = -1;
      this.render();
    } catch {
      // A failed search leaves the text as typed: the server geocodes it on submit.
    } finally {
      if (sequence === this.sequence) this.input.removeAttribute('aria-busy');
    }
  }

  get isOpen() {
    return !this.list.hidden;
  }

  close() {
    this.sequence += 1;
    this.searchSoon.cancel();
    this.hits = [];
    this.noMatch = false;
    this.active = -1;
    this.render();
  }

  pick(index) {
    const hit = this.hits[index];
    if (!hit) return;
    this.close();
    this.dispatchEvent(new CustomEvent('pick', { detail: hit }));
  }

  #key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!this.hits.length) {
        this.search();
        return;
      }
      const step = event.key === 'ArrowDown' ? 1 : -1;
      this.active = (this.active + step + this.hits.length) % this.hits.length;
      this.render();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (this.hits.length) this.pick(Math.max(this.active, 0));
    } else if (event.key === 'Escape' && this.isOpen) {
      event.preventDefault();
      event.stopPropagation();
      this.close();
    }
  }

  render() {
    const options = this.hits.map((hit, index) => h('li', {
      id: `address-hit-${index}`,
      role: 'option',
      class: ['address-hit', index === this.active && 'active'],
      'aria-selected': String(index === this.active),
      data: { level: hit.level, code: hit.code },
      onmousedown: (event) => event.preventDefault(), // keep the focus in the field
      onclick: () => this.pick(index),
    },
    h('span', { class: 'hit-name' }, hit.name),
    h('span', { class: 'hit-context' }, [
      LEVEL_KEYS[hit.level] ? t(LEVEL_KEYS[hit.level]) : hit.level,
      ...hit.context.map((area) => (area.level === 'kecamatan' ? `Kec. ${area.name}` : area.name)),
    ].join(' · '))));
    replaceChildren(this.list, options,
      this.noMatch ? h('li', { class: 'address-none', role: 'presentation' }, t('operator.address_no_match')) : null);
    this.list.hidden = !options.length && !this.noMatch;
    this.input.setAttribute('aria-expanded', String(options.length > 0));
    if (this.active >= 0) {
      this.input.setAttribute('aria-activedescendant', `address-hit-${this.active}`);
      this.list.children[this.active]?.scrollIntoView({ block: 'nearest' });
    } else {
      this.input.removeAttribute('aria-activedescendant');
    }
  }
}
