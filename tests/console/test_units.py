"""Units in the console: markers on the maps (live from the supervisors' feed), the agency's
units with their status buttons (live from its feed, a 409's detail shown), "Kirim unit"
from an incident's details, and the operator's recommendations with "Kirim".

Tests that change a unit's state use units of their own (admin PUT /v1/units/{code},
positioned through the gateway's POST /v1/units/positions): the demo fleet stays as the
other tests expect it."""

from __future__ import annotations

import asyncio
import re
import time

from playwright.async_api import Page, WebSocketRoute, expect

from dispatch.units.lifecycle import DISPATCHED, TRANSITIONS, UNIT_KINDS, UNIT_STATUSES
from dispatch.units.positions import POSITION_EVENT_INTERVAL_S
from tests.console.support import (
    CRIME_SPOT,
    PageLog,
    Server,
    agency_assignment,
    open_agency_page,
    open_as,
    own_unit,
    post_fix,
    read_unit,
    set_unit_status,
)


async def test_the_console_knows_the_services_unit_machine_and_words(page: Page) -> None:
    await page.goto("/console/")
    console = await page.evaluate("""async () => {
        const units = await import('/console/js/units.js');
        return {transitions: units.UNIT_TRANSITIONS, statuses: units.UNIT_STATUSES,
                kinds: units.UNIT_KINDS,
                id: (await import('/console/i18n/id.js')).default,
                en: (await import('/console/i18n/en.js')).default};
    }""")
    # The buttons offer what POST /v1/units/{code}/status accepts: `dispatched` is reached
    # only by sending the unit to an incident.
    assert {status: set(moves) for status, moves in console["transitions"].items()} == {
        status: set(moves) - {DISPATCHED} for status, moves in TRANSITIONS.items()}
    assert console["statuses"] == list(UNIT_STATUSES)
    assert console["kinds"] == list(UNIT_KINDS)
    for lang in ("id", "en"):
        for key in [f"unit_status.{s}" for s in UNIT_STATUSES] + [
                f"{ns}.{k}" for ns in ("unit_kind", "unit_tag") for k in UNIT_KINDS]:
            assert console[lang].get(key), (lang, key)
    assert console["id"]["unit_kind.ambulance"] == "Ambulans"
    assert console["id"]["unit_kind.fire_engine"] == "Mobil pemadam"
    assert console["id"]["unit_kind.patrol"] == "Mobil patroli"
    assert console["id"]["unit_status.available"] == "Tersedia"


async def test_units_on_the_supervisor_map_move_and_change_live(
    page: Page, console_server: Server
) -> None:
    start = {"lat": -7.5300, "lon": 112.4100}  # away from the stations (and their units)
    unit = await own_unit(console_server, kind="ambulance", agency="PSC119-MJK-KOTA", at=start)
    fixed_at = time.monotonic()
    await open_as(page, console_server, "supervisor", "/console/supervisor")
    marker = page.locator(f'#map .unit-marker[data-unit-code="{unit["code"]}"]')
    await expect(marker).to_have_attribute("data-status", "available")
    await expect(marker).to_have_attribute("data-lat", str(start["lat"]))
    # The demo fleet, parked at the stations, is on the map too.
    demo = page.locator('#map .unit-marker[data-unit-code="PSC119-MJK-KOTA-1"]')
    await expect(demo).to_have_attribute("data-kind", "ambulance")
    assert int(await page.locator("#map").get_attribute("data-units") or 0) > 10
    await expect(marker.locator(".unit-tag")).to_have_text("AMB")
    before = await marker.bounding_box()

    # unit.position goes on the feed at most once per unit per 5 s: the next fix after that.
    await asyncio.sleep(max(0.0, POSITION_EVENT_INTERVAL_S + 0.6 - (time.monotonic() - fixed_at)))
    moved = {"lat": -7.5800, "lon": 112.4700}
    await post_fix(console_server, unit["code"], moved, speed_kmh=42)
    await expect(marker).to_have_attribute("data-lat", str(moved["lat"]))
    await expect(marker).to_have_attribute("data-lon", str(moved["lon"]))
    after = await marker.bounding_box()
    assert before and after and after["y"] > before["y"] + 5 and after["x"] > before["x"] + 5
    # Its tooltip: name, status, speed and the age of the fix.
    await marker.hover()
    tip = page.locator(f'.leaflet-tooltip .unit-tip[data-unit-code="{unit["code"]}"]')
    await expect(tip).to_contain_text(unit["name"])
    await expect(tip).to_contain_text("Tersedia")
    await expect(tip).to_contain_text("42 km/jam")
    await expect(tip).to_contain_text("posisi 0:")

    await set_unit_status(console_server, unit["code"], "out_of_service")
    await expect(marker).to_have_attribute("data-status", "out_of_service")


