"""How many WebSockets one account holds open, across every process and host.

A stolen or buggy client could open sockets until a process runs out of memory or file
descriptors; the limit (`max_sockets_per_user`) holds for the account as a whole, so it
counts in PostgreSQL: one `open_sockets` row per socket, counted and inserted under a
per-account advisory lock (two processes cannot both take the last place). Each process
touches its rows every `HEARTBEAT_S`; rows of a process that died without closing its
sockets stop counting after `STALE_AFTER_S`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.core.db import STORE_ERRORS
from dispatch.core.errors import DomainError, Unavailable

log = logging.getLogger("siaga112.sockets")

HEARTBEAT_S = 15.0
STALE_AFTER_S = 60.0
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('open-sockets:' || :user, 0))")
_FORGET_STALE = text(
    "DELETE FROM open_sockets WHERE user_id = :user"
    " AND seen_at < now() - make_interval(secs => :stale)")
_COUNT = text("SELECT count(*) FROM open_sockets WHERE user_id = :user")
_ADD = text("INSERT INTO open_sockets (id, user_id, path) VALUES (:id, :user, :path)")
_REMOVE = text("DELETE FROM open_sockets WHERE id = :id")
_TOUCH = text("UPDATE open_sockets SET seen_at = now() WHERE id = ANY(:ids)")


class TooManySockets(DomainError):
    """The account already holds its allowance of open sockets."""

    status = 429
    title = "Too many open sockets"


class OpenSockets:
    """This process's open sockets, registered in the shared table."""

    def __init__(self, engine: AsyncEngine, *, per_user: int) -> None:
        self._engine = engine
        self._per_user = per_user
        self._mine: set[uuid.UUID] = set()

    async def open(self, user_id: str, path: str) -> uuid.UUID:
        """Register a socket of the account, or raise TooManySockets."""
        socket_id = uuid.uuid4()
        params = {"user": user_id, "id": socket_id, "path": path[:200],
                  "stale": STALE_AFTER_S}
        try:
            async with self._engine.begin() as connection:
                await connection.execute(_LOCK, params)
                await connection.execute(_FORGET_STALE, params)
                count = (await connection.execute(_COUNT, params)).scalar_one()
                if count >= self._per_user:
                    raise TooManySockets(
                        f"this account already has {count} open sockets (at most "
                        f"{self._per_user}): close one first")
                await connection.execute(_ADD, params)
        except STORE_ERRORS as exc:
            raise Unavailable("open sockets cannot be counted now: retry",
                              retry_after_s=1) from exc
        self._mine.add(socket_id)
        return socket_id

    async def close(self, socket_id: uuid.UUID) -> None:
        """Forget a socket; if the database is away, its row goes stale by itself."""
        self._mine.discard(socket_id)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(_REMOVE, {"id": socket_id})
        except STORE_ERRORS as exc:
            log.warning("open socket %s not removed (%s); it expires by itself",
                        socket_id, type(exc).__name__)

    async def run(self) -> None:
        """Touch this process's rows every HEARTBEAT_S (a background task)."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if not self._mine:
                continue
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(_TOUCH, {"ids": list(self._mine)})
            except STORE_ERRORS as exc:
                log.warning("open sockets not touched (%s)", type(exc).__name__)
            except Exception:  # the loop must outlive any one failure: stale rows stop
                log.exception("open sockets not touched")  # counting after a minute
