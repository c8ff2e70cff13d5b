/**
 * Places as the operator's address search shows them: a hit of GET /v1/geo/search placed in
 * its kecamatan and kabupaten/kota (named from the boundaries the map loads anyway, by the
 * area code's prefix: kelurahan 35.76.01.1003 lies in kecamatan 35.76.01 of 35.76), the
 * accuracy to assume for it (the area's equal-area radius, as the server assumes when it
 * geocodes an address; 50 m for a gazetteer entry), and the address text to send that makes
 * the server's geocoder find the same place again ("Kauman, Kec. Prajuritkulon, Kota
 * Mojokerto": two kelurahan are called Kauman).
 */
import { loadBoundaries } from '../map.js';

const AREA_LEVELS = ['kabkota', 'kecamatan', 'kelurahan'];
const GAZETTEER_ACCURACY_M = 50; // geo/search.py GAZETTEER_RADIUS_M
const FALLBACK_ACCURACY_M = { provinsi: 50000, kabkota: 15000, kecamatan: 4000, kelurahan: 1000 };
const EARTH_RADIUS_M = 6371008.8;

let areasByCode = null; // Promise of Map code -> {name, level, geometry}

function areas(api) {
  if (!areasByCode) {
    areasByCode = Promise.all(AREA_LEVELS.map((level) => loadBoundaries(api, level).catch(() => null)))
      .then((collections) => {
        const byCode = new Map();
        for (const collection of collections) {
          for (const feature of collection?.features ?? []) {
            byCode.set(feature.properties.code, { ...feature.properties, geometry: feature.geometry });
          }
        }
        return byCode;
      });
  }
  return areasByCode;
}

/** The names of the kecamatan and kab/kota a hit lies in, as far as its code tells. */
export async function hitContext(api, hit) {
  if (!['kelurahan', 'kecamatan'].includes(hit.level)) return [];
  const byCode = await areas(api);
  const parts = hit.code.split('.');
  const parents = hit.level === 'kelurahan' ? [parts.slice(0, 3), parts.slice(0, 2)] : [parts.slice(0, 2)];
  return parents.map((codeParts) => byCode.get(codeParts.join('.'))).filter(Boolean)
    .map((area) => ({ level: area.level, name: area.name }));
}

/** The accuracy (metres) to assume for a hit: its area's equal-area radius. */
export async function hitAccuracy(api, hit) {
  if (!(hit.level in FALLBACK_ACCURACY_M)) return GAZETTEER_ACCURACY_M;
  const area = (await areas(api)).get(hit.code);
  const squareMetres = area ? geometryArea(area.geometry) : 0;
  return squareMetres > 0 ? Math.round(Math.sqrt(squareMetres / Math.PI)) : FALLBACK_ACCURACY_M[hit.level];
}

/**
 * The address text that names a hit unambiguously, from the area its point lies in (GET
 * /v1/geo/reverse answer's `area`, or null).
 */
export function addressText(hit, area) {
  const kecamatan = area?.kecamatan?.name;
  const kabkota = area?.kabkota?.name;
  const parts = {
    kelurahan: [hit.name, kecamatan && `Kec. ${kecamatan}`, kabkota],
    kecamatan: [`Kec. ${hit.name}`, kabkota],
    kabkota: [hit.name],
    provinsi: [hit.name],
  }[hit.level] ?? [hit.name, area?.kelurahan?.name, kecamatan && `Kec. ${kecamatan}`];
  return parts.filter(Boolean).join(', ');
}

/** Area of a GeoJSON (Multi)Polygon in m² (equirectangular per ring: plenty for a radius). */
function geometryArea(geometry) {
  const polygons = geometry?.type === 'MultiPolygon' ? geometry.coordinates
    : geometry?.type === 'Polygon' ? [geometry.coordinates] : [];
  let total = 0;
  for (const [outer, ...holes] of polygons) {
    total += ringArea(outer) - holes.reduce((sum, hole) => sum + ringArea(hole), 0);
  }
  return total;
}

function ringArea(ring) {
  if (!ring || ring.length < 3) return 0;
  const meanLat = ring.reduce((sum, [, lat]) => sum + lat, 0) / ring.length;
  const k = (Math.PI / 180) * EARTH_RADIUS_M;
  const kx = k * Math.cos((meanLat * Math.PI) / 180);
  let twice = 0;
  for (let i = 0; i < ring.length; i += 1) {
    const [x1, y1] = ring[i];
    const [x2, y2] = ring[(i + 1) % ring.length];
    twice += x1 * kx * (y2 * k) - x2 * kx * (y1 * k);
  }
  return Math.abs(twice) / 2;
}
