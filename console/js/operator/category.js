/**
 * Category and priority. `<select name="category">` holds the category codes with their
 * names in the page's language (Bahasa by default), and filters as the operator types:
 * "medis" leaves "Gawat darurat medis" (any word, any part of the name or the code, accents
 * and case ignored), selected at once; ↓/↑ move among the matches, Backspace shortens the
 * filter, Esc clears it. Leaving the field keeps the choice and shows every category again.
 *
 * Priority follows the category's default_priority until the operator sets it (Alt+1…4 or
 * the field); a new category then leaves the operator's priority alone.
 */
import { h, replaceChildren } from '../dom.js';
import { t } from '../i18n.js';

function folded(text) {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

export class CategoryPicker extends EventTarget {
  constructor(select, priority, filterHint, categories) {
    super();
    this.select = select;
    this.priority = priority;
    this.filterHint = filterHint;
    this.categories = categories;
    this.filter = '';
    this.priorityTouched = false;
    this.entries = categories.list
      .map((category) => ({ category, label: categories.label(category.code) }))
      .map((entry) => ({ ...entry, haystack: folded(`${entry.label} ${entry.category.name} ${entry.category.code.replace(/_/g, ' ')}`) }))
      .sort((a, b) => a.label.localeCompare(b.label));
    replaceChildren(priority, h('option', { value: '' }, t('operator.priority_auto')),
      [1, 2, 3, 4].map((value) => h('option', { value }, `${value} · ${t(`priority.${value}`)}`)));
    priority.value = '';
    select.addEventListener('keydown', (event) => this.#key(event));
    select.addEventListener('change', () => this.#changed());
    select.addEventListener('blur', () => this.#clearFilter());
    priority.addEventListener('change', () => { this.priorityTouched = true; });
    this.#fill();
  }

  get value() {
    return this.select.value || null;
  }

  /** Set the priority by shortcut (Alt+1…4). */
  setPriority(value) {
    this.priority.value = String(value);
    this.priorityTouched = true;
  }

  reset() {
    this.filter = '';
    this.priorityTouched = false;
    this.#fill();
    this.select.value = '';
    this.priority.value = '';
    this.#changed();
  }

  #key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key.length === 1 && (event.key !== ' ' || this.filter)) {
      this.#setFilter(this.filter + event.key);
    } else if (event.key === 'Backspace' && this.filter) {
      this.#setFilter(this.filter.slice(0, -1));
    } else if (event.key === 'Escape' && this.filter) {
      event.stopPropagation();
      this.#setFilter('');
    } else if (event.key === 'Enter') {
      // A chosen category: Enter goes on to the next field (Ctrl+Enter submits).
    } else {
      return;
    }
    event.preventDefault();
  }

  #setFilter(filter) {
    const before = this.select.value;
    this.filter = filter;
    const matches = this.#fill();
    if (filter) this.select.value = matches[0]?.category.code ?? '';
    if (this.select.value !== before) this.#changed();
  }

  #clearFilter() {
    if (!this.filter) return;
    const value = this.select.value;
    this.filter = '';
    this.#fill();
    this.select.value = value;
  }

  /** The select's options for the current filter; returns the matches. */
  #fill() {
    const words = folded(this.filter).split(/\s+/).filter(Boolean);
    const matches = this.entries.filter((entry) => words.every((word) => entry.haystack.includes(word)));
    // Names that start with the first word typed come first.
    const first = words[0] ?? '';
    matches.sort((a, b) => Number(!folded(a.label).startsWith(first)) - Number(!folded(b.label).startsWith(first)));
    const value = this.select.value;
    replaceChildren(this.select,
      this.filter ? null : h('option', { value: '' }, t('operator.category_none')),
      matches.map(({ category, label }) => h('option', { value: category.code, data: { priority: category.default_priority } }, label)),
      this.filter && !matches.length ? h('option', { value: '' }, t('operator.category_no_match')) : null);
    if (!this.filter) this.select.value = value;
    this.filterHint.textContent = this.filter ? t('operator.category_filter', { filter: this.filter, count: matches.length }) : '';
    this.filterHint.hidden = !this.filter;
    return matches;
  }

  #changed() {
    const category = this.categories.byCode.get(this.select.value);
    if (category && !this.priorityTouched) this.priority.value = String(category.default_priority);
    if (!category && !this.priorityTouched) this.priority.value = '';
    this.dispatchEvent(new CustomEvent('change', { detail: this.value }));
  }
}
