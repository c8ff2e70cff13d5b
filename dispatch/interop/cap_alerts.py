"""CAP 1.2 alerts out: a supervisor publishes an alert about an incident for the public
(Bahasa Indonesia, the incident's kelurahan and kecamatan as polygons with their names
and Kemendagri codes), updates it and cancels it; each message is a new CAP message that
references the one before (`<references>`), stored exactly as published.

Every message is validated against the strict CAP schema (`CAP-v1.2-extended.xsd`)
before it is stored: an invalid one is never published. Times are written in the
center's zone without fractions (`2026-11-23T14:05:00+07:00`), as CAP's pattern wants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from lxml import etree
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Category
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.events import append_event
from dispatch.interop.cap_xml import CAP_NS, schema_errors
from dispatch.interop.models import CapAlert
from dispatch.interop.registries import CATEGORY_TYPES, DEFAULT_CATEGORY_TYPE
from dispatch.models import Incident

DEFAULT_TTL = timedelta(hours=6)
MAX_TTL = timedelta(days=7)
SIMPLIFY_DEGREES = 0.0003  # ~30 m: a public alert's outline, not a cadastral map
SENDER_NAME = "Command Center 112"
ATOM_NS = "http://www.w3.org/2005/Atom"
_AREA_SHAPES = text("""
    SELECT code, name, level,
           ST_AsGeoJSON(ST_Multi(ST_SimplifyPreserveTopology(geom, :tolerance)), 5)
    FROM areas WHERE code = ANY(:codes) AND geom IS NOT NULL
""")


@dataclass(frozen=True)
class AlertText:
    """What a supervisor writes: CAP's info fields."""

    headline: str
    instruction: str
    severity: str
    urgency: str
    certainty: str
    expires: datetime | None = None


def cap_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def sender_of(region_prefix: str) -> str:
    return f"siaga112-{region_prefix.lower()}"


def _sub(parent: etree._Element, name: str, value: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
    if value is not None:
        element.text = value
    return element


def _rings(geojson: str) -> list[str]:
    """The outer rings of a (multi)polygon as CAP polygons: "lat,lon lat,lon ..."."""
    shape = orjson.loads(geojson)
    polygons = shape["coordinates"] if shape["type"] == "MultiPolygon" else [shape["coordinates"]]
    rings = []
    for polygon in polygons:
        ring = polygon[0]
        if len(ring) >= 4:
            rings.append(" ".join(f"{lat},{lon}" for lon, lat in ring))
    return rings


@dataclass(frozen=True)
class _Message:
    identifier: str
    sender: str
    sent_at: datetime
    msg_type: str
    references: str | None
    incident_number: str
    category: str
    event: str
    text: AlertText
    expires_at: datetime
    areas: list[tuple[str, str, str, list[str]]]  # code, name, level, CAP polygons


def render(message: _Message, zone: ZoneInfo) -> str:
    """The CAP document of one message, checked against the strict schema."""
    try:
        alert = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})  # type: ignore[dict-item]
        _sub(alert, "identifier", message.identifier)
        _sub(alert, "sender", message.sender)
        _sub(alert, "sent", cap_time(message.sent_at, zone))
        _sub(alert, "status", "Actual")
        _sub(alert, "msgType", message.msg_type)
        _sub(alert, "scope", "Public")
        if message.msg_type == "Cancel":
            _sub(alert, "note", "Peringatan ini dibatalkan.")
        if message.references:
            _sub(alert, "references", message.references)
        _sub(alert, "incidents", message.incident_number)
        info = _sub(alert, "info")
        _sub(info, "language", "id-ID")
        _sub(info, "category", CATEGORY_TYPES.get(message.category, DEFAULT_CATEGORY_TYPE)[1])
        _sub(info, "event", message.event)
        _sub(info, "responseType", "AllClear" if message.msg_type == "Cancel" else "Monitor")
        _sub(info, "urgency", message.text.urgency)
        _sub(info, "severity", message.text.severity)
        _sub(info, "certainty", message.text.certainty)
        code = _sub(info, "eventCode")
        _sub(code, "valueName", "SIAGA112")
        _sub(code, "value", message.category)
        _sub(info, "expires", cap_time(message.expires_at, zone))
        _sub(info, "senderName", SENDER_NAME)
        _sub(info, "headline", message.text.headline)
        names = ", ".join(f"{level.capitalize()} {name}" for _, name, level, _ in message.areas)
        _sub(info, "description", f"{message.event} di {names}." if names else message.event)
        _sub(info, "instruction", message.text.instruction)
        _sub(info, "contact", "112")
        for code_value, name, level, polygons in message.areas:
            area = _sub(info, "area")
            _sub(area, "areaDesc", f"{level.capitalize()} {name}")
            for polygon in polygons:
                _sub(area, "polygon", polygon)
            geocode = _sub(area, "geocode")
            _sub(geocode, "valueName", "KEMENDAGRI")
            _sub(geocode, "value", code_value)
    except ValueError as exc:  # lxml refuses control characters in text
        raise Invalid(f"the text cannot be written in XML: {exc}") from None
    errors = schema_errors(alert, extended=True)
    if errors:
        raise Invalid("the alert would not be valid CAP 1.2: " + "; ".join(errors))
    return etree.tostring(alert, xml_declaration=True, encoding="UTF-8").decode()


