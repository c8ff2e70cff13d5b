"""Hazard warnings in: CAP 1.2 messages such as BMKG's nowcasts, parsed safely, matched to
the region's kecamatan and kelurahan, stored, and announced on the supervisors' feed.

A warning is active while its `expires` is ahead (read time: nothing needs to sweep),
it is not a Cancel, and no later Update or Cancel of the same sender references it. A
message without `<expires>` is taken as active for `DEFAULT_TTL` after it was sent.

Which areas a warning touches: its polygons and circles intersected with the areas of
record in PostGIS; an `<area>` with neither is matched by name (`areaDesc` against the
kecamatan names, "Kec." prefixes ignored)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from geoalchemy2.shape import from_shape
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.validation import make_valid
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.errors import Conflict, Invalid
from dispatch.core.events import append_event
from dispatch.interop.cap_xml import CAP_NS, parse_untrusted, schema_errors
from dispatch.interop.models import MSG_TYPES, HazardWarning

DEFAULT_TTL = timedelta(hours=6)
MAX_AREAS = 500  # areas named in one answer (a province-wide warning touches hundreds)
_NS = {"cap": CAP_NS}
_CIRCLE_SIDES = 32
_MATCH_AREAS = text("""
    SELECT code, name, level FROM areas
    WHERE level IN ('kecamatan', 'kelurahan') AND geom IS NOT NULL
      AND geom && ST_GeomFromText(:wkt, 4326)
      AND ST_Intersects(geom, ST_GeomFromText(:wkt, 4326))
    ORDER BY level, code
""")
_AREAS_BY_NAME = text("""
    SELECT code, name, level FROM areas
    WHERE level = 'kecamatan' AND lower(name) = ANY(:names)
    ORDER BY code
