/**
 * The room's open incidents as data, for the supervisor board and the wall: read from
 * GET /v1/incidents (one status at a time, every page) and kept current from the feed's
 * events, each of which carries the whole incident. A view older than the one held (by
 * `updated_at`) is ignored, so a replay or a late snapshot never moves the board back; a
 * closed incident leaves.
 *
 *   const open = new OpenIncidents();
 *   open.replace(await loadOpenIncidents(api));
 *   feed.addEventListener('event', (e) => open.apply(e.detail) && render());
 */

/** Incident statuses that are not closed (API.md, "Incidents"). */
export const OPEN_STATUSES = ['open', 'dispatched', 'acknowledged', 'on_scene'];
/** Assignment statuses still waiting for the agency to answer. */
export const PENDING_STATUSES = new Set(['queued', 'escalated']);
const PAGE_LIMIT = 500;
const MAX_PAGES = 40; // 20,000 open incidents per status: far past any real room

/** Every open incident, newest first. */
export async function loadOpenIncidents(api) {
  const lists = await Promise.all(OPEN_STATUSES.map(async (status) => {
    const items = [];
    let cursor = null;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const query = new URLSearchParams({ status, limit: String(PAGE_LIMIT) });
      if (cursor) query.set('cursor', cursor);
      const answer = await api.get(`/v1/incidents?${query}`);
      items.push(...answer.items);
      cursor = answer.next_cursor;
      if (!cursor) break;
    }
    return items;
  }));
  return lists.flat();
}

const time = (iso) => Date.parse(iso ?? '') || 0;

export class OpenIncidents {
  constructor() {
    this.byId = new Map();
  }

  /** Hold exactly `incidents` (a snapshot). */
  replace(incidents) {
    this.byId.clear();
    for (const incident of incidents) this.upsert(incident);
  }

  /** A view of one incident; returns true when the board changed. */
  upsert(incident) {
    const held = this.byId.get(incident.id);
    if (held && time(incident.updated_at) < time(held.updated_at)) return false;
    if (incident.status === 'closed' || incident.closed_at) return this.byId.delete(incident.id);
    this.byId.set(incident.id, incident);
    return true;
  }

  /** One feed event; returns true when the board changed. */
  apply(event) {
    if (event.incident) {
      const changed = this.upsert(event.incident);
      if (event.type === 'incident.closed') return this.byId.delete(event.incident.id) || changed;
      return changed;
    }
    const assignment = event.assignment;
    const held = assignment && this.byId.get(assignment.incident_id);
    if (!held) return false;
    const assignments = (held.assignments ?? []).filter((a) => a.id !== assignment.id);
    const previous = (held.assignments ?? []).find((a) => a.id === assignment.id);
    if (previous && time(assignment.updated_at) < time(previous.updated_at)) return false;
    this.byId.set(held.id, { ...held, assignments: [...assignments, assignment] });
    return true;
  }

  get(id) {
    return this.byId.get(id) ?? null;
  }

  get size() {
    return this.byId.size;
  }

  /** Most urgent first: priority, then oldest. */
  byUrgency() {
    return [...this.byId.values()].sort((a, b) => a.priority - b.priority
      || time(a.created_at) - time(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Newest first. */
  newestFirst() {
    return [...this.byId.values()].sort((a, b) => time(b.created_at) - time(a.created_at)
      || a.id.localeCompare(b.id));
  }

  /** Open incidents per priority: {1: n, 2: n, 3: n, 4: n}. */
  countByPriority() {
    const counts = { 1: 0, 2: 0, 3: 0, 4: 0 };
    for (const incident of this.byId.values()) counts[incident.priority] = (counts[incident.priority] ?? 0) + 1;
    return counts;
  }

  /**
   * The assignments of open incidents still waiting for their agency (queued or
   * escalated), each `{assignment, incident, overdue}`: overdue (escalated: the
   * acknowledgement deadline passed and the escalation sweep acted on it) first, then by
   * priority, then oldest first.
   */
  pending() {
    const rows = [];
    for (const incident of this.byId.values()) {
      for (const assignment of incident.assignments ?? []) {
        if (PENDING_STATUSES.has(assignment.status)) {
          rows.push({ assignment, incident, overdue: assignment.status === 'escalated' });
        }
      }
    }
    return rows.sort((a, b) => Number(b.overdue) - Number(a.overdue)
      || a.incident.priority - b.incident.priority
      || time(a.assignment.created_at) - time(b.assignment.created_at)
      || a.assignment.id.localeCompare(b.assignment.id));
  }
}
