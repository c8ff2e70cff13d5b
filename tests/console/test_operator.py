"""The operator page: a whole call taken with the keyboard alone, the caller's AML showing up
by itself, possible duplicates before a category and linking to one, dispositions in one
key, the repeat-caller warning, the map click, errors beside their fields, the open
incidents with their assignments, English, and how it looks at 1366×768."""

from __future__ import annotations

import re
from itertools import count

from playwright.async_api import Locator, Page, expect

from tests.console.support import SCREENSHOTS, PageLog, Server, agency_assignment, open_as

NUMBER = re.compile(r"^MJK-\d{8}-\d{4}$")
# Kelurahan Mentikan (Kota Mojokerto) as GET /v1/geo/search finds it.
MENTIKAN = {"lat": -7.467385, "lon": 112.42796}
# AML of a handset in Kota Mojokerto (tests/test_nearby_and_callers.py).
AML = ('A"ML=1;lt=-7.46950;lg=+112.43300;rd=25;top=20261123010203;lc=68;pm=G;'
       'si=510100000000000;ei=1234567890123456;mcc=510;mnc=10;ml=124')
AML_TIMEOUT_MS = 6000  # the page polls GET /v1/callers every 3 s
_numbers = count(1)


def caller() -> str:
    """A caller number of its own for each use (local form, as operators type it)."""
    return f"08137771{next(_numbers):04d}"


def e164(local: str) -> str:
    return "+62" + local[1:]


async def open_operator_page(page: Page, server: Server, lang: str | None = None) -> None:
    await open_as(page, server, "operator", "/console/operator", lang)
    await page.wait_for_selector("body[data-ready]")
    await expect(page.locator('input[name="caller_number"]')).to_be_focused()


