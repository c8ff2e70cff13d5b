"""Notes on an incident in the console: added on the operator page (the incident picked in
its list) and read back from the API, a note added elsewhere shown by the operator page
within a poll and live on the agency page (feed `incident.note`), a note half typed on the
agency page surviving the feed's updates, the agency's own note, and an empty note refused
by the page without a request."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.console.support import Server, agency_assignment
from tests.console.test_operator import as_supervisor, call_at, open_operator_page

POLL_MS = 2500  # console/js/operator/incidents.js: the operator page reads its list


async def add_note(server: Server, username: str, incident_id: str, text: str) -> dict:
    response = await server.api.post(f"/v1/incidents/{incident_id}/notes",
                                     headers=await server.headers(username), json={"text": text})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def pick_incident(page: Page, incident: dict) -> None:
    """Click the incident's row in the operator's list: its details show below the map."""
    row = page.locator(f'#incidents li.incident[data-incident-id="{incident["id"]}"]')
    await row.locator(".incident-number").click()
    await expect(row).to_have_class(re.compile(r"\bselected\b"))
    detail = page.locator("#incident-detail")
    await expect(detail.locator(".incident-number")).to_have_text(incident["number"])


async def test_a_note_added_on_the_operator_page_is_on_the_incident(
    page: Page, console_server: Server
) -> None:
    incident = (await call_at(console_server, {"lat": -7.5830, "lon": 112.4710}))["incident"]
    await open_operator_page(page, console_server)
    await pick_incident(page, incident)
    detail = page.locator("#incident-detail")
    await expect(detail.locator(".notes-empty")).to_have_text("Belum ada catatan.")
    await expect(detail.locator(".notes h3")).to_contain_text("Catatan")
    text = detail.locator('textarea[name="text"]')
    await text.click()
    await page.keyboard.type("Penelepon kedua: api sudah menjalar ke rumah sebelah")
    await page.keyboard.press("Control+Enter")  # the note's, not the call form's
    note = detail.locator(".notes-list li.note")
    await expect(note).to_have_count(1)
    await expect(note.locator(".note-text")).to_have_text(
        "Penelepon kedua: api sudah menjalar ke rumah sebelah")
    await expect(note.locator(".note-author")).to_have_text("operator")
    await expect(note.locator(".note-role")).to_have_text("Operator")
    await expect(note.locator("time")).to_have_text(re.compile(r"^\d\d[.:]\d\d[.:]\d\d WIB$"))
    await expect(text).to_have_value("")
    await expect(page.locator("#result")).to_be_hidden()  # no call was registered
    stored = await as_supervisor(console_server, f"/v1/incidents/{incident['id']}")
    [saved] = stored["notes"]
    assert saved["text"] == "Penelepon kedua: api sudah menjalar ke rumah sebelah"
    assert saved["author"] == "operator" and saved["role"] == "operator"
    await expect(note).to_have_attribute("data-note-id", saved["id"])
    # An empty note is refused on the page, nothing is sent.
    await detail.locator('button[data-action="add-note"]').click()
    await expect(detail.locator(".notes-error")).to_have_text("Tulis catatannya dulu.")
    stored = await as_supervisor(console_server, f"/v1/incidents/{incident['id']}")
    assert len(stored["notes"]) == 1


async def test_a_note_added_elsewhere_shows_on_the_operator_page(
    page: Page, console_server: Server
) -> None:
    incident = (await call_at(console_server, {"lat": -7.5860, "lon": 112.4750}))["incident"]
    first = await add_note(console_server, "supervisor", incident["id"], "Sudah dicek CCTV")
    await open_operator_page(page, console_server, lang="en")
    await pick_incident(page, incident)
    notes = page.locator("#incident-detail .notes-list li.note")
    await expect(notes).to_have_count(1)
    await expect(notes.first.locator(".note-role")).to_have_text("Supervisor")
    second = await add_note(console_server, "supervisor", incident["id"], "Unit kedua diminta")
    await expect(notes).to_have_count(2, timeout=2 * POLL_MS + 2000)
    await expect(notes.nth(0)).to_have_attribute("data-note-id", first["id"])  # oldest first
    await expect(notes.nth(1)).to_have_attribute("data-note-id", second["id"])
    await expect(notes.nth(1).locator(".note-text")).to_have_text("Unit kedua diminta")
    await expect(page.locator("#incident-detail .notes h3")).to_contain_text("Notes (2)")
    # A second click on the row puts the details away.
    await page.locator(f'#incidents li.incident[data-incident-id="{incident["id"]}"] '
                       ".incident-number").click()
    await expect(page.locator("#incident-detail")).to_be_hidden()


async def test_notes_live_on_the_agency_page(agency_page: Page, console_server: Server) -> None:
    page = agency_page
    call = await console_server.crime_call("+6281377705101", description="copet di pasar")
    assignment = agency_assignment(call)
    incident = call["incident"]
    row = page.locator(f'li[data-assignment-id="{assignment["id"]}"]')
    await row.locator(".row-main").click()
    await expect(page.locator("#detail .detail-head .incident-number")).to_have_text(
        incident["number"])
    notes = page.locator(f'#detail .notes[data-incident-id="{incident["id"]}"] li.note')
    await expect(notes).to_have_count(0)
    # The agency starts typing a note of its own...
    text = page.locator('#detail textarea[name="text"]')
    await text.click()
    await page.keyboard.type("Unit meluncur")
    # ...while the operator adds one: it shows at once (the feed), the draft stays.
    added = await add_note(console_server, "operator", incident["id"],
                           "Pelaku memakai jaket merah")
    await expect(notes).to_have_count(1)
    await expect(notes.first).to_have_attribute("data-note-id", added["id"])
    await expect(notes.first.locator(".note-text")).to_have_text("Pelaku memakai jaket merah")
    await expect(notes.first.locator(".note-role")).to_have_text("Operator")
    # An update of the incident (another event on the feed) leaves the draft alone too.
    patched = await console_server.api.patch(
        f"/v1/incidents/{incident['id']}", headers=await console_server.headers("operator"),
        json={"description": "copet di pasar, dua orang"})
    assert patched.status_code == 200, patched.text
    await expect(page.locator("#detail .facts")).to_contain_text("dua orang")
    await expect(text).to_have_value("Unit meluncur")
    await expect(text).to_be_focused()
    await page.keyboard.type(", tiba 5 menit")
    await page.keyboard.press("Control+Enter")
    await expect(notes).to_have_count(2)
    await expect(notes.nth(1).locator(".note-text")).to_have_text("Unit meluncur, tiba 5 menit")
    await expect(notes.nth(1).locator(".note-role")).to_have_text("POLSEK-PRAJURITKULON")
    await expect(text).to_have_value("")
    # The keyboard shortcuts of the queue did not fire while typing (no "a" = acknowledge).
    await expect(row).to_have_attribute("data-status", "queued")
    stored = await as_supervisor(console_server, f"/v1/incidents/{incident['id']}")
    assert [n["text"] for n in stored["notes"]] == [
        "Pelaku memakai jaket merah", "Unit meluncur, tiba 5 menit"]
    assert stored["notes"][1]["role"] == "agency"
    assert stored["notes"][1]["agency_code"] == "POLSEK-PRAJURITKULON"
