"""BMKG's warnings on the console (console/js/warnings.js): a warning the gateway posts
(POST /v1/warnings) appears live on an open supervisor page, in the list above the map
(`data-warning-id`) and outlined on the map with its tooltip; the wall and the operator's
map show it when they read the warnings (here: when opened); one already expired is shown
nowhere; one that names its kecamatan only is drawn as those kecamatan. Each test posts
warnings of its own (fresh identifiers: support.nowcast_xml)."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.console.support import Server, nowcast_xml, open_as, post_warning

LIVE_TIMEOUT_MS = 5000


async def test_a_warning_appears_live_on_the_supervisor_page(
    page: Page, console_server: Server
) -> None:
    await open_as(page, console_server, "supervisor", "/console/supervisor")
    await page.wait_for_selector('#connection[data-state="connected"]')
    await page.wait_for_selector('body[data-incidents="loaded"]')
    await page.locator('#map[data-boundaries="kabkota kecamatan kelurahan"]').wait_for()

    _, expired_xml = nowcast_xml(expires_in_s=-3600, sent_ago_s=3 * 3600)
    expired = await post_warning(console_server, expired_xml)
    _, xml = nowcast_xml()
    warning = await post_warning(console_server, xml)
    assert warning["active"] and warning["geometry"] and warning["areas"]

    item = page.locator(f'#warnings li[data-warning-id="{warning["id"]}"]')
    await expect(item).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    await expect(item.locator(".warning-event")).to_have_text(warning["event"])
    await expect(item.locator(".severity-badge")).to_have_text("Sedang")  # Moderate
    kecamatan = [a["name"] for a in warning["areas"] if a["level"] == "kecamatan"]
    await expect(item.locator(".warning-areas")).to_contain_text(kecamatan[0])
    await expect(page.locator("#warnings-panel h2")).to_have_text("Peringatan dini BMKG")
    outline = page.locator(f'#map path.warning-area[data-warning-id="{warning["id"]}"]')
    await expect(outline).to_have_count(1)
    # The outlines are under the incidents: their pane is below the markers'.
    below = await page.evaluate("""() => {
        const z = (name) => Number(
            getComputedStyle(document.querySelector(`.leaflet-${name}-pane`)).zIndex);
        return z('warnings') < z('overlay');
    }""")
    assert below
    # A click on the item fits the map to it; the tooltip names event, severity, expiry.
    await item.click()
    await outline.hover(force=True)
    tooltip = page.locator(".leaflet-tooltip .warning-tooltip")
    await expect(tooltip).to_be_visible()
    await expect(tooltip).to_contain_text(warning["event"])
    await expect(tooltip).to_contain_text("Berlaku sampai")
    await expect(tooltip).to_contain_text("WIB")
    # The expired one is neither listed nor drawn.
    await expect(page.locator(f'[data-warning-id="{expired["id"]}"]')).to_have_count(0)


async def test_wall_and_operator_show_the_warnings_in_force(
    page: Page, console_server: Server
) -> None:
    _, xml = nowcast_xml()
    warning = await post_warning(console_server, xml)
    _, by_name_xml = nowcast_xml("by_name")
    by_name = await post_warning(console_server, by_name_xml)
    assert by_name["geometry"] is None and by_name["areas"]
    _, expired_xml = nowcast_xml(expires_in_s=-60, sent_ago_s=7200)
    expired = await post_warning(console_server, expired_xml)

    for user, path in (("supervisor", "/console/wall"), ("operator", "/console/operator")):
        await open_as(page, console_server, user, path)
        await expect(page.locator(f'#map path.warning-area[data-warning-id="{warning["id"]}"]')
                     ).to_have_count(1)
        # Named areas only: drawn as the kecamatan it matched.
        named = [a for a in by_name["areas"] if a["level"] == "kecamatan"]
        await expect(page.locator(f'#map path.warning-area[data-warning-id="{by_name["id"]}"]')
                     ).to_have_count(len(named))
        await expect(page.locator(f'#map [data-warning-id="{expired["id"]}"]')).to_have_count(0)
