"""Events about an incident, appended to the log in the transaction that made the change.

Events of the contract's feed types carry a `payload` (the incident and assignment as of
that moment); the live feeds send exactly those."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.actor import Actor
from dispatch.assignments.model import Assignment
from dispatch.assignments.records import (
    assignment_view,
)
from dispatch.core.events import append_row, event_row
from dispatch.incidents.reads import call_ids_of
from dispatch.incidents.views import incident_view
from dispatch.models import Incident


def incident_event(
    type: str,
    incident: Incident,
    actor: Actor,
    *,
    call_ids: list[uuid.UUID],
    assignment: Assignment | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    feed: bool = True,
    view: dict[str, Any] | None = None,
    agency_codes: Iterable[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event about an incident (and perhaps one of its assignments). The agency codes
    say which agency feeds carry it: the assignment's agency, or every agency with an
    assignment on the incident for incident-wide events (or `agency_codes`, when given).
    `view`: the incident's view as of now, when the caller has built it already (it is
    only read). `extra`: more keys of the feed frame (a note, a merge)."""
    if agency_codes is not None:
        codes = sorted(set(agency_codes))
    elif assignment is not None:
        codes = [assignment.agency.code]
    else:
        codes = sorted({a.agency.code for a in incident.assignments})
    payload = None
    if feed:
        payload = {
            "incident": view if view is not None else incident_view(incident, call_ids),
            "assignment": assignment_view(assignment) if assignment is not None else None,
            **(extra or {}),
        }
    return event_row(
        type,
        actor=actor.name,
        entity="assignment" if assignment is not None else "incident",
        entity_id=assignment.id if assignment is not None else incident.id,
        incident_id=incident.id,
        assignment_id=assignment.id if assignment is not None else None,
        agency_codes=codes,
        before=before,
        after=after,
        payload=payload,
    )


async def emit(
    session: AsyncSession,
    type: str,
    incident: Incident,
    actor: Actor,
    *,
    assignment: Assignment | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    call_ids: list[uuid.UUID] | None = None,
    feed: bool = True,
    agency_codes: Iterable[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Append one incident_event now; returns its seq."""
    # One lookup per incident and transaction: an action emitting several events (a
    # decline and its re-route, a re-route cancelling several) reuses it.
    known: dict[uuid.UUID, list[uuid.UUID]] = session.info.setdefault("call_ids", {})
    if call_ids is None:
        call_ids = known.get(incident.id)
        if call_ids is None:
            call_ids = await call_ids_of(session, incident.id)
    known[incident.id] = call_ids
    return await append_row(session, incident_event(
        type, incident, actor, call_ids=call_ids, assignment=assignment, before=before,
        after=after, feed=feed, agency_codes=agency_codes, extra=extra))


def opening_events(incident: Incident, actor: Actor, call_ids: list[uuid.UUID],
                   view: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """incident.created (audit only), then assignment.created for each agency's feed,
    all carrying one incident view (`view`, or built here)."""
    view = view if view is not None else incident_view(incident, call_ids)
    events = [incident_event(
        "incident.created", incident, actor, call_ids=call_ids, feed=False,
        after={"number": incident.number, "category": incident.category,
               "priority": incident.priority, "call_ids": [str(c) for c in call_ids]})]
    events += [incident_event("assignment.created", incident, actor, call_ids=call_ids,
                              assignment=assignment, view=view)
               for assignment in incident.assignments]
    return events


