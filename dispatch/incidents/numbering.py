"""Incident numbers `MJK-YYYYMMDD-NNNN`, unique per region and local day without a lock."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.databases import connect_any
from dispatch.core.settings import Settings

# Immutable once written, so safe to cache; keyed by database too (tests use several).
_DAY_BASES: dict[tuple[str, str, date], int] = {}


_DAY_BASE_LOCK = asyncio.Lock()


async def _day_base(settings: Settings, region: str, day: date) -> int:
    """The day's base, created on first use and committed on a connection of its own, so
    that it is fixed before any number is derived from it. That connection is not taken
    from the pool: every pooled connection may be held by an intake waiting for this base
    (at local midnight under load), and one process opens at most one at a time."""
    key = (settings.database_url, region, day)
    cached = _DAY_BASES.get(key)
    if cached is not None:
        return cached
    async with _DAY_BASE_LOCK:
        if key not in _DAY_BASES:
            conn = await connect_any(settings.sync_database_url,
                                         timeout=settings.db_connect_timeout_s)
            try:
                await conn.execute(
                    """INSERT INTO incident_days (region, local_date, base)
                       VALUES ($1, $2, nextval('incident_number_seq'))
                       ON CONFLICT DO NOTHING""", region, day)
                _DAY_BASES[key] = int(await conn.fetchval(
                    "SELECT base FROM incident_days WHERE region = $1 AND local_date = $2",
                    region, day))
            finally:
                await conn.close()
    return _DAY_BASES[key]


async def next_incident_number(
    session: AsyncSession, settings: Settings, received_at: datetime, *,
    drawn: int | None = None,
) -> str:
    """`MJK-YYYYMMDD-NNNN` per region and local day. nextval never blocks and never hands
    out a value twice, and the day's base never changes, so numbers are unique without a
    lock. `drawn` is a value the caller took already (in a query it needed anyway); one
    taken before the day's base existed (≤ base) is simply drawn again."""
    region = settings.region_prefix
    local_day = received_at.astimezone(settings.zone).date()
    base = await _day_base(settings, region, local_day)
    value = drawn
    while value is None or value <= base:
        value = await session.scalar(text("SELECT nextval('incident_number_seq')"))
    return f"{region}-{local_day:%Y%m%d}-{value - base:04d}"


