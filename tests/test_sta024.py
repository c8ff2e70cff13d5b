"""STA-024 subscribe/notify over `WS /v1/eido/subscribe`: negotiation, notifications of
visible incidents only, heartbeats, acknowledgement and resending after reconnect,
unsubscribe, terminate on expiry and revocation, the per-account socket allowance.

Every message the notifier sends is checked against NENA's `websocket.yaml` by its single
envelope key (the schema's `oneOf` unions cannot be validated as such: NENA-NOTES), with
the members and status codes that file requires; every notification is a valid EIDO
(tests/test_eido.py's check)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import websockets

from api.app import create_app
from tests.support import login, make_settings, serving
from tests.test_eido import check_document

MENTIKAN = {"lat": -7.47, "lon": 112.43}  # crime → POLSEK-PRAJURITKULON, fire → DAMKAR-MJK-KOTA
# websocket.yaml: the required members and allowed status codes of each notifier message
REQUIRED = {
    "subscribeResponse": ({"requestId", "statusCode", "statusText"},
                          {200, 400, 403, 404, 406, 413, 481, 500, 503}),
    "unsubscribeResponse": ({"requestId", "subscriptionId", "statusCode", "statusText"},
                            {200, 400, 413, 481, 500, 503}),
    "response": ({"requestId", "statusCode", "statusText"}, {501}),
    "event": ({"subscriptionId", "transactionId"}, None),
    "terminate": ({"requestId", "subscriptionId"}, None),
}


def checked(text: str | bytes) -> tuple[str, dict[str, Any]]:
    message = json.loads(text)
    assert isinstance(message, dict) and len(message) == 1, message
    [(kind, body)] = message.items()
    required, statuses = REQUIRED[kind]
    assert required <= set(body), (kind, required - set(body))
    if statuses is not None:
        assert body["statusCode"] in statuses, body
    if kind == "event":
        assert isinstance(body["notification"], list)
        for document in body["notification"]:
            check_document(document)
    return kind, body


@pytest.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[str]:
    async for address in serving(create_app(make_settings(database_url))):
        yield address


@pytest.fixture(scope="module")
async def api(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{server}", timeout=30) as client:
        yield client


def _token(headers: dict) -> str:
    return str(headers["Authorization"][7:])


async def _incident(api: httpx.AsyncClient, category: str = "crime") -> dict:
    operator = await login(api, "operator")
    response = await api.post("/v1/calls", headers=operator, json={
        "caller_number": f"+62818{uuid.uuid4().int % 10**7:07d}", "category": category,
        "location": MENTIKAN})
    assert response.status_code == 201, response.text
    return response.json()["incident"]


async def _send(ws: Any, kind: str, **body: Any) -> None:
    await ws.send(json.dumps({kind: body}))


async def _next(ws: Any, matches: Callable[[str, dict[str, Any]], bool],
                wait_s: float = 10) -> tuple[str, dict[str, Any]]:
    async with asyncio.timeout(wait_s):
        while True:
            kind, body = checked(await ws.recv())
            if matches(kind, body):
                return kind, body


def about(incident_hex: str) -> Callable[[str, dict[str, Any]], bool]:
    """An event whose notification is the EIDO of that incident."""
    return lambda kind, body: kind == "event" and any(
        incident_hex in document["$id"] for document in body["notification"])


def _hex(incident: dict) -> str:
    return uuid.UUID(incident["id"]).hex


async def _subscribe(ws: Any, **fields: Any) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    await _send(ws, "subscribe", requestId=request_id, **fields)
    _, body = await _next(ws, lambda k, b: k == "subscribeResponse")
    assert body["requestId"] == request_id
    return body


async def test_new_subscription_notifies_visible_incidents_with_heartbeats(
    server: str, api: httpx.AsyncClient
) -> None:
    police = _token(await login(api, "polsek-prajuritkulon"))
    fire = _token(await login(api, "damkar-mjk-kota"))
    url = f"ws://{server}/v1/eido/subscribe?token="
    async with websockets.connect(url + police) as ws_a, websockets.connect(url + fire) as ws_b:
        granted = await _subscribe(ws_a, requestType="EIDO", requestSubType="new",
                                   minRate=1, expires=120)
        assert granted["statusCode"] == 200 and granted["minRate"] == 1
        assert 0 < granted["expires"] <= 120
        assert (await _subscribe(ws_b, requestType="EIDO", requestSubType="new"))[
            "statusCode"] == 200
        crime = await _incident(api, "crime")
        burning = await _incident(api, "fire")
        _, event = await _next(ws_a, about(_hex(crime)))
        assert event["subscriptionId"] == granted["subscriptionId"]
        [document] = event["notification"]
        assert document["incidentComponent"]["internalIncidentId"] == crime["number"]
        await _send(ws_a, "eventResponse", transactionId=event["transactionId"],
                    statusCode=200, statusText="OK")
        # agency B: the fire, never the crime posted before it
        _, seen = await _next(ws_b, lambda k, b: k == "event" and bool(b["notification"]))
        assert seen["notification"][0]["incidentComponent"]["internalIncidentId"] == \
            burning["number"]
        # the heartbeat: an empty notification within minRate (1 s) of quiet
        _, beat = await _next(ws_a, lambda k, b: k == "event" and not b["notification"], wait_s=5)
        assert beat["subscriptionId"] == granted["subscriptionId"]


async def test_single_subscription_and_refusals(server: str, api: httpx.AsyncClient) -> None:
    crime = await _incident(api, "crime")
    police = _token(await login(api, "polsek-prajuritkulon"))
    fire = _token(await login(api, "damkar-mjk-kota"))
    url = f"ws://{server}/v1/eido/subscribe?token="
    async with websockets.connect(url + police) as ws:
        granted = await _subscribe(ws, requestType="EIDO", requestSubType="single",
                                   incidentId=crime["id"])
        assert granted["statusCode"] == 200
        _, first = await _next(ws, about(_hex(crime)))  # the state, at once
        assert first["notification"][0]["incidentComponent"]["internalIncidentId"] == \
            crime["number"]
        note = await api.post(f"/v1/incidents/{crime['id']}/notes",
                              headers={"Authorization": f"Bearer {police}"},
                              json={"text": "Tiba di lokasi"})
        assert note.status_code == 201
        _, changed = await _next(ws, about(_hex(crime)))
        assert changed["notification"][0]["notesComponent"][0]["notesActionComments"] == \
            "<p>Tiba di lokasi</p>"
        bad = [({"requestSubType": "new"}, 400),  # no requestType
               ({"requestType": "EIDO", "requestSubType": "sometimes"}, 400),
               ({"requestType": "EIDO", "requestSubType": "resource"}, 406),
               ({"requestType": "EIDO", "requestSubType": "single"}, 400),  # no incidentId
               ({"requestType": "EIDO", "requestSubType": "single",
                 "incidentId": str(uuid.uuid4())}, 404),
               ({"requestType": "EIDO", "requestSubType": "new", "minRate": "soon"}, 400),
               ({"subscriptionId": str(uuid.uuid4())}, 481)]
        for fields, status in bad:
            assert (await _subscribe(ws, **fields))["statusCode"] == status, fields
        await ws.send("not json")
        _, answer = await _next(ws, lambda k, b: k == "subscribeResponse")
        assert answer["statusCode"] == 400
        await _send(ws, "dance", requestId="x")
        await _next(ws, lambda k, b: k == "response")
    async with websockets.connect(url + fire) as other:
        refused = await _subscribe(other, requestType="EIDO", requestSubType="single",
                                   incidentId=crime["id"])
        assert refused["statusCode"] == 404  # another agency's incident: as if unknown
    async with websockets.connect(url + _token(await login(api, "operator"))) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_unacknowledged_events_are_sent_again_after_reconnect(
    server: str, api: httpx.AsyncClient
) -> None:
    supervisor = _token(await login(api, "supervisor"))
    url = f"ws://{server}/v1/eido/subscribe?token={supervisor}"
    async with websockets.connect(url) as ws:
        granted = await _subscribe(ws, requestType="EIDO", requestSubType="new", minRate=60)
        subscription = granted["subscriptionId"]
        first = await _incident(api)
        _, unacked = await _next(ws, about(_hex(first)))
    missed = await _incident(api)  # while disconnected
    async with websockets.connect(url) as ws:
        resumed = await _subscribe(ws, subscriptionId=subscription)
        assert resumed["statusCode"] == 200 and resumed["subscriptionId"] == subscription
        _, again = await _next(ws, about(_hex(first)))
        assert again["transactionId"] == unacked["transactionId"]
        _, caught_up = await _next(ws, about(_hex(missed)))
        for event in (again, caught_up):
            await _send(ws, "eventResponse", transactionId=event["transactionId"],
                        statusCode=200, statusText="OK")
        await asyncio.sleep(0.5)
    async with websockets.connect(url) as ws:
        assert (await _subscribe(ws, subscriptionId=subscription))["statusCode"] == 200
        with contextlib.suppress(TimeoutError):  # nothing of those two comes back
            _, body = await _next(ws, lambda k, b: about(_hex(first))(k, b)
                                  or about(_hex(missed))(k, b), wait_s=1.5)
            pytest.fail(f"acknowledged event sent again: {body}")
        await _send(ws, "unsubscribe", requestId="bye", subscriptionId=subscription)
        _, gone = await _next(ws, lambda k, b: k == "unsubscribeResponse")
        assert gone["statusCode"] == 200 and gone["subscriptionId"] == subscription
    async with websockets.connect(url) as ws:
        assert (await _subscribe(ws, subscriptionId=subscription))["statusCode"] == 481


async def test_terminate_on_expiry_and_on_revocation(server: str, api: httpx.AsyncClient) -> None:
    admin = await login(api, "admin")
    name = f"sta024-{uuid.uuid4().hex[:8]}"
    created = await api.post("/v1/users", headers=admin, json={
        "username": name, "role": "supervisor", "password": "sta024-password-1"})
    assert created.status_code == 201, created.text
    headers = await login(api, name, "sta024-password-1")
    async with websockets.connect(
            f"ws://{server}/v1/eido/subscribe?token={_token(headers)}") as ws:
        brief = await _subscribe(ws, requestType="EIDO", requestSubType="new", expires=1)
        lasting = await _subscribe(ws, requestType="EIDO", requestSubType="new")
        _, ended = await _next(ws, lambda k, b: k == "terminate", wait_s=5)
        assert ended["subscriptionId"] == brief["subscriptionId"]
        assert (await api.post("/auth/logout", headers=headers)).status_code == 204
        _, revoked = await _next(ws, lambda k, b: k == "terminate", wait_s=5)
        assert revoked["subscriptionId"] == lasting["subscriptionId"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_subscriptions_count_against_the_socket_allowance(
    database_url: str, server: str, api: httpx.AsyncClient
) -> None:
    admin = await login(api, "admin")
    name = f"sta024-{uuid.uuid4().hex[:8]}"
    assert (await api.post("/v1/users", headers=admin, json={
        "username": name, "role": "supervisor",
        "password": "sta024-password-1"})).status_code == 201
    token = _token(await login(api, name, "sta024-password-1"))
    limited = create_app(make_settings(database_url, max_sockets_per_user=2))
    async for other in serving(limited):
        async with websockets.connect(f"ws://{server}/v1/feed?token={token}") as feed, \
                websockets.connect(f"ws://{other}/v1/eido/subscribe?token={token}") as ws:
            assert (await _subscribe(ws, requestType="EIDO", requestSubType="new"))[
                "statusCode"] == 200
            async with websockets.connect(
                    f"ws://{other}/v1/eido/subscribe?token={token}") as third:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(third.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
            del feed


async def test_a_partner_that_never_acknowledges_is_terminated(
    server: str, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unacknowledged notifications are kept for a resume; past the cap the subscription
    is terminated instead of piling up rows without end."""
    import api.eido_ws as eido_ws

    monkeypatch.setattr(eido_ws, "MAX_UNACKNOWLEDGED", 2)
    monkeypatch.setattr(eido_ws, "ACK_GRACE_S", 0.0)
    supervisor = _token(await login(api, "supervisor"))
    async with websockets.connect(f"ws://{server}/v1/eido/subscribe?token={supervisor}") as ws:
        granted = await _subscribe(ws, requestType="EIDO", requestSubType="new", minRate=60)
        for _ in range(3):
            await _incident(api)
        _, ended = await _next(ws, lambda k, b: k == "terminate")
        assert ended["subscriptionId"] == granted["subscriptionId"]
        assert (await _subscribe(ws, subscriptionId=granted["subscriptionId"]))[
            "statusCode"] == 481
