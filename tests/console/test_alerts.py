"""Public CAP alerts from the supervisor page (console/js/supervisor/alerts.js): the
supervisor picks an incident, publishes an alert through the form "Peringatan publik
(CAP)", whose CAP document (GET /v1/alerts/{identifier}) then carries the headline; the
alert is listed for the incident from the public Atom feed; "Batalkan" publishes a Cancel
(the feed then lists the Cancel, not the alert); a refusal (422) shows its detail; "EIDO"
downloads the incident."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from tests.console.support import PageLog, Server, open_as

ATOM = "{http://www.w3.org/2005/Atom}"


async def pick_incident(page: Page, server: Server, caller: str) -> dict:
    call = await server.crime_call(caller, description="Pohon tumbang menutup jalan")
    incident = call["incident"]
    await open_as(page, server, "supervisor", "/console/supervisor")
    await page.wait_for_selector('body[data-incidents="loaded"]')
    await page.locator(f'#open-incidents li[data-incident-id="{incident["id"]}"]').click()
    panel = page.locator(f'#incident-panel[data-incident-id="{incident["id"]}"]')
    await expect(panel).to_be_visible()
    await expect(panel.locator(".incident-number")).to_have_text(incident["number"])
    return incident  # type: ignore[no-any-return]


async def test_the_supervisor_publishes_and_cancels_an_alert(
    page: Page, console_server: Server
) -> None:
    incident = await pick_incident(page, console_server, "+6281377760001")
    headline = f"Jalan ditutup sementara {time.time_ns()}"
    await page.locator('#incident-panel [data-action="alert"]').click()
    dialog = page.locator("#alert-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("h2")).to_contain_text(incident["number"])
    await dialog.locator('input[name="headline"]').fill(headline)
    await dialog.locator('textarea[name="instruction"]').fill(
        "Hindari ruas jalan ini dan gunakan jalur lain.")
    await dialog.locator('select[name="severity"]').select_option("Severe")
    await dialog.locator('select[name="urgency"]').select_option("Immediate")
    await dialog.locator('select[name="certainty"]').select_option("Observed")
    await dialog.locator('[data-action="alert-submit"]').click()
    await expect(dialog).to_be_hidden()

    receipt = page.locator("#incident-panel .alert-receipt")
    await expect(receipt).to_be_visible()
    identifier = await receipt.get_attribute("data-identifier")
    assert identifier and incident["number"] in identifier
    await expect(receipt.locator("a")).to_have_attribute("href", f"/v1/alerts/{identifier}")
    document = await console_server.api.get(f"/v1/alerts/{identifier}")
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/cap+xml")
    assert headline in document.text and "<severity>Severe</severity>" in document.text

    row = page.locator(f'#incident-panel .alert-row[data-alert-identifier="{identifier}"]')
    await expect(row).to_have_attribute("data-msg-type", "Alert")
    cancel = row.locator('[data-action="alert-cancel"]')
    await cancel.click()
    await expect(cancel).to_have_text("Ya, batalkan")
    await cancel.click()
    # The Cancel replaces the alert: listed as cancelled (the Atom feed keeps a Cancel
    # until its expiry), the alert itself gone from the feed.
    cancelled = page.locator('#incident-panel .alert-row[data-msg-type="Cancel"]')
    await expect(cancelled).to_have_count(1)
    await expect(row).to_have_count(0)
    feed = await console_server.api.get("/v1/alerts")
    assert f"/v1/alerts/{identifier}<" not in feed.text
    cancel_id = await cancelled.get_attribute("data-alert-identifier")
    assert cancel_id and f"/v1/alerts/{cancel_id}" in feed.text
    assert "<msgType>Cancel</msgType>" in (await console_server.api.get(
        f"/v1/alerts/{cancel_id}")).text


async def test_a_refused_alert_shows_why(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    page_log.allow(r"status of 422")  # the browser logs the refused request
    incident = await pick_incident(page, console_server, "+6281377760002")
    # (and "EIDO" downloads the incident as NENA EIDO JSON, fetched with the token)
    async with page.expect_download() as download_info:
        await page.locator('#incident-panel [data-action="eido"]').click()
    download = await download_info.value
    assert download.suggested_filename == f"{incident['number']}.eido.json"
    eido = json.loads(await asyncio.to_thread(Path(await download.path()).read_bytes))
    assert incident["number"] in json.dumps(eido)
    await page.locator('#incident-panel [data-action="alert"]').click()
    dialog = page.locator("#alert-dialog")
    await dialog.locator('input[name="headline"]').fill("Terlalu lama")
    await dialog.locator('textarea[name="instruction"]').fill("Tetap waspada.")
    far = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")) + timedelta(days=30)
    await dialog.locator('input[name="expires"]').fill(far.strftime("%Y-%m-%dT%H:%M"))
    await dialog.locator('[data-action="alert-submit"]').click()
    error = dialog.locator(".form-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_attribute("data-status", "422")
    await expect(error).to_contain_text("7 days")
    await expect(dialog).to_be_visible()  # the form stays, with what was typed
    await expect(dialog.locator('input[name="headline"]')).to_have_value("Terlalu lama")