""")


@dataclass
class ParsedWarning:
    """The parts of a CAP message we keep (its first Indonesian `<info>`, else its first)."""

    identifier: str
    sender: str
    sent_at: datetime
    msg_type: str
    references: list[dict[str, str]]
    event: str
    headline: str | None
    description: str | None
    instruction: str | None
    severity: str
    urgency: str
    certainty: str
    onset_at: datetime | None
    expires_at: datetime
    area_descs: list[str] = field(default_factory=list)
    shapes: list[BaseGeometry] = field(default_factory=list)
    unshaped_names: list[str] = field(default_factory=list)


def _text(parent: etree._Element, name: str) -> str | None:
    found = parent.find(f"cap:{name}", _NS)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _required(parent: etree._Element, name: str) -> str:
    value = _text(parent, name)
    if value is None:
        raise Invalid(f"<{name}> is missing", field="body")
    return value


def _time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"<{name}> is not a date and time: {value[:40]!r}", field="body") from None
    if parsed.tzinfo is None:
        raise Invalid(f"<{name}> has no time zone offset", field="body")
    return parsed.astimezone(UTC)


def parse_polygon(value: str) -> Polygon:
    """A CAP polygon: "lat,lon lat,lon ..." (WGS 84), at least four pairs, closed."""
    points: list[tuple[float, float]] = []
    for pair in value.split():
        try:
            lat_text, lon_text = pair.split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise Invalid(f"polygon point {pair[:40]!r} is not 'lat,lon'", field="body") from None
        if not (math.isfinite(lat) and math.isfinite(lon)
                and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise Invalid(f"polygon point {pair[:40]!r} is off the globe", field="body")
        points.append((lon, lat))
    if len(points) < 4 or points[0] != points[-1]:
        raise Invalid("a polygon needs at least four points, the last equal to the first",
                      field="body")
    return Polygon(points)


def parse_circle(value: str) -> Polygon:
    """A CAP circle "lat,lon radius_km" as a polygon of `_CIRCLE_SIDES` sides."""
    try:
        centre, radius_text = value.split()
        lat_text, lon_text = centre.split(",")
        lat, lon, radius_km = float(lat_text), float(lon_text), float(radius_text)
    except ValueError:
        raise Invalid(f"circle {value[:40]!r} is not 'lat,lon radius_km'", field="body") from None
    if not (-90 < lat < 90 and -180 <= lon <= 180 and 0 <= radius_km <= 1000):
        raise Invalid(f"circle {value[:40]!r} is out of range", field="body")
    radius_km = max(radius_km, 0.01)
    dlat = radius_km / 111.32
    dlon = radius_km / (111.32 * math.cos(math.radians(lat)))
    ring = [(lon + dlon * math.cos(a), lat + dlat * math.sin(a))
            for a in (2 * math.pi * i / _CIRCLE_SIDES for i in range(_CIRCLE_SIDES))]
    return Polygon([*ring, ring[0]])


def _references(value: str | None) -> list[dict[str, str]]:
    found = []
    for entry in (value or "").split():
        parts = entry.split(",")
        if len(parts) != 3:
            raise Invalid(f"<references> entry {entry[:60]!r} is not sender,identifier,sent",
                          field="body")
        found.append({"sender": parts[0], "identifier": parts[1], "sent": parts[2]})
    return found


MAX_ID_CHARS = 200  # the columns' width (migration 0016)


def parse_warning(data: bytes, *, now: datetime | None = None) -> ParsedWarning:
    """Parse and check one CAP 1.2 message (Invalid for anything that is not one)."""
    root = parse_untrusted(data)
    if root.tag != f"{{{CAP_NS}}}alert":
        raise Invalid("the root element must be a CAP 1.2 <alert> "
                      f"(namespace {CAP_NS})", field="body")
    errors = schema_errors(root, extended=False)
    if errors:
        raise Invalid("not valid CAP 1.2: " + "; ".join(errors), field="body")
    status = _required(root, "status")
    if status != "Actual":
        raise Invalid(f"only Actual warnings are taken (this one is {status})", field="body")
    infos = root.findall("cap:info", _NS)
    if not infos:
        raise Invalid("the alert has no <info>", field="body")
    info = next((i for i in infos if (_text(i, "language") or "").lower().startswith("id")),
                infos[0])
    sent_at = _time(_required(root, "sent"), "sent")
    expires = _text(info, "expires")
    onset = _text(info, "onset")
    warning = ParsedWarning(
        identifier=_required(root, "identifier"),
        sender=_required(root, "sender"),
        sent_at=sent_at,
        msg_type=_required(root, "msgType"),
        references=_references(_text(root, "references")),
        event=_required(info, "event"),
        headline=_text(info, "headline"),
        description=_text(info, "description"),
        instruction=_text(info, "instruction"),
        severity=_required(info, "severity"),
        urgency=_required(info, "urgency"),
        certainty=_required(info, "certainty"),
        onset_at=_time(onset, "onset") if onset else None,
        expires_at=_time(expires, "expires") if expires else sent_at + DEFAULT_TTL,
    )
    for name in ("identifier", "sender"):
        if len(getattr(warning, name)) > MAX_ID_CHARS:
            raise Invalid(f"{name} is longer than {MAX_ID_CHARS} characters", field="body")
    if warning.msg_type not in MSG_TYPES:
        raise Invalid(f"msgType {warning.msg_type} is not taken (Alert, Update, Cancel)",
                      field="body")
    for area in info.findall("cap:area", _NS):
        desc = _required(area, "areaDesc")
        warning.area_descs.append(desc)
        shapes = [parse_polygon(p.text or "") for p in area.findall("cap:polygon", _NS)]
        shapes += [parse_circle(c.text or "") for c in area.findall("cap:circle", _NS)]
        if shapes:
            warning.shapes.extend(shapes)
        else:
            warning.unshaped_names.extend(_area_names(desc))
    return warning


def _area_names(desc: str) -> list[str]:
    """Kecamatan names in an areaDesc such as "Kec. Pacet, Trawas dan Gondang"."""
    names = []
    for part in desc.replace(" dan ", ",").replace(";", ",").split(","):
        name = part.strip()
        for prefix in ("kecamatan ", "kec. ", "kec "):
            if name.lower().startswith(prefix):
                name = name[len(prefix):]
        if name:
            names.append(name.lower())
    return names


def footprint(shapes: list[BaseGeometry]) -> MultiPolygon | None:
    """The union of a warning's shapes as one valid MultiPolygon (None: no shapes)."""
    if not shapes:
        return None
    merged = unary_union([make_valid(s) for s in shapes])
    polygons = [g for g in getattr(merged, "geoms", [merged]) if isinstance(g, Polygon)]
    polygons += [p for g in getattr(merged, "geoms", []) if isinstance(g, MultiPolygon)
                 for p in g.geoms]
    return MultiPolygon(polygons) if polygons else None


