"""`dispatch demo load`: the bundled Mojokerto region, its demo agencies, categories and users.

Every write is an upsert keyed on the natural code, so loading twice leaves the same state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from shapely import MultiPolygon, Point, Polygon
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agencies.models import Agency, Category
from dispatch.accounts.users import create_user
from dispatch.models import User
from dispatch.units.model import Unit
from geo.area_codes import Area
from geo.area_geojson import load_areas_geojson

DEMO_DATA = Path(__file__).parent / "demo_data"
AREA_FILES = (
    "kabkota_mojokerto.geojson",
    "kecamatan_mojokerto.geojson",
    "desa_kota_mojokerto.geojson",
    "desa_kab_mojokerto.geojson",
)
LEVEL_ORDER = {"provinsi": 0, "kabkota": 1, "kecamatan": 2, "kelurahan": 3}

Progress = Callable[[str, int], None]  # (step description, items done in this step)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    password: str
    agency_code: str | None = None


@dataclass(frozen=True)
class DemoLoadResult:
    areas: int
    agencies: int
    categories: int
    users: list[DemoUser]
    units: int = 0


def demo_users(agency_codes: Sequence[str]) -> list[DemoUser]:
    """Fixed demo accounts (demo only: the passwords are printed and documented)."""
    users = [
        DemoUser("admin", "admin", "admin-demo-112"),
        DemoUser("supervisor", "supervisor", "supervisor-demo-112"),
        DemoUser("operator", "operator", "operator-demo-112"),
        DemoUser("operator2", "operator", "operator2-demo-112"),
        DemoUser("aml-gateway", "gateway", "aml-gateway-demo-112"),
    ]
    for code in agency_codes:
        username = code.lower()
        users.append(DemoUser(username, "agency", f"{username}-demo-112", code))
    return users


def _multipolygon_wkt(geometry: BaseGeometry | None) -> str | None:
    """WKT with a Polygon promoted to a MultiPolygon (others as they are)."""
    if geometry is None:
        return None
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon([geometry])
    return geometry.wkt


async def upsert_areas(session: AsyncSession, areas: Sequence[Area], progress: Progress) -> int:
    statement = text(
        """
        INSERT INTO areas (code, level, name, parent_code, geom)
        VALUES (:code, :level, :name, :parent_code, ST_GeomFromText(:wkt, 4326))
        ON CONFLICT (code) DO UPDATE SET
            level = EXCLUDED.level, name = EXCLUDED.name, parent_code = EXCLUDED.parent_code,
            geom = EXCLUDED.geom, updated_at = now()
        WHERE (areas.level, areas.name, areas.parent_code)
                IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.name, EXCLUDED.parent_code)
           OR NOT ST_OrderingEquals(areas.geom, EXCLUDED.geom)
           OR (areas.geom IS NULL) <> (EXCLUDED.geom IS NULL)
        """
    )
    ordered = sorted(areas, key=lambda a: (LEVEL_ORDER[a.level], a.code))
    batch: list[dict[str, object]] = []
    for area in ordered:
        batch.append(
            {
                "code": area.code,
                "level": area.level,
                "name": area.name,
                "parent_code": area.parent_code,
                "wkt": _multipolygon_wkt(area.geometry),
            }
        )
        if len(batch) == 50:
            await session.execute(statement, batch)
            progress("areas", len(batch))
            batch = []
    if batch:
        await session.execute(statement, batch)
        progress("areas", len(batch))
    return len(ordered)


async def upsert_categories(
    session: AsyncSession, categories: Sequence[dict[str, Any]]
) -> int:
    for item in categories:
        row = await session.get(Category, item["code"])
        if row is None:
            row = Category(code=item["code"], active=True)
            session.add(row)
        row.name = item["name"]
        row.name_id = item["name_id"]
        row.agency_kinds = list(item["agency_kinds"])
        row.default_priority = int(item["default_priority"])
    await session.flush()
    return len(categories)


async def upsert_agencies(
    session: AsyncSession, features: Sequence[dict[str, Any]]
) -> list[str]:
    """Upsert the agencies of a GeoJSON FeatureCollection (demo file format)."""
    codes = []
    for feature in features:
        props = feature["properties"]
        coverage = shape(feature["geometry"]) if feature.get("geometry") else None
        station = Point(props["station"]["lon"], props["station"]["lat"])
        row = await session.scalar(select(Agency).where(Agency.code == props["code"]))
        if row is None:
            row = Agency(code=props["code"], active=True)
            session.add(row)
        row.name = props["name"]
        row.kind = props["kind"]
        row.phone = props.get("phone")
        row.is_fallback = bool(props.get("fallback_for_kind"))
        row.station = func.ST_GeomFromText(station.wkt, 4326)
        row.coverage = (
            func.ST_GeomFromText(_multipolygon_wkt(coverage), 4326) if coverage else None
        )
        codes.append(props["code"])
    await session.flush()
    return codes


async def ensure_demo_users(session: AsyncSession, users: Sequence[DemoUser]) -> None:
    """Create the demo accounts that are missing; existing accounts are left as they are."""
    existing = set(await session.scalars(select(User.username)))
    for user in users:
        if user.username not in existing:
            await create_user(
                session,
                user.username,
                role=user.role,
                password=user.password,
                agency_code=user.agency_code,
            )


# Demo fleet per agency kind: (unit kind, how many). Code `<AGENCY>-<n>`, device id
# `demo-<agency in lower case>-<n>` (demo only: a real device id is the tracker's secret).
DEMO_FLEET = {"health": ("ambulance", 2), "police": ("patrol", 2),
              "fire": ("fire_engine", 2), "sar": ("rescue", 1), "disaster": ("rescue", 1)}
UNIT_NAMES = {"ambulance": "Ambulans", "patrol": "Mobil patroli",
              "fire_engine": "Mobil pemadam", "rescue": "Unit rescue"}


async def ensure_demo_units(session: AsyncSession) -> int:
    """Create the demo units that are missing, parked at their agency's station (a fix
    of now); existing units are left as they are. Returns how many the demo has."""
    existing = set(await session.scalars(select(Unit.code)))
    agencies = (await session.execute(select(
        Agency.code, Agency.kind, func.ST_Y(Agency.station), func.ST_X(Agency.station)))).all()
    count = 0
    now = datetime.now(UTC)
    for code, kind, lat, lon in sorted(agencies):
        unit_kind, how_many = DEMO_FLEET.get(kind, ("other", 0))
        for n in range(1, how_many + 1):
            count += 1
            unit_code = f"{code}-{n}"
            if unit_code in existing:
                continue
            session.add(Unit(
                code=unit_code, agency_code=code, kind=unit_kind, status="available",
                name=f"{UNIT_NAMES[unit_kind]} {n} {code}",
                device_id=f"demo-{code.lower()}-{n}".ljust(16, "0"),
                lat=lat, lon=lon, accuracy_m=10.0, position_at=now,
                location=func.ST_GeogFromText(f"SRID=4326;POINT({lon} {lat})"),
                updated_at=now))
    await session.flush()
    return count


def _read_json(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))


def area_file_paths(data_dir: Path = DEMO_DATA) -> list[Path]:
    return [data_dir / name for name in AREA_FILES]


async def load_demo(
    session: AsyncSession,
    progress: Progress | None = None,
    *,
    on_total: Callable[[int], None] | None = None,
    data_dir: Path = DEMO_DATA,
) -> DemoLoadResult:
    """Load everything in one transaction (the caller commits). `on_total` hears how many
    items `progress` will count, once the files are read."""
    report: Progress = progress or (lambda _step, _n: None)
    areas = load_areas_geojson(area_file_paths(data_dir))
    categories = _read_json(data_dir / "categories.json")["categories"]
    agency_features = _read_json(data_dir / "agencies.geojson")["features"]
    users = demo_users([f["properties"]["code"] for f in agency_features])
    if on_total is not None:
        on_total(len(areas) + len(categories) + len(agency_features) + len(users))
    area_count = await upsert_areas(session, areas, report)
    category_count = await upsert_categories(session, categories)
    report("categories", category_count)
    agency_codes = await upsert_agencies(session, agency_features)
    report("agencies", len(agency_codes))
    await ensure_demo_users(session, users)
    report("users", len(users))
    units = await ensure_demo_units(session)
    return DemoLoadResult(area_count, len(agency_codes), category_count, users, units)


async def load_demo_into(database_url: str) -> DemoLoadResult:
    """Load the demo region into the database at `database_url`, in one transaction
    (for tests and benchmarks; the CLI shows progress instead)."""
    from dispatch.core.db import make_engine, make_sessionmaker, transaction
    from dispatch.core.settings import Settings

    settings = Settings(database_url=database_url, demo_mode=True)
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await load_demo(session)
    finally:
        await engine.dispose()
