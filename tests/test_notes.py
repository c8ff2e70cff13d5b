"""Notes on an incident: append-only, authored, in the incident and its timeline, on the
feeds of the supervisors and of every agency assigned to the incident; an agency writes
only on incidents assigned to it (404 otherwise)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from tests.support import login, make_settings, serving

SPOT = {"lat": -7.5052, "lon": 112.4698}  # notes' own spot, away from other tests'


async def _incident(client: httpx.AsyncClient, operator: dict, category: str = "crime",
                    location: dict | None = None) -> dict[str, Any]:
    response = await client.post("/v1/calls", headers=operator, json={
        "caller_number": f"+628131{uuid.uuid4().int % 10**6:06d}", "category": category,
        "location": location or SPOT})
    assert response.status_code == 201, response.text
    return response.json()["incident"]


def _agency_user(incident: dict[str, Any]) -> str:
    [assignment] = incident["assignments"]
    return str(assignment["agency"]["code"]).lower()


async def test_notes_are_authored_oldest_first_and_in_the_timeline(
    client: httpx.AsyncClient, operator: dict, supervisor: dict,
) -> None:
    incident = await _incident(client, operator)
    agency = await login(client, _agency_user(incident))
    url = f"/v1/incidents/{incident['id']}/notes"
    first = await client.post(url, headers=operator, json={"text": "  the fire spread  \n"})
    assert first.status_code == 201, first.text
    note = first.json()
    assert note["text"] == "the fire spread"  # stripped
    assert (note["incident_id"], note["author"], note["role"], note["agency_code"]) == (
        incident["id"], "operator", "operator", None)
    uuid.UUID(note["id"])
    by_agency = (await client.post(url, headers=agency,
                                   json={"text": "unit on scene, two injured"})).json()
    assert (by_agency["role"], by_agency["agency_code"], by_agency["author"]) == (
        "agency", incident["assignments"][0]["agency"]["code"], _agency_user(incident))
    by_supervisor = (await client.post(url, headers=supervisor,
                                       json={"text": "correction: three injured"})).json()
    assert by_supervisor["role"] == "supervisor"

    detail = (await client.get(f"/v1/incidents/{incident['id']}", headers=agency)).json()
    assert detail["notes"] == [note, by_agency, by_supervisor]
    assert [n["at"] for n in detail["notes"]] == sorted(n["at"] for n in detail["notes"])
    in_timeline = [e for e in detail["timeline"] if e["type"] == "incident.note"]
    assert [e["after"]["note"]["id"] for e in in_timeline] == [
        note["id"], by_agency["id"], by_supervisor["id"]]
    assert [e["actor"] for e in in_timeline] == ["operator", _agency_user(incident),
                                                "supervisor"]
    # Notes do not come with the incident everywhere: only its detail carries them.
    patched = await client.patch(f"/v1/incidents/{incident['id']}", headers=operator,
                                 json={"priority": 1})
    assert "notes" not in patched.json()


async def test_note_text_is_checked(client: httpx.AsyncClient, operator: dict) -> None:
    incident = await _incident(client, operator)
    url = f"/v1/incidents/{incident['id']}/notes"
    for body in ({"text": ""}, {"text": " \n\t "}, {"text": "x" * 4001}, {},
                 {"text": 12}, {"text": "ok", "author": "someone else"}, {"text": None}):
        response = await client.post(url, headers=operator, json=body)
        assert response.status_code == 422, (body, response.text)
    longest = await client.post(url, headers=operator, json={"text": f"  {'x' * 4000}  "})
    assert longest.status_code == 201, longest.text
    assert longest.json()["text"] == "x" * 4000
    detail = (await client.get(f"/v1/incidents/{incident['id']}", headers=operator)).json()
    assert [len(n["text"]) for n in detail["notes"]] == [4000]


async def test_who_may_write_notes_where(client: httpx.AsyncClient, operator: dict) -> None:
    incident = await _incident(client, operator)
    assigned = _agency_user(incident)
    other = "damkar-mjk" if assigned != "damkar-mjk" else "damkar-mjk-kota"
    url = f"/v1/incidents/{incident['id']}/notes"
    body = {"text": "seen from the street"}
    assert (await client.post(url, headers=await login(client, other), json=body)
            ).status_code == 404
    assert (await client.post(url, headers=await login(client, "admin"), json=body)
            ).status_code == 403
    assert (await client.post(url, headers=await login(client, "aml-gateway"), json=body)
            ).status_code == 403
    assert (await client.post(url, json=body)).status_code == 401
    assert (await client.post(f"/v1/incidents/{uuid.uuid4()}/notes", headers=operator,
                              json=body)).status_code == 404
    detail = (await client.get(f"/v1/incidents/{incident['id']}", headers=operator)).json()
    assert detail["notes"] == []  # nothing of the refused ones was written


async def test_a_closed_incident_takes_notes_a_merged_one_does_not(
    client: httpx.AsyncClient, operator: dict,
) -> None:
    closed = await _incident(client, operator)
    assert (await client.post(f"/v1/incidents/{closed['id']}/close", headers=operator,
                              json={"resolution": "handled"})).status_code == 200
    late = await client.post(f"/v1/incidents/{closed['id']}/notes", headers=operator,
                             json={"text": "correction after closing: two vehicles"})
    assert late.status_code == 201, late.text
    merged = await _incident(client, operator)
    survivor = await _incident(client, operator)
    assert (await client.post(f"/v1/incidents/{merged['id']}/merge", headers=operator,
                              json={"into_incident_id": survivor["id"]})).status_code == 200
    refused = await client.post(f"/v1/incidents/{merged['id']}/notes", headers=operator,
                                json={"text": "too late"})
    assert refused.status_code == 409
    assert refused.json()["merged_into"] == survivor["id"]


async def test_notes_are_append_only_in_the_database(
    client: httpx.AsyncClient, operator: dict, session: AsyncSession,
) -> None:
    incident = await _incident(client, operator)
    note = (await client.post(f"/v1/incidents/{incident['id']}/notes", headers=operator,
                              json={"text": "as first written"})).json()
    assert (await client.delete(
        f"/v1/incidents/{incident['id']}/notes")).status_code == 405
    for statement in ("UPDATE incident_notes SET text = 'rewritten' WHERE id = :id",
                      "UPDATE incident_notes SET author = 'someone' WHERE id = :id",
                      "DELETE FROM incident_notes WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement), {"id": note["id"]})
    assert (await session.execute(text("SELECT text FROM incident_notes WHERE id = :id"),
                                  {"id": note["id"]})).scalar_one() == "as first written"


# --- feeds ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[str]:
    async for address in serving(create_app(make_settings(database_url))):
        yield address


async def _note_frame(ws: Any, note_id: str, wait_s: float = 10) -> dict[str, Any] | None:
    """The incident.note frame of that note, or None when none comes within `wait_s`."""
    try:
        async with asyncio.timeout(wait_s):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "incident.note" and frame["note"]["id"] == note_id:
                    return frame
    except TimeoutError:
        return None


async def test_notes_reach_supervisors_and_assigned_agencies_only(server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{server}") as api:
        operator = await login(api, "operator")
        incident = await _incident(api, operator, "traffic_accident")
        codes = sorted(a["agency"]["code"] for a in incident["assignments"])
        assert len(codes) == 2, incident["assignments"]  # police and health
        outsider = "DAMKAR-MJK"
        assert outsider not in codes
        tokens = {code: (await login(api, code.lower()))["Authorization"][7:]
                  for code in [*codes, outsider]}
        supervisor = (await login(api, "supervisor"))["Authorization"][7:]
        base = f"ws://{server}/v1"
        async with websockets.connect(f"{base}/feed?token={supervisor}") as sup, \
                websockets.connect(f"{base}/agencies/{codes[0]}/feed?token="
                                   f"{tokens[codes[0]]}") as first, \
                websockets.connect(f"{base}/agencies/{codes[1]}/feed?token="
                                   f"{tokens[codes[1]]}") as second, \
                websockets.connect(f"{base}/agencies/{outsider}/feed?token="
                                   f"{tokens[outsider]}") as out:
            await asyncio.sleep(0.3)
            note = (await api.post(f"/v1/incidents/{incident['id']}/notes", headers=operator,
                                   json={"text": "caller: a second car involved"})).json()
            frames = [await _note_frame(ws, note["id"]) for ws in (sup, first, second)]
            for frame in frames:
                assert frame is not None
                assert frame["note"] == note
                assert frame["incident"]["id"] == incident["id"]
                assert frame["assignment"] is None
            assert await _note_frame(out, note["id"], wait_s=1.5) is None
