"""One incident as a NENA EIDO 1.0 document: the incident, its calls (and how to call the
callers back), its location as PIDF-LO, the agencies (the 112 center owns the incident;
each assigned agency responds), one dispatch per assignment, the units working on it
(emergency resources, each with its crew as an agent), its notes, and merges.

Identifiers: the document's `$id` is the incident tracking identifier
`urn:emergency:uid:incidentid:<incident uuid hex>:<center id>` (NENA-STA-010's form);
component `$id`s extend it (`…:call:<uuid>`, `…:agency:<code>`). Agencies are named
`<code lower-case>.<region>.siaga112`, the center `psap.<region>.siaga112`.

An agency account reads an EIDO of the incidents assigned to it (as it reads the
incident), without the callers' numbers: agencies never read calls in this service."""

from __future__ import annotations

import html
import uuid
from datetime import datetime
from typing import Any

import orjson
from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency, Category
from dispatch.incidents.reads import visible_incident
from dispatch.interop import registries as reg
from dispatch.interop.eido_schema import (
    EidoAgency,
    EidoAgent,
    EidoCall,
    EidoCallback,
    EidoDispatch,
    EidoDisposition,
    EidoDocument,
    EidoEmergencyResource,
    EidoIncident,
    EidoLocation,
    EidoMerge,
    EidoNote,
    EidoReference,
    ref,
)
from dispatch.models import Call, Incident, IncidentMerge, IncidentNote
from dispatch.units.model import Unit
from geo.points import lon_lat

PIDF = "urn:ietf:params:xml:ns:pidf"
GEOPRIV = "urn:ietf:params:xml:ns:pidf:geopriv10"
GML = "http://www.opengis.net/gml"
GS = "http://www.opengis.net/pidflo/1.0"
WGS84_2D = "urn:ogc:def:crs:EPSG::4326"
METRE = "urn:ogc:def:uom:EPSG::9001"


def center_id(region_prefix: str) -> str:
    return f"psap.{region_prefix.lower()}.siaga112"


def agency_id(code: str, region_prefix: str) -> str:
    return f"{code.lower()}.{region_prefix.lower()}.siaga112"


def tracking_id(incident_id: uuid.UUID, region_prefix: str) -> str:
    return f"urn:emergency:uid:incidentid:{incident_id.hex}:{center_id(region_prefix)}"


def pidf_lo(entity: str, lat: float, lon: float, accuracy_m: float | None,
            method: str | None, at: datetime) -> str:
    """A PIDF-LO document (RFC 4119, shapes of RFC 5491): a Point, or a Circle when the
    accuracy is known."""
    presence = etree.Element(f"{{{PIDF}}}presence", entity=entity,
                             nsmap={None: PIDF, "gp": GEOPRIV,  # type: ignore[dict-item]
                                    "gml": GML, "gs": GS})
    tuple_ = etree.SubElement(presence, f"{{{PIDF}}}tuple", id="location")
    status = etree.SubElement(tuple_, f"{{{PIDF}}}status")
    geopriv = etree.SubElement(status, f"{{{GEOPRIV}}}geopriv")
    info = etree.SubElement(geopriv, f"{{{GEOPRIV}}}location-info")
    if accuracy_m:
        shape = etree.SubElement(info, f"{{{GS}}}Circle", srsName=WGS84_2D)
        etree.SubElement(shape, f"{{{GML}}}pos").text = f"{lat:.6f} {lon:.6f}"
        etree.SubElement(shape, f"{{{GS}}}radius", uom=METRE).text = f"{accuracy_m:g}"
    else:
        shape = etree.SubElement(info, f"{{{GML}}}Point", srsName=WGS84_2D)
        etree.SubElement(shape, f"{{{GML}}}pos").text = f"{lat:.6f} {lon:.6f}"
    etree.SubElement(geopriv, f"{{{GEOPRIV}}}usage-rules")
    if method:
        etree.SubElement(geopriv, f"{{{GEOPRIV}}}method").text = method
    etree.SubElement(tuple_, f"{{{PIDF}}}timestamp").text = at.isoformat()
    return etree.tostring(presence, xml_declaration=True, encoding="UTF-8").decode()


