"""The agency registry in the database: building the routing index, admin upserts, views."""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from shapely import MultiPolygon, Point, Polygon, wkb
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency, Category
from agencies.routing import AgencyIndex, AgencyRecord
from dispatch.core.agency_kinds import AGENCY_KINDS
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.events import append_event


@dataclass(frozen=True)
class CategoryRule:
    """What routing needs of an active incident category."""

    code: str
    agency_kinds: tuple[str, ...]
    default_priority: int


@dataclass(frozen=True)
class AgencyDirectory:
    """What each process keeps in memory: the routing index, agency code → id, and the
    active categories (rebuilt when agencies or categories change: both bump the
    'agencies' index version)."""

    index: AgencyIndex
    ids: dict[str, uuid.UUID]
    categories: dict[str, CategoryRule] = field(default_factory=dict)

    def id_of(self, code: str) -> uuid.UUID:
        return self.ids[code]

    def agency(self, code: str) -> Agency:
        """A transient Agency with what assignments and their views need, from memory
        (as fresh as the directory: rebuilt within a second of any agency change)."""
        record = self.index.get(code)
        if record is None:
            raise KeyError(code)
        return Agency(id=self.ids[code], code=code, name=record.name, kind=record.kind)


async def build_directory(
    session: AsyncSession, version: int, *, max_nearest_m: float
) -> AgencyDirectory:
    rows = await session.execute(
        select(
            Agency.id, Agency.code, Agency.name, Agency.kind,
            func.ST_Y(Agency.station), func.ST_X(Agency.station),
            func.ST_AsBinary(Agency.coverage), Agency.active, Agency.is_fallback,
        )
    )
    records = []
    ids = {}
    for agency_id, code, name, kind, lat, lon, coverage_wkb, active, is_fallback in rows:
        coverage = wkb.loads(bytes(coverage_wkb)) if coverage_wkb is not None else None
        records.append(
            AgencyRecord(code, name, kind, lat, lon, coverage, active, is_fallback)
        )
        ids[code] = agency_id
    index = AgencyIndex.build(records, max_nearest_m=max_nearest_m, version=version)
    categories = {
        c.code: CategoryRule(c.code, tuple(c.agency_kinds), c.default_priority)
        for c in await session.scalars(select(Category).where(Category.active))
    }
    return AgencyDirectory(index=index, ids=ids, categories=categories)


MAX_COVERAGE_VERTICES = 200_000


def _ring(raw: Any, where: str) -> list[tuple[float, float]]:
    """One linear ring as [lon, lat] pairs: finite, 2-D, closed, at least 4 positions."""
    if not isinstance(raw, list):
        raise Invalid(f"coverage {where} must be a list of positions")
    ring = []
    for position in raw:
        if (not isinstance(position, list) or len(position) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool)
                           for v in position)):
            raise Invalid(f"coverage {where} must hold [lon, lat] pairs of numbers (2-D)")
        try:
            lon, lat = float(position[0]), float(position[1])
        except OverflowError:
            raise Invalid(f"coverage {where} has a number out of range") from None
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise Invalid("coverage has coordinates that are not finite numbers")
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise Invalid("coverage has positions outside [-180..180, -90..90]")
        ring.append((lon, lat))
    if len(ring) < 4:
        raise Invalid(f"coverage {where} needs at least 4 positions")
    if ring[0] != ring[-1]:
        raise Invalid(f"coverage {where} is not closed (first and last positions differ)")
    return ring


def _polygon(raw: Any, where: str) -> Polygon:
    if not isinstance(raw, list) or not raw:
        raise Invalid(f"coverage {where} must be a non-empty list of rings")
    rings = [_ring(r, f"{where} ring {i}") for i, r in enumerate(raw)]
    return Polygon(rings[0], rings[1:])


