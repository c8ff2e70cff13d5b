"""What agencies and supervisors do to assignments, and the escalation sweep.

Each action row-locks the assignment (and its incident), so two agents acknowledging at
once queue up: the first wins, the second sees `acknowledged` and gets 409."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.routing import RouteDecision
from dispatch import batch_write
from dispatch.actor import Actor
from dispatch.assignments.lifecycle import (
    DECLINED,
    ESCALATED,
    OPEN_STATES,
    QUEUED,
    IllegalTransition,
)
from dispatch.assignments.model import Assignment
from dispatch.assignments.planning import (
    assign_decisions,
    next_decision_after_decline,
    plan_assignments,
    refresh_status,
)
from dispatch.assignments.records import (
    agencies_by_code,
    apply_transition,
    assignment_view,
    lock_assignment,
    new_assignment,
    overdue_assignments,
)
from dispatch.batch_write import NewRecords
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.events import notify_at_commit
from dispatch.core.locks import AdvisoryLock
from dispatch.incidents.events import emit, incident_event
from dispatch.incidents.reads import call_ids_by_incident, get_incident
from dispatch.incidents.views import current_view
from dispatch.models import Incident

ESCALATION_LOCK_KEY = int(AdvisoryLock.ESCALATION_SWEEP)


async def _locked(
    session: AsyncSession, assignment_id: uuid.UUID, agency_code: str | None
) -> tuple[Assignment, Incident]:
    """Lock the incident, then the assignment (always in that order: no deadlocks).
    `agency_code` set means the caller is that agency: another agency's assignment is a
    404, so existence does not leak. A merge may move the assignment to another incident
    between the unlocked read of its incident and the locks: then the other one is locked
    too (a merge moves an assignment once per merge, so this settles at once)."""
    incident_id = await session.scalar(
        select(Assignment.incident_id).where(Assignment.id == assignment_id)
    )
    if incident_id is None:
        raise NotFound("no such assignment")
    for _attempt in range(3):
        incident = await get_incident(session, incident_id, for_update=True)
        assignment = await lock_assignment(session, assignment_id)
        if assignment is None or assignment.incident_id == incident_id:
            break
        incident_id = assignment.incident_id
    else:
        raise Conflict("the assignment is moving between incidents: try again")
    if assignment is None or (agency_code is not None and assignment.agency.code != agency_code):
        raise NotFound("no such assignment")
    await session.refresh(incident, ["assignments"])
    assignment = next(a for a in incident.assignments if a.id == assignment_id)
    return assignment, incident


async def change_assignment_status(
    session: AsyncSession,
    assignment_id: uuid.UUID,
    requested: str,
    actor: Actor,
    *,
    agency_code: str | None,
    note: str | None = None,
) -> dict[str, Any]:
    """ack / en_route / on_scene / completed / declined. A decline re-routes to the next
    agency of that kind, never back to one that declined."""
    assignment, incident = await _locked(session, assignment_id, agency_code)
    now = datetime.now(UTC)
    try:
        previous = apply_transition(assignment, requested, now=now, note=note)
    except IllegalTransition as exc:
        raise Conflict(str(exc), status_now=exc.current) from None
    refresh_status(incident, now)
    await session.flush()
    await emit(session, "assignment.updated", incident, actor, assignment=assignment,
               before={"status": previous}, after={"status": requested, "note": note})
    if requested == DECLINED:
        decision = next_decision_after_decline(incident, assignment, actor)
        await _assign_next(session, incident, decision, actor, now)
    return assignment_view(assignment)


async def _assign_next(
    session: AsyncSession, incident: Incident, decision: RouteDecision, actor: Actor,
    now: datetime,
) -> Assignment | None:
    if decision.agency_code is None:
        return None
    [created] = await assign_decisions(session, incident, [decision], actor, now,
                                       reason_override="reroute")
    refresh_status(incident, now)
    await session.flush()
    await emit(session, "assignment.created", incident, actor, assignment=created)
    return created


async def manual_assignment(
    session: AsyncSession, incident_id: uuid.UUID, agency_code: str, actor: Actor
) -> dict[str, Any]:
    """A supervisor assigns an agency by hand. Returns the incident's view."""
    incident = await get_incident(session, incident_id, for_update=True)
    if any(a.agency.code == agency_code and a.status in OPEN_STATES
           for a in incident.assignments):
        raise Conflict(f"{agency_code} already holds an open assignment on this incident")
    await ensure_assignment(session, incident, agency_code, actor)
    return await current_view(session, incident)


