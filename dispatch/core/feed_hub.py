"""The feed hub: one per process. It reads the event log in seq order and fans each
event out to the WebSocket subscribers of this process that may see it.

Events are written with the business transaction (the outbox); NOTIFY after commit only
wakes the hub, and it also polls, so a lost notification delays nothing for long.
Subscribers never see seq 10 before seq 9: the hub delivers only final seqs
(dispatch/core/finality.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from dispatch.core.background import start_background
from dispatch.core.databases import connect_any
from dispatch.core.db import DATABASE_LOST
from dispatch.core.events import EVENTS_CHANNEL
from dispatch.core.finality import Finality

log = logging.getLogger("siaga112.feed")

POLL_INTERVAL_S = 1.0
BATCH = 500
STARTUP_LOOKBACK = 1000  # seqs behind the newest event the hub re-checks at start
FEED_APP = "siaga112-feed"  # application_name of the hub's own connections

# An account event's `after` holds the account's token generation: the hub closes the
# account's subscribers whose token is older, in seq order, so no frame committed after a
# revocation reaches them (dispatch/accounts/sessions.py).
_READ = """
    SELECT seq, type, at, agency_codes, payload,
           CASE WHEN entity = 'user' THEN entity_id END AS user_id,
           CASE WHEN entity = 'user' THEN (after->>'token_generation')::int END
               AS token_generation
    FROM events WHERE seq > $1 ORDER BY seq LIMIT $2
"""
_SNAPSHOT_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
_NEW_XID = "SELECT pg_current_xact_id()::text::bigint"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    seq: int
    agency_codes: tuple[str, ...]
    frame: str  # the JSON text frame, built once for every subscriber

    @classmethod
    def from_row(cls, row: Any) -> FeedEvent | None:
        """Only events with a payload (the contract's feed types) go on feeds."""
        if row["payload"] is None:
            return None
        payload = orjson.loads(row["payload"]) if isinstance(row["payload"], str | bytes) \
            else row["payload"]
        frame = orjson.dumps({
            "seq": row["seq"], "type": row["type"], "at": row["at"].isoformat(),
            "incident": payload.get("incident"), "assignment": payload.get("assignment"),
            **{k: v for k, v in payload.items() if k not in ("incident", "assignment")},
        }).decode()
        return cls(row["seq"], tuple(row["agency_codes"] or ()), frame)

    def visible_to(self, agency_code: str | None) -> bool:
        return agency_code is None or agency_code in self.agency_codes


@dataclass(eq=False)
class Subscriber:
    """One WebSocket connection. `agency_code` None means every event (supervisors).
    `user_id` and `generation` name the account and token generation it was opened with."""

    agency_code: str | None
    queue: asyncio.Queue[FeedEvent | None] = field(
        default_factory=lambda: asyncio.Queue(1000))
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)
    user_id: str | None = None
    generation: int = 0
    revoked: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: FeedEvent) -> None:
        if self.overflowed.is_set() or self.revoked.is_set():
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed.set()

    def cut_off(self) -> None:
        """The hub could not deliver some event to it: its connection closes as an
        overflowed one does (4008 with `since=`), and the client's replay from storage
        fills the gap. A waiting sender is woken (None) to see it."""
        self.overflowed.set()
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def revoke(self) -> None:
        """Nothing more is offered; a waiting sender is woken (None) to see it."""
        self.revoked.set()
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


async def read_final_events(
    conn: asyncpg.Connection, after_seq: int, until_seq: int, agency_code: str | None,
) -> list[FeedEvent]:
    """Events in (after_seq, until_seq] for a replay; the caller passes the hub's cursor as
    until_seq, below which the log is final."""
    rows = await conn.fetch(
        """SELECT seq, type, at, agency_codes, payload FROM events
           WHERE seq > $1 AND seq <= $2 AND payload IS NOT NULL
             AND ($3::text IS NULL OR $3 = ANY(agency_codes))
           ORDER BY seq LIMIT $4""",
        after_seq, until_seq, agency_code, BATCH,
    )
    return [e for e in (FeedEvent.from_row(r) for r in rows) if e is not None]