async def _areas_of(session: AsyncSession, incident: Incident
                    ) -> list[tuple[str, str, str, list[str]]]:
    area = incident.area or {}
    codes = [area[level]["code"] for level in ("kelurahan", "kecamatan")
             if isinstance(area.get(level), dict) and area[level].get("code")]
    if not codes:
        raise Conflict("the incident has no place in the region's areas: an alert needs one "
                       "(set its location first)")
    rows = await session.execute(_AREA_SHAPES, {"codes": codes, "tolerance": SIMPLIFY_DEGREES})
    found = {code: (code, name, level, _rings(shape)) for code, name, level, shape in rows}
    return [found[c] for c in codes if c in found]


def _areas_announced(xml: str) -> list[tuple[str, str, str, list[str]]]:
    """The areas a message of ours announced, read back from its document (this service
    wrote it: no untrusted input), for a Cancel of an incident that no longer has a place
    in the region."""
    root = etree.fromstring(xml.encode())
    areas = []
    for area in root.iter(f"{{{CAP_NS}}}area"):
        level, _, name = (area.findtext(f"{{{CAP_NS}}}areaDesc") or "").partition(" ")
        code = area.findtext(f"{{{CAP_NS}}}geocode/{{{CAP_NS}}}value") or ""
        polygons = [p.text or "" for p in area.iter(f"{{{CAP_NS}}}polygon")]
        areas.append((code, name, level.lower(), polygons))
    return areas


def _expiry(requested: datetime | None, default: datetime, now: datetime) -> datetime:
    expires = requested or default
    if expires.tzinfo is None:
        raise Invalid("expires needs a time zone offset", field="expires")
    if expires <= now:
        raise Invalid("expires must be in the future", field="expires")
    if expires - now > MAX_TTL:
        raise Invalid(f"expires may be at most {MAX_TTL.days} days ahead", field="expires")
    return expires


