/**
 * An incident as a NENA EIDO 1.0 document (GET /v1/incidents/{id}/eido), saved as
 * `<number>.eido.json`. The request needs the bearer token, so a plain link cannot do it:
 * the document is fetched and offered as a Blob download.
 *
 *   eidoButton(api, () => incident, (message) => showError(message))
 */
import { h } from './dom.js';
import { t } from './i18n.js';

export async function downloadEido(api, incident) {
  const document_ = await api.get(`/v1/incidents/${incident.id}/eido`);
  const blob = new Blob([JSON.stringify(document_, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const name = `${incident.number}.eido.json`;
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
  return name;
}

/** A small "EIDO" button downloading the incident `current()` gives; `onError(text)`. */
export function eidoButton(api, current, onError = () => {}) {
  return h('button', {
    type: 'button', class: 'eido', data: { action: 'eido' }, title: t('common.eido_title'),
    onclick: async (event) => {
      const button = event.currentTarget;
      const incident = current();
      if (!incident) return;
      button.disabled = true;
      try {
        await downloadEido(api, incident);
      } catch (error) {
        onError(t('common.eido_failed', { detail: error.message }));
      } finally {
        button.disabled = false;
      }
    },
  }, t('common.eido'));
}
