/**
 * The calls-per-hour chart of the supervisor board: one SVG bar per hour of the shift
 * (`calls.by_hour` of the shift's figures, keyed by the local time the hour starts), drawn
 * here without a chart library, redrawn when the figures or the panel's size change. The
 * hour running now is marked. Pixel coordinates (not a stretched viewBox), so text keeps
 * its size whatever the panel's width.
 */
import { t } from '../i18n.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = { top: 16, right: 6, bottom: 20, left: 28 };

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const minutesOf = (label) => {
  const [hours, minutes] = label.split(':').map(Number);
  return hours * 60 + minutes;
};

/** "07:00" -> "08:00", "23:00" -> "00:00". */
function hourAfter(label) {
  const minutes = (minutesOf(label) + 60) % 1440;
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/**
 * The hours of `byHour` in running order from the shift's start (the figures may come
 * through the feed's JSONB, which does not keep key order): [[label, count], ...].
 */
export function hoursInOrder(byHour, shiftStartLabel) {
  const start = minutesOf(shiftStartLabel);
  return Object.entries(byHour ?? {})
    .sort(([a], [b]) => ((minutesOf(a) - start + 1440) % 1440) - ((minutesOf(b) - start + 1440) % 1440));
}

/** A step for the value axis: 1, 2, 5, 10, 20, 50, ... giving at most `ticks` lines. */
function niceStep(max, ticks = 4) {
  const rough = Math.max(1, max / ticks);
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough);
}

export class HourChart {
  /** @param container an element sized by its CSS; the SVG fills it */
  constructor(container) {
    this.container = container;
    this.hours = [];
    this.currentLabel = null;
    new ResizeObserver(() => this.#draw()).observe(container);
  }

  /**
   * @param hours from hoursInOrder()
   * @param currentLabel the label of the hour running now (null: the shift is over)
   */
  show(hours, currentLabel) {
    this.hours = hours;
    this.currentLabel = currentLabel;
    this.#draw();
  }

  #draw() {
    const width = this.container.clientWidth;
    const height = this.container.clientHeight;
    if (!width || !height) return;
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const plotHeight = height - MARGIN.top - MARGIN.bottom;
    const max = Math.max(1, ...this.hours.map(([, count]) => count));
    const step = niceStep(max);
    const top = Math.ceil(max / step) * step;
    const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;
    const slot = plotWidth / Math.max(1, this.hours.length);
    const barWidth = Math.max(4, Math.min(48, slot * 0.7));

    const grid = [];
    for (let value = 0; value <= top; value += step) {
      grid.push(svg('line', { class: 'grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: y(value), y2: y(value) }),
        svg('text', { class: 'axis', x: MARGIN.left - 5, y: y(value) + 4, 'text-anchor': 'end' }, value));
    }
    const bars = this.hours.map(([label, count], index) => {
      const x = MARGIN.left + slot * index + (slot - barWidth) / 2;
      const title = t('supervisor.chart_bar', { from: label, to: hourAfter(label), count });
      return svg('g', { class: label === this.currentLabel ? 'hour current' : 'hour', 'data-hour': label, 'data-count': count },
        svg('title', {}, title),
        svg('rect', { x, y: y(count), width: barWidth, height: Math.max(0, y(0) - y(count)), rx: 2 }),
        count ? svg('text', { class: 'count', x: x + barWidth / 2, y: y(count) - 3, 'text-anchor': 'middle' }, count) : null,
        svg('text', { class: 'axis', x: x + barWidth / 2, y: height - 5, 'text-anchor': 'middle' }, label.slice(0, 2)));
    });
    const chart = svg('svg', { width, height, role: 'img', 'aria-label': t('supervisor.chart_label') }, ...grid, ...bars);
    this.container.replaceChildren(chart);
  }
}
