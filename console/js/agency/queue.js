/**
 * The agency's queue as data: its open assignments, each with its incident, ordered as
 * GET /v1/agencies/{code}/queue orders them (priority first, then oldest first). Changes
 * come from the queue snapshot and from feed events in any order: a change older than what
 * is held (by `updated_at`) is ignored, so replays and snapshots never move a row back.
 */
const TERMINAL = new Set(['completed', 'declined', 'cancelled']);

/** A view of an incident from the feed has no `notes` (GET /v1/incidents/{id} has): the
 * notes held for it are kept. */
function keepNotes(incident, held) {
  if (!incident || Array.isArray(incident.notes) || !held || held.id !== incident.id) return incident;
  return held.notes ? { ...incident, notes: held.notes } : incident;
}

export class Queue {
  constructor(agencyCode) {
    this.agencyCode = agencyCode;
    this.entries = new Map(); // assignment id -> {assignment, incident}
  }

  /** Add, change or drop one assignment: 'added' | 'updated' | 'removed' | 'ignored'. */
  upsert(assignment, incident) {
    if (assignment.agency?.code !== this.agencyCode) return 'ignored';
    const held = this.entries.get(assignment.id);
    if (held && Date.parse(assignment.updated_at) < Date.parse(held.assignment.updated_at)) return 'ignored';
    const closed = incident?.status === 'closed';
    if (TERMINAL.has(assignment.status) || closed) {
      return this.entries.delete(assignment.id) ? 'removed' : 'ignored';
    }
    this.entries.set(assignment.id, {
      assignment, incident: keepNotes(incident, held?.incident) ?? held?.incident ?? null });
    return held ? 'updated' : 'added';
  }

  /** A newer view of an incident: its rows take it, and its assignments of this agency
   * are applied too. Returns the ids of assignments added. */
  applyIncident(incident) {
    const added = [];
    for (const entry of this.entries.values()) {
      if (entry.incident?.id === incident.id) entry.incident = keepNotes(incident, entry.incident);
    }
    for (const assignment of incident.assignments ?? []) {
      if (this.upsert(assignment, incident) === 'added') added.push(assignment.id);
    }
    if (incident.status === 'closed') this.removeIncident(incident.id);
    return added;
  }

  /** A note added to an incident (an `incident.note` event): each row of it shows it. */
  addNote(note) {
    for (const entry of this.entries.values()) {
      if (entry.incident?.id !== note.incident_id) continue;
      const notes = entry.incident.notes ?? [];
      if (!notes.some((held) => held.id === note.id)) entry.incident = { ...entry.incident, notes: [...notes, note] };
    }
  }

  /** The notes of an incident as just read (after a merge moved some). */
  setNotes(incidentId, notes) {
    for (const entry of this.entries.values()) {
      if (entry.incident?.id === incidentId) entry.incident = { ...entry.incident, notes };
    }
  }

  removeIncident(incidentId) {
    for (const [id, entry] of this.entries) {
      if (entry.incident?.id === incidentId || entry.assignment.incident_id === incidentId) this.entries.delete(id);
    }
  }

  get(assignmentId) {
    return this.entries.get(assignmentId) ?? null;
  }

  /** Entries in queue order. */
  sorted() {
    return [...this.entries.values()].sort((a, b) => priorityOf(a) - priorityOf(b)
      || Date.parse(a.assignment.created_at) - Date.parse(b.assignment.created_at)
      || a.assignment.id.localeCompare(b.assignment.id));
  }
}

export function priorityOf(entry) {
  return entry.assignment.priority ?? entry.incident?.priority ?? 4;
}
