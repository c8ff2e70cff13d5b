"""Every page at 1366×768 (the common room PC), saved to tests/console/screenshots/ to be
looked at, with the layout checks a look would make: nothing scrolls the page sideways or
down, no number is cut off, the map has its boundaries."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.console.support import (
    CRIME_SPOT,
    Server,
    agency_assignment,
    nowcast_xml,
    open_agency_page,
    open_as,
    own_unit,
    post_warning,
    set_unit_status,
    shoot,
)

# Around Mentikan, in Polsek Prajuritkulon's coverage.
SPOTS = [(0.0, 0.0), (0.004, -0.006), (-0.005, -0.004), (0.008, -0.010), (-0.009, -0.012)]


FIT = """() => {
    const overlapping = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
        && a.top < b.bottom - 1 && b.top < a.bottom - 1;
    const overlaps = [];
    for (const line of document.querySelectorAll('.row-main, .shell, .detail-head')) {
        const cells = [...line.children].filter((e) => e.offsetParent);
        cells.forEach((a, i) => cells.slice(i + 1).forEach((b) => {
            if (overlapping(a.getBoundingClientRect(), b.getBoundingClientRect())) {
                overlaps.push(`${a.textContent} / ${b.textContent}`);
            }
        }));
    }
    return {
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
        cut: [...document.querySelectorAll('.incident-number, .status-badge, .shell > *, kbd')]
            .filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1)
            .map((e) => e.textContent),
        overlaps,
    };
}"""


async def assert_fits_the_screen(page: Page) -> None:
    """No page scroll at 1366×768, no number or badge cut off, no two cells of a row (or
    of the header) drawn over each other."""
    layout = await page.evaluate(FIT)
    assert layout["width"] <= 1366 and layout["height"] <= 768, layout
    assert not layout["cut"], layout["cut"]
    assert not layout["overlaps"], layout["overlaps"]


async def test_login_page(page: Page) -> None:
    await page.goto("/console/")
    await expect(page.locator('button[type="submit"]')).to_have_text("Masuk")
    await assert_fits_the_screen(page)
    await shoot(page, "login")  # (with a wrong password: test_login.py)


async def test_agency_page(page: Page, console_server: Server) -> None:
    calls = []
    for n, (dlat, dlon) in enumerate(SPOTS):
        spot = {"lat": CRIME_SPOT["lat"] + dlat, "lon": CRIME_SPOT["lon"] + dlon,
                "accuracy_m": 40 + 30 * n}
        calls.append(await console_server.crime_call(
            f"+628137779{n:04d}", location=spot, priority=1 + n % 4,
            description="Dua orang mencurigakan di depan toko, satu membawa senjata tajam"))
    headers = await console_server.headers("polsek-prajuritkulon")
    for username, text in (("operator", "Penelepon kedua: pelaku lari ke arah pasar"),
                           ("polsek-prajuritkulon", "Unit patroli 2 menuju lokasi")):
        note = await console_server.api.post(
            f"/v1/incidents/{calls[0]['incident']['id']}/notes",
            headers=await console_server.headers(username), json={"text": text})
        assert note.status_code == 201, note.text
    for call in calls[1:3]:
        answer = await console_server.api.post(
            f"/v1/assignments/{agency_assignment(call)['id']}/ack", headers=headers)
        assert answer.status_code == 200, answer.text
    await open_agency_page(page, console_server)
    selected = page.locator(f'li[data-assignment-id="{agency_assignment(calls[0])["id"]}"]')
    await selected.locator(".row-main").click()
    map_element = page.locator('#map[data-boundaries="kabkota kecamatan kelurahan"]')
    await map_element.wait_for()
    # The basemap is the boundaries: kelurahan lines are drawn at the incident's zoom.
    assert await page.locator(".leaflet-boundaries-pane path").count() > 30
    await expect(page.locator("#map .leaflet-tile")).to_have_count(0)  # no tile server
    await expect(page.locator("#detail .incident-number")).to_have_text(
        calls[0]["incident"]["number"])
    await expect(page.locator("#detail li.note")).to_have_count(2)
    await page.wait_for_timeout(300)  # let the map settle
    await assert_fits_the_screen(page)
    await shoot(page, "agency")
    await selected.locator('button[data-action="decline"]').click()
    await selected.locator('input[name="reason"]').fill("unit sedang di lokasi lain")
    await assert_fits_the_screen(page)
    await shoot(page, "agency-decline-form")

    await open_agency_page(page, console_server, lang="en")
    await page.locator('#map[data-boundaries="kabkota kecamatan kelurahan"]').wait_for()
    await page.wait_for_timeout(300)
    await assert_fits_the_screen(page)
    await shoot(page, "agency-en")


async def test_operator_incident_notes_and_merge(page: Page, console_server: Server) -> None:
    """The operator page with an incident picked (its notes below the map, a note being
    typed) and another one's merge form open in the list."""
    headers = await console_server.headers("operator")
    incidents = []
    for n, (category, dlat, dlon) in enumerate((("fire", 0.0, 0.0), ("fire", 0.0004, 0.0003),
                                               ("medical", -0.003, 0.002))):
        answer = await console_server.api.post("/v1/calls", headers=headers, json={
            "caller_number": f"+628137778{n:04d}", "category": category,
            "location": {"lat": -7.5105 + dlat, "lon": 112.4855 + dlon},
            "description": "Gudang kayu terbakar, asap tebal" if n < 2 else None})
        assert answer.status_code == 201, answer.text
        incidents.append(answer.json()["incident"])
    picked = incidents[0]
    for username, text in (("operator", "Penelepon kedua: api menjalar ke rumah sebelah"),
                           ("supervisor", "Damkar kabupaten diminta kirim unit tambahan"),
                           ("operator", "Jalan masuk sempit, truk besar lewat utara")):
        note = await console_server.api.post(
            f"/v1/incidents/{picked['id']}/notes",
            headers=await console_server.headers(username), json={"text": text})
        assert note.status_code == 201, note.text
    await open_as(page, console_server, "operator", "/console/operator")
    await page.wait_for_selector("body[data-ready]")
    row = page.locator(f'#incidents li.incident[data-incident-id="{picked["id"]}"]')
    await row.locator(".incident-number").click()
    await expect(page.locator("#incident-detail li.note")).to_have_count(3)
    await page.locator('#incident-detail textarea[name="text"]').fill("Warga sudah dievakuasi")
    other = page.locator(f'#incidents li.incident[data-incident-id="{incidents[1]["id"]}"]')
    await other.locator('button[data-action="merge"]').click()
    await expect(other.locator(".merge-summary")).to_contain_text(picked["number"])
    await page.locator('#map[data-boundaries="kabkota kecamatan kelurahan"]').wait_for()
    await page.wait_for_timeout(300)  # let the map settle
    await shoot(page, "operator-notes-merge")
    await assert_fits_the_screen(page)
    await open_as(page, console_server, "operator", "/console/operator", lang="en")
    await page.wait_for_selector("body[data-ready]")
    await row.locator(".incident-number").click()
    await expect(page.locator("#incident-detail li.note")).to_have_count(3)
    await page.wait_for_timeout(300)
    await shoot(page, "operator-notes-en")
    await assert_fits_the_screen(page)


