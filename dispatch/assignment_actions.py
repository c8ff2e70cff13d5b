"""What agencies and supervisors do to assignments, and the escalation sweep.

Each action row-locks the assignment (and its incident), so two agents acknowledging at
once queue up: the first wins, the second sees `acknowledged` and gets 409."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.assignments import (
    agencies_by_code,
    apply_transition,
    lock_assignment,
    new_assignment,
    overdue_assignments,
)
from agencies.lifecycle import DECLINED, ESCALATED, OPEN_STATES, IllegalTransition
from agencies.models import Assignment
from agencies.routing import RouteDecision
from dispatch.errors import Conflict, Invalid, NotFound
from dispatch.incidents import (
    Actor,
    assign_decisions,
    emit,
    get_incident,
    next_decision_after_decline,
    refresh_status,
)
from dispatch.models import Incident

ESCALATION_LOCK_KEY = 112_0001  # pg advisory lock: one sweeper at a time across processes


async def _locked(
    session: AsyncSession, assignment_id: uuid.UUID, agency_code: str | None
) -> tuple[Assignment, Incident]:
    """Lock the incident, then the assignment (always in that order: no deadlocks).
    `agency_code` set means the caller is that agency: another agency's assignment is a
    404, so existence does not leak."""
    incident_id = await session.scalar(
        select(Assignment.incident_id).where(Assignment.id == assignment_id)
    )
    if incident_id is None:
        raise NotFound("no such assignment")
    incident = await get_incident(session, incident_id, for_update=True)
    assignment = await lock_assignment(session, assignment_id)
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
) -> Assignment:
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
    return assignment


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
) -> Assignment:
    incident = await get_incident(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise Conflict("the incident is closed", status_now="closed")
    agency = (await agencies_by_code(session, [agency_code])).get(agency_code)
    if agency is None or not agency.active:
        raise Invalid(f"no active agency with code {agency_code}", field="agency_code")
    if any(a.agency.code == agency_code and a.status in OPEN_STATES
           for a in incident.assignments):
        raise Conflict(f"{agency_code} already holds an open assignment on this incident")
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
    return assignment


async def escalate_overdue(
    session: AsyncSession, actor: Actor, now: datetime, *, limit: int
) -> int:
    """Escalate queued assignments past their deadline (stored, so this survives restarts).
    Only one process sweeps at a time (advisory lock); for priority 1 and 2 the next agency
    of that kind is assigned too. At most `limit` in one transaction. Returns how many
    were escalated."""
    got_lock = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ESCALATION_LOCK_KEY}
    )
    if not got_lock:
        return 0
    overdue = await overdue_assignments(session, now, limit)
    for stale in overdue:
        incident = await get_incident(session, stale.incident_id, for_update=True)
        await session.refresh(incident, ["assignments"])
        assignment = next(a for a in incident.assignments if a.id == stale.id)
        previous = apply_transition(assignment, ESCALATED, now=now)
        refresh_status(incident, now)
        await session.flush()
        await emit(session, "assignment.escalated", incident, actor, assignment=assignment,
                   before={"status": previous}, after={"status": ESCALATED})
        if incident.priority <= 2:
            decision = next_decision_after_decline(incident, assignment, actor)
            await _assign_next(session, incident, decision, actor, now)
    return len(overdue)
