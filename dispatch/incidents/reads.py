"""Reading incidents: one by id (optionally row-locked, optionally as an agency sees it)
and the calls that belong to them."""

from __future__ import annotations

import uuid

from sqlalchemy import Exists, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency
from dispatch.assignments.model import Assignment
from dispatch.core.errors import NotFound
from dispatch.models import Call, Incident


def assigned_to(agency_code: str) -> Exists:
    """The incident has an assignment (of any status) for that agency: what an agency
    account may see and act on."""
    return exists().where(
        Assignment.incident_id == Incident.id,
        Assignment.agency_id == Agency.id,
        Agency.code == agency_code,
    )


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
    """One incident, whoever asks (404 when there is none)."""
    return await visible_incident(session, incident_id, only_agency=None,
                                  for_update=for_update)


async def visible_incident(
    session: AsyncSession, incident_id: uuid.UUID, *, only_agency: str | None,
    for_update: bool = False,
) -> Incident:
    """One incident as `only_agency` may see it (None: any): an agency account asking
    for an incident not assigned to it gets the same 404 as for one that does not exist."""
    query = select(Incident).where(Incident.id == incident_id)
    if only_agency:
        query = query.where(assigned_to(only_agency))
    if for_update:
        query = query.with_for_update(of=Incident)
    incident = await session.scalar(query)
    if incident is None:
        raise NotFound("no such incident")
    return incident
