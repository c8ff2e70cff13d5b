"""Reading incidents: one by id (optionally row-locked) and the calls that belong to them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.errors import NotFound
from dispatch.models import Call, Incident


async def call_ids_by_incident(
    session: AsyncSession, incident_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The calls of many incidents in one query (oldest call first)."""
    found: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in incident_ids}
    if incident_ids:
        rows = await session.execute(
            select(Call.incident_id, Call.id)
            .where(Call.incident_id.in_(incident_ids))
            .order_by(Call.received_at, Call.id)
        )
        for incident_id, call_id in rows:
            found[incident_id].append(call_id)
    return found


async def call_ids_of(session: AsyncSession, incident_id: uuid.UUID) -> list[uuid.UUID]:
    return (await call_ids_by_incident(session, [incident_id]))[incident_id]


async def get_incident(
    session: AsyncSession, incident_id: uuid.UUID, *, for_update: bool = False
) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    if for_update:
        query = query.with_for_update(of=Incident)
    incident = await session.scalar(query)
    if incident is None:
        raise NotFound("no such incident")
    return incident