def _jcard(name: str, phone: str | None) -> str:
    properties: list[list[Any]] = [["version", {}, "text", "4.0"], ["fn", {}, "text", name]]
    if phone:
        properties.append(["tel", {}, "uri", f"tel:{phone.replace(' ', '')}"])
    return orjson.dumps(["vcard", properties]).decode()


async def incident_eido(session: AsyncSession, incident_id: uuid.UUID, *,
                        only_agency: str | None, region_prefix: str) -> dict[str, Any]:
    """The EIDO document of one incident as `only_agency` may see it (None: any)."""
    incident = await visible_incident(session, incident_id, only_agency=only_agency)
    return (await build_eido(session, incident, region_prefix=region_prefix,
                             include_callers=only_agency is None)).document()


async def build_eido(session: AsyncSession, incident: Incident, *, region_prefix: str,
                     include_callers: bool) -> EidoDocument:
    base = tracking_id(incident.id, region_prefix)
    center = f"{base}:agency:psap"
    calls = list(await session.scalars(
        select(Call).where(Call.incident_id == incident.id)
        .order_by(Call.received_at, Call.id)))
    notes = list(await session.scalars(
        select(IncidentNote).where(IncidentNote.incident_id == incident.id)
        .order_by(IncidentNote.at, IncidentNote.id)))
    units = list(await session.scalars(
        select(Unit).where(Unit.incident_id == incident.id).order_by(Unit.code)))
    category = await session.get(Category, incident.category)
    merged_here = list(await session.scalars(
        select(IncidentMerge.merged_id).where(IncidentMerge.into_id == incident.id,
                                              IncidentMerge.undone_at.is_(None))))

    agencies: dict[str, EidoAgency] = {"": EidoAgency(
        id=center, lastUpdateTimeStamp=incident.created_at,
        updatedByAgencyReference=ref(center), agencyRoleDescriptionRegistryText=list(
            reg.CENTER_ROLES), agencyType=[reg.CENTER_AGENCY_TYPE],
        agencyJcard=_jcard("Command Center 112", "112"), incidentOwningAgencyIndicator=True)}

    def agency_ref(agency: Agency) -> EidoReference:
        if agency.code not in agencies:
            agencies[agency.code] = EidoAgency(
                id=f"{base}:agency:{agency.code}", lastUpdateTimeStamp=agency.updated_at,
                updatedByAgencyReference=ref(center),
                agencyRoleDescriptionRegistryText=list(reg.RESPONDING_ROLES),
                agencyType=[reg.AGENCY_TYPE.get(agency.kind, agency.kind)],
                agencyJcard=_jcard(agency.name, agency.phone),
                incidentOwningAgencyIndicator=False)
        return ref(agencies[agency.code].id)

    locations: list[EidoLocation] = []
    incident_location: list[EidoReference] | None = None
    if incident.location is not None:
        lon, lat = lon_lat(incident.location)
        where = incident.area or {}
        described = ", ".join(f"{level.capitalize()} {where[level]['name']}"
                              for level in ("kelurahan", "kecamatan", "kabkota", "provinsi")
                              if isinstance(where.get(level), dict))
        locations.append(EidoLocation(
            id=f"{base}:location:incident", lastUpdateTimeStamp=incident.updated_at,
            updatedByAgencyReference=ref(center),
            locationTypeDescriptionRegistryText=reg.LOCATION_INCIDENT,
            locationByValue=pidf_lo(f"pres:incident-{incident.id.hex}@{center_id(region_prefix)}",
                                    lat, lon, incident.accuracy_m,
                                    reg.LOCATION_METHOD.get(incident.location_source or ""),
                                    incident.updated_at),
            locationDescriptionText=described or None,
            localIdentifier=[incident.area_code] if incident.area_code else None))
        incident_location = [ref(locations[-1].id)]

    agency_rows = {a.agency.code: a.agency for a in incident.assignments}
    missing = {u.agency_code for u in units} - set(agency_rows)
    if missing:
        for agency in await session.scalars(select(Agency).where(Agency.code.in_(missing))):
            agency_rows[agency.code] = agency
    note_components = [EidoNote(
        id=f"{base}:note:{note.id}", lastUpdateTimeStamp=note.at,
        updatedByAgencyReference=agency_ref(agency_rows[note.agency_code])
        if note.agency_code in agency_rows else ref(center),
        notesActionComments=f"<p>{html.escape(note.text)}</p>") for note in notes]

    call_components: list[EidoCall] = []
    callbacks: list[EidoCallback] = []
    dispositions: list[EidoDisposition] = []
    # An agency reads no calls in this service (not their places, times or the operators'
    # notes), so its EIDO carries none either.
    for call in calls if include_callers else ():
        call_id = f"{base}:call:{call.id}"
        callback = None
        if include_callers:
            callbacks.append(EidoCallback(
                id=f"{call_id}:callback", lastUpdateTimeStamp=call.updated_at,
                updatedByAgencyReference=ref(center),
                callBackInformationUri=[f"tel:{call.caller_number}"]))
            callback = ref(callbacks[-1].id)
        call_location = None
        if call.location is not None:
            lon, lat = lon_lat(call.location)
            locations.append(EidoLocation(
                id=f"{call_id}:location", lastUpdateTimeStamp=call.updated_at,
                updatedByAgencyReference=ref(center),
                locationTypeDescriptionRegistryText=reg.LOCATION_CALLER,
                locationByValue=pidf_lo(f"pres:call-{call.id.hex}@{center_id(region_prefix)}",
                                        lat, lon, call.accuracy_m,
                                        reg.LOCATION_METHOD.get(call.location_source or ""),
                                        call.updated_at)))
            call_location = [ref(locations[-1].id)]
        call_components.append(EidoCall(
            id=call_id, lastUpdateTimeStamp=call.updated_at,
            updatedByAgencyReference=ref(center), standardPrimaryCallType=reg.CALL_TYPE,
            localCallType=call.channel, direction="incoming",
            priorityIdentifier=reg.CALL_PRIORITY.get(incident.priority),  # type: ignore[arg-type]
            callStartTimestamp=call.received_at, answerDate=call.created_at,
            callStateRegistryText=reg.CALL_ENDED if call.closed_at else reg.CALL_ANSWERED,
            callBackReference=callback, locationReference=call_location))
        if call.disposition:
            dispositions.append(EidoDisposition(
                id=f"{call_id}:disposition", lastUpdateTimeStamp=call.updated_at,
                updatedByAgencyReference=ref(center),
                dispositionCommonRegistryCode=reg.CALL_DISPOSITION.get(
                    call.disposition, call.disposition),
                dispositionPrimaryIndicator=False, dispositionCategoryText="call",
                dispositionDescriptionText=call.disposition_note))

    if incident.status == "closed":
        dispositions.insert(0, EidoDisposition(
            id=f"{base}:disposition", lastUpdateTimeStamp=incident.closed_at or incident.updated_at,
            updatedByAgencyReference=ref(center),
            dispositionCommonRegistryCode=reg.MERGED_DISPOSITION if incident.merged_into
            else reg.CLOSED_DISPOSITION,
            dispositionPrimaryIndicator=True, dispositionCategoryText="incident",
            dispositionDescriptionText=incident.resolution))

    dispatches: list[EidoDispatch] = []
    resources: list[EidoEmergencyResource] = []
    agents: list[EidoAgent] = []
    units_by_agency: dict[str, list[EidoReference]] = {}
    for unit in units:
        unit_id = f"{base}:unit:{unit.code}"
        owner = agency_ref(agency_rows[unit.agency_code])
        agents.append(EidoAgent(
            id=f"{unit_id}:crew", lastUpdateTimeStamp=unit.updated_at,
            updatedByAgencyReference=owner, agentRoleRegistryText=list(reg.UNIT_AGENT_ROLES),
            agencyReference=owner))
        unit_location = None
        if unit.position_at is not None and unit.lat is not None and unit.lon is not None:
            locations.append(EidoLocation(
                id=f"{unit_id}:location", lastUpdateTimeStamp=unit.position_at,
                updatedByAgencyReference=owner,
                locationTypeDescriptionRegistryText=reg.LOCATION_UNIT,
                locationByValue=pidf_lo(f"pres:unit-{unit.code.lower()}@"
                                        f"{center_id(region_prefix)}", unit.lat, unit.lon,
                                        unit.accuracy_m, "GPS", unit.position_at)))
            unit_location = ref(locations[-1].id)
        resources.append(EidoEmergencyResource(
            id=unit_id, lastUpdateTimeStamp=unit.updated_at, updatedByAgencyReference=owner,
            emergencyResourceTypeCommonRegistryText=reg.UNIT_TYPE.get(unit.kind, "Other"),
            emergencyResourceTypeInternalText=unit.kind, resourceAttributeRegistryText=[],
            emergencyResourceName=unit.name,
            primaryUnitStatusRegistryText=reg.UNIT_STATUS.get(unit.status, unit.status),
            secondaryUnitStatusRegistryText=[], unitStatusInternal=[unit.status],
            agentReference=[ref(agents[-1].id)], unitLocationReference=unit_location))
        units_by_agency.setdefault(unit.agency_code, []).append(ref(unit_id))
    for assignment in incident.assignments:
        agency_ref(assignment.agency)
        dispatches.append(EidoDispatch(
            id=f"{base}:dispatch:{assignment.id}", lastUpdateTimeStamp=assignment.updated_at,
            updatedByAgencyReference=ref(f"{base}:agency:{assignment.agency.code}")
            if assignment.acknowledged_at else ref(center),
            agencyReference=ref(f"{base}:agency:{assignment.agency.code}"),
            emergencyResourceReference=units_by_agency.pop(assignment.agency.code, None)))
    for code in units_by_agency:  # units of an agency with no assignment (sent by hand)
        agency_ref(agency_rows[code])

    merges = [EidoMerge(id=f"{base}:merge:{other.hex}", lastUpdateTimeStamp=incident.updated_at,
                        updatedByAgencyReference=ref(center),
                        incidentTrackingIdentifier=tracking_id(other, region_prefix),
                        incidentMergeDirectionCode="REPLACING") for other in merged_here]
    if incident.merged_into is not None:
        merges.append(EidoMerge(
            id=f"{base}:merge:{incident.merged_into.hex}",
            lastUpdateTimeStamp=incident.closed_at or incident.updated_at,
            updatedByAgencyReference=ref(center),
            incidentTrackingIdentifier=tracking_id(incident.merged_into, region_prefix),
            incidentMergeDirectionCode="REPLACED"))

    types = reg.CATEGORY_TYPES.get(incident.category, reg.DEFAULT_CATEGORY_TYPE)
    incident_component = EidoIncident(
        id=f"{base}:incident", lastUpdateTimeStamp=incident.updated_at,
        updatedByAgencyReference=ref(center), incidentTypeInternalCode=incident.category,
        incidentTypeInternalText=category.name_id if category else None,
        incidentTypeCommonRegistryText=types[0],
        incidentStatusInternalText=[incident.status, *(
            f"assignment:{a.agency.code}:{a.status}" for a in incident.assignments)],
        incidentStatusCommonRegistryText=[reg.INCIDENT_STATUS.get(incident.status, "Other")],
        internalIncidentId=incident.number, locationReference=incident_location,
        incidentPriorityInternalText=f"P{incident.priority}",
        incidentCommonPriorityNumber=reg.PRIORITY_NUMBER.get(incident.priority),
        dispositionComponent=dispositions or None,
        notesReference=[ref(n.id) for n in note_components] or None)

    stamps = [incident.updated_at, *(n.at for n in notes), *(u.updated_at for u in units),
              *(a.updated_at for a in incident.assignments), *(c.updated_at for c in calls)]
    return EidoDocument(
        id=base, lastUpdateTimeStamp=max(stamps), updatedByAgencyReference=ref(center),
        issuingElementIdentification=center_id(region_prefix),
        mergeComponent=merges or None, incidentComponent=incident_component,
        callComponent=call_components or None, callbackComponent=callbacks or None,
        dispatchComponent=dispatches or None, notesComponent=note_components or None,
        emergencyResourceComponent=resources or None,
        agencyComponent=list(agencies.values()), agentComponent=agents or None,
        locationComponent=locations or None)
