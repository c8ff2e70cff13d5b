"""Rate limits shared by every process and host, kept in PostgreSQL (migration 0011).

Each key (a token, a source address) has one GCRA state in `rate_limits`: `rate` per
second sustained, `burst` at once. A process does not ask the database for every request:
it keeps the state it last read and grants locally while the key is comfortably inside
its limit (less than half the burst used), sending what it granted in one statement every
`sync_interval_s`. Near the limit, and for a key it has not seen, it asks the database,
under the row's lock, for each request; once refused it answers by itself until the
refusal's time is up. So a limit holds across processes: what they can overshoot is at
most what they grant locally between two syncs, and only while far from the limit.

A limiter of rare failures on a hot path (unknown tracker ids, checked before every
OsmAnd fix) is asked locally: `blocked_for` reads this process's view, which `record`
updates from the database and which every sync refreshes with the keys of its
`watch_prefix` that are blocked anywhere, so a block made by one process holds in the
others within `sync_interval_s`, without a database round trip per fix.

When the database cannot be reached the limiter lets requests through (the request will
meet the same outage and answer 503 itself): a limit must never stop an operator."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Row, Text, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.core.db import Base

log = logging.getLogger("siaga112.ratelimit")

MAX_TRACKED = 10_000  # keys a process remembers (least recently used forgotten first)
_TAKE = text("""
    SELECT granted, extract(epoch FROM tat)::float8 AS tat,
           extract(epoch FROM db_now)::float8 AS db_now
    FROM rate_limit_take(:key, :used, :want, :emission, :tolerance)
""")
_SYNC = text("""
    SELECT u.key, extract(epoch FROM t.tat)::float8 AS tat,
           extract(epoch FROM t.db_now)::float8 AS db_now
    FROM unnest(CAST(:keys AS text[]), CAST(:used AS integer[])) AS u(key, used)
    CROSS JOIN LATERAL rate_limit_take(u.key, u.used, false, :emission, :tolerance) AS t
    ORDER BY u.key
""")
_BLOCKED = text("""
    SELECT key, extract(epoch FROM tat)::float8 AS tat, extract(epoch FROM now())::float8 AS db_now
    FROM rate_limits
    WHERE tat > now() + make_interval(secs => :tolerance) AND starts_with(key, :prefix)
""")
_PRUNE = text("DELETE FROM rate_limits WHERE tat < now() - interval '1 hour'")


class RateLimitRow(Base):
    """One key's GCRA state: its theoretical arrival time."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    tat: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass
class _KeyState:
    tat: float  # the shared theoretical arrival time, in this process's clock
    used: int = 0  # granted here since the last sync, not yet in the database
    blocked_until: float = 0.0


