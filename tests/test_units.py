"""Units through the HTTP API: the registry, the status machine, positions (batch and
OsmAnd), recommendations, sending a unit, the events, and pruning the history.

Tests make units of their own (`_new_unit`, codes unique to the run) and put them at a
spot of their own, so the demo fleet other tests see is unchanged."""

from __future__ import annotations

import itertools
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from dispatch.units.retention import prune_positions
from tests.support import login, make_settings, started_client

RUN = uuid.uuid4().hex[:6].upper()
_numbers = itertools.count(1)
HEALTH = "PSC119-MJK-KOTA"
OTHER_HEALTH = "PSC119-MJK"
POLICE = "POLSEK-PRAJURITKULON"


@pytest.fixture(scope="module")
async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "admin")


@pytest.fixture(scope="module")
async def gateway(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "aml-gateway")


@pytest.fixture(scope="module")
async def health(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, HEALTH.lower())


def _spot() -> dict[str, float]:
    """A point of this test alone, inside Kota Mojokerto."""
    n = next(_numbers)
    return {"lat": -7.4700 + n * 0.0011, "lon": 112.4150 + (n % 7) * 0.0013}


async def _new_unit(client: httpx.AsyncClient, admin: dict, agency: str = HEALTH,
                    kind: str = "ambulance", at: dict[str, float] | None = None,
                    gateway: dict | None = None) -> dict[str, Any]:
    code = f"T{RUN}-{next(_numbers)}"
    device = f"test-device-{RUN}-{code}".lower()
    response = await client.put(f"/v1/units/{code}", headers=admin, json={
        "agency_code": agency, "kind": kind, "name": f"Unit {code}", "device_id": device})
    assert response.status_code == 201, response.text
    unit = response.json()
    if at is not None and gateway is not None:
        fix = await client.post("/v1/units/positions", headers=gateway, json=[
            {"unit_code": code, **at, "at": datetime.now(UTC).isoformat()}])
        assert fix.json()["current"] == 1, fix.text
    return {**unit, "device_id": device}


async def _unit(client: httpx.AsyncClient, code: str, headers: dict) -> dict[str, Any]:
    response = await client.get(f"/v1/units/{code}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_demo_fleet_is_parked_at_the_stations(client: httpx.AsyncClient,
                                                    supervisor: dict) -> None:
    page = (await client.get("/v1/units", headers=supervisor,
                             params={"agency": HEALTH, "limit": 500})).json()
    demo = [u for u in page["items"] if u["code"] in (f"{HEALTH}-1", f"{HEALTH}-2")]
    assert len(demo) == 2
    for unit in demo:
        assert unit["kind"] == "ambulance"
        assert unit["position"]["lat"] == pytest.approx(-7.455585)
        assert unit["position"]["lon"] == pytest.approx(112.449847)
        assert "device_id" not in unit
    police = (await client.get("/v1/units", headers=supervisor,
                               params={"kind": "patrol", "limit": 500})).json()
    assert {u["agency_code"] for u in police["items"]} >= {POLICE, "POLRES-MJK-KOTA"}


async def test_register_and_change_a_unit(client: httpx.AsyncClient, admin: dict) -> None:
    unit = await _new_unit(client, admin)
    assert (unit["status"], unit["position"], unit["incident_id"]) == ("available", None, None)
    again = await client.put(f"/v1/units/{unit['code']}", headers=admin, json={
        "agency_code": OTHER_HEALTH, "kind": "ambulance", "name": "Renamed",
        "device_id": unit["device_id"]})
    assert again.status_code == 200
    assert (again.json()["agency_code"], again.json()["name"]) == (OTHER_HEALTH, "Renamed")
    short = await client.put(f"/v1/units/X{RUN}", headers=admin, json={
        "agency_code": HEALTH, "kind": "ambulance", "name": "x", "device_id": "short"})
    assert short.status_code == 422
    taken = await client.put(f"/v1/units/Y{RUN}", headers=admin, json={
        "agency_code": HEALTH, "kind": "ambulance", "name": "y",
        "device_id": unit["device_id"]})
    assert taken.status_code == 409
    no_agency = await client.put(f"/v1/units/Z{RUN}", headers=admin, json={
        "agency_code": "NO-SUCH", "kind": "ambulance", "name": "z"})
    assert no_agency.status_code == 422 and "NO-SUCH" in no_agency.text


