"""POST /v1/aml: stored always, matched by caller number, never overriding the operator."""

from __future__ import annotations

import httpx

from tests.support import login

AML = ('A"ML=1;lt=-7.45950;lg=+112.43936;rd=15;top=20261123010203;lc=68;pm=G;'
       'si=510100000000000;ei=1234567890123456;mcc=510;mnc=10;ml=126')


async def test_aml_before_call_is_picked_up(client: httpx.AsyncClient) -> None:
    gateway = await login(client, "aml-gateway")
    operator = await login(client, "operator")
    stored = await client.post("/v1/aml?caller_number=081355500001", headers=gateway,
                               content=AML)
    assert stored.status_code == 202 and stored.json()["matched_call_id"] is None
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281355500001", "category": "medical"})).json()
    assert call["location"]["source"] == "aml"
    assert call["area"]["kabkota"]["code"] == "35.76"


async def test_late_aml_upgrades_weak_location_and_reroutes(client: httpx.AsyncClient) -> None:
    gateway = await login(client, "aml-gateway")
    operator = await login(client, "operator")
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281355500002", "category": "fire"})).json()
    assert call["location"] is None
    assert call["incident"]["assignments"][0]["reason"] == "fallback"
    late = await client.post("/v1/aml", headers={**gateway, "X-Caller-Number":
                                                 "+6281355500002"}, content=AML)
    assert late.status_code == 200 and late.json()["applied"] is True
    detail = (await client.get(f"/v1/calls/{call['id']}", headers=operator)).json()
    assert detail["location"]["source"] == "aml"
    incident = detail["incident"]
    assert incident["location"]["source"] == "aml"
    assert "incident.updated" in [
        e["type"] for e in (await client.get(f"/v1/incidents/{incident['id']}",
                                             headers=operator)).json()["timeline"]]


async def test_late_aml_never_overwrites_operator_location(client: httpx.AsyncClient) -> None:
    gateway = await login(client, "aml-gateway")
    operator = await login(client, "operator")
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281355500003", "category": "fire",
        "location": {"lat": -7.47, "lon": 112.43}})).json()
    late = await client.post("/v1/aml?caller_number=%2B6281355500003", headers=gateway,
                             content=AML)
    body = late.json()
    assert late.status_code == 200 and body["applied"] is False
    # dlat 0.0105° ≈ 1,167 m, dlon 0.00936° ≈ 1,033 m at 7.46° S: about 1,558 m apart
    assert 1550 < body["distance_from_operator_location_m"] < 1566
    detail = (await client.get(f"/v1/calls/{call['id']}", headers=operator)).json()
    assert detail["location"]["source"] == "manual"


async def test_garbage_aml_is_still_2xx(client: httpx.AsyncClient) -> None:
    gateway = await login(client, "aml-gateway")
    response = await client.post("/v1/aml", headers=gateway, content=b"\xff\xfe garbage")
    assert response.status_code == 202
    assert response.json()["stored"] is True and response.json()["warnings"]
    operator = await login(client, "operator")
    assert (await client.post("/v1/aml", headers=operator, content=AML)).status_code == 403


async def test_aml_after_a_closed_prank_waits_for_the_next_call(
    client: httpx.AsyncClient,
) -> None:
    """A repeat caller's new AML must not attach to the earlier call already closed as a
    prank: it waits, and the next call from the number takes it."""
    gateway = await login(client, "aml-gateway")
    operator = await login(client, "operator")
    first = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281355500077"})).json()
    closed = await client.post(f"/v1/calls/{first['id']}/disposition", headers=operator,
                               json={"disposition": "prank"})
    assert closed.status_code == 200
    stored = await client.post("/v1/aml?caller_number=081355500077", headers=gateway,
                               content=AML)
    assert stored.status_code == 202 and stored.json()["matched_call_id"] is None
    second = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281355500077", "category": "medical"})).json()
    assert second["location"]["source"] == "aml"
    assert (await client.get(f"/v1/calls/{first['id']}", headers=operator)
            ).json()["location"] is None
