"""Reading calls: one by id with its incident, and the keyset-paginated list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.calls.reads import (
    repeat_caller,
)
from dispatch.calls.views import call_view
from dispatch.core.errors import NotFound
from dispatch.core.pagination import decode_cursor, encode_cursor
from dispatch.incidents.reads import call_ids_of, get_incident
from dispatch.incidents.views import incident_view
from dispatch.models import Call, User


async def get_call(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await session.get(Call, call_id)
    if call is None:
        raise NotFound("no such call")
    return call


async def _operator_name(session: AsyncSession, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    username = await session.scalar(select(User.username).where(User.id == user_id))
    return username


async def read_call(session: AsyncSession, call_id: uuid.UUID) -> dict[str, Any]:
    call = await get_call(session, call_id)
    incident = None
    if call.incident_id is not None:
        found = await get_incident(session, call.incident_id)
        incident = incident_view(found, await call_ids_of(session, found.id))
    return call_view(
        call, operator=await _operator_name(session, call.operator_id), incident=incident,
        duplicates=[], repeat_count=await repeat_caller(session, call.caller_number,
                                                        datetime.now(UTC)),
    )


async def list_calls(
    session: AsyncSession, *, since: datetime | None, until: datetime | None,
    disposition: str | None, limit: int, cursor: str | None,
) -> dict[str, Any]:
    """Newest first, keyset-paginated."""
    query = select(Call, User.username).outerjoin(User, User.id == Call.operator_id)
    if since is not None:
        query = query.where(Call.received_at >= since)
    if until is not None:
        query = query.where(Call.received_at < until)
    if disposition is not None:
        query = query.where(Call.disposition == disposition)
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(
            tuple_(Call.received_at, Call.id) < tuple_(literal(at), literal(row_id)))
    rows = (await session.execute(
        query.order_by(Call.received_at.desc(), Call.id.desc()).limit(limit + 1)
    )).all()
    page = rows[:limit]
    items = [call_view(c, operator=name, incident=None, duplicates=[], repeat_count=0)
             for c, name in page]
    for item in items:
        del item["possible_duplicates"], item["repeat_caller"], item["incident"]
    next_cursor = encode_cursor(page[-1][0].received_at, page[-1][0].id) if len(rows) > limit \
        else None
    return {"items": items, "next_cursor": next_cursor}