async def test_status_machine(client: httpx.AsyncClient, admin: dict, health: dict,
                              supervisor: dict) -> None:
    unit = await _new_unit(client, admin)
    url = f"/v1/units/{unit['code']}/status"
    illegal = await client.post(url, headers=health, json={"status": "on_scene"})
    assert illegal.status_code == 409
    assert illegal.json()["status_now"] == "available"
    bare_dispatch = await client.post(url, headers=health, json={"status": "dispatched"})
    assert bare_dispatch.status_code == 422
    assert (await client.post(url, headers=health, json={"status": "out_of_service"})
            ).json()["status"] == "out_of_service"
    assert (await client.post(url, headers=supervisor, json={"status": "available"})
            ).json()["status"] == "available"
    other_agency = await login(client, OTHER_HEALTH.lower())
    assert (await client.post(url, headers=other_agency, json={"status": "out_of_service"})
            ).status_code == 404
    assert (await client.get(f"/v1/units/{unit['code']}", headers=other_agency)
            ).status_code == 404


async def _incident(client: httpx.AsyncClient, operator: dict, category: str,
                    at: dict[str, float]) -> dict[str, Any]:
    call = await client.post("/v1/calls", headers=operator, json={
        "caller_number": f"+62813{next(_numbers):07d}", "category": category, "location": at})
    assert call.status_code == 201, call.text
    return call.json()["incident"]


async def test_recommend_and_send_a_unit_through_its_statuses(
    client: httpx.AsyncClient, admin: dict, gateway: dict, operator: dict, health: dict,
    supervisor: dict, engine: AsyncEngine,
) -> None:
    spot = _spot()
    near = await _new_unit(client, admin, at=spot, gateway=gateway)
    farther = await _new_unit(client, admin, agency=OTHER_HEALTH, gateway=gateway,
                              at={"lat": spot["lat"] + 0.01, "lon": spot["lon"]})
    patrol = await _new_unit(client, admin, agency=POLICE, kind="patrol", gateway=gateway,
                             at=spot)
    incident = await _incident(client, operator, "medical", spot)
    recommended = (await client.get(f"/v1/incidents/{incident['id']}/recommendations",
                                    headers=operator)).json()
    codes = [r["unit"]["code"] for r in recommended]
    assert codes[0] == near["code"]
    assert farther["code"] in codes and patrol["code"] not in codes  # medical: health only
    assert {r["agency_kind"] for r in recommended} == {"health"}
    distances = [r["distance_m"] for r in recommended]
    assert distances == sorted(distances)
    far = next(r for r in recommended if r["unit"]["code"] == farther["code"])
    assert far["distance_m"] == pytest.approx(1106, rel=0.02)  # 0.01° of latitude
    assert far["eta_s"] == round(far["distance_m"] * 1.3 / (45 / 3.6))

    sent = await client.post(f"/v1/incidents/{incident['id']}/units", headers=operator,
                             json={"unit_code": farther["code"]})
    assert sent.status_code == 201, sent.text
    assert (sent.json()["status"], sent.json()["incident_id"]) == ("dispatched",
                                                                   incident["id"])
    detail = (await client.get(f"/v1/incidents/{incident['id']}", headers=supervisor)).json()
    assert OTHER_HEALTH in {a["agency"]["code"] for a in detail["assignments"]}
    again = await client.post(f"/v1/incidents/{incident['id']}/units", headers=operator,
                              json={"unit_code": farther["code"]})
    assert again.status_code == 409
    still = [r["unit"]["code"] for r in (await client.get(
        f"/v1/incidents/{incident['id']}/recommendations", headers=operator)).json()]
    assert farther["code"] not in still and near["code"] in still

    other_agency = await login(client, OTHER_HEALTH.lower())
    url = f"/v1/units/{farther['code']}/status"
    for status in ("en_route", "on_scene", "transporting", "at_hospital", "returning"):
        moved = await client.post(url, headers=other_agency, json={"status": status})
        assert moved.json()["status"] == status, moved.text
        # Returning to the station, the unit is free again (and may be re-tasked).
        assert moved.json()["incident_id"] == (None if status == "returning"
                                               else incident["id"])
    done = await client.post(url, headers=other_agency, json={"status": "available"})
    assert (done.json()["status"], done.json()["incident_id"]) == ("available", None)

    timeline = (await client.get(f"/v1/incidents/{incident['id']}", headers=supervisor)
                ).json()["timeline"]
    unit_steps = [e["after"]["status"] for e in timeline if e["type"] == "unit.status"]
    # Back at the station (available) the unit no longer works on the incident.
    assert unit_steps == ["dispatched", "en_route", "on_scene", "transporting",
                          "at_hospital", "returning"]
    async with engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT actor, agency_codes, payload->'unit'->>'status' AS status FROM events"
            " WHERE type = 'unit.status' AND entity_id = :code ORDER BY seq"),
            {"code": farther["code"]})).all()
    assert [r.status for r in rows] == [*unit_steps, "available"]
    assert rows[0].actor == "operator" and rows[1].actor == OTHER_HEALTH.lower()
    assert all(r.agency_codes == [OTHER_HEALTH] for r in rows)

    # An agency sends only its own units, and sees only its own in recommendations.
    stranger = await client.post(f"/v1/incidents/{incident['id']}/units", headers=health,
                                 json={"unit_code": farther["code"]})
    assert stranger.status_code == 404
    own = (await client.get(f"/v1/incidents/{incident['id']}/recommendations",
                            headers=health)).json()
    assert {r["unit"]["agency_code"] for r in own} == {HEALTH}


