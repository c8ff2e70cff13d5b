/**
 * Every visible string comes from one catalogue per language: console/i18n/id.js (Bahasa
 * Indonesia, the default) and console/i18n/en.js (English, with `?lang=en`). Keys are
 * namespaced by page: `common.*` (shared parts), `login.*`, `agency.*`, `status.*`, ...
 *
 *   t('agency.queue_title')                  -> "Antrean penugasan"
 *   t('agency.count', {count: 3})            -> "3 penugasan"      ({name} placeholders)
 *
 * Markup says which string it shows with `data-i18n="key"` (text) and
 * `data-i18n-attr="placeholder:key title:key"` (attributes); `translatePage()` fills both.
 * tests/console/test_i18n.py checks that both catalogues have the same keys and that every
 * key the pages use exists.
 */
import en from '../i18n/en.js';
import id from '../i18n/id.js';

const CATALOGUES = { id, en };

/** 'id' or 'en', from the page's `?lang=`. */
export const lang = new URLSearchParams(window.location.search).get('lang') === 'en' ? 'en' : 'id';
const strings = CATALOGUES[lang];

/** The string of `key` in the page's language, with `{name}` placeholders filled. */
export function t(key, values = {}) {
  const text = strings[key];
  if (typeof text !== 'string') {
    console.warn(`i18n: no ${lang} string for ${key}`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** Fill every `data-i18n` and `data-i18n-attr` element below `root`, and `<html lang>`. */
export function translatePage(root = document) {
  document.documentElement.lang = lang;
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of element.dataset.i18nAttr.trim().split(/\s+/)) {
      const [attribute, key] = pair.split(':');
      element.setAttribute(attribute, t(key));
    }
  }
}

/** `path` in the current language: `?lang=en` is carried from page to page. */
export function withLang(path, targetLang = lang) {
  const url = new URL(path, window.location.origin);
  if (targetLang === 'en') url.searchParams.set('lang', 'en');
  else url.searchParams.delete('lang');
  return url.pathname + url.search;
}
