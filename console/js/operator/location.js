/**
 * Where the caller is, from any of four sources, always shown with its source, its accuracy
 * (a circle on the map) and its kelurahan/kecamatan (GET /v1/geo/reverse):
 *
 * - AML: the handset's own fix waiting for this number (CallerWatch); the server takes it
 *   itself when the call is registered (AML comes first in its precedence), so it is shown,
 *   never sent.
 * - address: a place picked from the live search (AddressSearch). Sent as `address`, a text
 *   that names that place unambiguously; the server geocodes it (source "address"), so a
 *   later AML may still improve it. Text typed but not picked is sent as typed.
 * - map click, or coordinates typed in `lat`/`lon` ("-7.47, 112.43" pasted into lat, or
 *   typed there and Enter, fills both):
 *   sent as `location` {lat, lon, accuracy_m} (source "manual"). A click's accuracy is what
 *   a few pixels measure at the map's zoom; typed coordinates', what their decimals tell.
 *
 * The latest of address / click / coordinates is the operator's choice; an AML, when there
 * is one, is what the server will use. Event 'change' (the shown location changed).
 */
import { h, replaceChildren } from '../dom.js';
import { formatDistance, formatTime } from '../format.js';
import { t } from '../i18n.js';
import { accuracyCircle } from '../map.js';
import { AddressSearch } from './address.js';
import { debounce } from './debounce.js';
import { addressText, hitAccuracy } from './places.js';

const L = window.L;
const SOURCE_KEYS = { aml: 'source.aml', manual: 'source.manual', address: 'source.address' };
const VIA_KEYS = { map: 'operator.via_map', coords: 'operator.via_coords', search: 'operator.via_search' };
const CLICK_PIXELS = 8; // a click is good to about this many pixels
const COORD_DECIMALS = 5;

/** Accuracy (m) of coordinates typed with `decimals` decimals: half the last digit's step. */
function typedAccuracy(decimals) {
  return Math.max(5, Math.round((111320 * 10 ** -decimals) / 2));
}

function decimalsOf(text) {
  return (text.split(/[.,]/)[1] ?? '').length;
}

/** A typed coordinate ("-7,4701" with a decimal comma too), or NaN. */
export function parseCoordinate(text) {
  const cleaned = text.trim().replace(/\u2212/g, '-').replace(',', '.');
  return /^[-+]?\d+(\.\d+)?$/.test(cleaned) ? Number(cleaned) : NaN;
}

const NUMBER = String.raw`[-+\u2212]?\d+\.\d+`;
const COMMA_NUMBER = String.raw`[-+\u2212]?\d+(?:,\d+)?`;
const PAIRS = [
  new RegExp(`^\\s*(${NUMBER})\\s*(?:[,;]\\s*|\\s+)(${NUMBER})\\s*$`), // -7.47, 112.43
  new RegExp(`^\\s*(${COMMA_NUMBER})\\s*(?:;\\s*|\\s+)(${COMMA_NUMBER})\\s*$`), // -7,47; 112,43
];

/** "-7.47, 112.43" (typed or pasted into the lat field) as its two parts, or null. */
export function parsePair(text) {
  for (const pattern of PAIRS) {
    const match = pattern.exec(text);
    if (match) return [match[1], match[2]];
  }
  return null;
}