async def test_an_agency_sends_and_sees_only_its_own(
    client: httpx.AsyncClient, admin: dict, gateway: dict, operator: dict, health: dict,
) -> None:
    """Its units only to incidents assigned to it (sending must not be a way onto another
    agency's incident), and its own units in recommendations even when five of another
    agency's stand nearer."""
    spot = _spot()
    crowd = [await _new_unit(client, admin, agency=OTHER_HEALTH, gateway=gateway, at=spot)
             for _ in range(5)]
    mine = await _new_unit(client, admin, gateway=gateway,
                           at={"lat": spot["lat"] + 0.002, "lon": spot["lon"]})
    medical = await _incident(client, operator, "medical", spot)
    assigned = {a["agency"]["code"] for a in medical["assignments"]}
    supervisor_view = [r["unit"]["code"] for r in (await client.get(
        f"/v1/incidents/{medical['id']}/recommendations", headers=operator)).json()]
    assert {u["code"] for u in crowd} <= set(supervisor_view)
    assert mine["code"] not in supervisor_view  # the other agency's five are nearer
    if HEALTH in assigned:
        own = [r["unit"]["code"] for r in (await client.get(
            f"/v1/incidents/{medical['id']}/recommendations", headers=health)).json()]
        assert own and own[0] == mine["code"]
    crime = await _incident(client, operator, "crime", spot)  # police only: not HEALTH's
    assert HEALTH not in {a["agency"]["code"] for a in crime["assignments"]}
    sneaked = await client.post(f"/v1/incidents/{crime['id']}/units", headers=health,
                                json={"unit_code": mine["code"]})
    assert sneaked.status_code == 404
    assert (await _unit(client, mine["code"], admin))["status"] == "available"
    detail = (await client.get(f"/v1/incidents/{crime['id']}", headers=operator)).json()
    assert HEALTH not in {a["agency"]["code"] for a in detail["assignments"]}


