"""Agencies, categories, queues and assignment actions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from agencies import categories, registry
from api.auth import require
from api.deps import actor_for, agency_scope, unit_of_work
from api.schemas import AgencyIn, CategoryIn, StatusIn
from dispatch.accounts.tokens import Principal
from dispatch.assignments.actions import change_assignment_status
from dispatch.assignments.records import agency_queue, assignment_view
from dispatch.core.errors import NotFound

router = APIRouter(tags=["agencies"])
Admin = Annotated[Principal, Depends(require("admin"))]
AgencyOrSupervisor = Annotated[Principal, Depends(require("agency", "supervisor"))]


def _own_agency_only(principal: Principal, code: str) -> None:
    """An agency account asking about another agency gets 404, as if it did not exist."""
    scope = agency_scope(principal)
    if scope is not None and scope != code:
        raise NotFound(f"no agency with code {code}")


@router.get("/v1/agencies")
async def list_agencies(
    request: Request, principal: Annotated[Principal, Depends(
        require("operator", "supervisor", "admin", "agency"))]
) -> list[dict[str, Any]]:
    async with unit_of_work(request) as session:
        return await registry.list_agencies(session)


@router.get("/v1/agencies/{code}")
async def read_agency(
    request: Request, code: str, principal: Annotated[Principal, Depends(
        require("operator", "supervisor", "admin", "agency"))]
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        return await registry.read_agency(session, code)


@router.put("/v1/agencies/{code}")
async def put_agency(
    request: Request, code: str, body: AgencyIn, principal: Admin, response: Response
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        view, created = await registry.put_agency(
            session, code, body.model_dump(), actor=principal.username
        )
    request.app.state.agency_cache.invalidate()  # this process sees it at once
    response.status_code = 201 if created else 200
    return view


@router.get("/v1/categories")
async def list_categories(
    request: Request,
    principal: Annotated[Principal, Depends(
        require("operator", "supervisor", "admin", "agency"))],
) -> list[dict[str, Any]]:
    async with unit_of_work(request) as session:
        return await categories.list_categories(session)


@router.put("/v1/categories/{code}")
async def put_category(
    request: Request, code: str, body: CategoryIn, principal: Admin, response: Response
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        view, created = await categories.put_category(
            session, code, body.model_dump(), actor=principal.username
        )
    request.app.state.agency_cache.invalidate()
    response.status_code = 201 if created else 200
    return view


@router.get("/v1/agencies/{code}/queue")
async def queue(request: Request, code: str, principal: AgencyOrSupervisor) -> dict[str, Any]:
    """Open assignments of the agency, priority first, then oldest first."""
    _own_agency_only(principal, code)
    async with unit_of_work(request) as session:
        agency_id = await registry.agency_id(session, code)
        items = [assignment_view(a) for a in await agency_queue(session, agency_id)]
    return {"items": items, "next_cursor": None}


@router.post("/v1/assignments/{assignment_id}/ack")
async def acknowledge(
    request: Request, assignment_id: uuid.UUID, principal: AgencyOrSupervisor
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        assignment = await change_assignment_status(
            session, assignment_id, "acknowledged", actor, agency_code=agency_scope(principal)
        )
        return assignment_view(assignment)


@router.post("/v1/assignments/{assignment_id}/status")
async def set_status(
    request: Request, assignment_id: uuid.UUID, body: StatusIn, principal: AgencyOrSupervisor
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        assignment = await change_assignment_status(
            session, assignment_id, body.status, actor, agency_code=agency_scope(principal),
            note=body.note,
        )
        return assignment_view(assignment)
