/**
 * CSV export of a shift (GET /v1/stats/shifts/{date}/{name}.csv). The endpoint needs the
 * bearer token, which a plain link cannot send: the file is fetched with it and offered to
 * the browser as a download of the blob (named as the server's Content-Disposition says).
 */
import { goToLogin } from '../auth.js';

/** Download the CSV of `shift` ({date, name}); returns the file's name. */
export async function downloadShiftCsv(session, shift) {
  const path = `/v1/stats/shifts/${encodeURIComponent(shift.date)}/${encodeURIComponent(shift.name)}.csv`;
  const response = await fetch(path, {
    headers: { Authorization: `Bearer ${session.token}`, Accept: 'text/csv' }, cache: 'no-store',
  });
  if (!response.ok) {
    if (response.status === 401) goToLogin('expired');
    const problem = (response.headers.get('Content-Type') ?? '').includes('json') ? await response.json() : null;
    throw new Error(problem?.detail || `HTTP ${response.status}`);
  }
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `shift-${shift.date}-${shift.name}.csv`;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60000);
  return name;
}
