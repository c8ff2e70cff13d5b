"""Revocation across processes: two real `dispatch serve` processes on one database.

The change is made through process A; process B, which has its own memory of the
accounts, must refuse the revoked tokens within 1 s, close their open WebSockets with 4401
within 5 s, and for an agency account refuse from the very next request and never send
the old agency's next frame."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.servers import Served, serve_pair

ENV = {"DISPATCH_LOG_LEVEL": "WARNING", "DISPATCH_RATE_LIMIT_PER_S": "500",
       "DISPATCH_RATE_LIMIT_BURST": "1000"}
AGENCY_A = "POLSEK-PRAJURITKULON"  # crime at Mentikan is routed here
AGENCY_B = "DAMKAR-MJK"
MENTIKAN = {"lat": -7.47, "lon": 112.43}
REVOCATION_S = 1.0
WS_CLOSE_S = 5.0


@pytest.fixture(scope="module")
async def pair(make_database, tmp_path_factory: pytest.TempPathFactory,
               ) -> AsyncIterator[tuple[Served, Served]]:
    async with serve_pair(make_database, tmp_path_factory.mktemp("sessions"),
                          env=ENV) as served:
        yield served

async def _token(served: Served, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as client:
        response = await client.post("/auth/token",
                                     data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _call(served: Served, method: str, path: str, token: str,
                **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as client:
        return await client.request(method, path, headers=_bearer(token), **kwargs)


async def _new_user(pair: tuple[Served, Served], role: str,
                    agency_code: str | None = None) -> tuple[str, str, str]:
    """(id, username, password) of a fresh account made through process A."""
    admin = await _token(pair[0], "admin", "admin-demo-112")
    name = f"proc-{uuid.uuid4().hex[:8]}"
    password = f"{name}-secret"
    body = {"username": name, "role": role, "password": password,
            **({"agency_code": agency_code} if agency_code else {})}
    response = await _call(pair[0], "POST", "/v1/users", admin, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"], name, password


async def _seconds_until_refused(served: Served, token: str, path: str,
                                 limit_s: float = 3.0) -> float:
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=served.base_url, timeout=10) as client:
        while time.monotonic() - started < limit_s:
            if (await client.get(path, headers=_bearer(token))).status_code == 401:
                return time.monotonic() - started
            await asyncio.sleep(0.02)
    return float("inf")


@pytest.mark.parametrize("change", ["logout", "disable", "reset", "own_password", "role"])
async def test_revocation_reaches_the_other_process_within_a_second(
    pair: tuple[Served, Served], change: str
) -> None:
    a, b = pair
    user_id, name, password = await _new_user(pair, "operator")
    on_a = await _token(a, name, password)
    on_b = await _token(b, name, password)
    for served, token in ((a, on_a), (b, on_b), (a, on_b), (b, on_a)):
        assert (await _call(served, "GET", "/v1/categories", token)).status_code == 200
    admin = await _token(a, "admin", "admin-demo-112")
    if change == "logout":
        done = await _call(a, "POST", "/auth/logout", on_a)
    elif change == "disable":
        done = await _call(a, "PATCH", f"/v1/users/{user_id}", admin, json={"active": False})
    elif change == "reset":
        done = await _call(a, "POST", f"/v1/users/{user_id}/password", admin,
                           json={"password": "a-reset-password"})
    elif change == "own_password":
        done = await _call(a, "POST", "/auth/password", on_a, json={
            "current_password": password, "new_password": "my-own-new-password"})
    else:
        done = await _call(a, "PATCH", f"/v1/users/{user_id}", admin,
                           json={"role": "supervisor"})
    assert done.status_code in (200, 204), done.text
    waits = await asyncio.gather(
        _seconds_until_refused(b, on_a, "/v1/categories"),
        _seconds_until_refused(b, on_b, "/v1/categories"),
        _seconds_until_refused(a, on_b, "/v1/categories"))
    assert max(waits) <= REVOCATION_S, waits


async def _open_feed(served: Served, agency: str, token: str) -> Any:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{served.port}/v1/agencies/{agency}/feed?token={token}")
    return ws


async def _frames_until_closed(ws: Any, limit_s: float) -> tuple[list[dict], int | None, float]:
    """Frames received, the close code, and seconds until the close."""
    frames: list[dict] = []
    started = time.monotonic()
    try:
        async with asyncio.timeout(limit_s):
            async for text in ws:
                frames.append(orjson.loads(text))
    except TimeoutError:
        return frames, None, float("inf")
    except websockets.ConnectionClosed:
        pass
    code = ws.close_code
    return frames, code, time.monotonic() - started


async def test_disabling_closes_open_feeds_with_4401(pair: tuple[Served, Served]) -> None:
    a, b = pair
    user_id, name, password = await _new_user(pair, "agency", AGENCY_A)
    token = await _token(b, name, password)
    ws = await _open_feed(b, AGENCY_A, token)
    admin = await _token(a, "admin", "admin-demo-112")
    disabled = await _call(a, "PATCH", f"/v1/users/{user_id}", admin, json={"active": False})
    assert disabled.status_code == 200
    _, code, seconds = await _frames_until_closed(ws, WS_CLOSE_S + 2)
    assert code == 4401
    assert seconds <= WS_CLOSE_S
    again = await _open_feed(b, AGENCY_A, token)
    _, code, _ = await _frames_until_closed(again, 2)
    assert code == 4401


async def test_agency_change_holds_from_the_next_request_and_frame(
    pair: tuple[Served, Served],
) -> None:
    a, b = pair
    user_id, name, password = await _new_user(pair, "agency", AGENCY_A)
    token = await _token(b, name, password)
    ws = await _open_feed(b, AGENCY_A, token)
    admin = await _token(a, "admin", "admin-demo-112")
    operator = await _token(a, "operator", "operator-demo-112")
    before = await _call(a, "POST", "/v1/calls", operator, json={
        "caller_number": "+6281377700010", "category": "crime", "location": MENTIKAN})
    live = orjson.loads(await asyncio.wait_for(ws.recv(), 5))  # the socket is live
    assert live["incident"]["id"] == before.json()["incident"]["id"]

    moved = await _call(a, "PATCH", f"/v1/users/{user_id}", admin,
                        json={"agency_code": AGENCY_B})
    assert moved.status_code == 200
    # The very next request, on the other process: refused.
    assert (await _call(b, "GET", f"/v1/agencies/{AGENCY_A}/queue", token)).status_code == 401
    # An assignment for the old agency made after the change never reaches the socket.
    call = await _call(a, "POST", "/v1/calls", operator, json={
        "caller_number": "+6281377700011", "category": "crime", "location": MENTIKAN})
    assert call.status_code == 201, call.text
    incident_id = call.json()["incident"]["id"]
    frames, code, _ = await _frames_until_closed(ws, WS_CLOSE_S + 2)
    assert code == 4401
    assert incident_id not in {(f.get("incident") or {}).get("id") for f in frames}

    fresh = await _token(b, name, password)
    assert (await _call(b, "GET", f"/v1/agencies/{AGENCY_A}/queue", fresh)).status_code == 404
    assert (await _call(b, "GET", f"/v1/agencies/{AGENCY_B}/queue", fresh)).status_code == 200


async def test_two_admins_demoting_each_other_leave_one(pair: tuple[Served, Served]) -> None:
    a, b = pair
    other_id, name, password = await _new_user(pair, "admin")
    admin = await _token(a, "admin", "admin-demo-112")
    other = await _token(b, name, password)
    async with httpx.AsyncClient(base_url=a.base_url, timeout=10) as client:
        admins = (await client.get("/v1/users", headers=_bearer(admin),
                                   params={"role": "admin", "active": "true"})).json()["items"]
    assert len(admins) == 2
    demo_admin_id = next(u["id"] for u in admins if u["username"] == "admin")
    results = await asyncio.gather(
        _call(a, "PATCH", f"/v1/users/{other_id}", admin, json={"active": False}),
        _call(b, "PATCH", f"/v1/users/{demo_admin_id}", other, json={"active": False}))
    statuses = sorted(r.status_code for r in results)
    assert statuses[0] == 200 and statuses[1] in (401, 409), statuses
    async with httpx.AsyncClient(base_url=a.base_url, timeout=10) as client:
        survivor = await _token(a, "admin", "admin-demo-112") \
            if results[0].status_code == 200 else await _token(a, name, password)
        left = (await client.get("/v1/users", headers=_bearer(survivor),
                                 params={"role": "admin", "active": "true"})).json()["items"]
    assert len(left) == 1
    # Restore: the demo admin enables the other again (module's own database).
    if left[0]["username"] != "admin":
        await _call(a, "PATCH", f"/v1/users/{demo_admin_id}", survivor, json={"active": True})
