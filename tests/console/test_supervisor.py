"""The supervisor page: the shift's figures as GET /v1/stats/shifts/current gives them and
live from `stats.updated`, overdue assignments highlighted, the open incidents on a list
and a map, CSV export, English, an admin's read-only view, and the layout at 1366×768.

This module serves its own app (a database of its own): figures published every 0.5 s, and
an acknowledgement time-out of 1 s for priority 3 only, so a priority-3 call escalates
while the crime calls (priority 2) of the other tests stay queued."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from api.app import create_app
from tests.console.support import (
    SCREENSHOTS,
    PageLog,
    Server,
    agency_assignment,
    log_in,
    open_as,
)
from tests.support import load_demo_into, make_settings, serving

STATS = ("calls_total", "incidents_total", "prank_ratio", "unacknowledged")
LIVE_TIMEOUT_MS = 5000
ALL_LEVELS = "kabkota kecamatan kelurahan"
# What a look at the screen would check: no page scroll, no number, badge, figure or
# heading cut off.
LAYOUT = """() => ({
    width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
    cut: [...document.querySelectorAll('.incident-number, .status-badge, .overdue-tag, [data-stat],'
        + ' .figure-label, .figure-value, .shift-window, .panel-head > *, .shell > *, thead th,'
        + ' .bar-value, .age, .agency-chip')]
        .filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
        .map((e) => e.textContent),
})"""


@pytest.fixture(scope="module")
async def console_server(make_database: Callable[..., Awaitable[str]]) -> AsyncIterator[Server]:
    """This module's service (overrides conftest's): see the module's docstring."""
    url = await make_database(migrated=True)
    await load_demo_into(url)
    settings = make_settings(url, stats_interval_s=0.5, ack_timeout_s=[900, 900, 1, 900])
    async for address in serving(create_app(settings)):
        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as api:
            yield Server(address, api)


