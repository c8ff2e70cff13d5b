/**
 * An incident's notes (append-only, API.md "Incident notes, merge, nearby"): the list,
 * oldest first, each with its author, the role or agency it wrote as and its time in the
 * centre's zone; below, a form to add one (`<textarea name="text">`, Ctrl+Enter or the
 * button submits: POST /v1/incidents/{id}/notes). Shared by the agency and operator pages.
 *
 * One element per page, kept across the page's re-renders (a half-typed note survives a
 * feed event or a poll; a draft is kept per incident when another one is shown):
 *
 *   const notes = new NotesView(api);
 *   container.append(notes.element);
 *   notes.show(incident);               // {id, notes, merged_into}; null hides it
 *   notes.add(note);                    // a note that arrived live (kept once, by id)
 *   notes.addEventListener('added', (e) => ...e.detail);   // one this page added
 *
 * Note elements carry `data-note-id`.
 */
import { h, replaceChildren } from './dom.js';
import { formatDateTime, formatTime } from './format.js';
import { t } from './i18n.js';

const MAX_CHARS = 4000;

export class NotesView extends EventTarget {
  constructor(api) {
    super();
    this.api = api;
    this.incidentId = null;
    this.notes = [];
    this.mergedInto = null;
    this.drafts = new Map(); // incident id -> text typed and not sent
    this.shownKey = null;
    this.busy = false;
    this.count = h('span', { class: 'notes-count' });
    this.list = h('ol', { class: 'notes-list' });
    this.empty = h('p', { class: 'notes-empty' }, t('notes.empty'));
    this.text = h('textarea', {
      name: 'text', rows: 2, maxlength: MAX_CHARS, spellcheck: 'false',
      placeholder: t('notes.placeholder'), 'aria-label': t('notes.add'),
      onkeydown: (event) => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          event.stopPropagation();
          this.submit();
        }
      },
      oninput: () => this.#error(null),
    });
    this.button = h('button', { type: 'submit', data: { action: 'add-note' }, title: 'Ctrl+Enter' }, t('notes.add'));
    this.errorLine = h('p', { class: 'notes-error', role: 'alert', hidden: true });
    this.form = h('form', {
      class: 'note-form', novalidate: true, autocomplete: 'off',
      onsubmit: (event) => {
        event.preventDefault();
        this.submit();
      },
    }, this.text, this.button, this.errorLine);
    this.element = h('section', { class: 'notes', hidden: true },
      h('h3', {}, t('incident.notes'), ' ', this.count), this.list, this.empty, this.form);
  }

  /** Show `incident`'s notes (and the form for it); null hides the section. */
  show(incident) {
    if (!incident) {
      this.#switchTo(null);
      this.element.hidden = true;
      return;
    }
    this.#switchTo(incident.id);
    this.element.hidden = false;
    this.element.dataset.incidentId = incident.id;
    this.mergedInto = incident.merged_into ?? null;
    if (Array.isArray(incident.notes)) this.notes = mergeNotes([], incident.notes);
    this.render();
  }

  /** A note that arrived from elsewhere (a feed event); ignored for another incident. */
  add(note) {
    if (!note || note.incident_id !== this.incidentId) return;
    this.notes = mergeNotes(this.notes, [note]);
    this.render();
  }

  async submit() {
    const text = this.text.value.trim();
    if (!this.incidentId || this.busy) return;
    if (!text) {
      this.#error(t('notes.required'));
      this.text.focus();
      return;
    }
    const incidentId = this.incidentId;
    this.busy = true;
    this.form.setAttribute('aria-busy', 'true');
    this.button.disabled = true;
    try {
      const note = await this.api.post(`/v1/incidents/${incidentId}/notes`, { text });
      this.drafts.delete(incidentId);
      if (this.incidentId === incidentId) {
        this.text.value = '';
        this.#error(null);
        this.add(note);
      }
      this.dispatchEvent(new CustomEvent('added', { detail: note }));
    } catch (error) {
      if (this.incidentId === incidentId) this.#error(t('notes.failed', { detail: error.message }));
    } finally {
      this.busy = false;
      this.form.removeAttribute('aria-busy');
      this.button.disabled = false;
    }
  }

  render() {
    const key = JSON.stringify([this.incidentId, this.mergedInto, this.notes.map((note) => note.id)]);
    if (key === this.shownKey) return;
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 4;
    this.shownKey = key;
    replaceChildren(this.list, this.notes.map((note) => h('li', { class: 'note', data: { noteId: note.id } },
      h('div', { class: 'note-meta' },
        h('span', { class: 'note-author' }, note.author),
        h('span', { class: 'note-role' }, note.agency_code ?? t(`role.${note.role}`)),
        h('time', { datetime: note.at, title: formatDateTime(note.at) }, formatTime(note.at))),
      h('p', { class: 'note-text' }, note.text))));
    this.count.textContent = this.notes.length ? `(${this.notes.length})` : '';
    this.empty.hidden = this.notes.length > 0;
    this.form.hidden = Boolean(this.mergedInto); // its notes live on the surviving incident
    if (atBottom) this.list.scrollTop = this.list.scrollHeight; // the newest stays in sight
  }

  #switchTo(incidentId) {
    if (incidentId === this.incidentId) return;
    if (this.incidentId) {
      const draft = this.text.value;
      if (draft.trim()) this.drafts.set(this.incidentId, draft);
      else this.drafts.delete(this.incidentId);
    }
    this.incidentId = incidentId;
    this.notes = [];
    this.mergedInto = null;
    this.text.value = (incidentId && this.drafts.get(incidentId)) ?? '';
    this.#error(null);
    if (!incidentId) delete this.element.dataset.incidentId;
  }

  #error(message) {
    this.errorLine.textContent = message ?? '';
    this.errorLine.hidden = !message;
  }
}

/** `held` and `more` as one list, each note once (by id), oldest first. */
export function mergeNotes(held, more) {
  const byId = new Map(held.map((note) => [note.id, note]));
  for (const note of more) byId.set(note.id, note);
  return [...byId.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.id.localeCompare(b.id));
}
