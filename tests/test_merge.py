"""Merging two incidents that are one emergency, and undoing it: what moves, what is
cancelled and restored, both timelines, the feeds of every affected agency, the shift
statistics, and concurrent merges that never lose a call or leave an incident half merged."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from tests.support import login, make_settings, serving

SPOT = {"lat": -7.5061, "lon": 112.4712}  # this module's own spot, away from other tests'
_numbers = itertools.count(1)


async def _call(client: httpx.AsyncClient, operator: dict, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/calls", headers=operator, json={
        "caller_number": f"+62815{uuid.uuid4().int % 10**4:04d}{next(_numbers):04d}",
        "location": SPOT, **body})
    assert response.status_code == 201, response.text
    return response.json()


async def _incident(client: httpx.AsyncClient, operator: dict, category: str) -> dict[str, Any]:
    return (await _call(client, operator, category=category))["incident"]


async def _detail(client: httpx.AsyncClient, headers: dict, incident_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/incidents/{incident_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _merge(client: httpx.AsyncClient, headers: dict, merged: str,
                 into: str) -> httpx.Response:
    return await client.post(f"/v1/incidents/{merged}/merge", headers=headers,
                             json={"into_incident_id": into})


async def _unmerge(client: httpx.AsyncClient, headers: dict, merged: str) -> httpx.Response:
    return await client.post(f"/v1/incidents/{merged}/unmerge", headers=headers)


def _by_agency(incident: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["agency"]["code"]: a for a in incident["assignments"]}


def _events(detail: dict[str, Any], type: str) -> list[dict[str, Any]]:
    return [e for e in detail["timeline"] if e["type"] == type]


async def test_merge_moves_calls_notes_and_assignments_and_unmerge_restores_them(
    client: httpx.AsyncClient, operator: dict, supervisor: dict,
) -> None:
    survivor = await _incident(client, operator, "traffic_accident")  # police + health
    police = _by_agency(survivor)
    [police_code] = [c for c, a in police.items() if a["agency"]["kind"] == "police"]
    first = await _call(client, operator, category="crime")  # the same police station
    dup = first["incident"]
    second = await _call(client, operator, link_incident_id=dup["id"])
    dup_calls = [first["id"], second["id"]]
    [dup_police] = dup["assignments"]
    assert dup_police["agency"]["code"] == police_code
    police_headers = await login(client, police_code.lower())
    ack = await client.post(f"/v1/assignments/{dup_police['id']}/ack", headers=police_headers)
    assert ack.status_code == 200, ack.text
    note = (await client.post(f"/v1/incidents/{dup['id']}/notes", headers=operator,
                              json={"text": "second caller: the driver fled"})).json()
    fire = await _incident(client, operator, "fire")  # an agency the survivor lacks
    [fire_assignment] = fire["assignments"]

    response = await _merge(client, operator, dup["id"], survivor["id"])
    assert response.status_code == 200, response.text
    merged_view = response.json()
    assert merged_view["id"] == survivor["id"] and merged_view["merged_into"] is None
    assert set(merged_view["call_ids"]) == set(survivor["call_ids"]) | set(dup_calls)
    # The survivor's own police assignment stays; the duplicate's is cancelled, not moved.
    assert {a["id"] for a in merged_view["assignments"]} == {
        a["id"] for a in survivor["assignments"]}

    gone = await _detail(client, supervisor, dup["id"])
    assert (gone["status"], gone["resolution"], gone["merged_into"]) == (
        "closed", "merged", survivor["id"])
    assert gone["closed_at"] and gone["call_ids"] == [] and gone["notes"] == []
    [cancelled] = gone["assignments"]
    assert (cancelled["id"], cancelled["status"]) == (dup_police["id"], "cancelled")
    [event] = _events(gone, "incident.merged")
    assert event["before"] == {"status": "acknowledged"}
    merge = event["after"]["merge"]
    assert set(merge["call_ids"]) == set(dup_calls)
    assert merge["note_ids"] == [note["id"]]
    assert merge["cancelled_assignment_ids"] == [dup_police["id"]]
    assert merge["moved_assignment_ids"] == []
    assert (merge["into_incident_id"], merge["merged_incident_id"]) == (survivor["id"],
                                                                      dup["id"])
    kept = await _detail(client, supervisor, survivor["id"])
    assert [n["id"] for n in kept["notes"]] == [note["id"]]
    assert kept["notes"][0]["incident_id"] == survivor["id"]
    assert _events(kept, "incident.merged")[0]["after"]["merge"] == merge

    # A second merge into the same survivor: the fire brigade's assignment moves over.
    response = await _merge(client, supervisor, fire["id"], survivor["id"])
    assert response.status_code == 200, response.text
    moved = _by_agency(response.json())[fire_assignment["agency"]["code"]]
    assert (moved["id"], moved["incident_id"], moved["status"]) == (
        fire_assignment["id"], survivor["id"], "queued")
    assert (await _detail(client, supervisor, fire["id"]))["assignments"] == []
    later = (await client.post(f"/v1/incidents/{survivor['id']}/notes", headers=operator,
                               json={"text": "after the merges"})).json()

    # Unmerge the first: its calls, its note and its police assignment (acknowledged, as
    # before the merge) come back; the survivor keeps its own and the fire merge's.
    response = await _unmerge(client, operator, dup["id"])
    assert response.status_code == 200, response.text
    back = response.json()
    assert back["id"] == dup["id"]
    assert (back["status"], back["resolution"], back["merged_into"], back["closed_at"]) == (
        "acknowledged", None, None, None)
    assert set(back["call_ids"]) == set(dup_calls)
    [restored] = back["assignments"]
    assert (restored["id"], restored["status"]) == (dup_police["id"], "acknowledged")
    after = await _detail(client, supervisor, dup["id"])
    assert [(n["id"], n["incident_id"]) for n in after["notes"]] == [(note["id"], dup["id"])]
    assert len(_events(after, "incident.unmerged")) == 1
    kept = await _detail(client, supervisor, survivor["id"])
    assert set(kept["call_ids"]) == set(survivor["call_ids"]) | set(fire["call_ids"])
    assert [n["id"] for n in kept["notes"]] == [later["id"]]
    assert fire_assignment["id"] in {a["id"] for a in kept["assignments"]}
    assert len(_events(kept, "incident.unmerged")) == 1
    # The police can act on its restored assignment again.
    onward = await client.post(f"/v1/assignments/{dup_police['id']}/status",
                               headers=police_headers, json={"status": "en_route"})
    assert onward.status_code == 200, onward.text

    assert (await _unmerge(client, operator, dup["id"])).status_code == 409  # not merged
    response = await _unmerge(client, operator, fire["id"])
    assert response.status_code == 200, response.text
    assert [(a["id"], a["status"]) for a in response.json()["assignments"]] == [
        (fire_assignment["id"], "queued")]
    assert response.json()["status"] == "dispatched"


async def test_merges_that_are_refused(
    client: httpx.AsyncClient, operator: dict, supervisor: dict,
) -> None:
    one = await _incident(client, operator, "crime")
    other = await _incident(client, operator, "crime")
    assert (await _merge(client, operator, one["id"], one["id"])).status_code == 422
    for body in ({}, {"into_incident_id": "not-an-id"},
                 {"into_incident_id": other["id"], "why": "duplicate"}):
        response = await client.post(f"/v1/incidents/{one['id']}/merge", headers=operator,
                                     json=body)
        assert response.status_code == 422, body
    assert (await _merge(client, operator, one["id"], str(uuid.uuid4()))).status_code == 404
    assert (await _merge(client, operator, str(uuid.uuid4()), one["id"])).status_code == 404
    assert (await _unmerge(client, operator, str(uuid.uuid4()))).status_code == 404
    assert (await _unmerge(client, operator, one["id"])).status_code == 409  # not merged
    police = await login(client, one["assignments"][0]["agency"]["code"].lower())
    assert (await _merge(client, police, one["id"], other["id"])).status_code == 403
    assert (await _unmerge(client, police, one["id"])).status_code == 403

    closed = await _incident(client, operator, "crime")
    assert (await client.post(f"/v1/incidents/{closed['id']}/close", headers=operator,
                              json={"resolution": "handled"})).status_code == 200
    into_closed = await _merge(client, operator, one["id"], closed["id"])
    assert into_closed.status_code == 409 and into_closed.json()["status_now"] == "closed"
    assert (await _merge(client, operator, closed["id"], one["id"])).status_code == 409
    assert (await _unmerge(client, operator, closed["id"])).status_code == 409  # not merged
    # Nothing of the refused merges happened.
    assert (await _detail(client, operator, one["id"]))["call_ids"] == one["call_ids"]

    # Merged already: neither merged again, nor merged into.
    assert (await _merge(client, operator, one["id"], other["id"])).status_code == 200
    third = await _incident(client, operator, "crime")
    assert (await _merge(client, operator, one["id"], third["id"])).status_code == 409
    assert (await _merge(client, operator, third["id"], one["id"])).status_code == 409
    # The survivor merged on into a third incident: the first unmerge waits for that one's.
    assert (await _merge(client, operator, other["id"], third["id"])).status_code == 200
    assert set((await _detail(client, operator, third["id"]))["call_ids"]) == {
        *one["call_ids"], *other["call_ids"], *third["call_ids"]}
    blocked = await _unmerge(client, operator, one["id"])
    assert blocked.status_code == 409 and blocked.json()["resolution"] == "merged"
    assert (await _unmerge(client, supervisor, other["id"])).status_code == 200
    assert set((await _detail(client, operator, other["id"]))["call_ids"]) == {
        *one["call_ids"], *other["call_ids"]}
    assert (await _unmerge(client, operator, one["id"])).status_code == 200
    assert (await _detail(client, operator, one["id"]))["call_ids"] == one["call_ids"]
    # The survivor closed for another reason: no unmerge.
    assert (await _merge(client, operator, one["id"], other["id"])).status_code == 200
    assert (await client.post(f"/v1/incidents/{other['id']}/close", headers=operator,
                              json={"resolution": "handled"})).status_code == 200
    refused = await _unmerge(client, operator, one["id"])
    assert refused.status_code == 409 and refused.json()["resolution"] == "handled"


async def test_shift_figures_count_a_merged_incident_once(
    client: httpx.AsyncClient, operator: dict, supervisor: dict,
) -> None:
    async def figures() -> dict[str, Any]:
        response = await client.get("/v1/stats/shifts/current", headers=supervisor)
        assert response.status_code == 200, response.text
        return dict(response.json()["incidents"])

    dup = await _incident(client, operator, "animal")  # priority 3
    survivor = await _incident(client, operator, "animal")
    before = await figures()
    assert (await _merge(client, operator, dup["id"], survivor["id"])).status_code == 200
    merged = await figures()
    assert merged["total"] == before["total"] - 1
    assert merged["merged"] == before["merged"] + 1
    assert merged["by_category"]["animal"] == before["by_category"]["animal"] - 1
    assert merged["by_priority"]["3"] == before["by_priority"]["3"] - 1
    assert merged["total"] == sum(merged["by_category"].values())
    assert merged["total"] == sum(merged["by_priority"].values())
    assert (await _unmerge(client, operator, dup["id"])).status_code == 200
    assert await figures() == before


# --- feeds ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[str]:
    async for address in serving(create_app(make_settings(database_url))):
        yield address


async def _frames_about(ws: Any, type: str, incident_ids: set[str],
                        wait_s: float = 10) -> dict[str, dict[str, Any]]:
    """Frames of `type` about those incidents, by incident id, until all came or time
    ran out."""
    found: dict[str, dict[str, Any]] = {}
    try:
        async with asyncio.timeout(wait_s):
            while set(found) != incident_ids:
                frame = json.loads(await ws.recv())
                if frame["type"] == type and frame["incident"]["id"] in incident_ids:
                    found[frame["incident"]["id"]] = frame
    except TimeoutError:
        pass
    return found


async def test_merge_and_unmerge_reach_every_affected_agency(server: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{server}") as api:
        operator = await login(api, "operator")
        survivor = await _incident(api, operator, "crime")
        dup = await _incident(api, operator, "fire")
        [police_code] = _by_agency(survivor)
        [fire_code] = _by_agency(dup)
        outsider = "PLN-UP3-MJK"
        assert outsider not in {police_code, fire_code}
        token = {code: (await login(api, code.lower()))["Authorization"][7:]
                 for code in (police_code, fire_code, outsider)}
        base = f"ws://{server}/v1/agencies"
        both = {survivor["id"], dup["id"]}
        async with websockets.connect(f"{base}/{police_code}/feed?token="
                                      f"{token[police_code]}") as police, \
                websockets.connect(f"{base}/{fire_code}/feed?token={token[fire_code]}") as fire, \
                websockets.connect(f"{base}/{outsider}/feed?token={token[outsider]}") as out:
            await asyncio.sleep(0.3)
            assert (await _merge(api, operator, dup["id"], survivor["id"])).status_code == 200
            # Each incident's frame goes to the agencies it involved before or after: the
            # fire agency (its assignment moved) gets both, the police only its own
            # incident's (it never could read the duplicate).
            fire_frames = await _frames_about(fire, "incident.merged", both)
            assert set(fire_frames) == both
            assert fire_frames[dup["id"]]["incident"]["merged_into"] == survivor["id"]
            assert fire_frames[dup["id"]]["assignment"] is None
            police_frames = await _frames_about(police, "incident.merged", both)
            assert set(police_frames) == {survivor["id"]}
            for frames in (fire_frames, police_frames):
                assert frames[survivor["id"]]["merge"]["moved_assignment_ids"] == [
                    dup["assignments"][0]["id"]]
                assert _by_agency(frames[survivor["id"]]["incident"]).keys() == {
                    police_code, fire_code}
            assert (await _unmerge(api, operator, dup["id"])).status_code == 200
            fire_frames = await _frames_about(fire, "incident.unmerged", both)
            assert set(fire_frames) == both
            assert fire_frames[dup["id"]]["incident"]["status"] == "dispatched"
            assert set(await _frames_about(police, "incident.unmerged", both)) == {
                survivor["id"]}
            assert await _frames_about(out, "incident.merged", both, wait_s=1.5) == {}


# --- concurrency --------------------------------------------------------------------------


async def _check_invariants(
    session: AsyncSession, incident_ids: list[str], calls: dict[str, set[str]],
) -> None:
    """Every call still belongs to one of these incidents, never to a merged one; every
    merged incident is closed as merged, owns no call, note or open assignment, has exactly
    one merge in force, and its chain ends at an incident that is not merged; every other
    incident is as open as it was."""
    ids = [uuid.UUID(i) for i in incident_ids]
    rows = {str(r.id): r for r in (await session.execute(text(
        "SELECT id, status, resolution, merged_into, closed_at FROM incidents"
        " WHERE id = ANY(:ids)"), {"ids": ids})).all()}
    owners = {str(r.id): str(r.incident_id) for r in (await session.execute(text(
        "SELECT id, incident_id FROM calls WHERE id = ANY(:ids)"),
        {"ids": [uuid.UUID(c) for cs in calls.values() for c in cs]})).all()}
    assert len(owners) == sum(len(cs) for cs in calls.values())  # no call lost
    for call_id, owner in owners.items():
        assert owner in rows, f"call {call_id} left the incidents under test"
        assert rows[owner].merged_into is None, f"call {call_id} is on a merged incident"
    in_force = {str(r.merged_id): str(r.into_id) for r in (await session.execute(text(
        "SELECT merged_id, into_id FROM incident_merges"
        " WHERE merged_id = ANY(:ids) AND undone_at IS NULL"), {"ids": ids})).all()}
    open_on = {str(r.incident_id) for r in (await session.execute(text(
        "SELECT incident_id FROM assignments WHERE incident_id = ANY(:ids) AND status IN"
        " ('queued', 'acknowledged', 'en_route', 'on_scene', 'escalated')"),
        {"ids": ids})).all()}
    noted = {str(r.incident_id) for r in (await session.execute(text(
        "SELECT incident_id FROM incident_notes WHERE incident_id = ANY(:ids)"),
        {"ids": ids})).all()}
    for incident_id, row in rows.items():
        if row.merged_into is None:
            assert row.status != "closed" and incident_id not in in_force, incident_id
            continue
        assert (row.status, row.resolution) == ("closed", "merged") and row.closed_at
        assert in_force.get(incident_id) == str(row.merged_into)
        assert incident_id not in open_on and incident_id not in noted
        assert incident_id not in owners.values()
        chain, at = [incident_id], str(row.merged_into)
        while rows[at].merged_into is not None:
            assert at not in chain, f"a merge cycle: {chain}"
            chain.append(at)
            at = str(rows[at].merged_into)
        assert rows[at].status != "closed"
    # Conservation: each incident not merged owns its own calls and those of every
    # incident whose chain ends at it.
    root = {}
    for incident_id in rows:
        at = incident_id
        while rows[at].merged_into is not None:
            at = str(rows[at].merged_into)
        root[incident_id] = at
    for call_id, owner in owners.items():
        [original] = [i for i, cs in calls.items() if call_id in cs]
        assert owner == root[original], (call_id, original, owner)


async def _round(client: httpx.AsyncClient, operator: dict, supervisor: dict,
                 size: int) -> tuple[list[str], dict[str, set[str]]]:
    incidents = [await _incident(client, operator, "crime") for _ in range(size)]
    calls = {i["id"]: set(i["call_ids"]) for i in incidents}
    for incident in incidents[:2]:  # a second call on some
        extra = await _call(client, operator, link_incident_id=incident["id"])
        calls[incident["id"]].add(extra["id"])
    return [i["id"] for i in incidents], calls


async def test_parallel_merges_never_lose_a_call_or_half_merge(
    client: httpx.AsyncClient, operator: dict, supervisor: dict,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    statuses: list[int] = []
    for _ in range(4):
        ids, calls = await _round(client, operator, supervisor, 5)
        a, b, c, d, e = ids
        who = itertools.cycle([operator, supervisor])
        requests = [
            _merge(client, next(who), a, b), _merge(client, next(who), b, a),  # A→B, B→A
            _merge(client, next(who), a, c), _merge(client, next(who), c, a),  # A→C, C→A
            _merge(client, next(who), b, c), _merge(client, next(who), d, e),  # chains
            _merge(client, next(who), e, d), _merge(client, next(who), c, d),
            client.post(f"/v1/incidents/{a}/notes", headers=operator,
                        json={"text": "while merging"}),
            client.post(f"/v1/incidents/{b}/notes", headers=operator,
                        json={"text": "while merging"}),
        ]
        responses = await asyncio.gather(*requests)
        statuses += [r.status_code for r in responses]
        assert all(r.status_code in (200, 201, 409) for r in responses), [
            (r.status_code, r.text[:200]) for r in responses]
        merges = responses[:8]
        assert sum(r.status_code == 200 for r in merges) >= 1
        async with sessions() as session:
            await _check_invariants(session, ids, calls)
            merged = (await session.execute(text(
                "SELECT count(*) FROM incidents WHERE id = ANY(:ids)"
                " AND merged_into IS NOT NULL"),
                {"ids": [uuid.UUID(i) for i in ids]})).scalar_one()
        # Each merge that succeeded closed one incident (none was undone here).
        assert merged == sum(r.status_code == 200 for r in merges)
        # Then undo everything at once, in parallel with merges into the survivors.
        undo = await asyncio.gather(*(_unmerge(client, operator, i) for i in ids),
                                    _merge(client, supervisor, a, e))
        assert all(r.status_code in (200, 409) for r in undo), [
            (r.status_code, r.text[:200]) for r in undo]
        async with sessions() as session:
            await _check_invariants(session, ids, calls)
    assert 409 in statuses and 200 in statuses  # the races really were races


async def test_an_agency_acting_while_its_assignment_moves(
    client: httpx.AsyncClient, operator: dict,
) -> None:
    """The acknowledgement of an assignment that a merge moves at that moment lands on
    the assignment wherever it is now: before the merge or after it, never a 500."""
    for _ in range(5):
        survivor = await _incident(client, operator, "crime")
        dup = await _incident(client, operator, "fire")
        [assignment] = dup["assignments"]
        fire = await login(client, assignment["agency"]["code"].lower())
        merged, ack = await asyncio.gather(
            _merge(client, operator, dup["id"], survivor["id"]),
            client.post(f"/v1/assignments/{assignment['id']}/ack", headers=fire))
        assert (merged.status_code, ack.status_code) == (200, 200), (merged.text, ack.text)
        after = _by_agency(await _detail(client, operator, survivor["id"]))
        moved = after[assignment["agency"]["code"]]
        assert (moved["id"], moved["status"]) == (assignment["id"], "acknowledged")
