"""Calls: the operator's intake."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from api.auth import require
from api.deps import actor_for, area_index, unit_of_work
from api.schemas import CallIn, CallIncidentIn, DispositionIn
from dispatch.accounts.tokens import Principal
from dispatch.calls import actions, idempotency, intake, queries
from dispatch.calls.input import CallInput, ManualLocation


def json_response(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    """orjson-encoded (the intake's hot path; Starlette's JSONResponse uses json.dumps)."""
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


router = APIRouter(prefix="/v1/calls", tags=["calls"])
Operator = Annotated[Principal, Depends(require("operator", "supervisor"))]
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin"))]


def _call_input(body: CallIn) -> CallInput:
    return CallInput(
        caller_number=body.caller_number,
        received_at=body.received_at,
        channel=body.channel,
        aml=body.aml,
        location=ManualLocation(**body.location.model_dump())
        if body.location else None,
        address=body.address,
        cell=body.cell.model_dump() if body.cell else None,
        category=body.category,
        priority=body.priority,
        description=body.description,
        link_incident_id=body.link_incident_id,
    )


@router.post("", status_code=201)
async def register_call(
    request: Request,
    body: CallIn,
    principal: Operator,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register one 112 call; with a category, open and route its incident too."""
    digest = idempotency.request_digest(await request.body())
    user_id = uuid.UUID(principal.user_id)
    async with unit_of_work(request) as session:
        if idempotency_key:
            stored = await idempotency.replay(session, user_id, idempotency_key, digest)
            if stored is not None:
                return json_response(stored[1], stored[0],
                                     headers={"Idempotent-Replayed": "true"})
        actor = await actor_for(request, principal, session)
        areas = await area_index(request, session)
        result = await intake.register_call(session, actor, areas, _call_input(body))
        if idempotency_key:
            await idempotency.remember(session, user_id, idempotency_key, digest, 201, result)
    return json_response(result, 201)


@router.get("")
async def list_calls(
    request: Request,
    principal: Reader,
    since: datetime | None = None,
    until: datetime | None = None,
    disposition: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        return await queries.list_calls(
            session, since=since, until=until, disposition=disposition, limit=limit,
            cursor=cursor,
        )


@router.get("/{call_id}")
async def get_call(request: Request, call_id: uuid.UUID, principal: Reader) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        return await queries.read_call(session, call_id)


@router.post("/{call_id}/incident", status_code=201)
async def open_incident_for_call(
    request: Request, call_id: uuid.UUID, body: CallIncidentIn, principal: Operator
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return await actions.incident_for_call(
            session, actor, call_id, category=body.category, priority=body.priority,
            description=body.description, link_incident_id=body.link_incident_id,
        )


@router.post("/{call_id}/disposition")
async def set_disposition(
    request: Request, call_id: uuid.UUID, body: DispositionIn, principal: Operator
) -> dict[str, Any]:
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return await actions.close_call(session, actor, call_id, body.disposition,
                                             body.note)
