/**
 * Keeping a board live (the supervisor page and the wall): the open incidents and the
 * current shift's figures, read once and then kept current from the supervisors' feed
 * (`/v1/feed`): incident and assignment events change the incidents, `stats.updated`
 * replaces the figures (published every DISPATCH_STATS_INTERVAL_S when they changed).
 *
 * The snapshot is (re)read whenever the feed connects without a `since` (the first time,
 * or after a drop before any event); a resumed connection replays what it missed, so
 * nothing is read again. Incident events that arrive while the snapshot is being read are
 * applied after it; a figures event that arrives before the figures are read is dropped
 * (the read is at least as new, give or take one interval, and the next event corrects it).
 *
 * An admin (who lands on the supervisor page but may read neither the statistics nor
 * `/v1/feed`) gets the incidents only, re-read every POLL_MS.
 *
 * With a `units` handler the units are read with the snapshot (GET /v1/units, ../units.js)
 * and every `unit.status` / `unit.position` frame is handed to `unit(event)`.
 */
import { ApiError } from '../api.js';
import { FeedClient } from '../feed.js';
import { loadUnits } from '../units.js';
import { loadOpenIncidents } from './incidents.js';

export const POLL_MS = 15000;

/**
 * @param api        apiClient(session)
 * @param session    the page's session
 * @param open       an OpenIncidents to fill
 * @param handlers   {incidents(), stats(figures), failed(error)}: called on every change;
 *                   optional {units(list): a snapshot of the units, unit(event): a unit frame}
 * @returns {feed, live}: the FeedClient (null when polling); live: false when polling
 */
export function keepBoardLive(api, session, open, handlers) {
  const live = session.role === 'supervisor';
  let buffered = null; // incident events that arrive while the snapshot is read
  let figuresRead = false;

  async function loadSnapshot() {
    buffered = [];
    figuresRead = false;
    const figures = live
      ? api.get('/v1/stats/shifts/current').then((stats) => {
        figuresRead = true;
        handlers.stats(stats);
      })
      : Promise.resolve();
    // The units are extra: the board works without them (their failure is not the board's).
    const unitList = handlers.units ? loadUnits(api).catch(() => null) : Promise.resolve(null);
    try {
      const [incidents, units] = await Promise.all([loadOpenIncidents(api), unitList, figures]);
      open.replace(incidents);
      if (units) handlers.units(units);
      for (const event of buffered) {
        if (event.unit) handlers.unit?.(event);
        open.apply(event);
      }
      handlers.incidents();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) handlers.failed(error);
    } finally {
      buffered = null;
    }
  }

  if (!live) {
    loadSnapshot();
    window.setInterval(loadSnapshot, POLL_MS);
    return { feed: null, live };
  }

  const feed = new FeedClient('/v1/feed', session.token);
  feed.addEventListener('event', (message) => {
    const event = message.detail;
    if (event.type === 'stats.updated') {
      if (figuresRead && event.stats) handlers.stats(event.stats);
      return;
    }
    if (buffered) {
      buffered.push(event);
      return;
    }
    if (event.unit) handlers.unit?.(event);
    if (open.apply(event)) handlers.incidents(event);
  });
  feed.addEventListener('open', (message) => {
    if (!message.detail.resumed) loadSnapshot();
  });
  feed.start();
  return { feed, live };
}
