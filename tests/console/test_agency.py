"""The agency page: its queue live from the feed, one-click actions, decline with a reason,
keyboard shortcuts, the sound hint, and a feed that comes back after a drop without
missing anything."""

from __future__ import annotations

import asyncio
import json
import re
import time

from playwright.async_api import Locator, Page, WebSocket, expect

from dispatch.assignments.lifecycle import TRANSITIONS
from tests.console.support import (
    AGENCY,
    AGENCY_USER,
    Json,
    Server,
    agency_assignment,
    open_agency_page,
)

LIVE_TIMEOUT_MS = 3000
ACTION_STATUS = {"ack": "acknowledged", "en_route": "en_route", "on_scene": "on_scene",
                 "completed": "completed", "decline": "declined"}


def row_of(page: Page, assignment_id: str) -> Locator:
    return page.locator(f'li[data-assignment-id="{assignment_id}"]')


async def enabled_actions(row: Locator) -> set[str]:
    """The actions a row offers once no action of its own is in flight."""
    await expect(row).not_to_have_attribute("data-busy", "true")
    actions = await row.locator("button[data-action]:enabled").evaluate_all(
        "buttons => buttons.map(b => b.dataset.action)")
    return set(actions)


async def incident_as_supervisor(server: Server, incident_id: str) -> Json:
    response = await server.api.get(f"/v1/incidents/{incident_id}",
                                    headers=await server.headers("supervisor"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_new_assignment_appears_live_with_its_incident(
    agency_page: Page, console_server: Server
) -> None:
    page = agency_page
    latencies = []
    for n in range(3):
        started = time.perf_counter()
        call = await console_server.crime_call(f"+62813777001{n:02d}",
                                               description="pencurian motor")
        answered = time.perf_counter()
        assignment = agency_assignment(call)
        row = row_of(page, assignment["id"])
        await row.wait_for(timeout=LIVE_TIMEOUT_MS)
        shown = time.perf_counter()
        latencies.append((shown - started, shown - answered))
    print("\nagency page, assignment created -> row shown (from POST sent / from 201 received): "
          + ", ".join(f"{a * 1000:.0f}/{b * 1000:.0f} ms" for a, b in latencies))
    incident = call["incident"]
    await expect(row).to_have_attribute("data-status", "queued")
    await expect(row).to_have_attribute("data-incident-id", incident["id"])
    await expect(row.locator(".incident-number")).to_have_text(incident["number"])
    await expect(row.locator(".category")).to_have_text("Kriminalitas / gangguan keamanan")
    await expect(row.locator(".kelurahan")).to_have_text(incident["area"]["kelurahan"]["name"])
    await expect(row.locator(".priority-badge")).to_have_text("P2")
    await expect(row).to_have_class(re.compile(r"\bflash\b"))  # the visual alert
    assert await enabled_actions(row) == {"ack", "decline"}
    # Selecting it shows the incident's details and puts it on the map.
    await row.locator(".row-main").click()
    detail = page.locator("#detail")
    await expect(detail.locator(".incident-number")).to_have_text(incident["number"])
    await expect(detail).to_contain_text("pencurian motor")
    await expect(page.locator("#map path.leaflet-interactive")).not_to_have_count(0)


async def test_ack_by_click_then_the_whole_lifecycle(
    agency_page: Page, console_server: Server
) -> None:
    page = agency_page
    call = await console_server.crime_call("+6281377700201")
    assignment_id = agency_assignment(call)["id"]
    row = row_of(page, assignment_id)
    await row.locator('button[data-action="ack"]').click()
    await expect(row).to_have_attribute("data-status", "acknowledged")
    assert await enabled_actions(row) == {"en_route", "on_scene", "completed", "decline"}
    incident = await incident_as_supervisor(console_server, call["incident"]["id"])
    [stored] = [a for a in incident["assignments"] if a["id"] == assignment_id]
    assert stored["status"] == "acknowledged" and stored["acknowledged_at"]

    await row.locator('button[data-action="en_route"]').click()
    await expect(row).to_have_attribute("data-status", "en_route")
    assert await enabled_actions(row) == {"on_scene", "completed", "decline"}
    # Keyboard: the selected row (clicked), 3 = on scene, 4 = completed.
    await row.locator(".row-main").click()
    await page.keyboard.press("3")
    await expect(row).to_have_attribute("data-status", "on_scene")
    assert await enabled_actions(row) == {"completed"}
    await page.keyboard.press("4")
    await expect(row).to_have_count(0)  # completed: no longer open, no longer queued
    incident = await incident_as_supervisor(console_server, call["incident"]["id"])
    assert [a["status"] for a in incident["assignments"] if a["id"] == assignment_id] == [
        "completed"]


async def test_an_ack_made_elsewhere_updates_the_row_live(
    agency_page: Page, console_server: Server
) -> None:
    page = agency_page
    call = await console_server.crime_call("+6281377700301")
    assignment_id = agency_assignment(call)["id"]
    row = row_of(page, assignment_id)
    await expect(row).to_have_attribute("data-status", "queued")
    started = time.perf_counter()
    response = await console_server.api.post(f"/v1/assignments/{assignment_id}/ack",
                                             headers=await console_server.headers(AGENCY_USER))
    assert response.status_code == 200, response.text
    await expect(row).to_have_attribute("data-status", "acknowledged", timeout=LIVE_TIMEOUT_MS)
    print(f"\nagency page, ack through the API -> data-status updated: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    await expect(row.locator(".status-badge")).to_have_text("Diterima")


async def test_decline_asks_for_a_reason_in_the_page(
    agency_page: Page, console_server: Server
) -> None:
    page = agency_page
    call = await console_server.crime_call("+6281377700401")
    assignment_id = agency_assignment(call)["id"]
    row = row_of(page, assignment_id)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await row.locator('button[data-action="decline"]').click()
    reason = row.locator('form.decline-form input[name="reason"]')
    await expect(reason).to_be_visible()
    await expect(reason).to_be_focused()
    # An empty reason declines nothing.
    await row.locator('form.decline-form button[type="submit"]').click()
    await expect(row).to_have_attribute("data-status", "queued")
    await reason.fill("semua unit sedang bertugas di Kranggan")
    await reason.press("Enter")
    await expect(row).to_have_count(0)  # declined: it left the queue
    assert dialogs == []  # no window.prompt or alert
    incident = await incident_as_supervisor(console_server, call["incident"]["id"])
    [declined] = [a for a in incident["assignments"] if a["id"] == assignment_id]
    assert declined["status"] == "declined"
    [event] = [e for e in incident["timeline"] if e["assignment_id"] == assignment_id
               and (e["after"] or {}).get("status") == "declined"]
    assert event["after"]["note"] == "semua unit sedang bertugas di Kranggan"
    # The decline re-routed the incident to another police agency.
    assert any(a["agency"]["code"] != AGENCY and a["agency"]["kind"] == "police"
               and a["status"] == "queued" for a in incident["assignments"])


async def test_the_decline_form_closes_with_escape(
    agency_page: Page, console_server: Server
) -> None:
    page = agency_page
    call = await console_server.crime_call("+6281377700501")
    row = row_of(page, agency_assignment(call)["id"])
    await row.locator(".row-main").click()
    await page.keyboard.press("x")
    form = row.locator("form.decline-form")
    await expect(form).to_be_visible()
    await page.keyboard.type("1")  # typed into the reason: not the ack shortcut
    await page.keyboard.press("Escape")
    await expect(form).to_be_hidden()
    await expect(row).to_have_attribute("data-status", "queued")


async def test_the_actions_follow_the_services_state_machine(agency_page: Page) -> None:
    page = agency_page
    actions = await page.evaluate(
        "async () => (await import('/console/js/agency/actions.js')).ACTIONS")
    assert {a["action"] for a in actions} == set(ACTION_STATUS)
    for entry in actions:
        assert entry["status"] == ACTION_STATUS[entry["action"]]
        legal_from = {state for state, targets in TRANSITIONS.items() if entry["status"] in targets}
        assert set(entry["from"]) == legal_from, entry
    shortcuts = await page.locator("#shortcuts-list kbd").all_inner_texts()
    assert {"1", "2", "3", "4", "X", "Esc"} <= set(shortcuts)


async def test_sound_is_armed_by_the_first_click(page: Page, console_server: Server) -> None:
    await open_agency_page(page, console_server)
    hint = page.locator("#sound")
    await expect(hint).to_have_attribute("data-sound", "off")
    await expect(hint).to_have_text("Klik di mana saja untuk mengaktifkan suara")
    await page.locator("#queue-title").click()
    await expect(hint).not_to_have_attribute("data-sound", "off")
    played = await page.evaluate("async () => (await import('/console/js/sound.js')).beep()")
    assert played is (await hint.get_attribute("data-sound") == "on")


async def test_after_a_drop_the_feed_reconnects_with_since_and_misses_nothing(
    page: Page, console_server: Server
) -> None:
    sockets: list[WebSocket] = []
    seqs: list[int] = []

    def on_socket(ws: WebSocket) -> None:
        sockets.append(ws)
        ws.on("framereceived", lambda payload: seqs.append(json.loads(payload)["seq"]))

    page.on("websocket", on_socket)
    await open_agency_page(page, console_server)
    first = await console_server.crime_call("+6281377700601")
    await row_of(page, agency_assignment(first)["id"]).wait_for()
    last_seq_before = seqs[-1]

    connection = page.locator("#connection")
    await page.context.set_offline(True)
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    await expect(connection).to_have_text("Koneksi terputus, menyambung ulang…")
    missed = await console_server.crime_call("+6281377700602")  # while the page is away
    await asyncio.sleep(2)
    await expect(row_of(page, agency_assignment(missed)["id"])).to_have_count(0)
    await page.context.set_offline(False)
    await expect(connection).to_have_attribute("data-state", "connected")
    await expect(connection).to_have_text("Terhubung")
    await row_of(page, agency_assignment(missed)["id"]).wait_for(timeout=LIVE_TIMEOUT_MS)
    assert len(sockets) == 2
    assert f"since={last_seq_before}" in sockets[1].url
    # Live again after the replay.
    after = await console_server.crime_call("+6281377700603")
    await row_of(page, agency_assignment(after)["id"]).wait_for(timeout=LIVE_TIMEOUT_MS)


RECORD_SOCKETS = """
    window.testSockets = [];
    const Original = window.WebSocket;
    window.WebSocket = class extends Original {
        constructor(...args) { super(...args); window.testSockets.push(this); }
    };
"""
WATCH_CONNECTION = """() => {
    window.testStates = [];
    const element = document.getElementById('connection');
    new MutationObserver(() => window.testStates.push(element.dataset.state))
        .observe(element, {attributes: true, attributeFilter: ['data-state']});
}"""


async def test_a_dropped_socket_is_replaced_with_since(page: Page, console_server: Server) -> None:
    """A drop the browser did not see coming (the service restarting, a proxy closing
    the connection): the page reconnects after its back-off, with since=, and shows it."""
    await page.add_init_script(RECORD_SOCKETS)  # a test hook: the page's code is unchanged
    sockets: list[WebSocket] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    await open_agency_page(page, console_server)
    first = await console_server.crime_call("+6281377700701")
    await row_of(page, agency_assignment(first)["id"]).wait_for()
    await page.evaluate(WATCH_CONNECTION)
    await page.evaluate("() => window.testSockets.at(-1).close(4000, 'test drop')")
    missed = await console_server.crime_call("+6281377700702")
    await row_of(page, agency_assignment(missed)["id"]).wait_for(timeout=LIVE_TIMEOUT_MS)
    await expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    assert await page.evaluate("() => window.testStates") == ["reconnecting", "connected"]
    assert len(sockets) == 2 and "since=" in sockets[1].url
