"""The shared database module: declarative base, engine and session factory.

geo/ and agencies/ import only this from dispatch/.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy import MetaData, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from dispatch.core.databases import connect_any, host_dsns
from dispatch.core.settings import Settings

log = logging.getLogger("siaga112.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# What a background loop on its own asyncpg connection treats as "the database went away":
# it drops the connection, logs, and retries (feed hub, notifier, audit sealer).
# TargetServerAttributeNotMatched: every host of a multi-host URL answered, none is a
# primary (a failover under way). InternalClientError: asyncpg's protocol state after the
# server's shutdown message reached an idle connection ("cannot switch to state 15;
# another operation (2) is in progress", seen at a fast shutdown under load).
DATABASE_LOST: tuple[type[BaseException], ...] = (
    OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError,
    asyncpg.TargetServerAttributeNotMatched, asyncpg.InternalClientError)
# The same for a background loop that goes through SQLAlchemy: SQLAlchemy wraps what the
# driver raises during a statement, but passes connection errors (no primary, a database
# starting up) through as asyncpg's own.
STORE_ERRORS: tuple[type[BaseException], ...] = (*DATABASE_LOST, SQLAlchemyError)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(settings: Settings, **overrides: Any) -> AsyncEngine:
    """An asyncpg engine with a bounded pool and a statement timeout, so a hung database
    turns into errors instead of requests that pile up forever."""
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        # No pre-ping: it costs a round trip per request. A connection found dead raises a
        # disconnect error (answered 503), and SQLAlchemy then discards the pool's older
        # connections, so a database restart costs one failed request per process.
        "pool_pre_ping": False,
        # Last in, first out: a light load keeps reusing the few connections whose
        # backends have already planned its statements and whose driver has already
        # introspected its types; first in, first out rotated every request onto the
        # coldest of the 20 (a lone /osmand fix took 20–41 ms instead of 5–8).
        "pool_use_lifo": True,
        "pool_timeout": settings.db_connect_timeout_s,
        "connect_args": {
            "timeout": settings.db_connect_timeout_s,
            "command_timeout": settings.db_statement_timeout_ms / 1000 or None,
            "server_settings": {
                "application_name": "siaga112",
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "timezone": "UTC",
                # Short OLTP statements only: JIT compilation (triggered by PostGIS's high
                # function costs) added 13 ms to a 0.5 ms lookup.
                "jit": "off",
            },
        },
    }
    options.update(overrides)
    if len(host_dsns(settings.database_url)) > 1:
        # A primary and its standbys: each host gets the whole connect time-out, so that a
        # silent one (powered off) does not hide the others (databases.connect_any).
        connect_args = options.pop("connect_args")

        async def connect() -> asyncpg.Connection:
            return await connect_any(settings.sync_database_url, **connect_args)

        options["async_creator"] = connect
    return create_async_engine(settings.database_url, **options)


# What a new backend and a new asyncpg connection do once, before their first real
# request: PostgreSQL loads the PostGIS library and its types into the backend, and asyncpg
# introspects the geometry type: a cold connection's first position fix took 17–19 ms
# after a 5 ms connect, 6.5 ms after this, 1.3–1.7 ms warm (BENCHMARKS.md, "Session 10").
_WARM_UP = text("SELECT ST_SetSRID(ST_MakePoint(0, 0), 4326), NULL::geography")


async def warm_pool(engine: AsyncEngine, connections: int, timeout_s: float) -> int:
    """Open `connections` of the pool's connections now and prepare their backends, so that
    a worker's first burst of requests (a restart in a busy shift) does not open and warm
    them one slow request at a time. Returns how many are ready; a database that does not
    answer is not an error here (/readyz reports it, and requests open connections later)."""
    warmed = 0

    async def open_one(stack: contextlib.AsyncExitStack) -> None:
        nonlocal warmed
        connection = await stack.enter_async_context(engine.connect())
        await connection.execute(_WARM_UP)
        await connection.rollback()
        warmed += 1

    try:
        async with asyncio.timeout(timeout_s), contextlib.AsyncExitStack() as stack:
            # All held at once, so each is a different connection; released together.
            results = await asyncio.gather(*(open_one(stack) for _ in range(connections)),
                                           return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            # Never fatal: a worker that serves slowly at first beats one that does not
            # start. An error other than the database's own is a defect: its traceback.
            unexpected = next((f for f in failures if not isinstance(f, STORE_ERRORS)), None)
            log.warning("%d of %d pool connections not opened at start (%s)",
                        len(failures), connections, type(failures[0]).__name__,
                        exc_info=unexpected)
    except TimeoutError:
        log.warning("pool warm-up timed out after %.1f s (%d of %d connections ready)",
                    timeout_s, warmed, connections)
    return warmed


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction per intent: commit on success, roll back on any error."""
    async with sessions() as session, session.begin():
        yield session


T = TypeVar("T")


class VersionedIndexCache(Generic[T]):
    """A per-process in-memory index (areas, agencies) rebuilt when its row in
    `index_versions` changes. Triggers bump that row on any change to the source table,
    so every process sees every change; the version is checked at most every
    `check_interval_s` seconds to keep the hot path free of extra round trips."""

    def __init__(
        self,
        name: str,
        build: Callable[[AsyncSession, int], Awaitable[T]],
        check_interval_s: float = 1.0,
    ) -> None:
        self.name = name
        self._build = build
        self._check_interval_s = check_interval_s
        self._value: T | None = None
        self._version: int | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._checked_at = float("-inf")

    def _fresh(self) -> T | None:
        """The cached index if it was checked recently enough, else None."""
        if (self._value is not None
                and time.monotonic() - self._checked_at < self._check_interval_s):
            return self._value
        return None

    async def get(self, session: AsyncSession) -> T:
        if (fresh := self._fresh()) is not None:
            return fresh
        async with self._lock:
            # Requests that queued on the lock while another checked need not check again
            # (else a convoy of one SELECT each, once a second, under load).
            if (fresh := self._fresh()) is not None:
                return fresh
            version = await session.scalar(
                text("SELECT version FROM index_versions WHERE name = :name"),
                {"name": self.name},
            )
            if self._value is None or version != self._version:
                self._value = await self._build(session, int(version or 0))
                self._version = version
            self._checked_at = time.monotonic()
            return self._value
