/**
 * What the center knows of the caller's number while the operator is on the line
 * (GET /v1/callers?caller_number=): calls and prank or ghost calls of the last 24 hours
 * (a repeat-caller warning when there were pranks or ghost calls), and the AML position
 * waiting for this call, if the handset's AML came first.
 *
 * The number is looked up once typing pauses on a plausible number, then every
 * POLL_MS while the form is open and no AML has been seen yet: an AML that reaches the
 * center during the call shows up by itself. Events: 'aml' (detail: the pending AML or
 * null), dispatched whenever it changes.
 */
import { h, replaceChildren } from '../dom.js';
import { formatTime } from '../format.js';
import { t } from '../i18n.js';
import { debounce } from './debounce.js';

const TYPING_PAUSE_MS = 350;
const POLL_MS = 3000;
// Indonesian numbers in international (+62 / 62) or local (0…) form, 9 to 13 digits after
// the prefix. The server checks for real (422 naming caller_number): this only keeps
// half-typed numbers from being looked up.
const PLAUSIBLE = /^(?:\+?62|0)[1-9]\d{7,11}$/;

/** The number as typed without spaces, dashes, dots or brackets. */
export function cleanNumber(raw) {
  return raw.replace(/[\s\-().]/g, '');
}

export function isPlausibleNumber(raw) {
  return PLAUSIBLE.test(cleanNumber(raw));
}

export class CallerWatch extends EventTarget {
  /**
   * @param api from apiClient()
   * @param input the caller_number input
   * @param info the element that shows the history and the warning
   */
  constructor(api, input, info) {
    super();
    this.api = api;
    this.input = input;
    this.info = info;
    this.history = null; // the last answer for the current number
    this.aml = null;
    this.inFlight = false;
    this.lookupSoon = debounce(() => this.lookup(), TYPING_PAUSE_MS);
    input.addEventListener('input', () => this.#typed());
    this.timer = window.setInterval(() => {
      if (!this.aml && !this.inFlight && isPlausibleNumber(this.input.value)) this.lookup();
    }, POLL_MS);
  }

  #typed() {
    if (this.history && cleanNumber(this.input.value) !== this.history.typed) {
      this.history = null;
      this.#setAml(null);
      this.render();
    }
    if (isPlausibleNumber(this.input.value)) this.lookupSoon();
    else this.lookupSoon.cancel();
  }

  /** Look the current number up now (a stale answer, for a number since changed, is dropped). */
  async lookup() {
    const typed = cleanNumber(this.input.value);
    if (!PLAUSIBLE.test(typed)) return;
    this.inFlight = true;
    try {
      const history = await this.api.get(`/v1/callers?caller_number=${encodeURIComponent(typed)}`);
      if (cleanNumber(this.input.value) !== typed) return;
      const unchanged = JSON.stringify(this.history) === JSON.stringify({ ...history, typed });
      this.history = { ...history, typed };
      this.#setAml(history.pending_aml ?? null);
      if (!unchanged) this.render(); // a warning is announced once, not at every poll
    } catch {
      // A number the server does not take (422) or a network blip: nothing to show; the
      // submit names the field if the number is really wrong.
    } finally {
      this.inFlight = false;
    }
  }

  /** A new call: forget the number. */
  reset() {
    this.lookupSoon.cancel();
    this.history = null;
    this.#setAml(null);
    this.render();
  }

  #setAml(aml) {
    const before = this.aml ? `${this.aml.id}` : null;
    this.aml = aml;
    if ((aml ? `${aml.id}` : null) !== before) this.dispatchEvent(new CustomEvent('aml', { detail: aml }));
  }

  render() {
    const history = this.history;
    if (!history) {
      replaceChildren(this.info);
      this.info.hidden = true;
      return;
    }
    const repeat = history.prank_or_ghost_24h;
    replaceChildren(this.info,
      repeat > 0 ? h('p', { id: 'repeat-caller', class: 'repeat-caller', role: 'alert', data: { count: repeat } },
        h('strong', {}, t('operator.repeat_caller')), ' ',
        t('operator.repeat_caller_detail', { count: repeat })) : null,
      h('p', { class: 'caller-history' },
        h('span', { class: 'e164' }, history.caller_number), ' · ',
        t('operator.calls_24h', { count: history.calls_24h }),
        this.aml ? [' · ', h('span', { class: 'aml-arrived' },
          t('operator.aml_arrived', { time: formatTime(this.aml.received_at) }))] : null));
    this.info.hidden = false;
  }
}