async def test_positions_batch(client: httpx.AsyncClient, admin: dict, gateway: dict,
                               health: dict, engine: AsyncEngine) -> None:
    first = await _new_unit(client, admin)
    second = await _new_unit(client, admin)
    police = await _new_unit(client, admin, agency=POLICE, kind="patrol")
    now = datetime.now(UTC)
    newer, older = now - timedelta(seconds=5), now - timedelta(seconds=60)
    spot = _spot()
    receipt = await client.post("/v1/units/positions", headers=gateway, json=[
        {"unit_code": first["code"], **spot, "at": newer.isoformat(), "speed_kmh": 40,
         "heading": 90, "accuracy_m": 8},
        {"device_id": second["device_id"], **spot, "at": newer.isoformat()},
        {"unit_code": "NO-SUCH-UNIT", **spot, "at": newer.isoformat()},
        {"unit_code": first["code"], "lat": 1.0, "lon": 1.0, "at": older.isoformat()},
        {"unit_code": first["code"], **spot, "at": (now + timedelta(hours=1)).isoformat()},
        # an unknown unit is told as such whatever its time (a guesser learns no more)
        {"unit_code": "NO-SUCH-UNIT", **spot, "at": (now + timedelta(hours=1)).isoformat()},
        # a tracker without a fix: neither the position nor the history
        {"unit_code": first["code"], "lat": 0, "lon": 0, "at": now.isoformat()},
    ])
    assert receipt.status_code == 200, receipt.text
    body = receipt.json()
    assert (body["accepted"], body["current"]) == (3, 2)
    assert [(r["index"], r["detail"]) for r in body["rejected"]] == [
        (2, "no such unit"), (4, "the fix is in the future"), (5, "no such unit"),
        (6, "no position: lat 0, lon 0 is what a tracker without a fix sends")]
    position = (await _unit(client, first["code"], admin))["position"]
    assert (position["lat"], position["lon"], position["speed_kmh"], position["heading"],
            position["accuracy_m"]) == (spot["lat"], spot["lon"], 40, 90, 8)
    assert datetime.fromisoformat(position["at"]) == newer  # the older fix did not win
    late = await client.post("/v1/units/positions", headers=gateway, json=[
        {"unit_code": second["code"], "lat": 1.0, "lon": 1.0, "at": older.isoformat()}])
    assert late.json()["current"] == 0
    assert (await _unit(client, second["code"], admin))["position"]["lat"] == spot["lat"]
    async with engine.connect() as connection:
        history = (await connection.execute(text(
            "SELECT count(*) FROM unit_positions WHERE unit_code = ANY(:codes)"),
            {"codes": [first["code"], second["code"]]})).scalar()
    assert history == 4  # every stored fix, the late ones too

    mixed = await client.post("/v1/units/positions", headers=health, json=[
        {"unit_code": first["code"], **spot, "at": now.isoformat()},
        {"unit_code": police["code"], **spot, "at": now.isoformat()}])
    assert mixed.json()["accepted"] == 1
    assert mixed.json()["rejected"] == [{"index": 1, "detail": "no such unit"}]
    for bad in ([{"unit_code": first["code"], "lat": 91, "lon": 0, "at": now.isoformat()}],
                [{"lat": 0, "lon": 0, "at": now.isoformat()}],
                [{"unit_code": first["code"], "lat": 0, "lon": 0, "at": "2026-01-01T00:00"}],
                [{"unit_code": first["code"], "lat": 0, "lon": 0, "at": now.isoformat()}]
                * 1001):
        assert (await client.post("/v1/units/positions", headers=gateway, json=bad)
                ).status_code in (413, 422)


async def test_position_events_are_throttled(client: httpx.AsyncClient, admin: dict,
                                             gateway: dict, engine: AsyncEngine) -> None:
    unit = await _new_unit(client, admin)
    spot = _spot()

    async def report(lat: float, lon: float) -> None:
        response = await client.post("/v1/units/positions", headers=gateway, json=[
            {"unit_code": unit["code"], "lat": lat, "lon": lon,
             "at": datetime.now(UTC).isoformat()}])
        assert response.json()["current"] == 1

    async def events() -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(text(
                "SELECT count(*) FROM events WHERE type = 'unit.position'"
                " AND entity_id = :code"), {"code": unit["code"]})).scalar() or 0)

    await report(spot["lat"], spot["lon"])
    assert await events() == 1
    await report(spot["lat"] + 0.01, spot["lon"])  # far, but within 5 s of the last event
    assert await events() == 1
    async with engine.begin() as connection:  # as if 10 s had passed
        await connection.execute(text(
            "UPDATE units SET position_event_at = now() - interval '10 s' WHERE code = :c"),
            {"c": unit["code"]})
    await report(spot["lat"] + 0.00001, spot["lon"])  # ~1 m from the last event's place
    assert await events() == 1
    await report(spot["lat"] + 0.001, spot["lon"])  # ~110 m
    assert await events() == 2