async def test_admin_page(page: Page, console_server: Server) -> None:
    await open_as(page, console_server, "admin", "/console/admin")
    rows = page.locator("#users-body tr[data-user-id]")
    await expect(rows.first).to_be_visible()
    await page.locator('#create-form select[name="role"]').select_option("agency")
    await shoot(page, "admin")  # (before the checks: a failing layout is worth a look too)
    await assert_fits_the_screen(page)
    await rows.first.locator('button[data-action="reset_password"]').click()
    await expect(page.locator("#reset-dialog")).to_be_visible()
    await shoot(page, "admin-reset-dialog")
    await assert_fits_the_screen(page)
    await page.keyboard.press("Escape")
    await open_as(page, console_server, "admin", "/console/admin", lang="en")
    await expect(rows.first).to_be_visible()
    await shoot(page, "admin-en")
    await assert_fits_the_screen(page)


async def test_password_page(page: Page, console_server: Server) -> None:
    await open_as(page, console_server, "operator", "/console/password")
    form = page.locator("#password-form")
    await form.locator('input[name="current_password"]').fill("sandi-sekarang")
    await form.locator('input[name="new_password"]').fill("sandi-baru-112")
    await form.locator('input[name="new_password_repeat"]').fill("sandi-lain-112")
    await form.locator('[data-action="change_password"]').click()  # differs: no request
    await expect(page.locator("#password-message")).to_be_visible()
    await shoot(page, "password")
    await assert_fits_the_screen(page)


