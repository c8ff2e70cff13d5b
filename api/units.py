"""Units: the registry, statuses, positions (JSON batch and the OsmAnd protocol), which
units to send to an incident, and sending one."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Body, Depends, Query, Request, Response

from api.auth import require
from api.client_address import client_address
from api.deps import actor_for, agency_scope, unit_of_work
from api.problems import problem_responses
from api.responses import (
    OsmandReceipt,
    PositionsReceipt,
    Unit,
    UnitKind,
    UnitPage,
    UnitRecommendation,
    UnitStatus,
)
from api.schemas import DispatchUnitIn, PositionIn, UnitIn, UnitStatusIn
from dispatch.accounts.tokens import Principal
from dispatch.core.errors import Invalid, NotFound, TooManyRequests
from dispatch.units import actions, osmand, queries
from dispatch.units.positions import MAX_FIXES, Fix, ingest
from dispatch.units.recommendations import recommend_units

log = logging.getLogger("siaga112.units")

router = APIRouter(tags=["units"], responses=problem_responses(401, 403, 422, 429, 503))
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]
Admin = Annotated[Principal, Depends(require("admin"))]
UnitCrew = Annotated[Principal, Depends(require("supervisor", "agency"))]
Sender = Annotated[Principal, Depends(require("operator", "supervisor", "agency"))]
Tracker = Annotated[Principal, Depends(require("gateway", "agency"))]
CHANGES = problem_responses(400, 404, 409, 413)


def _retention(request: Request) -> timedelta:
    return timedelta(days=request.app.state.settings.position_retention_days)


@router.get("/v1/units")
async def list_units(
    request: Request,
    principal: Reader,
    agency: str | None = None,
    status: UnitStatus | None = None,
    kind: UnitKind | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> UnitPage:
    """Units in code order; an agency account sees only its own."""
    async with unit_of_work(request) as session:
        return UnitPage.model_validate(await queries.list_units(
            session, agency=agency, status=status, kind=kind, limit=limit, cursor=cursor,
            only_agency=agency_scope(principal)))


@router.post("/v1/units/positions", responses=problem_responses(400, 413))
async def receive_positions(
    request: Request,
    principal: Tracker,
    fixes: Annotated[list[PositionIn], Body(max_length=MAX_FIXES)],
) -> PositionsReceipt:
    """Fixes from trackers (at most 1,000). Each is stored in the history; the unit's
    position changes only for a newer fix. Fixes of unknown units (or, for an agency, of
    another agency's), from the future or older than the retention are rejected one by
    one, the others still stored."""
    async with unit_of_work(request) as session:
        result = await ingest(
            session, [Fix(**fix.model_dump()) for fix in fixes], now=datetime.now(UTC),
            retention=_retention(request), only_agency=agency_scope(principal),
            actor=principal.username)
    return PositionsReceipt(accepted=result.accepted, current=result.current,
                            rejected=result.rejected)  # type: ignore[arg-type]


@router.get("/v1/units/{code}", responses=problem_responses(404))
async def read_unit(request: Request, code: str, principal: Reader) -> Unit:
    async with unit_of_work(request) as session:
        return Unit.model_validate(await queries.read_unit(
            session, code, only_agency=agency_scope(principal)))


@router.put("/v1/units/{code}", responses=problem_responses(400, 409, 413),
            status_code=200)
async def save_unit(request: Request, code: str, body: UnitIn, principal: Admin,
                    response: Response) -> Unit:
    """Register a unit or change its registration (201 when created)."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        view, created = await actions.put_unit(
            session, code, actions.UnitSpec(**body.model_dump()), actor)
    response.status_code = 201 if created else 200
    return Unit.model_validate(view)