async def test_units_on_the_wall(page: Page, console_server: Server) -> None:
    await open_as(page, console_server, "supervisor", "/console/wall")
    await expect(page.locator('#map .unit-marker[data-unit-code="DAMKAR-MJK-KOTA-1"]')
                 ).to_have_attribute("data-kind", "fire_engine")
    patrol = page.locator('#map .unit-marker[data-unit-code="POLSEK-PRAJURITKULON-2"]')
    await expect(patrol.locator(".unit-tag")).to_have_text("PTL")


class UnitFrames:
    """Routes a page's feed through the test, which can hold back its unit frames (a page
    that has not heard of a change yet, so a stale button can be clicked)."""

    def __init__(self) -> None:
        self.dropping = False

    async def route(self, page: Page) -> None:
        await page.route_web_socket(re.compile(r"/feed"), self._connect)

    def _connect(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            if not (self.dropping and '"type":"unit.' in text):
                ws.send(message)

        server.on_message(to_page)
        ws.on_message(server.send)


async def test_the_agency_page_lists_its_units_with_their_status_buttons(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    frames = UnitFrames()
    await frames.route(page)
    unit = await own_unit(console_server, at={"lat": CRIME_SPOT["lat"] - 0.01,
                                              "lon": CRIME_SPOT["lon"] + 0.01})
    call = await console_server.crime_call("+6281377720001")
    incident = call["incident"]
    await open_agency_page(page, console_server)
    row = page.locator(f'#units li.unit-row[data-unit-code="{unit["code"]}"]')
    await expect(row).to_have_attribute("data-status", "available")
    await expect(row.locator(".unit-name")).to_contain_text(unit["name"])
    await expect(row.locator(".status-badge")).to_have_text("Tersedia")
    await expect(row.locator(".unit-chip")).to_have_text("PTL")
    # From available, only "out of service" is a status change (a unit is sent, below).
    await expect(row.locator("button[data-action]")).to_have_count(1)
    await expect(row.locator('button[data-action="unit:out_of_service"]')).to_have_text(
        "Tidak beroperasi")
    # The demo units of the agency are listed too, and on its map.
    await expect(page.locator('#units li[data-unit-code="POLSEK-PRAJURITKULON-1"]')).to_be_visible()
    await expect(page.locator(f'#map .unit-marker[data-unit-code="{unit["code"]}"]')
                 ).to_have_count(1)

    # "Kirim unit" from the incident's details.
    await page.locator(
        f'li[data-assignment-id="{agency_assignment(call)["id"]}"] .row-main').click()
    await expect(page.locator("#detail .incident-number")).to_have_text(incident["number"])
    send = page.locator(".send-unit")
    await send.locator('select[name="unit_code"]').select_option(unit["code"])
    await send.locator('button[data-action="send-unit"]').click()
    await expect(row).to_have_attribute("data-status", "dispatched")
    await expect(row.locator(".unit-incident")).to_have_text(incident["number"])
    await expect(send.locator(f'.on-incident li[data-unit-code="{unit["code"]}"]')).to_be_visible()
    now = await read_unit(console_server, unit["code"])
    assert (now["status"], now["incident_id"]) == ("dispatched", incident["id"])

    # One click per status.
    await expect(row.locator("button[data-action]")).to_have_count(4)
    await row.locator('button[data-action="unit:en_route"]').click()
    await expect(row).to_have_attribute("data-status", "en_route")
    await expect(row.locator(".status-badge")).to_have_text("Menuju lokasi")
    assert (await read_unit(console_server, unit["code"]))["status"] == "en_route"

    # A change made elsewhere arrives live.
    await set_unit_status(console_server, unit["code"], "on_scene")
    await expect(row).to_have_attribute("data-status", "on_scene")
    await expect(row.locator('button[data-action="unit:transporting"]')).to_be_visible()

    # A page that has not heard of a change offers a move the service refuses: its 409
    # detail is shown in the row, which then shows where the unit is.
    frames.dropping = True
    await set_unit_status(console_server, unit["code"], "transporting")
    page_log.allow(r"status of 409")
    await row.locator('button[data-action="unit:returning"]').click()
    error = row.locator(".unit-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("transporting")
    await expect(error).to_contain_text("allowed")
    await expect(row).to_have_attribute("data-status", "transporting")
    await expect(error).to_be_visible()
    assert (await read_unit(console_server, unit["code"]))["status"] == "transporting"
    await expect(row.locator('button[data-action="unit:at_hospital"]')).to_be_visible()


async def test_the_operators_incident_recommends_units_and_sends_one(
    page: Page, console_server: Server
) -> None:
    spot = {"lat": CRIME_SPOT["lat"] + 0.006, "lon": CRIME_SPOT["lon"] - 0.004}
    call = await console_server.crime_call("+6281377720002", location=spot)
    incident = call["incident"]
    unit = await own_unit(console_server, at={"lat": spot["lat"] + 0.0005, "lon": spot["lon"]})
    await open_as(page, console_server, "operator", "/console/operator")
    await page.wait_for_selector("body[data-ready]")
    await page.locator(
        f'#incidents li.incident[data-incident-id="{incident["id"]}"] .incident-number').click()
    rows = page.locator("#incident-detail li.recommendation")
    await expect(rows.first).to_have_attribute("data-unit-code", unit["code"])
    assert await rows.count() >= 2
    distances = [float(d) for d in await rows.evaluate_all(
        "rows => rows.map((row) => row.dataset.distanceM)")]
    assert distances == sorted(distances), distances
    first = rows.first
    await expect(first.locator(".distance")).to_have_text(re.compile(r"^\d+ m$"))
    await expect(first.locator(".eta")).to_contain_text("mnt")
    await expect(first.locator(".agency")).to_have_text("Polsek Prajuritkulon")
    await expect(page.locator("#incident-detail .recommend-note")).to_contain_text("perkiraan")

    await first.locator('button[data-action="dispatch-unit"]').click()
    sent = page.locator(f'#incident-detail li.unit-sent[data-unit-code="{unit["code"]}"]')
    await expect(sent).to_have_attribute("data-status", "dispatched")
    await expect(sent.locator(".status-badge")).to_have_text("Dikirim")
    await expect(page.locator(
        f'#incident-detail li.recommendation[data-unit-code="{unit["code"]}"]')).to_have_count(0)
    now = await read_unit(console_server, unit["code"])
    assert (now["status"], now["incident_id"]) == ("dispatched", incident["id"])
    # The operator's map shows it with its new status (read on the page's poll).
    await expect(page.locator(f'#map .unit-marker[data-unit-code="{unit["code"]}"]')
                 ).to_have_attribute("data-status", "dispatched")
    # A status reported by its agency reaches the operator's list on the next poll.
    await set_unit_status(console_server, unit["code"], "en_route")
    await expect(sent).to_have_attribute("data-status", "en_route", timeout=8000)