async def test_units_pages(page: Page, console_server: Server) -> None:
    """Units: the agency's list with its status buttons and "Kirim unit", the operator's
    recommendations for a picked incident, the supervisor's map with the fleet."""
    spot = {"lat": CRIME_SPOT["lat"] - 0.005, "lon": CRIME_SPOT["lon"] - 0.004}
    call = await console_server.crime_call("+6281377730001", location=spot, priority=2,
                                           description="Perkelahian antarwarga di pasar")
    incident = call["incident"]
    on_it = await own_unit(console_server, at={"lat": spot["lat"] + 0.004, "lon": spot["lon"]})
    await own_unit(console_server, at={"lat": spot["lat"] - 0.006, "lon": spot["lon"] - 0.01})
    resting = await own_unit(console_server, at={"lat": spot["lat"] + 0.01, "lon": spot["lon"]})
    sent = await console_server.api.post(
        f"/v1/incidents/{incident['id']}/units", headers=await console_server.headers("operator"),
        json={"unit_code": on_it["code"]})
    assert sent.status_code == 201, sent.text
    await set_unit_status(console_server, on_it["code"], "en_route")
    await set_unit_status(console_server, resting["code"], "out_of_service")

    await open_agency_page(page, console_server)
    await page.locator(
        f'li[data-assignment-id="{agency_assignment(call)["id"]}"] .row-main').click()
    await expect(page.locator(f'#units li[data-unit-code="{on_it["code"]}"] .unit-incident')
                 ).to_have_text(incident["number"])
    await expect(page.locator(".send-unit .on-incident li")).to_have_count(1)
    await page.locator('#map[data-boundaries="kabkota kecamatan kelurahan"]').wait_for()
    await page.wait_for_timeout(300)  # let the map settle
    await shoot(page, "agency-units")
    await assert_fits_the_screen(page)

    await open_as(page, console_server, "operator", "/console/operator")
    await page.wait_for_selector("body[data-ready]")
    await page.locator(
        f'#incidents li.incident[data-incident-id="{incident["id"]}"] .incident-number').click()
    await expect(page.locator("#incident-detail li.recommendation").first).to_be_visible()
    await expect(page.locator("#incident-detail li.unit-sent")).to_have_count(1)
    await page.locator('#map[data-boundaries="kabkota kecamatan kelurahan"]').wait_for()
    await page.wait_for_timeout(300)
    await shoot(page, "operator-recommend")
    await assert_fits_the_screen(page)

    await open_as(page, console_server, "supervisor", "/console/supervisor")
    await expect(page.locator(f'#map .unit-marker[data-unit-code="{on_it["code"]}"]')
                 ).to_have_attribute("data-status", "en_route")
    await page.wait_for_timeout(300)
    await shoot(page, "supervisor-units")
    await assert_fits_the_screen(page)
    # Zoomed in on the incident (a click on its row), units are tags of their kind.
    await page.locator(f'#open-incidents li[data-incident-id="{incident["id"]}"]').click()
    await expect(page.locator("#map.units-far")).to_have_count(0)
    await page.wait_for_timeout(300)
    await page.locator(f'#map .unit-marker[data-unit-code="{on_it["code"]}"]').hover()
    await expect(page.locator(".leaflet-tooltip .unit-tip")).to_be_visible()
    await shoot(page, "supervisor-units-tooltip")

    await open_as(page, console_server, "supervisor", "/console/wall")
    await expect(page.locator(f'#map .unit-marker[data-unit-code="{on_it["code"]}"]')
                 ).to_be_visible()
    await page.wait_for_timeout(300)
    await shoot(page, "wall-units")


async def test_supervisor_warning_and_alert_form(page: Page, console_server: Server) -> None:
    """A BMKG warning above the supervisor's map and outlined on it, a picked incident's
    panel, the public alert (CAP) form, and the alert published; the operator's map with
    the warning."""
    _, xml = nowcast_xml(expires_in_s=600)
    warning = await post_warning(console_server, xml)
    call = await console_server.crime_call("+6281377740001", priority=2,
                                           description="Pohon tumbang menimpa rumah warga")
    incident = call["incident"]
    await open_as(page, console_server, "supervisor", "/console/supervisor")
    await page.wait_for_selector('body[data-incidents="loaded"]')
    await expect(page.locator(f'#warnings li[data-warning-id="{warning["id"]}"]')).to_be_visible()
    await page.locator('#map[data-boundaries="kabkota kecamatan kelurahan"]').wait_for()
    await page.locator(f'#open-incidents li[data-incident-id="{incident["id"]}"]').click()
    await expect(page.locator("#incident-panel .alert-list")).to_be_visible()
    await page.locator(f'#warnings li[data-warning-id="{warning["id"]}"]').click()  # fit to it
    await page.wait_for_timeout(300)
    await page.locator(f'#map path.warning-area[data-warning-id="{warning["id"]}"]').hover(
        force=True)
    await page.wait_for_timeout(200)
    await shoot(page, "supervisor-warning")
    await assert_fits_the_screen(page)

    await page.locator('#incident-panel [data-action="alert"]').click()
    dialog = page.locator("#alert-dialog")
    await dialog.locator('input[name="headline"]').fill("Jalan Raya Mentikan ditutup sementara")
    await dialog.locator('textarea[name="instruction"]').fill(
        "Pohon tumbang menutup jalan. Hindari ruas ini dan gunakan jalur lain sampai petugas "
        "selesai membersihkan.")
    await shoot(page, "supervisor-alert-form")
    await dialog.locator('[data-action="alert-submit"]').click()
    await expect(page.locator("#incident-panel .alert-row")).to_have_count(1)
    await shoot(page, "supervisor-alert-published")
    await assert_fits_the_screen(page)

    await open_as(page, console_server, "operator", "/console/operator")
    await page.wait_for_selector("body[data-ready]")
    await expect(page.locator(f'#map path.warning-area[data-warning-id="{warning["id"]}"]')
                 ).to_have_count(1)
    await page.wait_for_timeout(300)
    await shoot(page, "operator-warning")
    await assert_fits_the_screen(page)
