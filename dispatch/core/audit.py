"""Audit integrity: a SHA-256 hash chain over the append-only event log.

Sealing runs shortly after commit, in seq order, by one process at a time (advisory
lock), so intake is never serialised on it. Only final seqs are sealed (the same rule the
feeds use: dispatch/core/finality.py), so an event that commits late is never left out.
`verify_chain` recomputes the chain: an event changed, removed or slipped in afterwards
breaks it at that seq."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from dispatch.core.databases import connect_any
from dispatch.core.db import DATABASE_LOST
from dispatch.core.finality import Finality
from dispatch.core.locks import AdvisoryLock

SEAL_LOCK_KEY = int(AdvisoryLock.AUDIT_SEAL)
GENESIS = b"\x00" * 32
BATCH = 1000

_EVENT_COLUMNS = (
    "seq, at, type, actor, entity, entity_id, incident_id, assignment_id, agency_codes,"
    " before, after, payload"
)


_NAMES = tuple(name.strip() for name in _EVENT_COLUMNS.split(","))
_JSON_NAMES = frozenset(("before", "after", "payload"))


def canonical(row: Any) -> bytes:
    """A stable byte form of one event (jsonb re-serialised with sorted keys)."""
    document = {}
    for name in _NAMES:
        item = row[name]
        if name in _JSON_NAMES and isinstance(item, str):
            item = orjson.loads(item)
        document[name] = item
    return orjson.dumps(document, default=str, option=orjson.OPT_SORT_KEYS)


def chain_hash(previous: bytes, row: Any) -> bytes:
    return hashlib.sha256(previous + canonical(row)).digest()


class Sealer:
    """Keeps its place between runs; a new process starts from the last seal."""

    def __init__(self) -> None:
        self._finality: Finality | None = None
        self._last_hash = GENESIS

    async def seal_pending(self, conn: asyncpg.Connection) -> int:
        """Seal what is final now; returns how many events were sealed."""
        async with conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SEAL_LOCK_KEY):
                return 0
            last = await conn.fetchrow(
                "SELECT seq, hash FROM event_seals ORDER BY seq DESC LIMIT 1")
            last_seq, last_hash = (last["seq"], bytes(last["hash"])) if last else (0, GENESIS)
            if self._finality is None or self._finality.cursor != last_seq:
                self._finality = Finality(cursor=last_seq)  # another process sealed
            self._last_hash = last_hash
            xmin = await conn.fetchval(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            rows = await conn.fetch(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                last_seq, BATCH)
            fresh = None
            if self._finality.new_holes(rows):
                fresh = await conn.fetchval("SELECT pg_current_xact_id()::text::bigint")
            final = self._finality.take_final(rows, xmin, fresh)
            seals = []
            for row in final:
                self._last_hash = chain_hash(self._last_hash, row)
                seals.append((row["seq"], self._last_hash))
            if seals:
                await conn.executemany(
                    "INSERT INTO event_seals (seq, hash) VALUES ($1, $2)", seals)
            return len(seals)


@dataclass(frozen=True)
class VerifyResult:
    sealed: int
    unsealed_tail: int
    first_broken_seq: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


async def verify_chain(conn: asyncpg.Connection) -> VerifyResult:
    """Walk events and seals in seq order and recompute every hash."""
    previous = GENESIS
    sealed = 0
    last_sealed = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = conn.cursor(
            f"SELECT {', '.join('e.' + c.strip() for c in _EVENT_COLUMNS.split(','))},"
            " s.seq AS sealed_seq, s.hash FROM events e"
            " FULL JOIN event_seals s ON s.seq = e.seq ORDER BY coalesce(e.seq, s.seq)")
        unsealed_after: int | None = None
        async for row in cursor:
            if row["seq"] is None:
                return VerifyResult(sealed, 0, row["sealed_seq"],
                                    f"seal {row['sealed_seq']} has no event: it was deleted")
            if row["hash"] is None:
                unsealed_after = unsealed_after or row["seq"]
                continue
            if unsealed_after is not None:
                return VerifyResult(sealed, 0, unsealed_after,
                                    f"event {unsealed_after} is unsealed but later ones are"
                                    " sealed: it was inserted afterwards")
            previous = chain_hash(previous, row)
            if previous != bytes(row["hash"]):
                return VerifyResult(sealed, 0, row["seq"],
                                    f"event {row['seq']} does not match its seal: it was altered")
            sealed += 1
            last_sealed = row["seq"]
        tail = await conn.fetchval("SELECT count(*) FROM events WHERE seq > $1", last_sealed)
    return VerifyResult(sealed, tail, None, None)


async def run_sealer(dsn: str, interval_s: float = 1.0) -> None:
    """Every process runs this; the advisory lock lets one seal at a time."""
    import asyncio
    import logging

    log = logging.getLogger("siaga112.audit")
    sealer = Sealer()
    conn: asyncpg.Connection | None = None
    try:
        while True:
            try:
                if conn is None or conn.is_closed():
                    conn = await connect_any(
                        dsn, timeout=5, server_settings={"application_name": "siaga112-sealer"})
                while await sealer.seal_pending(conn) == BATCH:
                    pass
            except DATABASE_LOST as exc:
                log.warning("audit sealing failed, retrying: %s", type(exc).__name__)
                if conn is not None:
                    conn.terminate()
                conn = None
            await asyncio.sleep(interval_s)
    finally:
        if conn is not None and not conn.is_closed():
            conn.terminate()  # on shutdown (cancellation) too
