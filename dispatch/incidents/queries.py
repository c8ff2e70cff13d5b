"""Reading incidents: lists, one with its timeline, scoped for agency accounts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Exists, exists, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency
from dispatch.assignments.model import Assignment
from dispatch.core.errors import NotFound
from dispatch.core.pagination import decode_cursor, encode_cursor
from dispatch.incidents.reads import call_ids_by_incident, call_ids_of
from dispatch.incidents.views import incident_view
from dispatch.models import Event, Incident


def _assigned_to(agency_code: str) -> Exists:
    return exists().where(
        Assignment.incident_id == Incident.id,
        Assignment.agency_id == Agency.id,
        Agency.code == agency_code,
    )


async def list_incidents(
    session: AsyncSession, *, status: str | None, category: str | None, agency: str | None,
    since: datetime | None, limit: int, cursor: str | None, only_agency: str | None,
) -> dict[str, Any]:
    query = select(Incident)
    if status:
        query = query.where(Incident.status == status)
    if category:
        query = query.where(Incident.category == category)
    if agency:
        query = query.where(_assigned_to(agency))
    if only_agency:
        query = query.where(_assigned_to(only_agency))
    if since:
        query = query.where(Incident.created_at >= since)
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(
            tuple_(Incident.created_at, Incident.id) < tuple_(literal(at), literal(row_id)))
    rows = list(await session.scalars(
        query.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit + 1)
    ))
    page = rows[:limit]
    calls = await call_ids_by_incident(session, [i.id for i in page])
    items = [incident_view(i, calls[i.id]) for i in page]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}


async def read_incident(
    session: AsyncSession, incident_id: uuid.UUID, *, only_agency: str | None
) -> dict[str, Any]:
    """The incident with its timeline (its events, oldest first). An agency account may
    read only incidents it is assigned to; others are a 404 (no existence leak)."""
    query = select(Incident).where(Incident.id == incident_id)
    if only_agency:
        query = query.where(_assigned_to(only_agency))
    incident = await session.scalar(query)
    if incident is None:
        raise NotFound("no such incident")
    events = await session.scalars(
        select(Event).where(Event.incident_id == incident_id).order_by(Event.seq)
    )
    view = incident_view(incident, await call_ids_of(session, incident_id))
    view["timeline"] = [
        {"seq": e.seq, "type": e.type, "at": e.at.isoformat(), "actor": e.actor,
         "assignment_id": str(e.assignment_id) if e.assignment_id else None,
         "before": e.before, "after": e.after}
        for e in events
    ]
    return view
