/**
 * The shift's figures on the supervisor board (GET /v1/stats/shifts/current, then every
 * `stats.updated`): the figure strip (`data-stat="calls_total" | "incidents_total" |
 * "prank_ratio" | "unacknowledged"`, the number as text, as the page contract says), the
 * calls-per-hour chart, calls by disposition, incidents by priority and category, the
 * agencies' acknowledgement times and what they have not acknowledged, and the operators'
 * load. What each number counts is defined in dispatch/stats/figures.py.
 */
import { byId, h, replaceChildren } from '../dom.js';
import { CENTER_TIME_ZONE, formatAge } from '../format.js';
import { lang, t } from '../i18n.js';
import { HourChart, hoursInOrder } from './chart.js';

const DISPOSITION_ORDER = ['none', 'prank', 'ghost', 'info', 'duplicate', 'transferred', 'abandoned'];
const locale = lang === 'en' ? 'en-GB' : 'id-ID';
const hourMinute = new Intl.DateTimeFormat(locale, {
  timeZone: CENTER_TIME_ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
const dayMonth = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', day: 'numeric', month: 'short' });
const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
const ZONE_LABEL = { 'Asia/Jakarta': 'WIB', 'Asia/Pontianak': 'WIB', 'Asia/Makassar': 'WITA', 'Asia/Jayapura': 'WIT' }[CENTER_TIME_ZONE] ?? '';

const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });

/** Seconds as the room reads them: "0,4 dtk", "42 dtk", "2:10", "1 j 05 m"; "–" for none. */
export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 60) return t('supervisor.seconds', { value: decimal.format(seconds < 10 ? seconds : Math.round(seconds)) });
  return formatAge(Math.round(seconds));
}

/** "07:00": the center's clock at `iso`, as the figures' `calls.by_hour` keys are written. */
function clockLabel(iso) {
  const parts = Object.fromEntries(hourMinute.formatToParts(new Date(iso)).map((part) => [part.type, part.value]));
  return `${parts.hour}:${parts.minute}`;
}

/** "Shift pagi" and "2 Des, 07.00–15.00 WIB". */
export function shiftLabels(shift) {
  const day = dayMonth.format(new Date(`${shift.date}T00:00:00Z`));
  const window = `${hourMinute.format(new Date(shift.start))}–${hourMinute.format(new Date(shift.end))}`;
  return { name: t('supervisor.shift', { name: shift.name }), window: `${day}, ${window} ${ZONE_LABEL}`.trim() };
}

/** Not acknowledged, over every agency of the shift (what `data-stat="unacknowledged"` shows). */
export function unacknowledgedOf(figures) {
  return Object.values(figures.agencies ?? {}).reduce((sum, agency) => sum + (agency.unacknowledged ?? 0), 0);
}

/** A list of horizontal bars: [{label, value, className?, title?}] against `scale`. */
function bars(list, items, scale) {
  replaceChildren(list, items.map((item) => {
    const fill = h('span', { class: ['bar-fill', item.className] });
    fill.style.width = `${scale ? Math.round((item.value / scale) * 1000) / 10 : 0}%`;
    return h('li', { class: 'bar-row', data: { key: item.key }, title: item.title ?? item.label },
      h('span', { class: 'bar-label' }, item.label),
      h('span', { class: 'bar-track' }, fill),
      h('span', { class: 'bar-value' }, item.value));
  }));
}

export class ShiftBoard {
  /**
   * @param categories from loadCategories()
   * @param agencyNames Map code -> name
   */
  constructor(categories, agencyNames) {
    this.categories = categories;
    this.agencyNames = agencyNames;
    this.chart = new HourChart(byId('hour-chart'));
    this.figures = null;
    this.stat = Object.fromEntries([...document.querySelectorAll('[data-stat]')]
      .map((element) => [element.dataset.stat, element]));
  }

  /** The shift being shown ({date, name, ...}), null before the first figures. */
  get shift() {
    return this.figures?.shift ?? null;
  }