def parse_coverage(geojson: dict[str, Any] | None) -> MultiPolygon | None:
    """GeoJSON Polygon/MultiPolygon → a valid 2-D MultiPolygon, or Invalid (422).
    The structure is checked by hand before shapely sees it, so malformed input (deep
    nesting, huge numbers, open rings) is a clear 422, never a crash."""
    if geojson is None:
        return None
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise Invalid("coverage must be a GeoJSON Polygon or MultiPolygon")
    coordinates = geojson.get("coordinates")
    if geojson["type"] == "Polygon":
        polygons = [_polygon(coordinates, "polygon")]
    else:
        if not isinstance(coordinates, list) or not coordinates:
            raise Invalid("coverage MultiPolygon must be a non-empty list of polygons")
        polygons = [_polygon(p, f"polygon {i}") for i, p in enumerate(coordinates)]
    geometry = MultiPolygon(polygons)
    if shapely.get_num_coordinates(geometry) > MAX_COVERAGE_VERTICES:
        raise Invalid(f"coverage has more than {MAX_COVERAGE_VERTICES} vertices: simplify it")
    if not geometry.is_valid:
        raise Invalid(f"coverage is not a valid polygon: {explain_validity(geometry)}")
    return geometry


def agency_view(
    agency: Agency, station: tuple[float, float], coverage: BaseGeometry | None
) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "kind": agency.kind,
        "station": {"lat": station[0], "lon": station[1]},
        "coverage": mapping(coverage) if coverage is not None else None,
        "active": agency.active,
        "is_fallback": agency.is_fallback,
        "phone": agency.phone,
        "contact": agency.contact,
    }


def check_kind(kind: str) -> None:
    if kind not in AGENCY_KINDS:
        raise Invalid(f"kind must be one of {', '.join(AGENCY_KINDS)}")


async def _agency_rows(session: AsyncSession, code: str | None = None) -> list[dict[str, Any]]:
    query = select(
        Agency, func.ST_Y(Agency.station), func.ST_X(Agency.station),
        func.ST_AsBinary(Agency.coverage),
    ).order_by(Agency.code)
    if code is not None:
        query = query.where(Agency.code == code)
    views = []
    for agency, lat, lon, coverage_wkb in await session.execute(query):
        coverage = wkb.loads(bytes(coverage_wkb)) if coverage_wkb is not None else None
        views.append(agency_view(agency, (lat, lon), coverage))
    return views


async def list_agencies(session: AsyncSession) -> list[dict[str, Any]]:
    return await _agency_rows(session)


async def read_agency(session: AsyncSession, code: str) -> dict[str, Any]:
    rows = await _agency_rows(session, code)
    if not rows:
        raise NotFound(f"no agency with code {code}")
    return rows[0]


async def agency_id(session: AsyncSession, code: str) -> uuid.UUID:
    found = await session.scalar(select(Agency.id).where(Agency.code == code))
    if found is None:
        raise NotFound(f"no agency with code {code}")
    return found


async def put_agency(
    session: AsyncSession, code: str, data: dict[str, Any], *, actor: str
) -> tuple[dict[str, Any], bool]:
    """Create or replace one agency (admin). Returns (view, created)."""
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{1,39}", code):
        raise Invalid("agency code must be 2-40 capital letters, digits and '-'", field="code")
    check_kind(data["kind"])
    coverage = parse_coverage(data.get("coverage"))
    agency = await session.scalar(select(Agency).where(Agency.code == code).with_for_update())
    created = agency is None
    before = None if created else await read_agency(session, code)
    if data.get("is_fallback"):
        others = await session.scalars(
            select(Agency).where(Agency.kind == data["kind"], Agency.is_fallback,
                                 Agency.code != code)
        )
        if list(others):
            raise Conflict(f"another {data['kind']} agency is already the fallback")
    if agency is None:  # added only now: a query above would autoflush it without a name
        agency = Agency(id=uuid.uuid4(), code=code)
        session.add(agency)
    agency.name = data["name"]
    agency.kind = data["kind"]
    agency.active = data.get("active", True)
    agency.is_fallback = data.get("is_fallback", False)
    agency.phone = data.get("phone")
    agency.contact = data.get("contact")
    station = data["station"]
    agency.station = from_shape(Point(station["lon"], station["lat"]), srid=4326)
    agency.coverage = from_shape(coverage, srid=4326) if coverage is not None else None
    await session.flush()
    after = await read_agency(session, code)
    await append_event(session, "agency.created" if created else "agency.updated",
                       actor=actor, entity="agency", entity_id=code,
                       before=_without_geometry(before), after=_without_geometry(after))
    return after, created


def _without_geometry(view: dict[str, Any] | None) -> dict[str, Any] | None:
    """Audit rows keep the attributes; a coverage change is recorded as a flag."""
    if view is None:
        return None
    return {**{k: v for k, v in view.items() if k != "coverage"},
            "has_coverage": view["coverage"] is not None}
