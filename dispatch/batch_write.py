"""New rows of one business action, written in one statement (one round trip).

An intake creates a call, its location candidates, perhaps an incident with one
assignment per agency kind, and three to five events. Written one ORM flush at a time that
was 10–15 round trips and most of a worker's CPU; here the domain code builds the rows as
plain (transient) ORM objects, exactly as it would for the session, and `write` sends them
as one JSON document to a single statement of data-modifying CTEs:

* each table's rows come from `jsonb_populate_recordset(NULL::<table>, …)`, so every
  column is converted by PostgreSQL's own input functions (geometry as hex EWKB);
* foreign keys between the new rows hold: PostgreSQL checks them at the end of the
  statement, when every CTE has run;
* events are appended in the given order (ORDER BY ordinality) after the transaction has
  its id (the `tx` CTE, see dispatch/core/events.py); the feed hubs are woken after commit by
  the process's Notifier (dispatch/core/notify.py), not by a NOTIFY in the transaction.

The INSERT text is derived once from the table metadata; a column the object leaves None
that has a server default gets that default (coalesce), and one with a Python default gets
it here, as a flush would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
from geoalchemy2 import WKBElement
from sqlalchemy import ColumnDefault, Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.assignments.model import Assignment
from dispatch.core.db import Base
from dispatch.models import Call, Incident
from geo.models import LocationCandidate
from geo.points import ewkb_hex

# Insertion order matters only for readability: PostgreSQL checks the foreign keys between
# them at the end of the statement.
TABLES: tuple[tuple[str, type[Base]], ...] = (
    ("incidents", Incident),
    ("calls", Call),
    ("candidates", LocationCandidate),
    ("assignments", Assignment),
)
EVENT_COLUMNS = (
    ("type", "text"), ("actor", "text"), ("entity", "text"), ("entity_id", "text"),
    ("incident_id", "uuid"), ("assignment_id", "uuid"), ("agency_codes", "text[]"),
    ("before", "jsonb"), ("after", "jsonb"), ("payload", "jsonb"),
)


@dataclass
class NewRecords:
    """What one action creates. Objects are transient ORM instances (never added to the
    session); events are dicts of EVENT_COLUMNS (dispatch.events.event_row)."""

    incidents: list[Incident] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    candidates: list[LocationCandidate] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    aml_message_ids: list[uuid.UUID] = field(default_factory=list)  # now matched to calls[0]


def _json_value(value: Any) -> Any:
    if isinstance(value, WKBElement):  # hex EWKB: exact, and it carries the SRID
        return ewkb_hex(value)
    return value


@cache
def _python_defaults(table: Table) -> tuple[tuple[str, Any, bool], ...]:
    """(column key, default, whether the default is called) for every column."""
    columns = []
    for column in table.columns:
        default = column.default
        if default is None:
            columns.append((column.key, None, False))
        elif isinstance(default, ColumnDefault):
            columns.append((column.key, default.arg, default.is_callable))
        else:  # a Sequence: no model written here has one
            raise TypeError(f"{table.name}.{column.key}: unsupported default {default!r}")
    return tuple(columns)


def _table(model: type[Base]) -> Table:
    """A model's table (SQLAlchemy types `__table__` as any FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


def row_of(instance: Any) -> dict[str, Any]:
    """Every column of a transient ORM instance, with Python-side defaults applied."""
    values = instance.__dict__
    row = {}
    for key, default, called in _python_defaults(instance.__table__):
        value = values.get(key)
        if value is None and default is not None:
            value = default(None) if called else default
        row[key] = _json_value(value)
    return row


def _server_default_sql(column: Any) -> str | None:
    if column.server_default is None or column.identity is not None:
        return None
    arg = column.server_default.arg
    if isinstance(arg, str):
        return "'" + arg.replace("'", "''") + "'"
    pg = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy: unannotated __init__
    return str(arg.compile(dialect=pg))


@cache
def _insert_cte(name: str, table: Table) -> str:
    columns = [c for c in table.columns if c.identity is None]
    select_list = []
    for column in columns:
        default = _server_default_sql(column)
        quoted = f'r."{column.name}"'
        select_list.append(f"coalesce({quoted}, {default})" if default else quoted)
    names = ", ".join(f'"{c.name}"' for c in columns)
    return (f'new_{name} AS (INSERT INTO {table.name} ({names}) '
            f"SELECT {', '.join(select_list)} "
            f"FROM doc, jsonb_populate_recordset(NULL::{table.name}, doc.d->'{name}') r)")


@cache
def _statement() -> TextClause:
    event_defs = ", ".join(f"{name} {kind}" for name, kind in EVENT_COLUMNS)
    event_names = ", ".join(name for name, _ in EVENT_COLUMNS)
    ctes = [
        "doc AS MATERIALIZED (SELECT CAST(:doc AS jsonb) AS d)",
        *(_insert_cte(name, _table(model)) for name, model in TABLES),
        """matched_aml AS (
            UPDATE aml_messages SET call_id = (doc.d->'calls'->0->>'id')::uuid FROM doc
            WHERE aml_messages.id IN (
                SELECT jsonb_array_elements_text(doc.d->'aml_message_ids')::uuid))""",
        "tx AS MATERIALIZED (SELECT pg_current_xact_id()::text::bigint AS txid)",
        f"""new_events AS (
            INSERT INTO events ({event_names}, txid)
            SELECT {', '.join('e.' + name for name, _ in EVENT_COLUMNS)}, tx.txid
            FROM doc, tx, ROWS FROM (jsonb_to_recordset(doc.d->'events') AS ({event_defs}))
                 WITH ORDINALITY AS e({event_names}, n)
            ORDER BY e.n
            RETURNING seq)""",
    ]
    return text("WITH " + ",\n".join(ctes) + "\nSELECT seq FROM new_events ORDER BY seq")


# No NOTIFY in the statement: whoever commits the session pokes the process's Notifier
# when this key is set (api/deps.py, dispatch/core/notify.py).
NOTIFY_AFTER_COMMIT = "notify_after_commit"


@dataclass(frozen=True)
class Written:
    seqs: list[int]  # the events' seqs, in the order given


async def write(session: AsyncSession, records: NewRecords) -> Written:
    """Insert every new row and append every event in one statement."""
    document: dict[str, Sequence[Any]] = {
        name: [row_of(obj) for obj in getattr(records, name)] for name, _ in TABLES
    }
    document["events"] = records.events
    document["aml_message_ids"] = records.aml_message_ids
    result = await session.execute(
        _statement(), {"doc": orjson.dumps(document, default=str).decode()}
    )
    written = Written(seqs=[row.seq for row in result])
    if written.seqs:
        session.info[NOTIFY_AFTER_COMMIT] = True
    return written