async def issue_alert(session: AsyncSession, incident_id: uuid.UUID, body: AlertText, *,
                      actor: str, region_prefix: str, zone: ZoneInfo) -> dict[str, Any]:
    """Publish a new CAP alert about an incident; answers its identifier."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("no such incident")
    category = await session.get(Category, incident.category)
    now = datetime.now(UTC).replace(microsecond=0)
    identifier = f"SIAGA112-{incident.number}-{uuid.uuid4().hex[:8]}"
    message = _Message(
        identifier=identifier, sender=sender_of(region_prefix), sent_at=now, msg_type="Alert",
        references=None, incident_number=incident.number, category=incident.category,
        event=category.name_id if category else incident.category, text=body,
        expires_at=_expiry(body.expires, now + DEFAULT_TTL, now),
        areas=await _areas_of(session, incident))
    return await _store(session, message, incident.id, chain_id=identifier, previous=None,
                        actor=actor, zone=zone)


async def _latest(session: AsyncSession, identifier: str) -> CapAlert:
    alert = await session.get(CapAlert, identifier, with_for_update=True)
    if alert is None:
        raise NotFound("no such alert")
    if alert.superseded_by is not None:
        raise Conflict("a later message replaced this alert: update or cancel that one",
                       superseded_by=alert.superseded_by)
    if alert.msg_type == "Cancel":
        raise Conflict("the alert was cancelled")
    return alert


async def change_alert(session: AsyncSession, identifier: str, changes: dict[str, Any], *,
                       cancel: bool, actor: str, region_prefix: str,
                       zone: ZoneInfo) -> dict[str, Any]:
    """Publish an Update (the fields given replace the previous ones) or a Cancel of the
    newest message of an alert's chain; answers the new message's identifier."""
    previous = await _latest(session, identifier)
    incident = await session.get(Incident, previous.incident_id)
    assert incident is not None  # a foreign key
    category = await session.get(Category, incident.category)
    now = datetime.now(UTC).replace(microsecond=0)
    before = AlertText(headline=previous.headline, instruction=previous.instruction,
                       severity=previous.severity, urgency=previous.urgency,
                       certainty=previous.certainty, expires=previous.expires_at)
    body = replace(before, **changes)
    if cancel:  # listed in the feed for as long as the alert would have been
        expires = max(previous.expires_at, now + timedelta(hours=1))
    else:
        expires = _expiry(body.expires, previous.expires_at, now)
    try:
        areas = await _areas_of(session, incident)
    except Conflict:
        if not cancel:
            raise
        areas = _areas_announced(previous.xml)  # cancel what was announced
    new_id = f"SIAGA112-{incident.number}-{uuid.uuid4().hex[:8]}"
    message = _Message(
        identifier=new_id, sender=sender_of(region_prefix), sent_at=now,
        msg_type="Cancel" if cancel else "Update",
        references=f"{sender_of(region_prefix)},{previous.identifier},"
                   f"{cap_time(previous.sent_at, zone)}",
        incident_number=incident.number, category=incident.category,
        event=category.name_id if category else incident.category, text=body,
        expires_at=expires, areas=areas)
    previous.superseded_by = new_id
    return await _store(session, message, incident.id, chain_id=previous.chain_id,
                        previous=previous.identifier, actor=actor, zone=zone)


async def _store(session: AsyncSession, message: _Message, incident_id: uuid.UUID, *,
                 chain_id: str, previous: str | None, actor: str,
                 zone: ZoneInfo) -> dict[str, Any]:
    xml = render(message, zone)
    session.add(CapAlert(
        identifier=message.identifier, chain_id=chain_id, references_id=previous,
        incident_id=incident_id, msg_type=message.msg_type, sent_at=message.sent_at,
        expires_at=message.expires_at, headline=message.text.headline,
        instruction=message.text.instruction, severity=message.text.severity,
        urgency=message.text.urgency, certainty=message.text.certainty, xml=xml,
        created_by=actor))
    await session.flush()
    kind = {"Alert": "alert.issued", "Update": "alert.updated", "Cancel": "alert.cancelled"}
    await append_event(session, kind[message.msg_type], actor=actor, entity="alert",
                       entity_id=message.identifier, incident_id=incident_id,
                       after={"identifier": message.identifier, "msg_type": message.msg_type,
                              "references": previous, "headline": message.text.headline,
                              "expires_at": message.expires_at.isoformat()})
    return {"identifier": message.identifier, "msg_type": message.msg_type,
            "references": previous}


async def read_alert(session: AsyncSession, identifier: str) -> str:
    """The CAP document of one message, as published."""
    xml = await session.scalar(select(CapAlert.xml).where(CapAlert.identifier == identifier))
    if xml is None:
        raise NotFound("no such alert")
    return xml


async def alerts_feed(session: AsyncSession, *, base_url: str, region_prefix: str,
                      zone: ZoneInfo) -> str:
    """An Atom feed of the alerts in force: the newest message of each chain that has not
    expired (a Cancel stays listed until its own expiry, so readers learn of it)."""
    now = datetime.now(UTC)
    rows = list(await session.scalars(
        select(CapAlert).where(CapAlert.superseded_by.is_(None), CapAlert.expires_at > now)
        .order_by(CapAlert.sent_at.desc(), CapAlert.identifier).limit(200)))
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})  # type: ignore[dict-item]

    def sub(parent: etree._Element, name: str, value: str | None = None,
            **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ATOM_NS}}}{name}", attributes)
        if value is not None:
            element.text = value
        return element

    sub(feed, "id", f"urn:siaga112:{region_prefix.lower()}:alerts")
    sub(feed, "title", "Peringatan publik Command Center 112")
    updated = rows[0].sent_at if rows else now
    sub(feed, "updated", cap_time(updated, zone))
    sub(sub(feed, "author"), "name", SENDER_NAME)
    sub(feed, "link", rel="self", href=f"{base_url}/v1/alerts")
    for row in rows:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{base_url}/v1/alerts/{row.identifier}")
        sub(entry, "title", row.headline)
        sub(entry, "updated", cap_time(row.sent_at, zone))
        sub(entry, "summary", row.instruction)
        sub(entry, "category", term=row.msg_type)
        sub(entry, "link", rel="alternate", type="application/cap+xml",
            href=f"{base_url}/v1/alerts/{row.identifier}")
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8").decode()