export class LocationPicker extends EventTarget {
  /**
   * @param api from apiClient()
   * @param form the call form (fields address, lat, lon)
   * @param summary the element that shows the location
   * @param regionMap from createMap()
   * @param showError (name, message|null) shows or clears a field's error
   */
  constructor(api, form, summary, regionMap, showError) {
    super();
    this.api = api;
    this.form = form;
    this.summary = summary;
    this.regionMap = regionMap;
    this.showError = showError;
    this.chosen = null; // {source, via, lat, lon, accuracy_m, hit?}
    this.aml = null;
    this.area = null; // {key, area, in_service_area} of the shown location
    this.settling = null; // a pick whose address text is still being composed
    this.layer = L.layerGroup().addTo(regionMap.map);
    this.address = new AddressSearch(api, form.elements.address, document.getElementById('address-results'));
    this.address.addEventListener('pick', (event) => { this.settling = this.#picked(event.detail); });
    this.address.addEventListener('edit', () => {
      if (this.chosen?.source === 'address') this.#choose(null);
    });
    const coordsSoon = debounce(() => this.#typedCoordinates(false), 600);
    for (const name of ['lat', 'lon']) {
      const input = form.elements[name];
      input.addEventListener('input', (event) => {
        this.showError(name, null);
        if (event.inputType === 'insertFromPaste') this.#splitPair();
        coordsSoon();
      });
      input.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && !event.ctrlKey && !event.metaKey) {
          event.preventDefault();
          coordsSoon.cancel();
          this.#splitPair();
          this.#typedCoordinates(true);
        }
      });
      input.addEventListener('change', () => {
        coordsSoon.cancel();
        this.#splitPair();
        this.#typedCoordinates(true);
      });
    }
    regionMap.map.on('click', (event) => this.#clicked(event.latlng));
    this.render();
  }

  /** The location the server will use (as far as the page can tell), or null. */
  get shown() {
    if (this.aml) return { source: 'aml', lat: this.aml.lat, lon: this.aml.lon, accuracy_m: this.aml.accuracy_m };
    return this.chosen;
  }

  /** The waiting AML of the caller's number (CallerWatch), or null. */
  setAml(aml) {
    this.aml = aml;
    this.#changed(Boolean(aml));
  }

  /** The body fields of the location for POST /v1/calls (after settle()). */
  payload() {
    const body = {};
    const text = this.form.elements.address.value.trim();
    if (text) body.address = text;
    if (this.chosen?.source === 'manual') {
      const { lat, lon, accuracy_m: accuracy } = this.chosen;
      body.location = { lat, lon, ...(accuracy ? { accuracy_m: accuracy } : {}) };
    }
    return body;
  }

  /** Wait for a pick's address text (a reverse geocoding) before the form is sent. */
  async settle() {
    await this.settling;
  }

  reset() {
    this.address.close();
    this.chosen = null;
    this.aml = null;
    this.area = null;
    this.settling = null;
    this.render();
    this.#draw(false);
  }

  async #picked(hit) {
    const input = this.form.elements.address;
    input.value = hit.name;
    this.showError('address', null);
    this.#clearCoordinates();
    const [accuracy, reverse] = await Promise.all([hitAccuracy(this.api, hit), this.#reverse(hit)]);
    if (input.value !== hit.name) return; // typed on meanwhile
    input.value = addressText(hit, reverse?.area);
    this.#choose({ source: 'address', via: 'search', lat: hit.lat, lon: hit.lon, accuracy_m: accuracy, hit });
  }

  #clicked(latlng) {
    const metresPerPixel = (40075016.686 * Math.cos((latlng.lat * Math.PI) / 180))
      / 2 ** (this.regionMap.map.getZoom() + 8);
    const lat = Number(latlng.lat.toFixed(COORD_DECIMALS));
    const lon = Number(latlng.lng.toFixed(COORD_DECIMALS));
    this.form.elements.lat.value = lat.toFixed(COORD_DECIMALS);
    this.form.elements.lon.value = lon.toFixed(COORD_DECIMALS);
    this.showError('lat', null);
    this.showError('lon', null);
    const accuracy = Math.max(5, Math.round(metresPerPixel * CLICK_PIXELS));
    this.#choose({ source: 'manual', via: 'map', lat, lon, accuracy_m: accuracy }, false);
  }

  /** A pair in the lat field ("-7.47, 112.43", pasted, or typed then Enter) fills both. */
  #splitPair() {
    const pair = parsePair(this.form.elements.lat.value);
    if (pair) [this.form.elements.lat.value, this.form.elements.lon.value] = pair;
  }

