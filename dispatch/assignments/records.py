"""Assignments in the database: creation, locked transitions, queues, overdue ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agencies import registry
from agencies.models import Agency
from agencies.routing import RouteDecision
from dispatch.assignments.lifecycle import (
    ACKNOWLEDGED,
    DECLINED,
    ESCALATED,
    OPEN_STATES,
    QUEUED,
    check_transition,
)
from dispatch.assignments.model import Assignment


def assignment_view(assignment: Assignment) -> dict[str, Any]:
    agency = assignment.agency
    return {
        "id": str(assignment.id),
        "incident_id": str(assignment.incident_id),
        "agency": {"code": agency.code, "name": agency.name, "kind": agency.kind},
        "status": assignment.status,
        "reason": assignment.reason,
        "distance_m": None if assignment.distance_m is None else round(assignment.distance_m, 1),
        "priority": assignment.priority,
        "created_at": assignment.created_at.isoformat(),
        "acknowledged_at": assignment.acknowledged_at and assignment.acknowledged_at.isoformat(),
        "ack_due_at": assignment.ack_due_at.isoformat(),
        "updated_at": assignment.updated_at.isoformat(),
    }


def new_assignment(
    *,
    incident_id: uuid.UUID,
    agency: Agency,
    kind: str,
    reason: str,
    distance_m: float | None,
    priority: int,
    now: datetime,
    ack_timeout_s: int,
) -> Assignment:
    assignment = Assignment(
        id=uuid.uuid4(),
        incident_id=incident_id,
        agency_id=agency.id,
        kind=kind,
        status=QUEUED,
        reason=reason,
        priority=priority,
        distance_m=distance_m,
        created_at=now,
        updated_at=now,
        ack_due_at=now + timedelta(seconds=ack_timeout_s),
        note=None,
        acknowledged_at=None,
        escalated_at=None,
    )
    assignment.agency = agency
    return assignment


async def agencies_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, Agency]:
    rows = await session.scalars(select(Agency).where(Agency.code.in_(list(codes))))
    return {agency.code: agency for agency in rows}


async def lock_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> Assignment | None:
    """Row-lock one assignment for a transition: concurrent changes queue up behind it."""
    locked = await session.scalar(
        select(Assignment).where(Assignment.id == assignment_id).with_for_update(of=Assignment)
    )
    return locked


def apply_transition(
    assignment: Assignment, requested: str, *, now: datetime, note: str | None = None
) -> str:
    """Move an assignment to `requested` (raises IllegalTransition); returns the old status."""
    previous = assignment.status
    check_transition(previous, requested)
    assignment.status = requested
    assignment.updated_at = now
    if requested == ACKNOWLEDGED and assignment.acknowledged_at is None:
        assignment.acknowledged_at = now
    if requested == ESCALATED:
        assignment.escalated_at = now
    if note is not None:
        assignment.note = note
    return previous


def excluded_agencies(assignments: Sequence[Assignment], kind: str) -> set[str]:
    """Agencies that must not get this kind again: those that declined it, and those that
    hold it already (still open)."""
    return {
        a.agency.code
        for a in assignments
        if a.kind == kind and (a.status == DECLINED or a.status in OPEN_STATES)
    }


def decisions_needing_agency(decisions: Sequence[RouteDecision]) -> list[RouteDecision]:
    return [d for d in decisions if d.agency_code is not None]


async def agency_queue(session: AsyncSession, agency_id: uuid.UUID) -> list[Assignment]:
    """Open assignments of one agency: priority first, then oldest first."""
    rows = await session.scalars(
        select(Assignment)
        .where(Assignment.agency_id == agency_id, Assignment.status.in_(sorted(OPEN_STATES)))
        .order_by(Assignment.priority, Assignment.created_at, Assignment.id)
    )
    return list(rows)


async def overdue_assignments(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(assignment id, incident id) of queued assignments past their acknowledgement
    deadline, oldest deadline first. Not locked: the caller locks the incidents first
    (the order every transition takes) and checks again."""
    rows = await session.execute(
        select(Assignment.id, Assignment.incident_id)
        .where(Assignment.status == QUEUED, Assignment.ack_due_at <= now)
        .order_by(Assignment.ack_due_at)
        .limit(limit)
    )
    return [(assignment_id, incident_id) for assignment_id, incident_id in rows]


async def read_agency_queue(session: AsyncSession, agency_code: str) -> dict[str, Any]:
    """The agency's open assignments as a page (404 for an unknown agency)."""
    agency_id = await registry.agency_id(session, agency_code)
    items = [assignment_view(a) for a in await agency_queue(session, agency_id)]
    return {"items": items, "next_cursor": None}
