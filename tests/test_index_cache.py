"""The per-process index caches check their version at most once per interval, even when
many requests find the check due at the same moment."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.core.db import VersionedIndexCache


async def test_concurrent_requests_share_one_version_check(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    builds: list[int] = []

    async def build(session: AsyncSession, version: int) -> str:
        builds.append(version)
        return f"index v{version}"

    cache = VersionedIndexCache("areas", build, check_interval_s=3600)
    checks = 0

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal checks
        checks += "FROM index_versions" in statement

    async def request() -> str:
        async with sessions() as session, session.begin():
            return await cache.get(session)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        first = await asyncio.gather(*(request() for _ in range(12)))
        cache.invalidate()  # the interval is over: due again, for everyone at once
        second = await asyncio.gather(*(request() for _ in range(12)))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert checks == 2
    assert len(builds) == 1  # the version did not change: no rebuild
    assert set(first) == set(second) == {f"index v{builds[0]}"}
