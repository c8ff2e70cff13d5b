"""The append-only event log, written in the business transaction (the outbox).

Each append also queues a NOTIFY, delivered by PostgreSQL only at commit; it is only a
wake-up: feeds read the events themselves from the table, so a lost notification never
loses an event."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

EVENTS_CHANNEL = "siaga112_events"

# The CTE `tx` runs before the INSERT computes its identity value, so the transaction has
# its id before it takes a seq. The feed hub relies on that to tell an event that is still
# in flight from a seq lost to a rollback (see dispatch/core/feed_hub.py).
_APPEND_CTES = """
    tx AS MATERIALIZED (SELECT pg_current_xact_id()::text::bigint AS txid),
    appended AS (
        INSERT INTO events (type, actor, entity, entity_id, incident_id, assignment_id,
                            agency_codes, before, after, payload, txid)
        SELECT :type, :actor, :entity, :entity_id, :incident_id, :assignment_id,
               :agency_codes, CAST(:before AS jsonb), CAST(:after AS jsonb),
               CAST(:payload AS jsonb), tx.txid
        FROM tx
        RETURNING seq
    )
    SELECT seq, pg_notify(:channel, '') FROM appended
"""
_APPEND = text("WITH " + _APPEND_CTES)


def change_with_event(change_sql: str) -> TextClause:
    """One statement that makes a change (an UPDATE or INSERT with its own :parameters,
    none named like an event column) and appends the event recording it: one round trip
    instead of a flush and an append. Run it with `append_row(..., statement=, params=)`."""
    return text(f"WITH change AS ({change_sql}), {_APPEND_CTES}")


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


def event_row(
    type: str,
    *,
    actor: str,
    entity: str,
    entity_id: uuid.UUID | str,
    incident_id: uuid.UUID | None = None,
    assignment_id: uuid.UUID | None = None,
    agency_codes: Sequence[str] = (),
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event's columns. `payload` is what a live feed frame carries (`incident`,
    `assignment`) as of this moment; `agency_codes` say which agency feeds carry it."""
    return {
        "type": type,
        "actor": actor,
        "entity": entity,
        "entity_id": str(entity_id),
        "incident_id": incident_id,
        "assignment_id": assignment_id,
        "agency_codes": list(agency_codes),
        "before": before,
        "after": after,
        "payload": payload,
    }


async def append_event(session: AsyncSession, type: str, **columns: Any) -> int:
    """Append one event (the arguments of event_row); returns its seq. An action that
    creates several rows appends its events with them instead (dispatch/batch_write.py)."""
    return await append_row(session, event_row(type, **columns))


async def append_row(
    session: AsyncSession, row: dict[str, Any], *, statement: TextClause = _APPEND,
    params: dict[str, Any] | None = None,
) -> int:
    result = await session.execute(
        statement,
        {**row, "before": _json(row["before"]), "after": _json(row["after"]),
         "payload": _json(row["payload"]), "channel": EVENTS_CHANNEL, **(params or {})},
    )
    return int(result.scalar_one())


async def notify_at_commit(session: AsyncSession) -> None:
    """Wake every feed hub when this transaction commits, for events written without
    NOTIFY (dispatch/batch_write.py) outside a request, whose unit of work would poke the
    process's Notifier instead."""
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": EVENTS_CHANNEL})
