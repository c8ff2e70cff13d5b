"""Incidents: read, edit, assign manually, close."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.auth import require
from api.deps import actor_for, agency_scope, area_index, unit_of_work
from api.schemas import CloseIn, IncidentPatch, ManualAssignmentIn
from dispatch.accounts.tokens import Principal
from dispatch.assignments.actions import manual_assignment
from dispatch.calls.input import ManualLocation
from dispatch.incidents import changes as incident_changes
from dispatch.incidents import queries as incident_queries

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])
Operator = Annotated[Principal, Depends(require("operator", "supervisor"))]
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]


@router.get("")
async def list_incidents(
    request: Request,
    principal: Reader,
    status: str | None = None,
    category: str | None = None,
    agency: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        return await incident_queries.list_incidents(
            session, status=status, category=category, agency=agency, since=since,
            limit=limit, cursor=cursor, only_agency=agency_scope(principal),
        )


@router.get("/{incident_id}")
async def read_incident(
    request: Request, incident_id: uuid.UUID, principal: Reader
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        return await incident_queries.read_incident(
            session, incident_id, only_agency=agency_scope(principal)
        )


@router.patch("/{incident_id}")
async def patch_incident(
    request: Request, incident_id: uuid.UUID, body: IncidentPatch, principal: Operator
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True, exclude={"location"})
    location = None if body.location is None else ManualLocation(**body.location.model_dump())
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        areas = await area_index(request, session)
        return await incident_changes.patch_incident(
            session, actor, areas, incident_id, changes=changes, location=location)


@router.post("/{incident_id}/assignments", status_code=201)
async def assign_manually(
    request: Request,
    incident_id: uuid.UUID,
    body: ManualAssignmentIn,
    principal: Annotated[Principal, Depends(require("supervisor"))],
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return await manual_assignment(session, incident_id, body.agency_code, actor)


@router.post("/{incident_id}/close")
async def close(
    request: Request, incident_id: uuid.UUID, body: CloseIn, principal: Operator
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return await incident_changes.close_incident(
            session, incident_id, actor, resolution=body.resolution)