  #typedCoordinates(final) {
    const latText = this.form.elements.lat.value;
    const lonText = this.form.elements.lon.value;
    if (!latText.trim() && !lonText.trim()) {
      if (this.chosen?.source === 'manual') this.#choose(null);
      return;
    }
    const lat = parseCoordinate(latText);
    const lon = parseCoordinate(lonText);
    const latOk = Number.isFinite(lat) && Math.abs(lat) <= 90;
    const lonOk = Number.isFinite(lon) && Math.abs(lon) <= 180;
    if (final || (latText.trim() && lonText.trim())) {
      if (!latOk && latText.trim()) this.showError('lat', t('operator.lat_invalid'));
      if (!lonOk && lonText.trim()) this.showError('lon', t('operator.lon_invalid'));
    }
    if (!latOk || !lonOk) return;
    const same = this.chosen?.source === 'manual' && this.chosen.lat === lat && this.chosen.lon === lon;
    if (same) return;
    const accuracy = typedAccuracy(Math.min(decimalsOf(latText), decimalsOf(lonText)));
    this.#choose({ source: 'manual', via: 'coords', lat, lon, accuracy_m: accuracy });
  }

  #clearCoordinates() {
    this.form.elements.lat.value = '';
    this.form.elements.lon.value = '';
    this.showError('lat', null);
    this.showError('lon', null);
  }

  #choose(location, moveMap = true) {
    this.chosen = location;
    this.#changed(moveMap);
  }

  async #changed(moveMap) {
    this.render();
    this.#draw(moveMap);
    this.dispatchEvent(new CustomEvent('change', { detail: this.shown }));
    const shown = this.shown;
    if (!shown) return;
    const key = `${shown.lat},${shown.lon}`;
    if (this.area?.key === key) return;
    const reverse = await this.#reverse(shown);
    if (reverse && this.shown && `${this.shown.lat},${this.shown.lon}` === key) {
      this.area = { key, ...reverse };
      this.render();
    }
  }

  async #reverse({ lat, lon }) {
    try {
      return await this.api.get(`/v1/geo/reverse?lat=${lat}&lon=${lon}`);
    } catch {
      return null;
    }
  }

  /** The shown location (and the operator's own choice under an AML) on the map. */
  #draw(moveMap) {
    this.layer.clearLayers();
    const shown = this.shown;
    if (this.aml && this.chosen) this.layer.addLayer(this.#marker(this.chosen, false));
    if (!shown) return;
    const circle = accuracyCircle(shown);
    if (circle) this.layer.addLayer(circle);
    this.layer.addLayer(this.#marker(shown, true));
    if (!moveMap) return;
    const map = this.regionMap.map;
    this.regionMap.focus(shown, 15);
    if (circle && !map.getBounds().contains(circle.getBounds())) {
      map.fitBounds(circle.getBounds(), { padding: [20, 20], animate: false });
    }
  }

  #marker(location, main) {
    return L.circleMarker([location.lat, location.lon], {
      radius: main ? 7 : 5, color: '#fff', weight: 2, fillColor: main ? '#0d47a1' : '#78909c', fillOpacity: 1,
      interactive: false, className: main ? 'caller-position' : 'caller-position-other',
    });
  }

  render() {
    const shown = this.shown;
    this.summary.dataset.source = shown?.source ?? '';
    if (!shown) {
      replaceChildren(this.summary, h('span', { class: 'muted' }, t('operator.location_unknown')));
      return;
    }
    const area = this.area?.key === `${shown.lat},${shown.lon}` ? this.area : null;
    const areaText = area?.area
      ? [area.area.kelurahan.name, `Kec. ${area.area.kecamatan.name}`, area.area.kabkota.name].join(' · ')
      : area ? t('operator.outside_area') : '…';
    replaceChildren(this.summary,
      h('div', { class: 'location-line' },
        h('span', { class: `source-badge source-${shown.source}`, id: 'location-source' }, t(SOURCE_KEYS[shown.source])),
        shown.via ? h('span', { class: 'via' }, t(VIA_KEYS[shown.via])) : null,
        shown.accuracy_m ? h('span', { class: 'accuracy', title: t('operator.accuracy') },
          `±${formatDistance(shown.accuracy_m)}`) : null,
        h('span', { class: 'coords' }, `${shown.lat.toFixed(5)}, ${shown.lon.toFixed(5)}`)),
      h('div', { class: ['location-area', area && !area.area && 'outside'] }, areaText),
      this.aml ? h('div', { class: 'aml-note' }, t('operator.aml_used', { time: formatTime(this.aml.received_at) }),
        this.chosen ? ` ${t('operator.aml_over_choice')}` : '') : null);
  }
}
