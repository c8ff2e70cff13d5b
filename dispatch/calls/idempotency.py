"""Idempotency-Key: a retry returns the first response and creates nothing.

The key is serialised with a transaction-scoped advisory lock. A request that finds the
key locked does not wait holding its pooled connection (50 retries of one call on a
fresh process once exhausted the pool and got 503s): its transaction ends at once and it
tries again after a short, growing pause, until the first has committed and it finds the
stored response. Across processes and hosts the lock in PostgreSQL is what counts."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.errors import Conflict, Unavailable
from dispatch.models import IdempotencyRecord

T = TypeVar("T")
FIRST_PAUSE_S = 0.01
MAX_PAUSE_S = 0.2


def request_digest(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


class KeyBusy(Exception):
    """Another request holds this key now: end the transaction and try again."""


# Requests of this process waiting for a key queue here, so that one of them at a time
# asks PostgreSQL (an optimisation only: other processes wait on the advisory lock).
_LOCAL_QUEUES: dict[str, tuple[asyncio.Lock, int]] = {}


@contextlib.asynccontextmanager
async def _queued(name: str, deadline: float) -> AsyncIterator[None]:
    """Wait (until `deadline` at most: 503 then) for this process's turn with the key."""
    lock, users = _LOCAL_QUEUES.get(name, (asyncio.Lock(), 0))
    _LOCAL_QUEUES[name] = (lock, users + 1)
    try:
        try:
            await asyncio.wait_for(lock.acquire(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise Unavailable("an earlier request with this Idempotency-Key is still "
                              "running: retry", retry_after_s=1) from None
        try:
            yield
        finally:
            lock.release()
    finally:
        lock, users = _LOCAL_QUEUES[name]
        if users == 1:
            del _LOCAL_QUEUES[name]
        else:
            _LOCAL_QUEUES[name] = (lock, users - 1)


async def once_per_key(
    attempt: Callable[[], Awaitable[T]], *, name: str, wait_s: float
) -> T:
    """Run `attempt` (a whole transaction that starts with `replay`) until the key `name`
    is not busy, pausing between tries without a connection. 503 after `wait_s` of
    waiting (an attempt already running is never cut short)."""
    deadline = time.monotonic() + wait_s
    async with _queued(name, deadline):
        return await _until_free(attempt, deadline)


async def _until_free(attempt: Callable[[], Awaitable[T]], deadline: float) -> T:
    pause = FIRST_PAUSE_S
    while True:
        try:
            return await attempt()
        except KeyBusy:
            if time.monotonic() + pause > deadline:
                raise Unavailable("an earlier request with this Idempotency-Key is still "
                                  "running: retry", retry_after_s=1) from None
            await asyncio.sleep(pause * random.uniform(0.5, 1.0))
            pause = min(pause * 2, MAX_PAUSE_S)


async def replay(
    session: AsyncSession, user_id: uuid.UUID, key: str, digest: bytes
) -> tuple[int, dict[str, Any]] | None:
    """Lock the key (KeyBusy when another request holds it); return the stored (status,
    body) if this key was used before."""
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 112))"),
        {"k": f"{user_id}:{key}"},
    )
    if not locked:
        raise KeyBusy
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_sha256 != digest:
        raise Conflict("this Idempotency-Key was already used with a different request body")
    return record.status_code, record.response


async def remember(
    session: AsyncSession, user_id: uuid.UUID, key: str, digest: bytes, status: int,
    body: dict[str, Any],
) -> None:
    session.add(IdempotencyRecord(user_id=user_id, key=key, request_sha256=digest,
                                  status_code=status, response=body))
    await session.flush()
