/**
 * Incident categories (GET /v1/categories), named in the page's language: `name_id` in
 * Bahasa Indonesia, `name` in English. Read once per page.
 *
 *   const categories = await loadCategories(api);
 *   categories.label('crime')   // "Kriminalitas / gangguan keamanan"
 */
import { lang } from './i18n.js';

export async function loadCategories(api) {
  const list = await api.get('/v1/categories');
  const byCode = new Map(list.map((category) => [category.code, category]));
  return {
    list,
    byCode,
    /** The category's name in the page's language (its code when unknown). */
    label(code) {
      const category = byCode.get(code);
      if (!category) return code ?? '';
      return (lang === 'en' ? category.name : category.name_id) || category.name || code;
    },
  };
}