async def test_osmand(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(database_url, login_failures_per_address=3)
    async for client in started_client(create_app(settings)):
        admin = await login(client, "admin")
        unit = await _new_unit(client, admin)
        stamp = int(datetime.now(UTC).timestamp())
        spot = _spot()
        ok = await client.get("/osmand", params={
            "id": unit["device_id"], **spot, "timestamp": stamp, "speed": 10, "bearing": 45,
            "accuracy": 12, "batt": 80})
        assert ok.status_code == 200, ok.text
        position = (await _unit(client, unit["code"], admin))["position"]
        assert (position["lat"], position["speed_kmh"], position["heading"],
                position["accuracy_m"]) == (spot["lat"], 18.52, 45, 12)  # knots → km/h
        assert datetime.fromisoformat(position["at"]).timestamp() == stamp

        form = await client.post("/osmand", data={
            "deviceid": unit["device_id"], "location": f"{spot['lat'] + 0.001},{spot['lon']}",
            "timestamp": (stamp + 5) * 1000})
        assert form.status_code == 200, form.text
        assert (await _unit(client, unit["code"], admin))["position"]["lat"] == \
            pytest.approx(spot["lat"] + 0.001)

        traccar9 = await client.post("/osmand", json={
            "device_id": unit["device_id"], "location": {
                "timestamp": datetime.fromtimestamp(stamp + 10, UTC).isoformat(),
                "coords": {"latitude": spot["lat"] + 0.002, "longitude": spot["lon"],
                           "accuracy": 5, "speed": 10, "heading": 180},
                "battery": {"level": 0.5}}})
        assert traccar9.status_code == 200, traccar9.text
        position = (await _unit(client, unit["code"], admin))["position"]
        assert (position["speed_kmh"], position["heading"]) == (36, 180)  # m/s → km/h

        no_fix = [
            await client.get("/osmand", params={"id": unit["device_id"], "valid": "false"}),
            await client.get("/osmand", params={"id": unit["device_id"], "lat": 0, "lon": "0.0",
                                                "timestamp": stamp + 20}),
            await client.post("/osmand", data={"id": unit["device_id"], "location": "0,0"}),
            await client.post("/osmand", json={"device_id": unit["device_id"], "location": {
                "coords": {"latitude": 0, "longitude": 0}}})]
        # 200, or the tracker would resend them forever; nothing stored, the unit stays put
        assert [(r.status_code, r.json()) for r in no_fix] == [(200, {"stored": False})] * 4
        still = (await _unit(client, unit["code"], admin))["position"]
        assert (still["lat"], still["at"]) == (position["lat"], position["at"])
        # Refused for its time, answered 200 too: Traccar Client resends its oldest
        # buffered fix after any other answer, before any later one.
        for moment, why in ((stamp + 3600, "the fix is in the future"),
                            (stamp - 40 * 86400, "the fix is older than the retention")):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="siaga112.units"):
                refused = await client.get("/osmand", params={
                    "id": unit["device_id"], "lat": spot["lat"] + 0.003, "lon": spot["lon"],
                    "timestamp": moment})
            assert (refused.status_code, refused.json()) == (
                200, {"stored": False, "detail": why})
            # the room can tell whose phone to look at; the credential stays out of the log
            assert f"the tracker of {unit['code']} sent a fix that was not stored: {why}" \
                in caplog.text
            assert unit["device_id"] not in caplog.text
        assert (await _unit(client, unit["code"], admin))["position"] == still
        # A glitch in an optional reading loses the reading, not the position.
        glitch = await client.get("/osmand", params={
            "id": unit["device_id"], "lat": spot["lat"] + 0.004, "lon": spot["lon"],
            "timestamp": stamp + 30, "speed": 9999, "bearing": 720, "accuracy": "n/a"})
        assert (glitch.status_code, glitch.json()) == (200, {"stored": True})
        moved = (await _unit(client, unit["code"], admin))["position"]
        assert (moved["lat"], moved["speed_kmh"], moved["heading"], moved["accuracy_m"]) == (
            pytest.approx(spot["lat"] + 0.004), None, None, None)
        for bad in ({"id": unit["device_id"], "lat": "north", "lon": 1},
                    {"id": unit["device_id"], "lat": 95, "lon": 1},
                    {"lat": 1, "lon": 1},
                    {"id": unit["device_id"], "lat": 1, "lon": 1, "timestamp": "yesterday"}):
            assert (await client.get("/osmand", params=bad)).status_code == 422, bad
        unknown = [await client.get("/osmand", params={"id": f"unknown-device-{i:06d}",
                                                       **spot}) for i in range(4)]
        assert [r.status_code for r in unknown] == [404, 404, 404, 429]
        assert int(unknown[-1].headers["Retry-After"]) >= 1
        # The address is blocked now, even for a known device: a guesser learns nothing.
        assert (await client.get("/osmand", params={"id": unit["device_id"], **spot})
                ).status_code == 429


