"""The escalation sweep is set-based: one batch of overdue assignments, whatever its size,
costs the same handful of statements, and each escalation is recorded exactly as the
one-at-a-time sweep recorded it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import event, text

from api.app import create_app
from dispatch.assignments import actions as assignment_actions
from dispatch.assignments.sweeper import sweep_once
from dispatch.core.db import make_engine, make_sessionmaker
from dispatch.core.events import EVENTS_CHANNEL
from tests.support import demo_settings_with_idle_sweeper, login, started_client
from tests.test_assignments_flow import _fresh_agency_cache, _incident


async def _events_after(sessions: Any, seq: int) -> list[dict[str, Any]]:
    async with sessions() as session:
        rows = await session.execute(text(
            "SELECT seq, type, assignment_id::text, agency_codes, payload FROM events"
            " WHERE seq > :seq AND type LIKE 'assignment.%' ORDER BY seq"), {"seq": seq})
        return [dict(r._mapping) for r in rows]


async def test_a_batch_escalates_in_a_fixed_number_of_statements(make_database):
    settings = await demo_settings_with_idle_sweeper(make_database)
    app = create_app(settings)  # its own sweeper swept once at start, then sleeps an hour
    async for client in started_client(app):
        operator = await login(client, "operator")
        three_kinds = await _incident(client, operator, category="fire_with_injury")
        medical = await _incident(client, operator, category="medical")
        low = await _incident(client, operator, category="missing_person")  # priority 3
        acked = await _incident(client, operator, category="crime")
        [acked_assignment] = acked["assignments"]
        agency = await login(client, acked_assignment["agency"]["code"].lower())
        response = await client.post(f"/v1/assignments/{acked_assignment['id']}/ack",
                                     headers=agency)
        assert response.status_code == 200
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    statements: list[str] = []
    listener = await asyncpg.connect(settings.sync_database_url)
    notified = asyncio.Event()
    await listener.add_listener(EVENTS_CHANNEL, lambda *_: notified.set())
    try:
        agency_cache = _fresh_agency_cache(settings)
        async with sessions() as session:
            last_seq = await session.scalar(text("SELECT max(seq) FROM events"))
            await agency_cache.get(session)  # built before counting

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        later = datetime.now(UTC) + timedelta(days=1)
        escalated = await sweep_once(sessions, settings, agency_cache, now=later)
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        await asyncio.wait_for(notified.wait(), 5)
        events = await _events_after(sessions, last_seq)
        async with sessions() as session:
            rows = (await session.execute(text(
                "SELECT a.id::text, a.incident_id::text, a.status, a.reason, ag.code"
                " FROM assignments a JOIN agencies ag ON ag.id = a.agency_id"))).all()
    finally:
        await listener.close()
        await engine.dispose()

    overdue = [a for i in (three_kinds, medical, low) for a in i["assignments"]]
    assert escalated == len(overdue) == 5
    by_id = {r[0]: r for r in rows}
    assert {by_id[a["id"]][2] for a in overdue} == {"escalated"}
    assert by_id[acked_assignment["id"]][2] == "acknowledged"
    replacements = [r for r in rows if r[3] == "reroute"]
    # Priority 1 and 2 get the next agency of the kind; priority 3 (missing person) not.
    assert sorted(r[1] for r in replacements) == sorted(
        [three_kinds["id"]] * 3 + [medical["id"]])
    assert low["id"] not in {r[1] for r in replacements}
    # Statements per batch, not per assignment (one-at-a-time it was 11 per escalation):
    # advisory lock, overdue ids, incidents locked and their assignments, the updates
    # (incidents, assignments: one executemany each), the next agencies, call ids, the new
    # assignments, the events, the NOTIFY.
    assert len(statements) == 11, statements

    # Each escalation has its event for the escalated agency's feed, and each replacement
    # its assignment.created for the new agency's feed, right after it.
    types = [e["type"] for e in events]
    assert types.count("assignment.escalated") == 5
    assert types.count("assignment.created") == 4
    for index, item in enumerate(events):
        if item["type"] != "assignment.escalated":
            continue
        escalated_row = by_id[item["assignment_id"]]
        assert item["agency_codes"] == [escalated_row[4]]
        assert item["payload"]["assignment"]["status"] == "escalated"
        following = events[index + 1] if index + 1 < len(events) else None
        if escalated_row[1] == low["id"]:
            assert following is None or following["type"] == "assignment.escalated"
            continue
        assert following is not None and following["type"] == "assignment.created"
        created_row = by_id[following["assignment_id"]]
        assert created_row[1] == escalated_row[1] and created_row[3] == "reroute"
        assert following["agency_codes"] == [created_row[4]] != [escalated_row[4]]
        assert following["payload"]["assignment"]["agency"]["kind"] == \
            item["payload"]["assignment"]["agency"]["kind"]


async def test_an_assignment_acknowledged_before_the_lock_is_not_escalated(
    make_database, monkeypatch
):
    """The overdue rows are read without a lock and the incidents locked after: what was
    acknowledged in between is left alone."""
    settings = await demo_settings_with_idle_sweeper(make_database)
    app = create_app(settings)
    async for client in started_client(app):
        operator = await login(client, "operator")
        incident = await _incident(client, operator, category="medical")
    [assignment] = incident["assignments"]
    read_overdue = assignment_actions.overdue_assignments

    async def acknowledged_meanwhile(session: Any, now: datetime, limit: int) -> Any:
        found = await read_overdue(session, now, limit)
        other = await asyncpg.connect(settings.sync_database_url)
        try:
            await other.execute("UPDATE assignments SET status = 'acknowledged',"
                                " acknowledged_at = now() WHERE id = $1::uuid",
                                assignment["id"])
        finally:
            await other.close()
        return found

    monkeypatch.setattr(assignment_actions, "overdue_assignments", acknowledged_meanwhile)
    engine = make_engine(settings)
    try:
        sessions = make_sessionmaker(engine)
        escalated = await sweep_once(sessions, settings, _fresh_agency_cache(settings),
                                     now=datetime.now(UTC) + timedelta(days=1))
        async with sessions() as session:
            status = await session.scalar(text(
                "SELECT status FROM assignments WHERE id = CAST(:id AS uuid)"),
                {"id": assignment["id"]})
            count = await session.scalar(text("SELECT count(*) FROM assignments"))
    finally:
        await engine.dispose()
    assert escalated == 0
    assert status == "acknowledged"
    assert count == 1  # no replacement either
