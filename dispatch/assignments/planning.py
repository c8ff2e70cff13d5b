"""Which assignments an incident gets: one per routed decision, the next agency after a
decline, and the incident status those assignments imply."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency
from agencies.routing import RouteDecision
from dispatch.actor import Actor
from dispatch.assignments.lifecycle import incident_status
from dispatch.assignments.model import Assignment
from dispatch.assignments.records import (
    agencies_by_code,
    excluded_agencies,
    new_assignment,
)
from dispatch.incidents.location import point_of
from dispatch.models import Incident


def refresh_status(incident: Incident, now: datetime) -> None:
    new_status = incident_status((a.status for a in incident.assignments),
                                 closed=incident.closed_at is not None)
    if new_status != incident.status:
        incident.status = new_status
    incident.updated_at = now


def plan_assignments(
    incident: Incident,
    decisions: list[RouteDecision],
    actor: Actor,
    now: datetime,
    agencies: Mapping[str, Agency],
    *,
    reason_override: str | None = None,
) -> list[Assignment]:
    """One queued assignment per routed decision, added to `incident.assignments`
    (unroutable kinds are skipped and left to the supervisor's manual assignment)."""
    created = []
    for decision in decisions:
        if decision.agency_code is None:
            continue
        assignment = new_assignment(
            incident_id=incident.id,
            agency=agencies[decision.agency_code],
            kind=decision.kind,
            reason=reason_override or decision.reason,
            distance_m=decision.distance_m,
            priority=incident.priority,
            now=now,
            ack_timeout_s=actor.settings.ack_timeout_for(incident.priority),
        )
        incident.assignments.append(assignment)
        created.append(assignment)
    return created


async def assign_decisions(
    session: AsyncSession,
    incident: Incident,
    decisions: list[RouteDecision],
    actor: Actor,
    now: datetime,
    *,
    reason_override: str | None = None,
) -> list[Assignment]:
    """plan_assignments for an incident held by the session (re-routing, declines)."""
    codes = [d.agency_code for d in decisions if d.agency_code is not None]
    agencies = await agencies_by_code(session, codes)
    created = plan_assignments(incident, decisions, actor, now, agencies,
                               reason_override=reason_override)
    session.add_all(created)
    return created


def next_decision_after_decline(
    incident: Incident, assignment: Assignment, actor: Actor
) -> RouteDecision:
    lat, lon = point_of(incident)
    exclude = excluded_agencies(incident.assignments, assignment.kind)
    return actor.agencies.index.next_for_kind(assignment.kind, lat, lon, exclude=exclude)


