"""Agencies' side: queues, acknowledgement races, declines, escalation, isolation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import text

from api.app import create_app
from api.deps import install_index_caches
from dispatch.assignments.sweeper import run_sweeper, sweep_once
from dispatch.core.db import VersionedIndexCache, make_engine, make_sessionmaker
from dispatch.core.settings import Settings
from tests.support import demo_settings_with_idle_sweeper, login, make_settings, started_client

KOTA_PRAJURITKULON = {"lat": -7.47, "lon": 112.43}  # Mentikan, kecamatan Prajuritkulon


async def _incident(client, operator, category="crime", location=KOTA_PRAJURITKULON,
                    priority=None) -> dict:
    body = {"caller_number": "+6281311100001", "category": category, "location": location}
    if priority:
        body["priority"] = priority
    response = await client.post("/v1/calls", headers=operator, json=body)
    assert response.status_code == 201, response.text
    return response.json()["incident"]


def _fresh_agency_cache(settings: Settings) -> VersionedIndexCache:
    """An agency directory cache as a brand-new process has it: nothing carried over."""
    state = SimpleNamespace()
    install_index_caches(state, settings)
    return state.agency_cache


def _by_kind(incident: dict, kind: str) -> list[dict]:
    return [a for a in incident["assignments"] if a["agency"]["kind"] == kind]


async def test_concurrent_acknowledgement_exactly_one_wins(client, operator, supervisor):
    incident = await _incident(client, operator)
    [assignment] = incident["assignments"]
    agency = await login(client, assignment["agency"]["code"].lower())
    responses = await asyncio.gather(
        client.post(f"/v1/assignments/{assignment['id']}/ack", headers=agency),
        client.post(f"/v1/assignments/{assignment['id']}/ack", headers=supervisor),
    )
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409).json()
    assert loser["status_now"] == "acknowledged"
    detail = (await client.get(f"/v1/incidents/{incident['id']}", headers=supervisor)).json()
    assert detail["status"] == "acknowledged"


async def test_illegal_transition_is_409_with_current_state(client, operator):
    incident = await _incident(client, operator)
    [assignment] = incident["assignments"]
    agency = await login(client, assignment["agency"]["code"].lower())
    response = await client.post(f"/v1/assignments/{assignment['id']}/status", headers=agency,
                                 json={"status": "on_scene"})
    assert response.status_code == 409
    assert response.json()["status_now"] == "queued"


async def test_lifecycle_to_completion_moves_incident_status(client, operator, supervisor):
    incident = await _incident(client, operator)
    [assignment] = incident["assignments"]
    agency = await login(client, assignment["agency"]["code"].lower())
    url = f"/v1/assignments/{assignment['id']}"
    assert (await client.post(f"{url}/ack", headers=agency)).json()["status"] == "acknowledged"
    for status in ("en_route", "on_scene", "completed"):
        response = await client.post(f"{url}/status", headers=agency, json={"status": status})
        assert response.json()["status"] == status
    detail = (await client.get(f"/v1/incidents/{incident['id']}", headers=supervisor)).json()
    assert detail["status"] == "on_scene"  # all completed: waits for the operator to close
    assert [e["type"] for e in detail["timeline"]].count("assignment.updated") == 4


async def test_decline_chain_never_returns_to_a_decliner(client, operator, supervisor):
    incident = await _incident(client, operator)
    [first] = incident["assignments"]
    assert first["agency"]["code"] == "POLSEK-PRAJURITKULON"
    seen = [first["agency"]["code"]]
    current = first
    for _ in range(3):
        agency = await login(client, current["agency"]["code"].lower())
        declined = await client.post(f"/v1/assignments/{current['id']}/status",
                                     headers=agency, json={"status": "declined"})
        assert declined.status_code == 200
        detail = (await client.get(f"/v1/incidents/{incident['id']}",
                                   headers=supervisor)).json()
        open_ = [a for a in detail["assignments"] if a["status"] == "queued"]
        if not open_:
            break
        [current] = open_
        assert current["agency"]["code"] not in seen
        assert current["reason"] == "reroute"
        seen.append(current["agency"]["code"])
    # Polsek → the covering Polres of the Kota (also the police fallback) → nearest others
    assert seen[1] == "POLRES-MJK-KOTA"


async def test_agency_cannot_touch_another_agencys_work(client, operator):
    incident = await _incident(client, operator)
    [assignment] = incident["assignments"]
    stranger = await login(client, "damkar-mjk")
    for method, url, body in [
        ("POST", f"/v1/assignments/{assignment['id']}/ack", None),
        ("POST", f"/v1/assignments/{assignment['id']}/status", {"status": "declined"}),
        ("GET", f"/v1/incidents/{incident['id']}", None),
        ("GET", "/v1/agencies/POLSEK-PRAJURITKULON/queue", None),
    ]:
        response = await client.request(method, url, headers=stranger, json=body)
        assert response.status_code == 404, (url, response.text)
    listed = (await client.get("/v1/incidents?limit=500", headers=stranger)).json()["items"]
    assert incident["id"] not in {i["id"] for i in listed}
    for path in ("/v1/calls", "/v1/incidents/" + incident["id"] + "/close"):
        response = await client.post(path, headers=stranger, json={})
        assert response.status_code == 403


async def test_queue_orders_by_priority_then_age(client, operator):
    low = await _incident(client, operator, category="missing_person", priority=4)
    high = await _incident(client, operator, category="missing_person", priority=1)
    agency = await login(client, "polsek-prajuritkulon")
    items = (await client.get("/v1/agencies/POLSEK-PRAJURITKULON/queue",
                              headers=agency)).json()["items"]
    ids = [i["incident_id"] for i in items]
    assert ids.index(high["id"]) < ids.index(low["id"])
    priorities = [i["priority"] for i in items]
    assert priorities == sorted(priorities)


async def test_escalation_after_restart(client, operator, supervisor, database_url):
    """The deadline is stored: a sweeper in a brand-new process state escalates it."""
    incident = await _incident(client, operator, category="medical")
    [assignment] = incident["assignments"]
    settings = make_settings(database_url)
    engine = make_engine(settings)  # a fresh engine and caches: nothing carried over
    try:
        later = datetime.now(UTC) + timedelta(seconds=settings.ack_timeout_for(1) + 1)
        escalated = await sweep_once(make_sessionmaker(engine), settings,
                                     _fresh_agency_cache(settings), now=later)
    finally:
        await engine.dispose()
    assert escalated >= 1
    detail = (await client.get(f"/v1/incidents/{incident['id']}", headers=supervisor)).json()
    statuses = {a["agency"]["code"]: a["status"] for a in detail["assignments"]}
    assert statuses[assignment["agency"]["code"]] == "escalated"
    # Priority 1: the next health agency is assigned as well.
    assert len(detail["assignments"]) == 2
    assert "assignment.escalated" in [e["type"] for e in detail["timeline"]]


async def test_agency_admin_validation(client):
    admin = await login(client, "admin")
    bowtie = {"type": "Polygon", "coordinates": [[[112.4, -7.4], [112.5, -7.5],
                                                   [112.5, -7.4], [112.4, -7.5],
                                                   [112.4, -7.4]]]}
    body = {"name": "Pos Uji", "kind": "fire", "station": {"lat": -7.45, "lon": 112.45},
            "coverage": bowtie}
    response = await client.put("/v1/agencies/POS-UJI", headers=admin, json=body)
    assert response.status_code == 422
    assert "Self-intersection" in response.json()["detail"]
    point = {**body, "coverage": {"type": "Point", "coordinates": [112.4, -7.4]}}
    assert (await client.put("/v1/agencies/POS-UJI", headers=admin, json=point)).status_code == 422
    operator = await login(client, "operator")
    ok = {**body, "coverage": None}
    assert (await client.put("/v1/agencies/POS-UJI", headers=operator, json=ok)).status_code == 403


async def test_new_agency_claiming_a_taken_fallback_is_409_and_not_created(client):
    """Found by the fuzz test: the check for another fallback used to flush the new,
    still nameless agency first (500)."""
    admin = await login(client, "admin")
    body = {"name": "Pos Cadangan", "kind": "fire", "is_fallback": True,
            "station": {"lat": -7.45, "lon": 112.45}}
    response = await client.put("/v1/agencies/POS-CADANGAN", headers=admin, json=body)
    assert response.status_code == 409, response.text
    assert "already the fallback" in response.json()["detail"]
    assert (await client.get("/v1/agencies/POS-CADANGAN", headers=admin)).status_code == 404


async def test_sweeper_works_through_a_backlog_without_waiting_per_batch(make_database):
    """A surge nobody acknowledges: after a full batch the sweeper sweeps again at once
    instead of sleeping its interval (an hour here) between batches."""
    settings = await demo_settings_with_idle_sweeper(make_database)
    app = create_app(settings)  # its own sweeper swept once at start, then sleeps an hour
    async for client in started_client(app):
        operator = await login(client, "operator")
        incidents = [await _incident(client, operator, priority=3) for _ in range(5)]
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    ids = [i["id"] for i in incidents]
    sweeper = None
    try:
        async with sessions() as session, session.begin():
            await session.execute(text(
                "UPDATE assignments SET ack_due_at = now() - interval '1 second'"
                " WHERE incident_id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids})
        sweeper = asyncio.create_task(run_sweeper(sessions, settings,
                                                  _fresh_agency_cache(settings),
                                                  batch=2))
        escalated = 0
        for _ in range(100):
            await asyncio.sleep(0.05)
            async with sessions() as session:
                escalated = await session.scalar(text(
                    "SELECT count(*) FROM assignments WHERE status = 'escalated'"
                    " AND incident_id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids})
            if escalated == 5:
                break
    finally:
        if sweeper:
            sweeper.cancel()
        await engine.dispose()
    assert escalated == 5  # 2 + 2 + 1 without waiting an hour between batches
