"""What the operator sees before the call is registered: open incidents near a typed or
AML position, of any category (GET /v1/incidents/nearby), and what the center knows of
the caller's number (GET /v1/callers?caller_number=): recent pranks and a waiting AML."""

from __future__ import annotations

import httpx

from tests.support import login

# AML of a handset in Kota Mojokerto (lt/lg below), sent before its call.
AML = ('A"ML=1;lt=-7.46950;lg=+112.43300;rd=25;top=20261123010203;lc=68;pm=G;'
       'si=510100000000000;ei=1234567890123456;mcc=510;mnc=10;ml=124')
# A spot no other test uses (the shared test database holds many incidents at Mentikan).
CENTRE = {"lat": -7.5480, "lon": 112.4410}
EAST_300M = {"lat": -7.5480, "lon": 112.4437}  # about 298 m east
FAR = {"lat": -7.6400, "lon": 112.4800}


async def _incident(client: httpx.AsyncClient, operator: dict, category: str,
                    location: dict, number: str) -> dict:
    response = await client.post("/v1/calls", headers=operator, json={
        "caller_number": number, "category": category, "location": location})
    assert response.status_code == 201
    return response.json()["incident"]


async def test_nearby_any_category_nearest_first(client: httpx.AsyncClient) -> None:
    operator = await login(client, "operator")
    crime = await _incident(client, operator, "crime", CENTRE, "+6281277700001")
    fire = await _incident(client, operator, "fire", EAST_300M, "+6281277700002")
    far = await _incident(client, operator, "fire", FAR, "+6281277700003")
    response = await client.get("/v1/incidents/nearby", headers=operator,
                                params={**CENTRE, "radius_m": 1000})
    assert response.status_code == 200
    items = response.json()["items"]
    ids = [i["incident_id"] for i in items]
    assert ids.index(crime["id"]) < ids.index(fire["id"]) and far["id"] not in ids
    by_id = {i["incident_id"]: i for i in items}
    assert by_id[crime["id"]]["distance_m"] < 1
    assert 280 < by_id[fire["id"]]["distance_m"] < 320
    assert by_id[fire["id"]]["category"] == "fire" and by_id[fire["id"]]["number"]
    assert [d["distance_m"] for d in items] == sorted(d["distance_m"] for d in items)

    only_fire = (await client.get("/v1/incidents/nearby", headers=operator, params={
        **CENTRE, "radius_m": 1000, "category": "fire"})).json()["items"]
    assert {i["category"] for i in only_fire} == {"fire"}
    assert fire["id"] in {i["incident_id"] for i in only_fire}

    closed = await client.post(f"/v1/incidents/{fire['id']}/close", headers=operator,
                               json={"resolution": "handled"})
    assert closed.status_code == 200
    after = (await client.get("/v1/incidents/nearby", headers=operator,
                              params={**CENTRE, "radius_m": 1000})).json()["items"]
    assert fire["id"] not in {i["incident_id"] for i in after}


async def test_nearby_refuses_impossible_input_and_scopes_agencies(
    client: httpx.AsyncClient,
) -> None:
    operator = await login(client, "operator")
    for params in ({"lat": 200, "lon": 112.43}, {**CENTRE, "radius_m": 50_000},
                   {**CENTRE, "radius_m": 0}):
        response = await client.get("/v1/incidents/nearby", headers=operator, params=params)
        assert response.status_code == 422, params
    crime = await _incident(client, operator, "crime", CENTRE, "+6281277700004")
    [assigned] = [a["agency"]["code"] for a in crime["assignments"]]
    police = await login(client, assigned.lower())
    fire_brigade = await login(client, "damkar-mjk")
    seen = {i["incident_id"] for i in (await client.get(
        "/v1/incidents/nearby", headers=police, params=CENTRE)).json()["items"]}
    assert crime["id"] in seen
    unseen = (await client.get("/v1/incidents/nearby", headers=fire_brigade,
                               params=CENTRE)).json()["items"]
    assert crime["id"] not in {i["incident_id"] for i in unseen}


async def test_caller_history_shows_a_waiting_aml_and_recent_pranks(
    client: httpx.AsyncClient,
) -> None:
    operator = await login(client, "operator")
    gateway = await login(client, "aml-gateway")
    number = "081277700005"
    async def history(caller_number: str) -> dict:
        response = await client.get("/v1/callers", headers=operator,
                                    params={"caller_number": caller_number})
        assert response.status_code == 200
        return response.json()

    empty = await history(number)
    assert empty == {"caller_number": "+6281277700005", "calls_24h": 0,
                     "prank_or_ghost_24h": 0, "pending_aml": None}
    stored = await client.post(f"/v1/aml?caller_number={number}", headers=gateway,
                               content=AML)
    assert stored.status_code == 202
    waiting = await history(number)
    assert waiting["pending_aml"]["lat"] == -7.4695
    assert waiting["pending_aml"]["lon"] == 112.433
    assert waiting["pending_aml"]["accuracy_m"] == 25
    prank = (await client.post("/v1/calls", headers=operator,
                               json={"caller_number": number})).json()
    assert prank["location"]["source"] == "aml"  # the intake took the waiting AML
    closed = await client.post(f"/v1/calls/{prank['id']}/disposition", headers=operator,
                               json={"disposition": "prank"})
    assert closed.status_code == 200
    after = await history(f"+62{number[1:]}")
    assert after == {"caller_number": "+6281277700005", "calls_24h": 1,
                     "prank_or_ghost_24h": 1, "pending_aml": None}
    bad = await client.get("/v1/callers", params={"caller_number": "12345"}, headers=operator)
    assert bad.status_code == 422 and bad.json()["field"] == "caller_number"