async def as_supervisor(server: Server, path: str) -> dict:
    response = await server.api.get(path, headers=await server.headers("supervisor"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def call_at(server: Server, location: dict, category: str = "fire") -> dict:
    response = await server.api.post("/v1/calls", headers=await server.headers("operator"),
                                      json={"caller_number": e164(caller()),
                                            "category": category, "location": location})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def result(page: Page) -> Locator:
    return page.locator("#result")


async def test_a_whole_call_with_the_keyboard_alone(page: Page, console_server: Server) -> None:
    await open_operator_page(page, console_server)
    keyboard = page.keyboard
    number = caller()
    await keyboard.type(number)
    await keyboard.press("Tab")  # -> address
    await expect(page.locator('input[name="address"]')).to_be_focused()
    await keyboard.type("Mentikan")
    hit = page.locator('#address-results [role="option"]').first
    await expect(hit).to_contain_text("Mentikan")
    await expect(hit).to_contain_text("Kec. Prajuritkulon")
    await keyboard.press("ArrowDown")
    await expect(hit).to_have_attribute("aria-selected", "true")
    await keyboard.press("Enter")
    summary = page.locator("#location-summary")
    await expect(summary).to_have_attribute("data-source", "address")
    await expect(summary).to_contain_text("Mentikan · Kec. Prajuritkulon · Kota Mojokerto")
    await expect(page.locator('input[name="address"]')).to_have_value(
        "Mentikan, Kec. Prajuritkulon, Kota Mojokerto")
    for _ in range(3):  # -> lat -> lon -> category
        await keyboard.press("Tab")
    await expect(page.locator('select[name="category"]')).to_be_focused()
    await keyboard.type("kebakaran d")  # "Kebakaran dengan korban", not "Kebakaran"
    await expect(page.locator('select[name="category"]')).to_have_value("fire_with_injury")
    await keyboard.press("Backspace")
    await keyboard.press("Backspace")
    await expect(page.locator('select[name="category"]')).to_have_value("fire")
    await expect(page.locator('select[name="priority"]')).to_have_value("1")  # the default
    await keyboard.press("Tab")
    await keyboard.press("Tab")  # -> description
    await keyboard.type("rumah terbakar, dua orang di dalam")
    await keyboard.press("Control+Enter")

    shown = result(page).locator(".incident-number")
    await expect(shown).to_have_text(NUMBER)
    incident_id = await result(page).get_attribute("data-incident-id")
    incident = await as_supervisor(console_server, f"/v1/incidents/{incident_id}")
    assert incident["number"] == await shown.text_content()
    assert incident["category"] == "fire" and incident["priority"] == 1
    assert incident["description"] == "rumah terbakar, dua orang di dalam"
    location = incident["location"]
    assert location["source"] == "address"
    assert abs(location["lat"] - MENTIKAN["lat"]) < 1e-4
    assert abs(location["lon"] - MENTIKAN["lon"]) < 1e-4
    assert incident["area"]["kelurahan"]["name"] == "Mentikan"
    call = await as_supervisor(console_server, f"/v1/calls/{incident['call_ids'][0]}")
    assert call["caller_number"] == e164(number)
    # The form is ready for the next call, and the incident is in the open list.
    await expect(page.locator('input[name="caller_number"]')).to_be_focused()
    await expect(page.locator('input[name="caller_number"]')).to_have_value("")
    row = page.locator(f'#incidents li.incident[data-incident-id="{incident_id}"]')
    await expect(row.locator(".incident-number")).to_have_text(incident["number"])


async def test_an_aml_that_arrives_during_the_call_shows_up_by_itself(
    page: Page, console_server: Server
) -> None:
    await open_operator_page(page, console_server)
    number = caller()
    await page.keyboard.type(number)
    await expect(page.locator("#caller-info")).to_contain_text(e164(number))
    await expect(page.locator("#location-summary")).to_have_attribute("data-source", "")
    stored = await console_server.api.post(
        f"/v1/aml?caller_number={number}", headers=await console_server.headers("aml-gateway"),
        content=AML)
    assert stored.status_code == 202, stored.text
    summary = page.locator("#location-summary")
    await expect(summary).to_have_attribute("data-source", "aml", timeout=AML_TIMEOUT_MS)
    await expect(summary.locator("#location-source")).to_have_text("AML (ponsel)")
    await expect(summary).to_contain_text("±25 m")
    await expect(summary).to_contain_text("-7.46950, 112.43300")
    await expect(summary).to_contain_text("Sentanan · Kec. Kranggan")
    await expect(page.locator("#map .caller-position")).to_have_count(1)
    # The server takes the AML itself when the call is registered.
    await page.keyboard.press("Alt+K")
    await page.keyboard.type("medis")
    await expect(page.locator('select[name="category"]')).to_have_value("medical")
    await page.keyboard.press("Control+Enter")
    await expect(result(page).locator(".incident-number")).to_have_text(NUMBER)
    await expect(result(page).locator(".result-source")).to_have_attribute("data-source", "aml")
    incident = await as_supervisor(
        console_server, f"/v1/incidents/{await result(page).get_attribute('data-incident-id')}")
    assert incident["location"]["source"] == "aml"
    assert incident["location"]["lat"] == -7.4695 and incident["location"]["lon"] == 112.433


async def test_a_possible_duplicate_before_any_category_and_linking_to_it(
    page: Page, console_server: Server
) -> None:
    # An open fire far from the other tests' calls.
    existing = (await call_at(console_server, {"lat": -7.5512, "lon": 112.5105}))["incident"]
    await open_operator_page(page, console_server)
    await page.keyboard.type(caller())
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")  # -> lat; a pasted pair fills lat and lon
    await expect(page.locator('input[name="lat"]')).to_be_focused()
    await page.keyboard.type("-7.55125, 112.51055")
    await page.keyboard.press("Enter")
    await expect(page.locator('input[name="lat"]')).to_have_value("-7.55125")
    await expect(page.locator('input[name="lon"]')).to_have_value("112.51055")
    await expect(page.locator("#location-summary")).to_have_attribute("data-source", "manual")
    duplicate = page.locator(f'#duplicates-list li[data-incident-id="{existing["id"]}"]')
    await expect(duplicate.locator(".incident-number")).to_have_text(existing["number"])
    await expect(duplicate.locator(".category")).to_have_text("Kebakaran")
    await expect(duplicate.locator(".distance")).to_have_text(re.compile(r"^\d+ m$"))
    await expect(page.locator('select[name="category"]')).to_have_value("")  # none chosen yet
    await expect(page.locator("#duplicates-list li").first).to_have_attribute(
        "data-incident-id", existing["id"])
    await page.keyboard.press("Alt+T")  # link to the nearest
    await expect(duplicate.locator("button")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#link-state")).to_contain_text(existing["number"])
    await page.keyboard.press("Control+Enter")
    await expect(result(page)).to_have_attribute("data-incident-id", existing["id"])
    await expect(result(page).locator(".incident-number")).to_have_text(existing["number"])
    call = await as_supervisor(console_server,
                               f"/v1/calls/{await result(page).get_attribute('data-call-id')}")
    assert call["incident_id"] == existing["id"]
    assert call["location"]["source"] == "manual"


async def test_a_prank_in_one_key_then_the_repeat_caller_warning(
    page: Page, console_server: Server
) -> None:
    await open_operator_page(page, console_server)
    number = caller()
    field = page.locator('input[name="caller_number"]')
    await page.keyboard.type(number)
    await expect(page.locator("#caller-info")).to_contain_text(e164(number))
    await expect(page.locator("#repeat-caller")).to_have_count(0)
    await page.keyboard.press("F2")
    await expect(result(page)).to_have_attribute("data-kind", "prank")
    await expect(result(page)).to_contain_text("Panggilan dicatat sebagai Iseng.")
    call = await as_supervisor(console_server,
                               f"/v1/calls/{await result(page).get_attribute('data-call-id')}")
    assert call["disposition"] == "prank" and call["incident_id"] is None
    assert call["caller_number"] == e164(number)
    # The same number calls again: the operator is warned as soon as it is typed.
    await expect(field).to_be_focused()
    await expect(field).to_have_value("")
    await page.keyboard.type(number)
    warning = page.locator("#repeat-caller")
    await expect(warning).to_contain_text("Penelepon berulang")
    await expect(warning).to_have_attribute("data-count", "1")


async def test_a_map_click_sets_lat_and_lon(page: Page, console_server: Server) -> None:
    await open_operator_page(page, console_server)
    map_element = page.locator("#map")
    await expect(map_element).to_have_attribute("data-boundaries", re.compile("kecamatan"))
    box = await map_element.bounding_box()
    assert box
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lat = float(await page.locator('input[name="lat"]').input_value())
    lon = float(await page.locator('input[name="lon"]').input_value())
    assert -7.8 < lat < -7.3 and 112.2 < lon < 112.7, (lat, lon)
    summary = page.locator("#location-summary")
    await expect(summary).to_have_attribute("data-source", "manual")
    await expect(summary).to_contain_text("klik peta")
    await expect(summary).to_contain_text(f"{lat:.5f}, {lon:.5f}")
    await expect(page.locator("#map .caller-position")).to_have_count(1)


async def test_a_call_not_ready_is_not_sent(page: Page, console_server: Server) -> None:
    await open_operator_page(page, console_server)
    # Nothing typed: the page asks for the number and the category before sending anything.
    await page.keyboard.press("Control+Enter")
    await expect(page.locator("#error-caller_number")).to_be_visible()
    await expect(page.locator("#error-category")).to_contain_text("F2")
    await expect(page.locator('input[name="caller_number"]')).to_be_focused()
    await expect(page.locator("#result")).to_be_hidden()


async def test_a_number_the_server_refuses_is_named_beside_the_field(
    page: Page, console_server: Server, page_log: PageLog
) -> None:
    page_log.allow("status of 422")  # the refusal this test causes
    await open_operator_page(page, console_server)
    await page.keyboard.type("0800000000000")  # plausible to the page, not a real number
    await page.keyboard.press("Alt+K")
    await page.keyboard.type("pohon")
    await expect(page.locator('select[name="category"]')).to_have_value("fallen_tree")
    await page.keyboard.press("Control+Enter")
    error = page.locator("#error-caller_number")
    await expect(error).to_contain_text("caller_number")
    await expect(page.locator('input[name="caller_number"]')).to_have_attribute("aria-invalid", "")
    await expect(page.locator("#result")).to_be_hidden()


async def test_the_open_incidents_with_their_assignments(
    page: Page, console_server: Server
) -> None:
    await open_operator_page(page, console_server)
    call = await console_server.crime_call(e164(caller()))
    incident = call["incident"]
    assignment = agency_assignment(call)
    row = page.locator(f'#incidents li.incident[data-incident-id="{incident["id"]}"]')
    await expect(row.locator(".incident-number")).to_have_text(incident["number"], timeout=4000)
    await expect(row.locator(".category")).to_have_text("Kriminalitas / gangguan keamanan")
    await expect(row.locator(".kelurahan")).to_have_text(incident["area"]["kelurahan"]["name"])
    await expect(row.locator(".age")).to_have_text(re.compile(r"^\d+:\d\d$"))
    line = row.locator(f'li[data-assignment-id="{assignment["id"]}"]')
    await expect(line).to_have_attribute("data-status", "queued")
    await expect(line.locator(".ack-timer")).to_have_attribute("data-state", "ok")
    acked = await console_server.api.post(f"/v1/assignments/{assignment['id']}/ack",
                                          headers=await console_server.headers("supervisor"))
    assert acked.status_code == 200, acked.text
    await expect(line).to_have_attribute("data-status", "acknowledged", timeout=4000)
    await expect(line.locator(".ack-timer")).to_have_count(0)
    # The timer's colours: green, amber in the last third of the time to acknowledge, red after.
    states = await page.evaluate("""async () => {
        const {ackState} = await import('/console/js/operator/incidents.js');
        const created = Date.parse('2026-11-23T08:00:00Z');
        const a = {status: 'queued', priority: 2, created_at: '2026-11-23T08:00:00Z'};  // 120 s
        return [0, 79, 81, 119, 121].map((s) => ackState(a, 2, created + s * 1000))
            .concat([ackState({...a, status: 'escalated'}, 2, created),
                     ackState({...a, ack_due_at: '2026-11-23T08:10:00Z'}, 2, created + 300000)]);
    }""")
    assert states == ["ok", "ok", "due", "due", "overdue", "overdue", "ok"]


async def test_the_page_in_english(page: Page, console_server: Server) -> None:
    await open_operator_page(page, console_server, lang="en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator('label[for="caller_number"]')).to_contain_text("Caller number")
    await expect(page.locator("#submit")).to_contain_text("Register incident")
    await expect(page.locator('button[data-disposition="prank"]')).to_contain_text("Prank")
    await expect(page.locator("#incidents-title")).to_have_text("Open incidents")
    await expect(page.locator("#location-summary")).to_have_text("Location not known yet")
    await page.keyboard.press("Alt+K")
    await page.keyboard.type("fire w")
    await expect(page.locator('select[name="category"]')).to_have_value("fire_with_injury")
    await expect(page.locator('select[name="category"] option:checked')).to_have_text(
        "Fire with casualties")


async def test_a_screenshot_at_1366x768(page: Page, console_server: Server) -> None:
    """The page in use at the room's common size (tests/console/screenshots/operator.png):
    nothing in the call panel wider than the panel, nothing below the window."""
    existing = (await call_at(console_server, {"lat": -7.4712, "lon": 112.4352}, "crime"))
    await open_operator_page(page, console_server)
    # One call taken (its result stays on the page), the next one being typed.
    for spot, category, description in (("-7.47140, 112.43560", "krim", "tas dijambret"),
                                         ("-7.47125, 112.43490", "krim", "motor dicuri")):
        await page.keyboard.type(caller())
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        await page.keyboard.type(spot)
        await page.keyboard.press("Enter")
        duplicate = f'#duplicates-list li[data-incident-id="{existing["incident"]["id"]}"]'
        await expect(page.locator(duplicate)).to_be_visible()
        await page.keyboard.press("Alt+K")
        await page.keyboard.type(category)
        await page.keyboard.press("Alt+R")
        await page.keyboard.type(description)
        if description == "tas dijambret":
            await page.keyboard.press("Control+Enter")
            await expect(result(page).locator(".incident-number")).to_have_text(NUMBER)
    await expect(page.locator("#duplicates-list li")).to_have_count(2)
    await expect(page.locator("#map")).to_have_attribute(
        "data-boundaries", "kabkota kecamatan kelurahan")
    await expect(page.locator("#incidents li.incident").first).to_be_visible()
    overflowing = await page.evaluate("""() => {
        const bad = [];
        const controls = 'button, input, select, textarea, label, kbd';
        for (const panel of document.querySelectorAll('.operator-layout > .panel')) {
            const box = panel.getBoundingClientRect();
            if (box.bottom > window.innerHeight + 1) bad.push(`${panel.className} below`);
            for (const el of panel.querySelectorAll(controls)) {
                const r = el.getBoundingClientRect();
                if (r.width && (r.right > box.right + 1 || r.left < box.left - 1)) {
                    bad.push(`${el.tagName} ${el.id || el.textContent.trim()} sticks out`);
                }
            }
        }
        return bad;
    }""")
    assert not overflowing, overflowing
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "operator.png"))