  show(figures) {
    this.figures = figures;
    const { calls, incidents, times } = figures;
    const labels = shiftLabels(figures.shift);
    byId('shift-name').textContent = labels.name;
    byId('shift-window').textContent = labels.window;
    this.#stat('calls_total', calls.total);
    this.#stat('incidents_total', incidents.total);
    this.#stat('prank_ratio', calls.prank_ratio);
    byId('prank-percent').textContent = percent.format(calls.prank_ratio);
    this.#stat('unacknowledged', unacknowledgedOf(figures));
    const escalated = Object.values(figures.agencies).reduce((sum, agency) => sum + (agency.escalated ?? 0), 0);
    byId('escalated-note').textContent = escalated ? t('supervisor.escalated_count', { count: escalated }) : '';
    byId('dispatch-median').textContent = formatSeconds(times.median_call_to_dispatch_s);
    byId('dispatch-p90').textContent = t('supervisor.p90', { value: formatSeconds(times.p90_call_to_dispatch_s) });
    this.#chart();
    this.#dispositions(calls);
    this.#incidents(incidents);
    this.#agencies(figures.agencies);
    this.#operators(figures.operators);
    document.body.dataset.figures = 'loaded';
  }

  /** Mark the hour running now (called every minute too). */
  #chart() {
    const shift = this.figures.shift;
    const hours = hoursInOrder(this.figures.calls.by_hour ?? {}, clockLabel(shift.start));
    const index = Math.floor((Date.now() - Date.parse(shift.start)) / 3600000);
    this.chart.show(hours, hours[index]?.[0] ?? null);
    byId('chart-total').textContent = t('supervisor.calls_count', { count: this.figures.calls.total });
  }

  tick() {
    if (this.figures) this.#chart();
  }

  #stat(name, value) {
    const element = this.stat[name];
    if (!element) return;
    const text = String(value);
    if (element.textContent !== text) {
      element.textContent = text;
      element.closest('.figure')?.classList.remove('changed');
      void element.offsetWidth;
      element.closest('.figure')?.classList.add('changed');
    }
    element.dataset.value = text;
  }

  #dispositions(calls) {
    const byDisposition = calls.by_disposition;
    const codes = [...DISPOSITION_ORDER, ...Object.keys(byDisposition).filter((c) => !DISPOSITION_ORDER.includes(c))];
    bars(byId('dispositions'), codes.filter((code) => code in byDisposition).map((code) => ({
      key: code,
      label: code === 'none' ? t('supervisor.disposition_none') : t(`disposition.${code}`),
      value: byDisposition[code],
      className: `disposition-${code}`,
    })), calls.total);
  }

  #incidents(incidents) {
    bars(byId('by-priority'), ['1', '2', '3', '4'].map((priority) => ({
      key: priority,
      label: `P${priority} · ${t(`priority.${priority}`)}`,
      value: incidents.by_priority[priority] ?? 0,
      className: `priority-${priority}`,
    })), incidents.total);
    const categories = Object.entries(incidents.by_category).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
    bars(byId('by-category'), categories.map(([code, value]) => ({
      key: code, label: this.categories.label(code), value, title: this.categories.label(code),
    })), Math.max(1, ...categories.map(([, value]) => value)));
    byId('by-category-empty').hidden = categories.length > 0;
  }

  #agencies(agencies) {
    const rows = Object.entries(agencies).sort(([a, x], [b, y]) => y.unacknowledged - x.unacknowledged
      || y.assigned - x.assigned || a.localeCompare(b));
    replaceChildren(byId('agencies-body'), rows.map(([code, figures]) => h('tr', {
      data: { agency: code }, class: figures.unacknowledged ? 'waiting' : null,
    },
    h('th', { scope: 'row', title: code }, this.agencyNames.get(code) ?? code),
    h('td', {}, figures.assigned),
    h('td', {}, figures.acknowledged),
    h('td', { class: 'unacknowledged', data: { value: figures.unacknowledged } }, figures.unacknowledged),
    h('td', {}, formatSeconds(figures.median_ack_s)),
    h('td', {}, formatSeconds(figures.p90_ack_s)))));
    byId('agencies-empty').hidden = rows.length > 0;
  }

  #operators(operators) {
    const rows = Object.entries(operators).sort(([a, x], [b, y]) => y.calls - x.calls || a.localeCompare(b));
    const most = Math.max(1, ...rows.map(([, figures]) => figures.calls));
    replaceChildren(byId('operators-body'), rows.map(([name, figures]) => {
      const fill = h('span', { class: 'bar-fill' });
      fill.style.width = `${Math.round((figures.calls / most) * 100)}%`;
      return h('tr', { data: { operator: name } },
        h('th', { scope: 'row' }, name),
        h('td', {}, figures.calls),
        h('td', {}, figures.incidents),
        h('td', { class: 'load' }, h('span', { class: 'bar-track' }, fill)));
    }));
    byId('operators-empty').hidden = rows.length > 0;
  }
}