async def ensure_assignment(
    session: AsyncSession, incident: Incident, agency_code: str, actor: Actor
) -> tuple[Assignment, bool]:
    """The agency's open assignment on the incident (locked by the caller), made by hand
    (reason `manual`, with its `assignment.created` event) when it has none; True when
    made."""
    if incident.status == "closed":
        raise Conflict("the incident is closed", status_now="closed")
    for existing in incident.assignments:
        if existing.agency.code == agency_code and existing.status in OPEN_STATES:
            return existing, False
    agency = (await agencies_by_code(session, [agency_code])).get(agency_code)
    if agency is None or not agency.active:
        raise Invalid(f"no active agency with code {agency_code}", field="agency_code")
    now = datetime.now(UTC)
    assignment = new_assignment(
        incident_id=incident.id, agency=agency, kind=agency.kind, reason="manual",
        distance_m=None, priority=incident.priority, now=now,
        ack_timeout_s=actor.settings.ack_timeout_for(incident.priority),
    )
    session.add(assignment)
    incident.assignments.append(assignment)
    refresh_status(incident, now)
    await session.flush()
    await emit(session, "assignment.created", incident, actor, assignment=assignment)
    return assignment, True


async def escalate_overdue(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int
) -> int:
    """Escalate queued assignments past their deadline (stored, so this survives restarts).
    Only one process sweeps at a time (advisory lock); for priority 1 and 2 the next agency
    of that kind is assigned too. At most `limit` in one transaction, set-based: a fixed
    handful of statements per batch, not per assignment (a surge nobody acknowledges must
    escalate as fast as it arrived). Returns how many were escalated."""
    got_lock = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ESCALATION_LOCK_KEY}
    )
    if not got_lock:
        return 0
    overdue = await overdue_assignments(session, now, limit)
    if not overdue:
        return 0
    incidents = await _lock_incidents(session, {incident_id for _, incident_id in overdue})
    escalated: list[tuple[Incident, Assignment, str, RouteDecision | None]] = []
    for assignment_id, incident_id in overdue:
        incident = incidents[incident_id]
        assignment = next(a for a in incident.assignments if a.id == assignment_id)
        if assignment.status != QUEUED or assignment.ack_due_at > now:
            continue  # acknowledged (or moved) between the read and the lock
        previous = apply_transition(assignment, ESCALATED, now=now)
        refresh_status(incident, now)
        decision = None
        if incident.priority <= 2:
            decision = next_decision_after_decline(incident, assignment, actor)
        escalated.append((incident, assignment, previous, decision))
    if not escalated:
        return 0
    agencies = await agencies_by_code(
        session, sorted({d.agency_code for *_, d in escalated if d and d.agency_code}))
    call_ids = await call_ids_by_incident(session, list({i.id: i for i, *_ in escalated}))
    events = []
    for incident, assignment, previous, decision in escalated:
        events.append(incident_event(
            "assignment.escalated", incident, actor, call_ids=call_ids[incident.id],
            assignment=assignment, before={"status": previous}, after={"status": ESCALATED}))
        if decision is not None and decision.agency_code is not None:
            [created] = plan_assignments(incident, [decision], actor, now, agencies,
                                         reason_override="reroute")
            session.add(created)
            refresh_status(incident, now)
            events.append(incident_event("assignment.created", incident, actor,
                                         call_ids=call_ids[incident.id], assignment=created))
    await session.flush()  # the transitions and new assignments, batched by the ORM
    await batch_write.write(session, NewRecords(events=events))
    await notify_at_commit(session)
    return len(escalated)


async def _lock_incidents(
    session: AsyncSession, incident_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Incident]:
    """Row-lock incidents in id order (no deadlock between two batches), with their
    assignments as of the lock."""
    rows = await session.scalars(
        select(Incident).where(Incident.id.in_(sorted(incident_ids)))
        .order_by(Incident.id).with_for_update(of=Incident)
        .execution_options(populate_existing=True)
    )
    return {incident.id: incident for incident in rows}
