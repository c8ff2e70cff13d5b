/**
 * Times, ages and distances as the room reads them. Times are shown in the center's zone
 * (CENTER_TIME_ZONE, with its Indonesian label WIB/WITA/WIT), whatever the PC's clock says.
 */
import { lang, t } from './i18n.js';

/** The center's zone (the service's DISPATCH_TIMEZONE; not served by the API yet). */
export const CENTER_TIME_ZONE = 'Asia/Jakarta';
const ZONE_LABELS = {
  'Asia/Jakarta': 'WIB', 'Asia/Pontianak': 'WIB', 'Asia/Makassar': 'WITA', 'Asia/Jayapura': 'WIT',
};
const locale = lang === 'en' ? 'en-GB' : 'id-ID';
const clock = new Intl.DateTimeFormat(locale, {
  timeZone: CENTER_TIME_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
const dateAndClock = new Intl.DateTimeFormat(locale, {
  timeZone: CENTER_TIME_ZONE, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  hour12: false,
});

/** "14:05:09 WIB" */
export function formatTime(iso) {
  return `${clock.format(new Date(iso))} ${ZONE_LABELS[CENTER_TIME_ZONE] ?? ''}`.trim();
}

/** "23 Nov 14:05 WIB" */
export function formatDateTime(iso) {
  return `${dateAndClock.format(new Date(iso))} ${ZONE_LABELS[CENTER_TIME_ZONE] ?? ''}`.trim();
}

/** Seconds since `iso` (never negative: the PC's clock may run a little behind). */
export function ageSeconds(iso, now = Date.now()) {
  return Math.max(0, Math.floor((now - new Date(iso).getTime()) / 1000));
}

/** "0:42", "12:05", "2 j 05 m" (hours in the page's language). */
export function formatAge(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
  return t('common.age_hours', {
    hours: Math.floor(minutes / 60), minutes: String(minutes % 60).padStart(2, '0'),
  });
}

/** "850 m", "2,4 km" */
export function formatDistance(metres) {
  if (metres === null || metres === undefined) return '';
  if (metres < 1000) return `${Math.round(metres)} m`;
  return `${(metres / 1000).toLocaleString(locale, { maximumFractionDigits: 1 })} km`;
}
