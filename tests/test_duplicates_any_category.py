"""Possible duplicates of a call without a category: open incidents of any category near
it and recent, nearest first, each with its category, found through the nearby index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.actor import Actor
from dispatch.calls.reads import (
    _DUPLICATES_ANY_SQL,
    _INTAKE_READS_ANY,
    DUPLICATES_SHOWN,
    _duplicate_params,
    possible_duplicates,
)
from dispatch.core.db import make_engine, make_sessionmaker
from dispatch.core.settings import Settings
from dispatch.incidents.location import Located
from tests.conftest import DatabaseFactory
from tests.plan_support import add_open_incidents, assert_walks_the_nearby_index, generic_plan
from tests.support import load_demo_into, make_settings

HERE = {"lat": -7.5302, "lon": 112.5004}  # this module's own spot
EAST_150M = {"lat": -7.5302, "lon": 112.50176}
EAST_400M = {"lat": -7.5302, "lon": 112.50403}
EAST_800M = {"lat": -7.5302, "lon": 112.50766}  # outside the 500 m radius


async def _call(client: httpx.AsyncClient, operator: dict, location: dict,
                category: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"caller_number": f"+62817{uuid.uuid4().int % 10**8:08d}",
                            "location": location}
    if category:
        body["category"] = category
    response = await client.post("/v1/calls", headers=operator, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_call_without_category_lists_open_incidents_of_any_category(
    client: httpx.AsyncClient, operator: dict, settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    fire = (await _call(client, operator, HERE, "fire"))["incident"]
    crime = (await _call(client, operator, EAST_150M, "crime"))["incident"]
    medical = (await _call(client, operator, EAST_400M, "medical"))["incident"]
    far = (await _call(client, operator, EAST_800M, "fire"))["incident"]
    closed = (await _call(client, operator, HERE, "animal"))["incident"]
    assert (await client.post(f"/v1/incidents/{closed['id']}/close", headers=operator,
                              json={"resolution": "handled"})).status_code == 200
    old = (await _call(client, operator, HERE, "gas_leak"))["incident"]
    async with sessions() as session, session.begin():  # outside the window of one hour
        await session.execute(text("UPDATE incidents SET created_at = now()"
                                   " - interval '2 hours' WHERE id = :id"), {"id": old["id"]})

    call = await _call(client, operator, HERE)  # no category yet
    assert call["incident"] is None
    found = call["possible_duplicates"]
    mine = [d for d in found if d["incident_id"] in {fire["id"], crime["id"], medical["id"]}]
    assert [(d["incident_id"], d["category"], d["number"]) for d in mine] == [
        (fire["id"], "fire", fire["number"]), (crime["id"], "crime", crime["number"]),
        (medical["id"], "medical", medical["number"])]
    assert mine[0]["distance_m"] < 1
    assert 140 < mine[1]["distance_m"] < 160 and 390 < mine[2]["distance_m"] < 410
    assert [d["distance_m"] for d in found] == sorted(d["distance_m"] for d in found)
    assert all(d["distance_m"] <= 500 for d in found)
    assert not {far["id"], closed["id"], old["id"]} & {d["incident_id"] for d in found}
    assert all(0 <= d["age_s"] < 3600 for d in found)

    # With a category: only that category's, as before.
    same = (await _call(client, operator, HERE, "crime"))["possible_duplicates"]
    assert crime["id"] in {d["incident_id"] for d in same}
    assert {d["category"] for d in same} == {"crime"}

    # The lookup made again after an earlier AML moved the call's position, without a
    # category (dispatch/calls/locating.py): the same answer.
    actor = Actor("test", settings, agencies=None)  # type: ignore[arg-type]
    here = Located(HERE["lat"], HERE["lon"], 10.0, "aml", None, None)
    async with sessions() as session:
        again = await possible_duplicates(session, actor, None, here, datetime.now(UTC))
        nowhere = await possible_duplicates(session, actor, None, None, datetime.now(UTC))
    mine_again = [d for d in again if d["incident_id"] in {d["incident_id"] for d in mine}]
    assert [(d["incident_id"], d["category"]) for d in mine_again] == [
        (d["incident_id"], d["category"]) for d in mine]
    assert nowhere == []


async def test_the_lookup_without_category_walks_the_nearby_index(
    make_database: DatabaseFactory,
) -> None:
    url = await make_database(migrated=True)
    await load_demo_into(url)
    settings: Settings = make_settings(url)
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            # 4,000 open incidents of five categories over ~22 × 22 km, within the hour.
            await add_open_incidents(session, "ANY-",
                                     ["fire", "crime", "medical", "animal", "rescue"], 4000)
            now = datetime.now(UTC)
            actor = Actor("test", settings, agencies=None)  # type: ignore[arg-type]
            here = Located(-7.4720, 112.4340, 10.0, "manual", None, None)
            plan = (await session.execute(
                text("EXPLAIN (FORMAT JSON) " + _DUPLICATES_ANY_SQL),
                _duplicate_params(actor, None, here, now))).scalar_one()
            generic = await generic_plan(session, _INTAKE_READS_ANY, {
                "numbered": "false", "caller": "'+6281234567890'",
                "pranks": "'{prank,ghost}'", "lon": "112.434", "lat": "-7.472",
                "radius": "500"})
            found = await possible_duplicates(session, actor, None, here, now)
            exact = (await session.execute(text("""
                SELECT number FROM incidents
                WHERE number LIKE 'ANY-%' AND ST_DWithin(location::geography,
                      ST_MakePoint(112.434, -7.472)::geography, 500)
                ORDER BY round(ST_Distance(location::geography,
                               ST_MakePoint(112.434, -7.472)::geography)::numeric, 1),
                         created_at
                LIMIT :n"""), {"n": DUPLICATES_SHOWN})).scalars().all()
    finally:
        await engine.dispose()

    assert_walks_the_nearby_index(plan, generic)
    assert [d["number"] for d in found] == list(exact)
    assert len({d["category"] for d in found}) > 1  # of several categories
