"""Idempotency-Key: a retry returns the first response and creates nothing.

The key is serialised with a transaction-scoped advisory lock, so 50 concurrent retries
wait for the first to commit and then all find its stored response."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.errors import Conflict
from dispatch.models import IdempotencyRecord


def request_digest(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


async def replay(
    session: AsyncSession, user_id: uuid.UUID, key: str, digest: bytes
) -> tuple[int, dict[str, Any]] | None:
    """Lock the key; return the stored (status, body) if this key was used before."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 112))"),
        {"k": f"{user_id}:{key}"},
    )
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
