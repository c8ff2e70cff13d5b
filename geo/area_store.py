"""Building the in-memory area index from the areas of record in PostGIS."""

from __future__ import annotations

from shapely import wkb
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from geo.area_codes import Area
from geo.areas import AreaIndex
from geo.models import AdminArea


async def build_area_index(session: AsyncSession, version: int) -> AreaIndex:
    rows = await session.execute(
        select(
            AdminArea.code, AdminArea.name, AdminArea.level, AdminArea.parent_code,
            func.ST_AsBinary(AdminArea.geom),
        )
    )
    areas = [
        Area(
            code=code,
            name=name,
            level=level,
            parent_code=parent,
            geometry=wkb.loads(bytes(geom)) if geom is not None and level == "kelurahan" else None,
        )
        for code, name, level, parent, geom in rows
    ]
    return AreaIndex.build(areas, version=version)
