"""The wall: a full map of the open incidents on the boundaries basemap, a summary strip,
read-only, live, at 1920×1080."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.console.support import SCREENSHOTS, PageLog, Server, open_as, watch

WALL_VIEWPORT = {"width": 1920, "height": 1080}
OPEN_STATUSES = ("open", "dispatched", "acknowledged", "on_scene")
PRIORITIES = (1, 2, 3, 4)
# No page scroll; no figure, label, number or heading cut off.
LAYOUT = """() => ({
    width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
    cut: [...document.querySelectorAll('.tile-label, .tile-value, .tile-note, .incident-number,'
        + ' .category, .age, .shell > *, .panel-head > *')]
        .filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
        .map((e) => e.textContent),
})"""


@pytest.fixture
async def wall_page(
    browser: Browser, page_log: PageLog, console_server: Server
) -> AsyncIterator[Page]:
    """A page the size of the room's wall screen, checked like conftest's `page`."""
    context = await browser.new_context(viewport=WALL_VIEWPORT, base_url=console_server.url)
    context.set_default_timeout(5000)
    page = watch(await context.new_page(), page_log)
    yield page
    await context.close()
    assert not page_log.unexpected_errors(), page_log.unexpected_errors()
    assert not page_log.foreign_requests(console_server.address), \
        page_log.foreign_requests(console_server.address)


async def open_incidents(server: Server) -> list[dict]:
    headers = await server.headers("supervisor")
    items: list[dict] = []
    for status in OPEN_STATUSES:
        cursor = None
        while True:
            params = {"status": status, "limit": "500", **({"cursor": cursor} if cursor else {})}
            response = await server.api.get("/v1/incidents", params=params, headers=headers)
            assert response.status_code == 200, response.text
            items += response.json()["items"]
            cursor = response.json()["next_cursor"]
            if not cursor:
                break
    return items


async def strip(page: Page) -> dict[str, int]:
    texts = await page.locator(".summary [data-stat]").evaluate_all(
        "elements => Object.fromEntries(elements.map(e => [e.dataset.stat, e.textContent]))")
    return {name: int(text) for name, text in texts.items()}


async def test_the_wall_shows_the_open_incidents_live(
    wall_page: Page, console_server: Server
) -> None:
    page = wall_page
    await console_server.crime_call("+6281377720001")
    await open_as(page, console_server, "supervisor", "/console/wall")
    await page.wait_for_selector('body[data-incidents="loaded"][data-figures="loaded"]')
    await expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    # The basemap is the shipped boundaries, with the stations.
    await expect(page.locator("#map")).to_have_attribute(
        "data-boundaries", "kabkota kecamatan kelurahan")
    await expect(page.locator("#map .leaflet-boundaries-pane path")).not_to_have_count(0)
    await expect(page.locator("#map .station")).not_to_have_count(0)
    # The strip counts what the API lists.
    incidents = await open_incidents(console_server)
    by_priority = Counter(i["priority"] for i in incidents)
    pending = sum(1 for i in incidents for a in i["assignments"]
                  if a["status"] in ("queued", "escalated"))
    shown = await strip(page)
    assert shown["open_total"] == len(incidents) > 0
    assert [shown[f"open_priority_{p}"] for p in PRIORITIES] == [by_priority[p] for p in PRIORITIES]
    assert shown["pending"] == pending
    supervisor = await console_server.headers("supervisor")
    figures = (await console_server.api.get("/v1/stats/shifts/current", headers=supervisor)).json()
    assert shown["calls_total"] == figures["calls"]["total"]
    await expect(page.locator("#incidents li[data-incident-id]")).to_have_count(len(incidents))
    await expect(page.locator("#map")).to_have_attribute("data-incidents", str(len(incidents)))
    # Read-only: no action buttons.
    await expect(page.locator("main [data-action]")).to_have_count(0)

    # A new incident appears live: in the strip, at the top of the list, on the map.
    call = await console_server.crime_call("+6281377720002")
    incident = call["incident"]
    row = page.locator(f'#incidents li[data-incident-id="{incident["id"]}"]')
    await expect(row.locator(".incident-number")).to_have_text(incident["number"], timeout=3000)
    await expect(page.locator("#incidents li").first).to_have_attribute(
        "data-incident-id", incident["id"])
    await expect(page.locator('[data-stat="open_total"]')).to_have_text(str(len(incidents) + 1))
    await expect(page.locator('[data-stat="open_priority_2"]')).to_have_text(
        str(by_priority[2] + 1))
    await expect(page.locator('[data-stat="pending"]')).to_have_text(str(pending + 1))
    await expect(page.locator("#map")).to_have_attribute("data-incidents", str(len(incidents) + 1))
    await expect(page.locator("#map path.new-incident-ring")).to_have_count(1)

    layout = await page.evaluate(LAYOUT)
    assert layout["width"] <= 1920 and layout["height"] <= 1080, layout
    assert not layout["cut"], layout["cut"]
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "wall.png")
