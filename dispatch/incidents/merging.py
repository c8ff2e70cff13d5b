"""Merging two incidents that turned out to be one emergency, and undoing that.

A merge of A into B, in one transaction: A's calls and notes move to B; A's open
assignments for agencies that already hold an open assignment on B are cancelled, its
other open assignments move to B (finished ones stay with A, its history); A is closed
with resolution "merged" and `merged_into` B. What moved and what was cancelled (with its
status before) is written to `incident_merges`, so that an unmerge of A puts back exactly
that: the calls, notes and assignments that moved (those still on B), the cancelled
assignments in their status before (the one place an assignment leaves `cancelled`: the
unmerge undoes a cancellation, it is not a transition), and A reopened. Both incidents'
timelines get an `incident.merged` (or `incident.unmerged`) event, each carrying its own
incident's view and the merge, on the feeds of the supervisors and of every agency with an
assignment on either incident.

Refused: merging an incident into itself (422), from or into a closed incident (409);
unmerging an incident that is not merged, or whose survivor has been closed since (for any
reason, a merge into a third incident included: unmerge that one first) (409).

Locks, in this order: one advisory lock for merges and unmerges, then the calls that will
move (as links and AML updates lock a call before its incident), then both incidents in
id order (SELECT … FOR UPDATE, as the escalation sweep), then the merge record. Every check
is made again under the locks: of A→B and B→A at once, the second finds its survivor
closed; of A→B and A→C, the second finds A closed. The advisory lock makes merges take
turns across the center (they are rare: a few a shift). Without it the parallel-merge test
deadlocked: merge T locked the calls of S, another merge moved calls into S, a third
(S→W) locked those and waited for T's; T, holding S, then had to move them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.actor import Actor
from dispatch.assignments.lifecycle import CANCELLED, OPEN_STATES
from dispatch.assignments.planning import refresh_status
from dispatch.assignments.records import apply_transition
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.locks import AdvisoryLock
from dispatch.incidents.events import emit
from dispatch.incidents.reads import call_ids_of
from dispatch.incidents.views import incident_view
from dispatch.models import Call, Incident, IncidentMerge, IncidentNote
from dispatch.units.model import Unit

MERGED = "merged"  # the resolution of a merged incident
MERGE_LOCK_KEY = int(AdvisoryLock.MERGE)


async def _take_turn(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MERGE_LOCK_KEY})


async def _lock_calls(session: AsyncSession, *conditions: Any) -> None:
    await session.execute(select(Call.id).where(*conditions).order_by(Call.id)
                          .with_for_update(of=Call))


async def _lock_pair(
    session: AsyncSession, first: uuid.UUID, second: uuid.UUID
) -> tuple[Incident, Incident]:
    """Both incidents row-locked in id order, with their assignments as of the lock."""
    rows = await session.scalars(
        select(Incident).where(Incident.id.in_(sorted({first, second})))
        .order_by(Incident.id).with_for_update(of=Incident)
        .execution_options(populate_existing=True)
    )
    found = {incident.id: incident for incident in rows}
    if first not in found or second not in found:
        raise NotFound("no such incident")
    return found[first], found[second]


def _codes(*incidents: Incident) -> set[str]:
    return {a.agency.code for incident in incidents for a in incident.assignments}


def merge_view(record: IncidentMerge, merged: Incident, into: Incident) -> dict[str, Any]:
    """What a merge did, as its events show it."""
    return {
        "merged_incident_id": str(record.merged_id),
        "merged_number": merged.number,
        "into_incident_id": str(record.into_id),
        "into_number": into.number,
        "call_ids": [str(c) for c in record.call_ids],
        "note_ids": [str(n) for n in record.note_ids],
        "moved_assignment_ids": [str(a) for a in record.moved_assignment_ids],
        "cancelled_assignment_ids": [c["id"] for c in record.cancelled_assignments],
    }


async def _announce(
    session: AsyncSession, type: str, merged: Incident, into: Incident, actor: Actor,
    record: IncidentMerge, codes: dict[uuid.UUID, set[str]], status_before: str,
) -> None:
    """The event on both timelines, each with its incident's view, to the agencies that
    incident involved before the change (`codes`) or involves after it: never an
    incident's view to an agency that may not read that incident."""
    view = merge_view(record, merged, into)
    for incident, before in ((merged, {"status": status_before}), (into, None)):
        await emit(session, type, incident, actor,
                   call_ids=await call_ids_of(session, incident.id),
                   before=before,
                   after={"status": incident.status, "resolution": incident.resolution,
                          "merge": view},
                   agency_codes=codes[incident.id] | _codes(incident),
                   extra={"merge": view})