class SharedRateLimiter:
    """`rate` requests per second per key, `burst` at once, across all processes."""

    def __init__(self, engine: AsyncEngine, *, rate_per_s: float, burst: int,
                 sync_interval_s: float = 0.2, watch_prefix: str | None = None) -> None:
        self.engine = engine
        self.watch_prefix = watch_prefix  # keys whose blocks each sync reads back
        self.emission_s = 1.0 / rate_per_s
        self.tolerance_s = max(0, burst - 1) * self.emission_s
        self.sync_interval_s = sync_interval_s
        self._keys: OrderedDict[str, _KeyState] = OrderedDict()
        self._lock = asyncio.Lock()  # one database round trip per process at a time

    async def take(self, key: str) -> float:
        """Take one request for `key`: 0 when allowed, else seconds until one is."""
        now = time.time()
        state = self._keys.get(key)
        if state is not None:
            self._keys.move_to_end(key)
            if now < state.blocked_until:
                return state.blocked_until - now
            if self._inside(state, now):  # comfortably inside its limit: grant here
                state.used += 1
                return 0.0
        return await self._ask(key, want=True)

    def _inside(self, state: _KeyState, now: float | None = None) -> bool:
        """Whether one more request keeps the key within half its burst (by this
        process's view): then it is granted without the database."""
        now = time.time() if now is None else now
        if now < state.blocked_until:
            return False
        projected = max(state.tat, now) + state.used * self.emission_s
        return projected - now <= self.tolerance_s / 2

    async def record(self, key: str) -> float:
        """Count one event against `key` whatever the state (a failed log-in) and return
        how long the key is now blocked (0 when the next one would still be allowed)."""
        await self._ask(key, want=False, extra=1)
        return self.blocked_for(key)

    async def blocked(self, key: str) -> float:
        """Seconds `key` must wait before its next event is allowed (0: not blocked),
        read from the database (for rare events such as log-ins; `blocked_for` answers
        from this process's view)."""
        await self._ask(key, want=False)
        return self.blocked_for(key)

    def blocked_for(self, key: str) -> float:
        """The same from this process's view: what `record` last read, and the blocks
        of `watch_prefix` keys read back by the last sync."""
        state = self._keys.get(key)
        if state is None:
            return 0.0
        now = time.time()
        return max(0.0, state.tat - now - self.tolerance_s, state.blocked_until - now)

    async def _ask(self, key: str, *, want: bool, extra: int = 0) -> float:
        try:
            async with self._lock:
                # Read under the lock: requests that queued here behind one that just
                # read the database are granted from its answer, and what was granted
                # locally is sent once, by one ask.
                state = self._keys.get(key)
                if want and extra == 0 and state is not None and self._inside(state):
                    state.used += 1
                    return 0.0
                sent = state.used if state else 0
                async with self.engine.connect() as conn:
                    row = (await conn.execute(_TAKE, {
                        "key": key, "used": sent + extra, "want": want,
                        "emission": self.emission_s, "tolerance": self.tolerance_s})).one()
                    await conn.commit()
        except Exception as exc:  # unreachable database: let the request meet it itself
            log.warning("rate limit for a key not checked: %s", type(exc).__name__)
            return 0.0
        granted: bool = row.granted
        db_now: float = row.db_now
        offset = db_now - time.time()  # the database's clock minus ours
        tat: float = row.tat - offset
        state = self._remember(key, tat, sent)
        if want and not granted:
            wait = tat - time.time() - self.tolerance_s
            state.blocked_until = time.time() + wait
            return max(wait, 0.001)
        return 0.0

    def _remember(self, key: str, tat: float, sent: int) -> _KeyState:
        """The shared state just read, which counts the `sent` local grants (those made
        while the statement ran are kept for the next sync)."""
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState(tat=tat)
            while len(self._keys) > MAX_TRACKED:
                self._keys.popitem(last=False)
        state.tat, state.used = tat, max(0, state.used - sent)
        self._keys.move_to_end(key)
        return state

    async def sync(self) -> int:
        """Send what this process granted since the last sync; read the shared states
        back. Returns how many keys were sent."""
        async with self._lock:
            pending = sorted((k, s.used) for k, s in self._keys.items() if s.used)
            if not pending and self.watch_prefix is None:
                return 0
            rows: Sequence[Row[Any]] = []
            async with self.engine.connect() as conn:
                if pending:
                    rows = (await conn.execute(_SYNC, {
                        "keys": [k for k, _ in pending], "used": [u for _, u in pending],
                        "emission": self.emission_s, "tolerance": self.tolerance_s})).all()
                if self.watch_prefix is not None:
                    for row in (await conn.execute(_BLOCKED, {
                            "tolerance": self.tolerance_s, "prefix": self.watch_prefix})):
                        self._remember(row.key, row.tat - (row.db_now - time.time()), 0)
                await conn.commit()
            sent = dict(pending)
            for row in rows:
                state = self._keys.get(row.key)
                if state is not None:
                    # requests granted while the statement ran stay counted
                    state.used = max(0, state.used - sent[row.key])
                    state.tat = row.tat - (row.db_now - time.time())
        return len(rows)

    async def run_sync(self) -> None:
        """The background task of each process: sync every `sync_interval_s`, prune
        stale rows about once a minute."""
        pruned_at = time.monotonic()
        while True:
            await asyncio.sleep(self.sync_interval_s)
            try:
                await self.sync()
                if time.monotonic() - pruned_at > 60:
                    async with self.engine.begin() as conn:
                        await conn.execute(_PRUNE)
                    pruned_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("rate limit sync failed: %s", type(exc).__name__)
                with contextlib.suppress(Exception):
                    await asyncio.sleep(self.sync_interval_s)
