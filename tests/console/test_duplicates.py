"""Possible duplicates on the operator page as soon as a location is known, before any
category: after a map click (incidents of every category, nearest first, with category,
distance and age), narrowed to the category once one is chosen, linked in one click; after
an address is picked; and an incident opened nearby while the call is being taken shows up
by itself (the page looks again with every read of its list). Typed coordinates:
test_operator.py."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.console.support import Server
from tests.console.test_operator import (
    MENTIKAN,
    as_supervisor,
    call_at,
    caller,
    open_operator_page,
    result,
)

POLL_MS = 2500  # console/js/operator/incidents.js


def duplicate(page: Page, incident: dict) -> Locator:
    return page.locator(f'#duplicates-list li[data-incident-id="{incident["id"]}"]')


async def click_at(page: Page, x: float, y: float) -> tuple[float, float]:
    """Click the map there: the caller's location (lat, lon as the form then shows them)."""
    await page.mouse.click(x, y)
    await expect(page.locator("#location-summary")).to_contain_text("klik peta")
    return (float(await page.locator('input[name="lat"]').input_value()),
            float(await page.locator('input[name="lon"]').input_value()))


async def test_a_map_click_lists_incidents_of_any_category_then_the_chosen_one(
    page: Page, console_server: Server
) -> None:
    await open_operator_page(page, console_server)
    await page.keyboard.type(caller())
    map_element = page.locator("#map")
    await expect(map_element).to_have_attribute("data-boundaries", re.compile("kecamatan"))
    box = await map_element.bounding_box()
    assert box
    spot = (box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 + 30)
    # Zoomed in around there (the wheel keeps the point under the pointer), so that a click
    # lands on the ground, not on one of the incidents drawn nearby.
    await page.mouse.move(*spot)
    for _ in range(3):
        await page.mouse.wheel(0, -1000)
        await page.wait_for_timeout(400)  # Leaflet's wheel debounce and zoom animation
    lat, lon = await click_at(page, spot[0] + 20, spot[1])
    lat, lon_here = await click_at(page, *spot)
    assert abs(lon - lon_here) * 111_320 < 30, "the map did not zoom in"
    # A crime 55 m from there and a medical emergency 220 m away, opened by others.
    crime = (await call_at(console_server, {"lat": lat + 0.0005, "lon": lon_here},
                           "crime"))["incident"]
    medical = (await call_at(console_server, {"lat": lat, "lon": lon_here + 0.002},
                             "medical"))["incident"]
    await click_at(page, *spot)  # the caller is there: no category chosen yet
    await expect(page.locator('select[name="category"]')).to_have_value("")
    await expect(page.locator("#duplicates")).to_be_visible()
    await expect(page.locator("#duplicates-title")).to_contain_text(
        "Kemungkinan kejadian yang sama")
    await expect(duplicate(page, crime).locator(".category")).to_have_text(
        "Kriminalitas / gangguan keamanan")
    await expect(duplicate(page, medical).locator(".category")).to_have_text(
        "Gawat darurat medis")
    await expect(duplicate(page, crime).locator(".distance")).to_have_text(re.compile(r"^\d+ m$"))
    await expect(duplicate(page, medical).locator(".distance")).to_have_text(
        re.compile(r"^2\d\d m$"))
    await expect(duplicate(page, crime).locator(".age")).to_have_text(re.compile(r"^\d+:\d\d$"))
    order = await page.locator("#duplicates-list li").evaluate_all(
        "(rows) => rows.map((row) => row.dataset.incidentId)")
    assert order.index(crime["id"]) < order.index(medical["id"]), order  # nearest first

    # A category narrows the list to that category's incidents.
    await page.keyboard.press("Alt+K")
    await page.keyboard.type("medis")
    await expect(page.locator('select[name="category"]')).to_have_value("medical")
    await expect(duplicate(page, crime)).to_have_count(0)
    await expect(duplicate(page, medical)).to_have_count(1)
    # Linked in one click: the call becomes part of that incident.
    await duplicate(page, medical).locator("button").click()
    await expect(page.locator("#link-state")).to_contain_text(medical["number"])
    await expect(page.locator("#submit")).to_contain_text("Daftarkan & tautkan")
    await page.keyboard.press("Control+Enter")
    await expect(result(page)).to_have_attribute("data-incident-id", medical["id"])
    linked = await as_supervisor(console_server, f"/v1/incidents/{medical['id']}")
    assert len(linked["call_ids"]) == 2


async def test_a_picked_address_lists_duplicates_before_a_category(
    page: Page, console_server: Server
) -> None:
    fallen = (await call_at(console_server, {"lat": MENTIKAN["lat"] + 0.0004,
                                             "lon": MENTIKAN["lon"]}, "fallen_tree"))["incident"]
    await open_operator_page(page, console_server, lang="en")
    await page.keyboard.type(caller())
    await page.keyboard.press("Tab")
    await page.keyboard.type("Mentikan")
    hit = page.locator('#address-results [role="option"]').first
    await expect(hit).to_contain_text("Mentikan")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await expect(page.locator("#location-summary")).to_have_attribute("data-source", "address")
    await expect(page.locator("#duplicates-title")).to_contain_text("Possible duplicates")
    await expect(duplicate(page, fallen).locator(".incident-number")).to_have_text(fallen["number"])
    await expect(duplicate(page, fallen).locator(".category")).to_have_text("Fallen tree")
    await expect(page.locator('select[name="category"]')).to_have_value("")


async def test_an_incident_opened_nearby_during_the_call_shows_up(
    page: Page, console_server: Server
) -> None:
    await open_operator_page(page, console_server)
    await page.keyboard.type(caller())
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.type("-7.64210, 112.47730")
    await page.keyboard.press("Enter")
    await expect(page.locator("#location-summary")).to_have_attribute("data-source", "manual")
    # Another operator opens a fire right there while this caller is still talking.
    fire = (await call_at(console_server, {"lat": -7.6422, "lon": 112.4774}))["incident"]
    await expect(duplicate(page, fire).locator(".category")).to_have_text(
        "Kebakaran", timeout=2 * POLL_MS + 2000)
