"""The operator's flow through the HTTP API against the real database."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
import pytest

from dispatch.core.databases import plain_url
from tests.support import login

# Points inside kelurahan, taken from the data (representative points of the polygons).
MENTIKAN = {"lat": -7.47, "lon": 112.43}  # the data README's own check point


async def _events(database_url: str, incident_id: str) -> list[tuple[str, list[str]]]:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        rows = await conn.fetch(
            "SELECT type, agency_codes FROM events WHERE incident_id = $1 ORDER BY seq",
            uuid.UUID(incident_id),
        )
        return [(r["type"], list(r["agency_codes"])) for r in rows]
    finally:
        await conn.close()


async def test_call_with_category_opens_and_routes_incident(
    client: httpx.AsyncClient, operator: dict, database_url: str
) -> None:
    response = await client.post("/v1/calls", headers=operator, json={
        "caller_number": "081234567890", "category": "traffic_accident",
        "location": {**MENTIKAN, "accuracy_m": 25}, "description": "motor vs truk",
    })
    assert response.status_code == 201, response.text
    call = response.json()
    assert call["caller_number"] == "+6281234567890"
    assert call["operator"] == "operator"
    assert call["location"] == {**MENTIKAN, "accuracy_m": 25, "source": "manual"}
    assert call["area"]["kelurahan"]["name"] == "Mentikan"
    assert call["area"]["kecamatan"] == {"code": "35.76.01", "name": "Prajuritkulon"}
    assert call["in_service_area"] is True
    incident = call["incident"]
    assert incident["number"].startswith("MJK-") and incident["status"] == "dispatched"
    assert incident["priority"] == 1 and incident["call_ids"] == [call["id"]]
    routed = {(a["agency"]["kind"], a["agency"]["code"], a["reason"])
              for a in incident["assignments"]}
    assert routed == {("police", "POLSEK-PRAJURITKULON", "coverage"),
                      ("health", "PSC119-MJK-KOTA", "coverage")}
    events = await _events(database_url, incident["id"])
    assert events[0] == ("incident.created", sorted(["POLSEK-PRAJURITKULON",
                                                     "PSC119-MJK-KOTA"]))
    assert sorted(events[1:]) == [("assignment.created", ["POLSEK-PRAJURITKULON"]),
                                  ("assignment.created", ["PSC119-MJK-KOTA"])]


async def test_call_without_location_goes_to_fallbacks(
    client: httpx.AsyncClient, operator: dict
) -> None:
    response = await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281234500001", "category": "fire"})
    assert response.status_code == 201
    body = response.json()
    assert body["location"] is None and body["area"] is None
    assert body["in_service_area"] is False
    [assignment] = body["incident"]["assignments"]
    assert (assignment["agency"]["code"], assignment["reason"]) == ("DAMKAR-MJK-KOTA",
                                                                   "fallback")


async def test_bad_aml_is_a_warning_and_the_next_source_is_used(
    client: httpx.AsyncClient, operator: dict
) -> None:
    aml = ('A"ML=1;lt=+00.00000;lg=+000.00000;rd=N;top=20130717141935;lc=90;pm=N;'
           'si=123456789012345;ei=1234567890123456;mcc=510;mnc=10;ml=129')
    response = await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281234500002", "aml": aml, "location": MENTIKAN})
    assert response.status_code == 201
    body = response.json()
    assert body["location"]["source"] == "manual"
    assert any(w.startswith("aml:") for w in body["location_warnings"])


async def test_valid_aml_beats_typed_location(client: httpx.AsyncClient, operator: dict) -> None:
    aml = ('A"ML=1;lt=-7.45950;lg=+112.43936;rd=15;top=20261123010203;lc=68;pm=G;'
           'si=510100000000000;ei=1234567890123456;mcc=510;mnc=10;ml=126')
    response = await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281234500003", "aml": aml, "location": MENTIKAN})
    body = response.json()
    assert response.status_code == 201
    assert body["location"]["source"] == "aml"
    assert (body["location"]["lat"], body["location"]["lon"]) == (-7.4595, 112.43936)
    assert body["area"]["kabkota"]["code"] == "35.76"


@pytest.mark.parametrize(("payload", "field"), [
    ({"caller_number": "12", "category": "fire"}, "caller_number"),
    ({"caller_number": "+6281234500004", "location": {"lat": 200, "lon": 112}}, "location"),
    ({"caller_number": "+6281234500004", "category": "no_such"}, "category"),
    ({"caller_number": "+6281234500004", "surprise": 1}, "surprise"),
    ({"caller_number": "+6281234500004", "priority": 9}, "priority"),
])
async def test_bad_operator_input_is_422_naming_the_field(
    client: httpx.AsyncClient, operator: dict, payload: dict, field: str
) -> None:
    response = await client.post("/v1/calls", headers=operator, json=payload)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text


async def test_idempotent_retry_returns_first_response(
    client: httpx.AsyncClient, operator: dict, database_url: str
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4()), **operator}
    payload = {"caller_number": "+6281234500005", "category": "medical", "location": MENTIKAN}
    responses = await asyncio.gather(*[
        client.post("/v1/calls", headers=key, json=payload) for _ in range(10)
    ])
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM calls WHERE caller_number = '+6281234500005'")
    finally:
        await conn.close()
    assert count == 1
    other = await client.post("/v1/calls", headers=key,
                              json={**payload, "description": "different"})
    assert other.status_code == 409


async def test_concurrent_intakes_get_distinct_numbers(
    client: httpx.AsyncClient, operator: dict
) -> None:
    responses = await asyncio.gather(*[
        client.post("/v1/calls", headers=operator, json={
            "caller_number": f"+62812345{i:05d}", "category": "crime", "location": MENTIKAN})
        for i in range(100)
    ])
    assert [r.status_code for r in responses] == [201] * 100
    numbers = [r.json()["incident"]["number"] for r in responses]
    assert len(set(numbers)) == 100


async def test_disposition_and_repeat_caller(client: httpx.AsyncClient, operator: dict) -> None:
    number = "+6281299900001"
    for _ in range(2):
        call = (await client.post("/v1/calls", headers=operator,
                                  json={"caller_number": number})).json()
        closed = await client.post(f"/v1/calls/{call['id']}/disposition", headers=operator,
                                   json={"disposition": "prank"})
        assert closed.status_code == 200 and closed.json()["disposition"] == "prank"
    again = await client.post(f"/v1/calls/{call['id']}/disposition", headers=operator,
                              json={"disposition": "ghost"})
    assert again.status_code == 409
    third = (await client.post("/v1/calls", headers=operator,
                               json={"caller_number": number})).json()
    assert third["repeat_caller"] == {"prank_or_ghost_24h": 2}


async def test_possible_duplicates_nearest_first(client: httpx.AsyncClient, operator: dict) -> None:
    first = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281277700001", "category": "building_collapse",
        "location": MENTIKAN})).json()
    second = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281277700002", "category": "building_collapse",
        "location": {"lat": -7.4705, "lon": 112.4302}})).json()
    dups = second["possible_duplicates"]
    assert dups[0]["incident_id"] == first["incident"]["id"]
    assert 50 < dups[0]["distance_m"] < 70


async def test_timeline_and_close(
    client: httpx.AsyncClient, operator: dict, supervisor: dict
) -> None:
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281288800001", "category": "fire", "location": MENTIKAN})).json()
    incident_id = call["incident"]["id"]
    closed = await client.post(f"/v1/incidents/{incident_id}/close", headers=operator,
                               json={"resolution": "api padam"})
    assert closed.status_code == 200
    body = closed.json()
    assert body["status"] == "closed" and body["resolution"] == "api padam"
    assert {a["status"] for a in body["assignments"]} == {"cancelled"}
    detail = (await client.get(f"/v1/incidents/{incident_id}", headers=supervisor)).json()
    assert [e["type"] for e in detail["timeline"]] == [
        "incident.created", "assignment.created", "incident.closed"]
    assert detail["timeline"][-1]["after"] == {"status": "closed", "resolution": "api padam"}
    assert json.dumps(detail["timeline"][0]["actor"]) == '"operator"'


async def test_incident_numbers_follow_the_local_day(
    client: httpx.AsyncClient, operator: dict
) -> None:
    """Numbers count per local (WIB) day: 23:30 UTC is already the next day in Jakarta."""
    first = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281299000001", "category": "fire",
        "received_at": "2030-03-01T23:30:00+00:00"})).json()
    second = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281299000002", "category": "fire",
        "received_at": "2030-03-02T06:00:00+07:00"})).json()
    assert first["incident"]["number"] == "MJK-20300302-0001"
    assert second["incident"]["number"] == "MJK-20300302-0002"


async def test_new_or_retired_category_takes_effect_at_once(
    client: httpx.AsyncClient, operator: dict
) -> None:
    """Categories are cached per process with the agencies; an admin change is seen by the
    next call (the version trigger on categories, and the local cache invalidated)."""
    admin = await login(client, "admin")
    body = {"name": "Test: snake in house", "name_id": "Uji: ular di rumah",
            "agency_kinds": ["fire"], "default_priority": 3}
    assert (await client.put("/v1/categories/test_snake", headers=admin,
                             json=body)).status_code == 201
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281299000010", "category": "test_snake",
        "location": MENTIKAN})).json()
    assert call["incident"]["priority"] == 3
    assert [a["agency"]["kind"] for a in call["incident"]["assignments"]] == ["fire"]
    assert (await client.put("/v1/categories/test_snake", headers=admin,
                             json={**body, "active": False})).status_code == 200
    refused = await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281299000011", "category": "test_snake"})
    assert refused.status_code == 422 and "test_snake" in refused.json()["detail"]
