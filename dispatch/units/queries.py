"""Reading units: a list by agency, status and kind, and one unit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.pagination import decode_key_cursor, key_page
from dispatch.units.actions import find_unit
from dispatch.units.model import Unit
from dispatch.units.views import unit_view


async def list_units(
    session: AsyncSession, *, agency: str | None, status: str | None, kind: str | None,
    limit: int, cursor: str | None, only_agency: str | None,
) -> dict[str, Any]:
    """Units in code order, a page at a time; an agency account sees only its own."""
    query = select(Unit)
    for column, value in ((Unit.agency_code, agency), (Unit.agency_code, only_agency),
                          (Unit.status, status), (Unit.kind, kind)):
        if value is not None:
            query = query.where(column == value)
    if cursor:
        query = query.where(Unit.code > decode_key_cursor(cursor))
    rows = list(await session.scalars(query.order_by(Unit.code).limit(limit + 1)))
    page, next_cursor = key_page(rows, limit, lambda unit: unit.code)
    return {"items": [unit_view(u) for u in page], "next_cursor": next_cursor}


async def read_unit(session: AsyncSession, code: str, *,
                    only_agency: str | None) -> dict[str, Any]:
    return unit_view(await find_unit(session, code, only_agency=only_agency))
