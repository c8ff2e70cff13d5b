"""Reading incidents: lists, one with its timeline, scoped for agency accounts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.pagination import decode_cursor, encode_cursor
from dispatch.incidents.notes import notes_of
from dispatch.incidents.reads import (
    assigned_to,
    call_ids_by_incident,
    call_ids_of,
    visible_incident,
)
from dispatch.incidents.views import incident_view
from dispatch.models import Event, Incident


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
        query = query.where(assigned_to(agency))
    if only_agency:
        query = query.where(assigned_to(only_agency))
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
    """The incident with its notes and its timeline (notes and events oldest first). An
    agency account may read only incidents it is assigned to; others are a 404 (no
    existence leak)."""
    incident = await visible_incident(session, incident_id, only_agency=only_agency)
    events = await session.scalars(
        select(Event).where(Event.incident_id == incident_id).order_by(Event.seq)
    )
    view = incident_view(incident, await call_ids_of(session, incident_id))
    view["notes"] = await notes_of(session, incident_id)
    view["timeline"] = [
        {"seq": e.seq, "type": e.type, "at": e.at.isoformat(), "actor": e.actor,
         "assignment_id": str(e.assignment_id) if e.assignment_id else None,
         "before": e.before, "after": e.after}
        for e in events
    ]
    return view