class FeedHub:
    def __init__(
        self, dsn: str, *, queue_size: int = 1000, application_name: str = FEED_APP
    ) -> None:
        self._dsn = dsn
        self._server_settings = {"application_name": application_name}
        self._queue_size = queue_size
        self._finality = Finality()
        self._subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._connections: dict[str, asyncpg.Connection] = {}
        self._ready = asyncio.Event()
        self.on_delivered: Callable[[int], None] | None = None

    async def start(self) -> None:
        self._tasks = [start_background("feed-pump", self._pump),
                       start_background("feed-listen", self._listen)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conn in self._connections.values():
            if not conn.is_closed():
                conn.terminate()

    async def wait_ready(self) -> None:
        """Until the hub has read the log once (its cursor is meaningful)."""
        await self._ready.wait()

    @property
    def cursor(self) -> int:
        """Every seq up to here is final: delivered, or lost for good to a rollback."""
        return self._finality.cursor

    def subscribe(self, agency_code: str | None, *, user_id: str | None = None,
                  generation: int = 0) -> tuple[Subscriber, int]:
        """Register a subscriber; returns it with the cursor at registration: everything
        after it arrives through the queue, everything up to it is in storage."""
        subscriber = Subscriber(agency_code, asyncio.Queue(self._queue_size),
                                user_id=user_id, generation=generation)
        self._subscribers.add(subscriber)
        return subscriber, self.cursor

    def wake(self) -> None:
        """Read the log now (events were committed by this process)."""
        self._wake.set()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def _revoke(self, user_id: str, generation: int) -> None:
        for subscriber in self._subscribers:
            if subscriber.user_id == user_id and subscriber.generation < generation:
                subscriber.revoke()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def _listen(self) -> None:
        """LISTEN on its own connection; reconnects by itself and then catches up."""
        delay = 0.5
        while True:
            conn = None
            try:
                conn = await connect_any(self._dsn, timeout=5,
                                             server_settings=self._server_settings)
                self._connections["listen"] = conn
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(EVENTS_CHANNEL, lambda *_: self._wake.set())
                self._wake.set()  # catch up on what happened while not listening
                delay = 0.5
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(5.0):
                            await lost.wait()
                    if not lost.is_set():
                        await conn.execute("SELECT 1")  # notices a dead link
            except DATABASE_LOST as exc:
                log.warning("feed LISTEN connection lost (%s); reconnecting",
                            type(exc).__name__)
            finally:
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _pump(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while True:
                try:
                    if conn is None or conn.is_closed():
                        conn = await connect_any(
                            self._dsn, timeout=5, server_settings=self._server_settings
                        )
                        self._connections["pump"] = conn
                        if not self._ready.is_set():
                            newest = await conn.fetchval(
                                "SELECT coalesce(max(seq), 0) FROM events")
                            self._finality.cursor = max(0, newest - STARTUP_LOOKBACK)
                    while await self._advance(conn):
                        pass
                    self._ready.set()
                except DATABASE_LOST as exc:
                    log.warning("feed reader lost the database (%s); retrying",
                                type(exc).__name__)
                    if conn is not None:
                        conn.terminate()
                    conn = None
                self._wake.clear()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the wait ends, and stop() would hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_INTERVAL_S):
                        await self._wake.wait()
        finally:  # keep_running starts the loop again, on a new connection
            if conn is not None and not conn.is_closed():
                conn.terminate()

    def _deliver(self, final: list[Any]) -> None:
        for row in final:
            if row["token_generation"] is not None:
                self._revoke(row["user_id"], row["token_generation"])
            event = FeedEvent.from_row(row)
            if event is not None:
                for subscriber in list(self._subscribers):
                    if event.visible_to(subscriber.agency_code):
                        subscriber.offer(event)

    async def _advance(self, conn: asyncpg.Connection) -> bool:
        """Deliver the next final events; True when there may be more right away (a full
        batch, or a new hole that may already be final)."""
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            xmin = await conn.fetchval(_SNAPSHOT_XMIN)
            rows = await conn.fetch(_READ, self.cursor, BATCH)
            fresh = await conn.fetchval(_NEW_XID) if self._finality.new_holes(rows) else None
        final = self._finality.take_final(rows, xmin, fresh)
        if self._subscribers:  # with nobody listening here, only the cursor moves
            try:
                self._deliver(final)
            except Exception:
                # The cursor is already past these rows: cut every subscriber off, so
                # none is left with a gap it cannot see (keep_running logs and restarts).
                for subscriber in list(self._subscribers):
                    subscriber.cut_off()
                raise
        if self.on_delivered is not None and rows:
            self.on_delivered(self.cursor)
        # A hole seen for the first time is usually a finished rollback: look again at
        # once (a new snapshot will show it final) instead of at the next wake-up.
        return len(rows) == BATCH or fresh is not None
