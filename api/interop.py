"""Interoperability over HTTP: an incident as NENA EIDO, public CAP 1.2 alerts (and their
Atom feed), and CAP hazard warnings in (BMKG). The STA-024 socket is api/eido_ws.py; the
rules are dispatch/interop/."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import require
from api.deps import agency_scope, unit_of_work
from api.fast_json import orjson_response
from api.problems import problem_responses
from api.responses import AlertReceipt, HazardWarning, HazardWarningList
from api.schemas import AlertIn, AlertUpdateIn
from dispatch.accounts.tokens import Principal
from dispatch.interop import cap_alerts, hazards
from dispatch.interop.eido import incident_eido
from dispatch.interop.eido_schema import EidoDocument

router = APIRouter(tags=["interoperability"])
SECURED = problem_responses(401, 403, 429, 503)
Reader = Annotated[Principal, Depends(require("operator", "supervisor", "admin", "agency"))]
Supervisor = Annotated[Principal, Depends(require("supervisor"))]
CAP_XML = "application/cap+xml"
ATOM_XML = "application/atom+xml"
XML_BODY = {"requestBody": {"required": True, "content": {
    "application/xml": {"schema": {"type": "string"}},
    "application/cap+xml": {"schema": {"type": "string"}},
}}}


@router.get("/v1/incidents/{incident_id}/eido", response_model=EidoDocument,
            responses={**SECURED, **problem_responses(404, 422)})
async def export_incident_eido(
    request: Request, incident_id: uuid.UUID, principal: Reader
) -> Response:
    """The incident as a NENA EIDO 1.0 document (`EmergencyIncidentDataObjectType`):
    incident, calls, location (PIDF-LO), agencies, dispatches, units, notes. Visible as
    the incident is (another agency's: 404); agencies get no caller numbers."""
    async with unit_of_work(request) as session:
        document = await incident_eido(session, incident_id, only_agency=agency_scope(principal),
                                       region_prefix=request.app.state.settings.region_prefix)
    return orjson_response(document)


def _receipt(request: Request, published: dict[str, str | None]) -> AlertReceipt:
    identifier = str(published["identifier"])
    return AlertReceipt(identifier=identifier, url=f"{_base(request)}/v1/alerts/{identifier}",
                        msg_type=published["msg_type"],  # type: ignore[arg-type]
                        references=published["references"])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.post("/v1/incidents/{incident_id}/alerts", status_code=201,
             responses={**SECURED, **problem_responses(400, 404, 409, 413, 422)})
async def issue_incident_alert(
    request: Request, incident_id: uuid.UUID, body: AlertIn, principal: Supervisor
) -> AlertReceipt:
    """Publish a public CAP 1.2 alert about the incident (Bahasa Indonesia; its kelurahan
    and kecamatan as polygons). 409 when the incident has no place in the region."""
    settings = request.app.state.settings
    async with unit_of_work(request) as session:
        published = await cap_alerts.issue_alert(
            session, incident_id, cap_alerts.AlertText(**body.model_dump()),
            actor=principal.username, region_prefix=settings.region_prefix,
            zone=settings.zone)
    return _receipt(request, published)


@router.post("/v1/alerts/{identifier}/update", status_code=201,
             responses={**SECURED, **problem_responses(400, 404, 409, 413, 422)})
async def update_alert(
    request: Request, identifier: str, body: AlertUpdateIn, principal: Supervisor
) -> AlertReceipt:
    """Publish an Update of an alert (it references the message it replaces); the fields
    given replace the previous ones. 409 when a later message already replaced it or the
    alert was cancelled."""
    settings = request.app.state.settings
    async with unit_of_work(request) as session:
        published = await cap_alerts.change_alert(
            session, identifier, body.model_dump(exclude_unset=True, exclude_none=True),
            cancel=False, actor=principal.username, region_prefix=settings.region_prefix,
            zone=settings.zone)
    return _receipt(request, published)


@router.post("/v1/alerts/{identifier}/cancel", status_code=201,
             responses={**SECURED, **problem_responses(404, 409, 422)})
async def cancel_alert(request: Request, identifier: str, principal: Supervisor) -> AlertReceipt:
    """Publish a Cancel of an alert (referencing the message it cancels). 409 when a
    later message already replaced it or it was cancelled."""
    settings = request.app.state.settings
    async with unit_of_work(request) as session:
        published = await cap_alerts.change_alert(
            session, identifier, {}, cancel=True, actor=principal.username,
            region_prefix=settings.region_prefix, zone=settings.zone)
    return _receipt(request, published)


@router.get("/v1/alerts", response_class=Response,
            responses={200: {"content": {ATOM_XML: {"schema": {"type": "string"}}},
                             "description": "Atom feed of the alerts in force"},
                       **problem_responses(503)})
async def list_alerts(request: Request) -> Response:
    """Public (no token): an Atom feed of the alerts in force, newest first, each linking
    its CAP document."""
    settings = request.app.state.settings
    async with unit_of_work(request) as session:
        feed = await cap_alerts.alerts_feed(session, base_url=_base(request),
                                            region_prefix=settings.region_prefix,
                                            zone=settings.zone)
    return Response(feed, media_type=ATOM_XML)


@router.get("/v1/alerts/{identifier}", response_class=Response,
            responses={200: {"content": {CAP_XML: {"schema": {"type": "string"}}},
                             "description": "the CAP 1.2 document"},
                       **problem_responses(404, 422, 503)})
async def read_alert(request: Request, identifier: str) -> Response:
    """Public (no token): one CAP 1.2 message as published (expired ones too)."""
    async with unit_of_work(request) as session:
        xml = await cap_alerts.read_alert(session, identifier)
    return Response(xml, media_type=CAP_XML)


@router.post("/v1/warnings", status_code=201, openapi_extra=XML_BODY,
             responses={**SECURED, **problem_responses(409, 413, 422)})
async def receive_warning(
    request: Request,
    principal: Annotated[Principal, Depends(require("gateway", "admin"))],
) -> HazardWarning:
    """A CAP 1.2 hazard warning (BMKG's nowcast) as the XML body: stored with the
    region's kecamatan and kelurahan its areas touch; 422 for anything that is not a CAP
    1.2 message (DTDs and entities refused), 409 for one already received. Supervisors'
    feed: `warning.received`."""
    data = await request.body()
    async with unit_of_work(request) as session:
        view = await hazards.receive_warning(session, data, actor=principal.username)
    return HazardWarning.model_validate(view)


@router.get("/v1/warnings", responses={**SECURED, **problem_responses(422)})
async def list_warnings(
    request: Request,
    principal: Reader,
    active: Annotated[bool | None, Query(
        description="true: only those in force now; false: only those no longer")] = None,
) -> HazardWarningList:
    """Hazard warnings received, newest first (at most 200)."""
    async with unit_of_work(request) as session:
        items = await hazards.list_warnings(session, active=active)
    return HazardWarningList.model_validate({"items": items})