async def current_figures(server: Server) -> dict:
    response = await server.api.get("/v1/stats/shifts/current",
                                    headers=await server.headers("supervisor"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def expected_stats(figures: dict) -> dict[str, float]:
    """What the page's `data-stat` figures must show for these figures."""
    return {
        "calls_total": figures["calls"]["total"],
        "incidents_total": figures["incidents"]["total"],
        "prank_ratio": figures["calls"]["prank_ratio"],
        "unacknowledged": sum(a["unacknowledged"] for a in figures["agencies"].values()),
    }


async def shown_stats(page: Page) -> dict[str, float]:
    texts = await page.locator("[data-stat]").evaluate_all(
        "elements => Object.fromEntries(elements.map(e => [e.dataset.stat, e.textContent]))")
    return {name: float(texts[name]) for name in STATS}


async def figures_match_the_api(page: Page, server: Server, timeout_s: float = 5.0) -> dict:
    """Wait until the page shows what the API says (both move while the service works);
    returns the API's figures."""
    deadline = time.monotonic() + timeout_s
    while True:
        figures = await current_figures(server)
        shown = await shown_stats(page)
        if shown == expected_stats(figures) or time.monotonic() > deadline:
            assert shown == expected_stats(figures)
            return figures
        await asyncio.sleep(0.2)


async def open_board(page: Page, server: Server, lang: str | None = None) -> None:
    """The supervisor's board, once its figures and incidents are read and its feed is
    connected."""
    await open_as(page, server, "supervisor", "/console/supervisor", lang)
    await board_ready(page)


async def board_ready(page: Page) -> None:
    await page.wait_for_selector('body[data-figures="loaded"][data-incidents="loaded"]')
    await page.wait_for_selector('#connection[data-state="connected"]')


async def assert_fits_the_screen(page: Page) -> None:
    layout = await page.evaluate(LAYOUT)
    size = page.viewport_size or {}
    assert layout["width"] <= size["width"] and layout["height"] <= size["height"], layout
    assert not layout["cut"], layout["cut"]


def stat(page: Page, name: str) -> Locator:
    return page.locator(f'[data-stat="{name}"]')


def pending_row(page: Page, assignment_id: str) -> Locator:
    return page.locator(f'#pending li[data-assignment-id="{assignment_id}"]')


async def test_the_board_shows_the_current_shift_as_the_api_does(
    page: Page, console_server: Server
) -> None:
    await console_server.crime_call("+6281377710001")  # something to count
    await log_in(page, "supervisor")  # the supervisor lands on the board
    assert page.url.endswith("/console/supervisor"), page.url
    await board_ready(page)
    figures = await figures_match_the_api(page, console_server)
    await expect(page.locator("#shift-name")).to_have_text(f"Shift {figures['shift']['name']}")
    await expect(page.locator("#shift-window")).to_contain_text("WIB")
    # One bar per hour of the shift, holding the API's counts.
    bars = page.locator("#hour-chart g.hour")
    await expect(bars).to_have_count(len(figures["calls"]["by_hour"]))
    shown_hours = await bars.evaluate_all(
        "bars => Object.fromEntries(bars.map(b => [b.dataset.hour, Number(b.dataset.count)]))")
    assert shown_hours == figures["calls"]["by_hour"]
    await expect(page.locator("#hour-chart g.hour.current")).to_have_count(1)
    # The map: the boundaries basemap, the open incidents, the stations.
    await expect(page.locator("#map")).to_have_attribute("data-boundaries", ALL_LEVELS)
    await expect(page.locator("#map .leaflet-boundaries-pane path")).not_to_have_count(0)
    await expect(page.locator("#map .station")).not_to_have_count(0)
    shown_markers = int(await page.locator("#map").get_attribute("data-incidents") or "-1")
    assert shown_markers == await page.locator("#open-incidents li[data-incident-id]").count() > 0
    await expect(page.locator("#export-csv")).to_be_enabled()


async def test_a_call_moves_the_figures_live_and_adds_the_incident(
    page: Page, console_server: Server
) -> None:
    await open_board(page, console_server)
    before = await figures_match_the_api(page, console_server)
    call = await console_server.crime_call("+6281377710101", description="jambret")
    incident = call["incident"]
    await expect(stat(page, "calls_total")).to_have_text(
        str(before["calls"]["total"] + 1), timeout=LIVE_TIMEOUT_MS)
    await expect(stat(page, "incidents_total")).to_have_text(
        str(before["incidents"]["total"] + 1), timeout=LIVE_TIMEOUT_MS)
    row = page.locator(f'#open-incidents li[data-incident-id="{incident["id"]}"]')
    await expect(row.locator(".incident-number")).to_have_text(incident["number"])
    await expect(row.locator(".category")).to_have_text("Kriminalitas / gangguan keamanan")
    waiting = pending_row(page, agency_assignment(call)["id"])
    await expect(waiting).to_have_attribute("data-status", "queued")
    await expect(waiting).to_have_attribute("data-incident-id", incident["id"])
    await expect(waiting).to_have_attribute("data-overdue", "false")
    # A prank call (no incident) moves the calls and the prank ratio, not the incidents.
    operator = await console_server.headers("operator")
    prank = await console_server.api.post("/v1/calls", headers=operator,
                                          json={"caller_number": "+6281377710102"})
    assert prank.status_code == 201, prank.text
    closed = await console_server.api.post(f"/v1/calls/{prank.json()['id']}/disposition",
                                           headers=operator, json={"disposition": "prank"})
    assert closed.status_code == 200, closed.text
    await expect(stat(page, "calls_total")).to_have_text(
        str(before["calls"]["total"] + 2), timeout=LIVE_TIMEOUT_MS)
    after = await figures_match_the_api(page, console_server)
    pranks = before["calls"]["by_disposition"]["prank"]
    assert after["calls"]["by_disposition"]["prank"] == pranks + 1
    assert after["calls"]["prank_ratio"] > 0
    await expect(page.locator('#dispositions li[data-key="prank"] .bar-value')).to_have_text(
        str(after["calls"]["by_disposition"]["prank"]))
    # An acknowledgement made elsewhere takes the assignment off the waiting list.
    ack = await console_server.api.post(f"/v1/assignments/{agency_assignment(call)['id']}/ack",
                                        headers=await console_server.headers("supervisor"))
    assert ack.status_code == 200, ack.text
    await expect(waiting).to_have_count(0)


async def test_an_unacknowledged_assignment_turns_overdue(
    page: Page, console_server: Server
) -> None:
    await open_board(page, console_server)
    late = await console_server.crime_call("+6281377710201", priority=3)  # 1 s to acknowledge
    waiting = await console_server.crime_call("+6281377710202")  # 900 s
    late_row = pending_row(page, agency_assignment(late)["id"])
    await expect(late_row).to_have_attribute("data-status", "escalated", timeout=LIVE_TIMEOUT_MS)
    await expect(late_row).to_have_attribute("data-overdue", "true")
    await expect(late_row).to_have_class(re.compile(r"\boverdue\b"))
    await expect(late_row.locator(".overdue-tag")).to_have_text("Terlambat")
    await expect(late_row.locator(".incident-number")).to_have_text(late["incident"]["number"])
    background = await late_row.evaluate("row => getComputedStyle(row).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), background
    waiting_row = pending_row(page, agency_assignment(waiting)["id"])
    await expect(waiting_row).to_have_attribute("data-overdue", "false")
    # Overdue first.
    first = page.locator("#pending li").first
    await expect(first).to_have_attribute("data-overdue", "true")
    await expect(page.locator("#pending-count")).to_contain_text("terlambat")
    await figures_match_the_api(page, console_server)
    await expect(page.locator("#escalated-note")).to_contain_text("dieskalasi")
    # The room's PC: everything on one screen, nothing cut.
    await assert_fits_the_screen(page)
    # The new rows' flash over, so the picture shows the rows' own colours.
    await page.evaluate(
        "() => document.querySelectorAll('.flash').forEach(e => e.classList.remove('flash'))")
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "supervisor.png")


async def test_csv_export_downloads_the_shift(page: Page, console_server: Server) -> None:
    await open_board(page, console_server)
    figures = await current_figures(console_server)
    shift = figures["shift"]
    async with page.expect_download() as download_info:
        await page.click("#export-csv")
    download = await download_info.value
    assert download.suggested_filename == f"shift-{shift['date']}-{shift['name']}.csv"
    lines = (await download.path()).read_text().splitlines()
    assert lines[0] == "section,item,field,value"
    assert f"shift,,name,{shift['name']}" in lines
    assert any(line.startswith("calls,by_hour,") for line in lines)
    await expect(page.locator("#notice")).to_contain_text(download.suggested_filename)


async def test_the_board_in_english(page: Page, console_server: Server) -> None:
    await open_board(page, console_server, lang="en")
    assert await page.get_attribute("html", "lang") == "en"
    await expect(page.locator("#chart-title")).to_have_text("Calls per hour")
    await expect(page.locator("#pending-title")).to_have_text(
        "Assignments awaiting acknowledgement")
    await expect(page.locator("#export-csv")).to_have_text("Export CSV")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator('#dispositions li[data-key="prank"] .bar-label')).to_have_text(
        "Prank")
    await figures_match_the_api(page, console_server)
    await assert_fits_the_screen(page)
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "supervisor-en.png")


async def test_an_admin_sees_the_incidents_without_figures_or_errors(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    await console_server.crime_call("+6281377710301")
    await open_as(page, console_server, "admin", "/console/supervisor")
    await page.wait_for_selector('body[data-incidents="loaded"]')
    await expect(page.locator("#figures-unavailable")).to_be_visible()
    await expect(page.locator('[data-stat="calls_total"]')).to_be_hidden()
    await expect(page.locator("#open-incidents li[data-incident-id]")).not_to_have_count(0)
    # Neither the statistics nor the supervisors' feed is asked for (both 403 for admins).
    assert not [url for url in page_log.requests if "/v1/stats" in url or "/v1/feed" in url]
    await expect(page.locator("#map")).to_have_attribute("data-boundaries", ALL_LEVELS)
    await assert_fits_the_screen(page)
    await page.screenshot(path=SCREENSHOTS / "supervisor-admin.png")