@router.post("/v1/units/{code}/status", responses=CHANGES)
async def update_unit_status(request: Request, code: str, body: UnitStatusIn,
                             principal: UnitCrew) -> Unit:
    """The owning agency or a supervisor reports a status; an illegal transition is a 409
    naming the allowed ones."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Unit.model_validate(await actions.change_unit_status(
            session, code, body.status, actor, only_agency=agency_scope(principal)))


@router.get("/v1/incidents/{incident_id}/recommendations",
            responses=problem_responses(404, 409))
async def list_recommendations(request: Request, incident_id: uuid.UUID,
                               principal: Sender) -> list[UnitRecommendation]:
    """For each agency kind the incident's category needs, the nearest free units
    (available or returning; at most five per kind), nearest first. An agency sees only
    its own units."""
    async with unit_of_work(request) as session:
        items = await recommend_units(session, incident_id,
                                      only_agency=agency_scope(principal))
    return [UnitRecommendation.model_validate(item) for item in items]


@router.post("/v1/incidents/{incident_id}/units", status_code=201, responses=CHANGES)
async def assign_unit(request: Request, incident_id: uuid.UUID, body: DispatchUnitIn,
                      principal: Sender) -> Unit:
    """Send an available (or returning) unit: its agency's assignment on the incident is
    made when missing, and the unit becomes `dispatched`. An agency sends only its own
    units."""
    async with unit_of_work(request) as session:
        actor = await actor_for(request, principal, session)
        return Unit.model_validate(await actions.dispatch_unit(
            session, incident_id, body.unit_code, actor, only_agency=agency_scope(principal)))


OSMAND_ERRORS = problem_responses(400, 404, 413, 422, 429, 503)


@router.get("/osmand", responses=OSMAND_ERRORS, response_model_exclude_none=True)
async def receive_osmand(request: Request) -> OsmandReceipt:
    """A fix in the OsmAnd protocol (Traccar Client and other phone trackers), as query
    parameters: no token; the device id registered on a unit is the credential. Unknown
    ids get 404 and count against the source address (429 once it has spent its
    allowance, whatever the id)."""
    return await _osmand(request)


@router.post("/osmand", responses=OSMAND_ERRORS, response_model_exclude_none=True)
async def receive_osmand_body(request: Request) -> OsmandReceipt:
    """The same, as form parameters or as Traccar Client 9's JSON body."""
    return await _osmand(request)


async def _osmand(request: Request) -> OsmandReceipt:
    now = datetime.now(UTC)
    fix = await _osmand_fix(request, now)
    limiter = request.app.state.unknown_device_limiter
    key = osmand.UNKNOWN_DEVICE_KEY_PREFIX + client_address(
        request.scope, request.app.state.settings.trusted_proxies)
    # This process's view (what `record` read, and the blocks every sync reads back): a
    # database round trip here, under the limiter's lock, was a quarter of a fix's CPU
    # and queued every fix of a worker behind one connection.
    wait = limiter.blocked_for(key)
    if wait > 0:
        raise TooManyRequests("too many unknown device ids from this address: wait",
                              retry_after_s=wait)
    if fix is None:
        return OsmandReceipt(stored=False)
    async with unit_of_work(request) as session:
        result = await ingest(session, [fix], now=now, retention=_retention(request),
                              actor="osmand")
    if result.rejected:
        detail = result.rejected[0]["detail"]
        if detail == "no such unit":
            await limiter.record(key)
            raise NotFound("no unit has this device id")
        # A known tracker's fix refused for its time (a phone clock far ahead, a fix
        # buffered longer than the retention): answered 200, because Traccar Client
        # resends its oldest buffered fix after any other answer, every 30 s, before any
        # later one, so one refused fix would silence the vehicle for good.
        log.warning("the tracker of %s sent a fix that was not stored: %s",
                    result.refused_units[0], detail)
        return OsmandReceipt(stored=False, detail=detail)
    return OsmandReceipt(stored=True)


async def _osmand_fix(request: Request, now: datetime) -> Fix | None:
    if request.method == "GET":
        return osmand.parse_parameters(request.query_params, now)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise Invalid("the body is not JSON") from None
        return osmand.parse_json(body, now)
    form = await request.form()
    params = {**request.query_params, **{k: str(v) for k, v in form.items()}}
    return osmand.parse_parameters(params, now)