async def touched_areas(
    session: AsyncSession, shape: MultiPolygon | None, names: list[str]
) -> list[dict[str, str]]:
    """The region's kecamatan and kelurahan a warning touches (kecamatan first)."""
    found: dict[str, dict[str, str]] = {}
    if shape is not None:
        for code, name, level in await session.execute(_MATCH_AREAS, {"wkt": shape.wkt}):
            found[code] = {"code": code, "name": name, "level": level}
    if names:
        for code, name, level in await session.execute(_AREAS_BY_NAME, {"names": names}):
            found.setdefault(code, {"code": code, "name": name, "level": level})
    ordered = sorted(found.values(), key=lambda a: (a["level"] != "kecamatan", a["code"]))
    return ordered[:MAX_AREAS]


def warning_view(row: HazardWarning, geometry: str | None,
                 now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "id": str(row.id),
        "identifier": row.identifier,
        "sender": row.sender,
        "sent_at": row.sent_at.isoformat(),
        "msg_type": row.msg_type,
        "event": row.event,
        "headline": row.headline,
        "description": row.description,
        "instruction": row.instruction,
        "severity": row.severity,
        "urgency": row.urgency,
        "certainty": row.certainty,
        "onset_at": row.onset_at and row.onset_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "area_descs": list(row.area_descs),
        "areas": list(row.areas),
        "geometry": orjson.loads(geometry) if geometry else None,
        "received_at": row.received_at.isoformat(),
        "active": _is_active(row, now),
    }


def _is_active(row: HazardWarning, now: datetime) -> bool:
    return row.expires_at > now and row.msg_type != "Cancel" and row.superseded_by is None


async def receive_warning(session: AsyncSession, data: bytes, *, actor: str) -> dict[str, Any]:
    """Store one CAP warning; answers its view. Invalid (422) for anything that is not a
    CAP 1.2 message we take, Conflict (409) for one already received (same sender and
    identifier). An Update or Cancel marks the warnings it references superseded. The
    supervisors' feed gets `warning.received` when the warning touches the region."""
    parsed = parse_warning(data)
    shape = footprint(parsed.shapes)
    areas = await touched_areas(session, shape, parsed.unshaped_names)
    row = HazardWarning(
        id=uuid.uuid4(), identifier=parsed.identifier, sender=parsed.sender,
        sent_at=parsed.sent_at, msg_type=parsed.msg_type, references=parsed.references,
        event=parsed.event, headline=parsed.headline, description=parsed.description,
        instruction=parsed.instruction, severity=parsed.severity, urgency=parsed.urgency,
        certainty=parsed.certainty, onset_at=parsed.onset_at, expires_at=parsed.expires_at,
        area_descs=parsed.area_descs, areas=areas,
        geom=None if shape is None else from_shape(shape, srid=4326),
        xml=data.decode("utf-8", errors="replace"), received_by=actor,
        received_at=datetime.now(UTC),
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"warning {parsed.identifier} of {parsed.sender} was already "
                       "received") from None
    for ref in parsed.references:
        await session.execute(
            update(HazardWarning)
            .where(HazardWarning.sender == ref["sender"],
                   HazardWarning.identifier == ref["identifier"],
                   HazardWarning.superseded_by.is_(None), HazardWarning.id != row.id)
            .values(superseded_by=row.id))
    view = warning_view(row, None if shape is None else orjson.dumps(mapping(shape)).decode())
    if areas:
        await append_event(
            session, "warning.received", actor=actor, entity="warning", entity_id=row.id,
            agency_codes=[], after={"identifier": row.identifier, "sender": row.sender,
                                    "areas": areas},
            payload={"incident": None, "assignment": None, "warning": view})
    return view


async def list_warnings(session: AsyncSession, *, active: bool | None,
                        limit: int = 200) -> list[dict[str, Any]]:
    """Warnings, newest first; `active=True` only those in force now (expired ones drop
    off by themselves), `False` only those no longer in force."""
    now = datetime.now(UTC)
    query = select(HazardWarning, func.ST_AsGeoJSON(HazardWarning.geom, 5))
    in_force = ((HazardWarning.expires_at > now) & (HazardWarning.msg_type != "Cancel")
                & HazardWarning.superseded_by.is_(None))
    if active is True:
        query = query.where(in_force)
    elif active is False:
        query = query.where(~in_force)
    rows = await session.execute(
        query.order_by(HazardWarning.sent_at.desc(), HazardWarning.id).limit(limit))
    return [warning_view(row, geometry, now) for row, geometry in rows]