async def merge_incident(
    session: AsyncSession, incident_id: uuid.UUID, into_id: uuid.UUID, actor: Actor
) -> dict[str, Any]:
    """Merge `incident_id` into `into_id`; returns the surviving incident's view."""
    if incident_id == into_id:
        raise Invalid("an incident cannot be merged into itself", field="into_incident_id")
    await _take_turn(session)
    await _lock_calls(session, Call.incident_id == incident_id)
    merged, into = await _lock_pair(session, incident_id, into_id)
    if merged.status == "closed":
        raise Conflict("the incident is closed", status_now=merged.status)
    if into.status == "closed":
        raise Conflict("the incident to merge into is closed", status_now=into.status)
    now = datetime.now(UTC)
    codes = {merged.id: _codes(merged), into.id: _codes(into)}
    status_before = merged.status
    call_ids = list(await session.scalars(
        update(Call).where(Call.incident_id == merged.id)
        .values(incident_id=into.id, updated_at=now).returning(Call.id)
        .execution_options(synchronize_session=False)))
    note_ids = list(await session.scalars(
        update(IncidentNote).where(IncidentNote.incident_id == merged.id)
        .values(incident_id=into.id).returning(IncidentNote.id)
        .execution_options(synchronize_session=False)))
    # Units working on the merged incident now work on the survivor (an unmerge leaves
    # them there: the crews are where they are).
    # Their rows are locked in code order first, as a positions batch locks them.
    await session.execute(select(Unit.code).where(Unit.incident_id == merged.id)
                          .order_by(Unit.code).with_for_update())
    await session.execute(
        update(Unit).where(Unit.incident_id == merged.id).values(incident_id=into.id)
        .execution_options(synchronize_session=False))
    held = {a.agency.code for a in into.assignments if a.status in OPEN_STATES}
    moved: list[uuid.UUID] = []
    cancelled: list[dict[str, Any]] = []
    for assignment in merged.assignments:
        if assignment.status not in OPEN_STATES:
            continue
        if assignment.agency.code in held:
            cancelled.append({"id": str(assignment.id), "status": assignment.status,
                              "note": assignment.note})
            apply_transition(assignment, CANCELLED, now=now,
                             note=f"merged into {into.number}")
        else:
            assignment.incident_id = into.id
            assignment.updated_at = now
            moved.append(assignment.id)
    merged.closed_at = now
    merged.resolution = MERGED
    merged.merged_into = into.id
    record = IncidentMerge(
        id=uuid.uuid4(), merged_id=merged.id, into_id=into.id, merged_at=now,
        merged_by=actor.name, status_before=status_before, call_ids=call_ids,
        note_ids=note_ids, moved_assignment_ids=moved, cancelled_assignments=cancelled)
    session.add(record)
    await _settle(session, now, merged, into)
    await _announce(session, "incident.merged", merged, into, actor, record, codes,
                    status_before)
    return incident_view(into, await call_ids_of(session, into.id))


async def _settle(session: AsyncSession, now: datetime, *incidents: Incident) -> None:
    """Write the moves, reload both incidents' assignments and derive their status."""
    await session.flush()
    for incident in incidents:
        await session.refresh(incident, ["assignments"])
        refresh_status(incident, now)
    await session.flush()


async def unmerge_incident(
    session: AsyncSession, incident_id: uuid.UUID, actor: Actor
) -> dict[str, Any]:
    """Undo the merge in force of `incident_id`; returns that incident's view, reopened."""
    await _take_turn(session)
    record = await session.scalar(select(IncidentMerge).where(
        IncidentMerge.merged_id == incident_id, IncidentMerge.undone_at.is_(None)))
    if record is None:
        if await session.get(Incident, incident_id) is None:
            raise NotFound("no such incident")
        raise Conflict("the incident is not merged into another")
    await _lock_calls(session, Call.id.in_(record.call_ids))
    merged, into = await _lock_pair(session, incident_id, record.into_id)
    await session.refresh(record, with_for_update=True)
    if record.undone_at is not None or merged.merged_into != record.into_id:
        raise Conflict("the merge was undone meanwhile")
    if into.status == "closed":
        raise Conflict("the incident it was merged into is closed: reopen that first "
                       "(unmerge it, if it was merged)", status_now=into.status,
                       resolution=into.resolution)
    now = datetime.now(UTC)
    codes = {merged.id: _codes(merged), into.id: _codes(into)}
    await session.execute(
        update(Call).where(Call.id.in_(record.call_ids), Call.incident_id == into.id)
        .values(incident_id=merged.id, updated_at=now)
        .execution_options(synchronize_session=False))
    await session.execute(
        update(IncidentNote)
        .where(IncidentNote.id.in_(record.note_ids), IncidentNote.incident_id == into.id)
        .values(incident_id=merged.id).execution_options(synchronize_session=False))
    moved = set(record.moved_assignment_ids)
    for assignment in into.assignments:
        if assignment.id in moved:
            assignment.incident_id = merged.id
            assignment.updated_at = now
    before = {uuid.UUID(c["id"]): c for c in record.cancelled_assignments}
    for assignment in merged.assignments:
        was = before.get(assignment.id)
        if was is not None and assignment.status == CANCELLED:
            assignment.status = was["status"]
            assignment.note = was["note"]
            assignment.updated_at = now
    merged.closed_at = None
    merged.resolution = None
    merged.merged_into = None
    record.undone_at = now
    record.undone_by = actor.name
    status_before = merged.status
    await _settle(session, now, merged, into)
    await _announce(session, "incident.unmerged", merged, into, actor, record, codes,
                    status_before)
    return incident_view(merged, await call_ids_of(session, merged.id))
