"""Merging from the operator's list of open incidents: the form in the row offers the other
open incidents nearest first, the merge leaves the survivor with both calls (and the merged
incident closed, `merged_into`), the survivor's details offer to undo it; a refusal (409:
the incident chosen was closed meanwhile) is shown with the API's detail."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.console.support import PageLog, Server
from tests.console.test_operator import as_supervisor, call_at, open_operator_page


async def test_merge_from_the_list_then_undo_it(page: Page, console_server: Server) -> None:
    # Two operators opened the same crash twice, 60 m apart; a fire 400 m further.
    first = (await call_at(console_server, {"lat": -7.6020, "lon": 112.4410}, "traffic_accident"))
    second = (await call_at(console_server, {"lat": -7.6025, "lon": 112.4414}, "traffic_accident"))
    third = (await call_at(console_server, {"lat": -7.6055, "lon": 112.4420}, "fire"))
    merged, survivor = first["incident"], second["incident"]
    await open_operator_page(page, console_server)
    merged_row = page.locator(f'#incidents li.incident[data-incident-id="{merged["id"]}"]')
    await merged_row.locator('button[data-action="merge"]').click()
    form = merged_row.locator("form.merge-form")
    select = form.locator('select[name="into_incident_id"]')
    await expect(select).to_be_focused()
    await expect(form.locator("label")).to_contain_text("Gabungkan ke kejadian")
    # Nearest first: the other crash, then the fire, then the rest of the open incidents.
    options = select.locator("option")
    await expect(options.nth(0)).to_have_attribute("value", survivor["id"])
    await expect(options.nth(0)).to_contain_text(survivor["number"])
    await expect(options.nth(0)).to_contain_text(" m")
    await expect(options.nth(1)).to_have_attribute("value", third["incident"]["id"])
    await expect(options.nth(1)).to_contain_text("Kebakaran")
    await expect(select.locator(f'option[value="{merged["id"]}"]')).to_have_count(0)
    await expect(form.locator(".merge-summary")).to_have_text(
        f"{merged['number']} akan ditutup; panggilan, catatan dan penugasannya pindah ke "
        f"{survivor['number']}.")
    await form.locator('button[data-action="merge-confirm"]').click()

    # The merged one leaves the open incidents; the survivor is picked, with both calls.
    await expect(merged_row).to_have_count(0)
    survivor_row = page.locator(f'#incidents li.incident[data-incident-id="{survivor["id"]}"]')
    await expect(survivor_row).to_have_class(re.compile(r"\bselected\b"))
    await expect(page.locator("#notice")).to_have_text(
        f"{merged['number']} digabungkan ke {survivor['number']}.")
    detail = page.locator("#incident-detail")
    await expect(detail.locator(".incident-number")).to_have_text(survivor["number"])
    await expect(detail.locator(".detail-facts")).to_contain_text("2 panggilan")
    line = detail.locator(f'.merge-line[data-merged-incident-id="{merged["id"]}"]')
    await expect(line).to_contain_text(f"{merged['number']} digabungkan ke sini (1 panggilan)")
    closed = await as_supervisor(console_server, f"/v1/incidents/{merged['id']}")
    assert closed["status"] == "closed" and closed["resolution"] == "merged"
    assert closed["merged_into"] == survivor["id"]
    kept = await as_supervisor(console_server, f"/v1/incidents/{survivor['id']}")
    assert set(kept["call_ids"]) == {first["id"], second["id"]}

    # Undone from the survivor's details: the merged incident is back, with its call.
    await line.locator('button[data-action="unmerge"]').click()
    await expect(line).to_have_count(0)
    await expect(detail.locator(".detail-facts")).to_contain_text("1 panggilan")
    await expect(merged_row).to_have_count(1)
    reopened = await as_supervisor(console_server, f"/v1/incidents/{merged['id']}")
    assert reopened["status"] != "closed" and reopened["merged_into"] is None
    assert reopened["call_ids"] == [first["id"]]


async def test_a_refused_merge_shows_why(
    page: Page, console_server: Server, page_log: PageLog
) -> None:
    page_log.allow("status of 409")  # the refusal this test causes
    one = (await call_at(console_server, {"lat": -7.6210, "lon": 112.4560}, "crime"))["incident"]
    other = (await call_at(console_server, {"lat": -7.6212, "lon": 112.4563}, "crime"))["incident"]
    elsewhere = (await call_at(console_server, {"lat": -7.6300, "lon": 112.4600}))["incident"]
    await open_operator_page(page, console_server, lang="en")
    one_row = page.locator(f'#incidents li.incident[data-incident-id="{one["id"]}"]')
    await one_row.locator('button[data-action="merge"]').click()
    form = one_row.locator("form.merge-form")
    await form.locator('select[name="into_incident_id"]').select_option(other["id"])
    await expect(form.locator(".merge-summary")).to_contain_text(f"move to {other['number']}")
    # Meanwhile another operator merges the chosen one elsewhere: it is closed.
    answer = await console_server.api.post(
        f"/v1/incidents/{other['id']}/merge", headers=await console_server.headers("supervisor"),
        json={"into_incident_id": elsewhere["id"]})
    assert answer.status_code == 200, answer.text
    await form.locator('button[data-action="merge-confirm"]').click()
    await expect(form.locator(".merge-error")).to_have_text(
        "Not merged: the incident to merge into is closed")
    still = await as_supervisor(console_server, f"/v1/incidents/{one['id']}")
    assert still["status"] != "closed" and still["merged_into"] is None
    # The form stays for another choice; Escape puts it away.
    await form.locator('select[name="into_incident_id"]').focus()
    await page.keyboard.press("Escape")
    await expect(one_row.locator("form.merge-form")).to_have_count(0)
    await expect(one_row.locator('button[data-action="merge"]')).to_have_attribute(
        "aria-expanded", "false")