async def test_pruning_keeps_the_retention(admin: dict, client: httpx.AsyncClient,
                                           gateway: dict, engine: AsyncEngine) -> None:
    unit = await _new_unit(client, admin)
    spot = _spot()
    await client.post("/v1/units/positions", headers=gateway, json=[
        {"unit_code": unit["code"], **spot, "at": datetime.now(UTC).isoformat()}])
    async with engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO unit_positions (unit_code, at, lat, lon, received_at)"
            " SELECT :c, now() - interval '40 days', 0, 0, now() - interval '40 days'"
            " FROM generate_series(1, 3)"), {"c": unit["code"]})
    deleted = await prune_positions(engine, timedelta(days=30))
    assert deleted >= 3
    async with engine.connect() as connection:
        left = (await connection.execute(text(
            "SELECT count(*) FROM unit_positions WHERE unit_code = :c"),
            {"c": unit["code"]})).scalar()
    assert left == 1


async def test_unit_events_reach_the_agency_and_supervisor_feeds(database_url: str) -> None:
    import asyncio

    import orjson
    import websockets

    from tests.support import serving

    app = create_app(make_settings(database_url))
    async for address in serving(app):
        async with httpx.AsyncClient(base_url=f"http://{address}") as api:
            admin = await login(api, "admin")
            gateway = await login(api, "aml-gateway")
            unit = await _new_unit(api, admin)
            agency = (await login(api, HEALTH.lower()))["Authorization"][7:]
            other = (await login(api, POLICE.lower()))["Authorization"][7:]
            sup = (await login(api, "supervisor"))["Authorization"][7:]
            feeds = {
                "agency": await websockets.connect(
                    f"ws://{address}/v1/agencies/{HEALTH}/feed?token={agency}"),
                "other": await websockets.connect(
                    f"ws://{address}/v1/agencies/{POLICE}/feed?token={other}"),
                "supervisor": await websockets.connect(f"ws://{address}/v1/feed?token={sup}"),
            }
            await asyncio.sleep(0.3)
            spot = _spot()
            await api.post("/v1/units/positions", headers=gateway, json=[
                {"unit_code": unit["code"], **spot, "at": datetime.now(UTC).isoformat()}])
            await api.post(f"/v1/units/{unit['code']}/status", headers={
                "Authorization": f"Bearer {agency}"}, json={"status": "out_of_service"})

            async def frames_of(ws: Any, wanted: int, code: str = unit["code"]) -> list[dict]:
                found: list[dict] = []
                try:
                    async with asyncio.timeout(3):
                        async for text_frame in ws:
                            frame = orjson.loads(text_frame)
                            if (frame.get("unit") or {}).get("code") == code:
                                found.append(frame)
                                if len(found) == wanted:
                                    break
                except TimeoutError:
                    pass
                return found

            for name in ("agency", "supervisor"):
                frames = await frames_of(feeds[name], 2)
                assert [f["type"] for f in frames] == ["unit.position", "unit.status"], name
                assert frames[0]["unit"]["position"]["lat"] == spot["lat"]
                assert frames[1]["unit"]["status"] == "out_of_service"
                assert frames[0]["seq"] < frames[1]["seq"]
            assert await frames_of(feeds["other"], 1) == []
            for ws in feeds.values():
                await ws.close()


async def test_two_registrations_of_one_new_unit_at_once(client: httpx.AsyncClient,
                                                          admin: dict) -> None:
    """The race between two PUTs of a new code ends in one 201 and a 200 or 409, never a
    500 (the second insert meets the first's primary key)."""
    import asyncio

    code = f"RACE{RUN}"
    body = {"agency_code": HEALTH, "kind": "ambulance", "name": "race"}
    answers = await asyncio.gather(*[client.put(f"/v1/units/{code}-{n // 4}", headers=admin,
                                                json=body) for n in range(16)])
    by_code: dict[int, list[int]] = {}
    for n, answer in enumerate(answers):
        by_code.setdefault(n // 4, []).append(answer.status_code)
    for statuses in by_code.values():
        assert statuses.count(201) == 1, statuses
        assert set(statuses) <= {200, 201, 409}, statuses
