"""The one-statement writer behind the intake (dispatch/batch_write.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
import shapely
from fastapi import FastAPI
from geoalchemy2.shape import from_shape
from shapely import Point
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from dispatch import batch_write
from dispatch.batch_write import NewRecords, row_of
from dispatch.core.databases import plain_url
from dispatch.core.events import event_row
from dispatch.models import Call
from geo.models import LocationCandidate
from tests.support import login, make_settings, started_client

MENTIKAN = {"lat": -7.470123456789, "lon": 112.430987654321}


@pytest.fixture(scope="module")
async def quiet(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, dict]]:
    """An app whose background loops ran once at start and then sleep for an hour, so the
    statements counted on its engine are the request's own."""
    app = create_app(make_settings(database_url, escalation_sweep_interval_s=3600.0))
    async for client in started_client(app):
        operator = await login(client, "operator")
        await asyncio.sleep(0.2)  # the loops' first round, started with the app
        yield app, client, operator


def test_row_of_applies_python_defaults_and_writes_geometry_as_ewkb() -> None:
    call_id = uuid.uuid4()
    candidate = LocationCandidate(id=uuid.uuid4(), call_id=call_id, source="manual",
                                  geom=from_shape(Point(112.43, -7.47), srid=4326))
    row = row_of(candidate)
    assert row["chosen"] is False  # the column's Python default, as a flush would apply
    geometry = shapely.from_wkb(row["geom"])
    assert shapely.get_srid(geometry) == 4326 and (geometry.x, geometry.y) == (112.43, -7.47)
    assert row["call_id"] == call_id and row["created_at"] is None  # server default: SQL


async def test_intake_events_share_one_transaction_in_order(
    client: httpx.AsyncClient, operator: dict, database_url: str
) -> None:
    response = await client.post("/v1/calls", headers=operator, json={
        "caller_number": "081234500001", "category": "traffic_accident",
        "location": {**MENTIKAN, "accuracy_m": 25},
    })
    assert response.status_code == 201, response.text
    body = response.json()
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        rows = await conn.fetch(
            """SELECT seq, type, txid, entity_id FROM events
               WHERE entity_id = $1 OR incident_id = $2 ORDER BY seq""",
            body["id"], uuid.UUID(body["incident"]["id"]))
        stored = await conn.fetchrow(
            "SELECT ST_Y(location) AS lat, ST_X(location) AS lon, created_at, incident_id "
            "FROM calls WHERE id = $1", uuid.UUID(body["id"]))
        candidates = await conn.fetch(
            "SELECT source, chosen, created_at FROM location_candidates WHERE call_id = $1",
            uuid.UUID(body["id"]))
    finally:
        await conn.close()
    assert [r["type"] for r in rows] == ["call.created", "incident.created",
                                         "assignment.created", "assignment.created"]
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    assert len({r["txid"] for r in rows}) == 1
    # The position survives the JSON document exactly (shortest round-trip floats).
    assert (stored["lat"], stored["lon"]) == (MENTIKAN["lat"], MENTIKAN["lon"])
    assert str(stored["incident_id"]) == body["incident"]["id"]
    assert [(c["source"], c["chosen"]) for c in candidates] == [("manual", True)]
    assert candidates[0]["created_at"] is not None  # the server default filled it


def _background(statement: str) -> bool:
    """Statements of the process's background tasks, not of the request: the caches'
    once-a-second version check, the shared rate limit's sync (every 0.2 s while a token
    is used) and the session guard's read of account changes (every 0.25 s)."""
    return any(mark in statement for mark in ("index_versions", "rate_limit",
                                              "token_generation"))


async def test_intake_takes_two_statements_besides_begin_and_commit(quiet) -> None:
    """The hot path's round trips: the reads and the write (plus BEGIN and COMMIT)."""
    app, client, operator = quiet
    warm = await client.post("/v1/calls", headers=operator, json={
        "caller_number": "081234500002", "category": "medical", "location": MENTIKAN})
    assert warm.status_code == 201
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if not _background(statement):
            statements.append(statement.split()[0])

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await client.post("/v1/calls", headers=operator, json={
            "caller_number": "081234500003", "category": "medical", "location": MENTIKAN})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 201
    assert statements == ["SELECT", "WITH"], statements


async def test_write_fills_server_defaults_and_rolls_back_as_one(
    session: AsyncSession,
) -> None:
    now = datetime.now(UTC)
    call = Call(id=uuid.uuid4(), received_at=now, caller_number="+6281234500004",
                channel="voice", location_warnings=[], in_service_area=False)
    written = await batch_write.write(session, NewRecords(
        calls=[call],
        events=[event_row("call.created", actor="test", entity="call", entity_id=call.id),
                event_row("call.closed", actor="test", entity="call", entity_id=call.id)]))
    assert len(written.seqs) == 2 and written.seqs[0] < written.seqs[1]
    row = (await session.execute(
        text("SELECT created_at, updated_at, disposition FROM calls WHERE id = :id"),
        {"id": call.id})).one()
    assert row.created_at is not None and row.updated_at is not None
    assert row.disposition is None


async def test_a_bad_row_writes_nothing(session: AsyncSession) -> None:
    """A constraint broken by one row refuses the whole statement: no call, no event."""
    before = await session.scalar(text("SELECT coalesce(max(seq), 0) FROM events"))
    call = Call(id=uuid.uuid4(), received_at=datetime.now(UTC), caller_number="+6281234500005",
                channel="fax", location_warnings=[], in_service_area=False)
    savepoint = await session.begin_nested()
    with pytest.raises(Exception, match="ck_calls_channel"):
        await batch_write.write(session, NewRecords(calls=[call], events=[
            event_row("call.created", actor="test", entity="call", entity_id=call.id)]))
    await savepoint.rollback()
    assert await session.scalar(
        text("SELECT count(*) FROM calls WHERE id = :id"), {"id": call.id}) == 0
    assert await session.scalar(
        text("SELECT count(*) FROM events WHERE seq > :s AND entity_id = :id"),
        {"s": before, "id": str(call.id)}) == 0

async def test_closing_a_prank_takes_two_statements_and_counts_it(quiet) -> None:
    """A prank close (30 % of traffic): the locked read (with operator and repeat count)
    and one statement updating the call and appending its event."""
    app, client, operator = quiet
    number = "081234500077"
    ids = []
    for _ in range(2):
        call = await client.post("/v1/calls", headers=operator, json={"caller_number": number})
        assert call.status_code == 201
        ids.append(call.json()["id"])
    first = await client.post(f"/v1/calls/{ids[0]}/disposition", headers=operator,
                              json={"disposition": "prank"})
    assert first.json()["repeat_caller"] == {"prank_or_ghost_24h": 1}
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if not _background(statement):
            statements.append(statement.split()[0])

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        second = await client.post(f"/v1/calls/{ids[1]}/disposition", headers=operator,
                                   json={"disposition": "ghost", "note": "silent line"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert second.status_code == 200, second.text
    assert statements == ["SELECT", "WITH"], statements
    body = second.json()
    assert body["disposition"] == "ghost" and body["operator"] == "operator"
    assert body["repeat_caller"] == {"prank_or_ghost_24h": 2}
    stored = (await client.get(f"/v1/calls/{ids[1]}", headers=operator)).json()
    assert stored["disposition"] == "ghost"
    assert stored["repeat_caller"] == {"prank_or_ghost_24h": 2}
