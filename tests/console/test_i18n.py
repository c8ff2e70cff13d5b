"""One catalogue per language (console/i18n/id.js, en.js): the same keys in both, every key
a page uses is in them, Bahasa Indonesia by default and English with ?lang=en."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from api.console import CONSOLE_DIR
from dispatch.assignments.lifecycle import ASSIGNMENT_STATUSES
from dispatch.assignments.model import ASSIGNMENT_REASONS
from dispatch.models import ROLES
from geo.locate import PRECEDENCE
from tests.console.support import Server, open_agency_page

# Keys the pages build from values (t(`status.${status}`)): every value must have one.
DYNAMIC_KEYS = ({f"status.{s}" for s in ASSIGNMENT_STATUSES}
                | {f"reason.{r}" for r in ASSIGNMENT_REASONS}
                | {f"source.{s}" for s in PRECEDENCE}
                | {f"role.{r}" for r in ROLES}
                | {f"priority.{p}" for p in range(1, 5)}
                | {f"action.{a}" for a in ("ack", "en_route", "on_scene", "completed", "decline")}
                | {f"{page}.title" for page in ("agency", "operator", "supervisor", "wall")})
# A key written in a source: a quoted 'namespace.name' (in t(...) calls and key tables),
# data-i18n="key", data-i18n-attr="attribute:key ...".
QUOTED = re.compile(r"'([a-z]+\.[a-z0-9_]+)'")
MARKUP = re.compile(r'data-i18n="([^"]+)"|data-i18n-attr="([^"]+)"')
FEED_EVENT_TYPES = {"assignment.created", "assignment.updated", "assignment.escalated",
                    "incident.updated", "incident.closed", "incident.note", "incident.merged",
                    "stats.updated", "unit.status", "unit.position", "warning.received"}


async def catalogues(page: Page) -> dict[str, dict[str, str]]:
    strings: dict[str, dict[str, str]] = await page.evaluate("""async () => ({
        id: (await import('/console/i18n/id.js')).default,
        en: (await import('/console/i18n/en.js')).default,
    })""")  # the modules the pages import
    return strings


def keys_used_by_the_sources(namespaces: set[str]) -> set[str]:
    used: set[str] = set()
    for path in CONSOLE_DIR.rglob("*"):
        if path.suffix not in {".js", ".html"} or "vendor" in path.parts or "i18n" in path.parts:
            continue
        text = path.read_text()
        used |= {key for key in QUOTED.findall(text)
                 if key.split(".")[0] in namespaces and key not in FEED_EVENT_TYPES}
        for key, attributes in MARKUP.findall(text) if path.suffix == ".html" else []:
            used |= {key} if key else {pair.split(":", 1)[1] for pair in attributes.split()}
    return used


async def test_both_catalogues_have_the_same_keys_and_every_key_used(page: Page) -> None:
    await page.goto("/console/")
    strings = await catalogues(page)
    assert set(strings["id"]) == set(strings["en"]), set(strings["id"]) ^ set(strings["en"])
    for lang, catalogue in strings.items():
        empty = [key for key, text in catalogue.items() if not isinstance(text, str) or not text]
        assert not empty, (lang, empty)
        # The same {placeholders} in both languages.
        for key, text in catalogue.items():
            assert set(re.findall(r"\{\w+\}", text)) == set(
                re.findall(r"\{\w+\}", strings["id"][key])), (lang, key)
    used = keys_used_by_the_sources({key.split('.')[0] for key in strings['id']})
    assert len(used) > 40, used  # the scan finds the keys (it would pass vacuously if not)
    missing = (used | DYNAMIC_KEYS) - set(strings["id"])
    assert not missing, sorted(missing)
    # The Words of CONSOLE.md, as the room says them.
    assert strings["id"]["common.reconnecting"] == "Koneksi terputus, menyambung ulang…"
    assert strings["id"]["action.ack"] == "Terima" and strings["id"]["status.en_route"] == \
        "Menuju lokasi"


@pytest.mark.parametrize(("lang", "texts"), [
    (None, {"username": "Nama pengguna", "password": "Kata sandi", "submit": "Masuk",
            "switch": "English"}),
    ("en", {"username": "Username", "password": "Password", "submit": "Log in",
            "switch": "Bahasa Indonesia"}),
])
async def test_the_login_page_speaks_bahasa_by_default_and_english_on_request(
    page: Page, lang: str | None, texts: dict[str, str]
) -> None:
    await page.goto("/console/" + (f"?lang={lang}" if lang else ""))
    await expect(page.locator("html")).to_have_attribute("lang", lang or "id")
    form = page.locator("#login-form")
    await expect(form.locator("label span").nth(0)).to_have_text(texts["username"])
    await expect(form.locator("label span").nth(1)).to_have_text(texts["password"])
    await expect(form.locator('button[type="submit"]')).to_have_text(texts["submit"])
    await expect(page.locator("#lang-switch")).to_have_text(texts["switch"])


async def test_the_agency_page_in_english_and_back(page: Page, console_server: Server) -> None:
    await console_server.crime_call("+6281377700801")
    await open_agency_page(page, console_server, lang="en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#queue-title")).to_have_text("Assignment queue")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator("#shortcuts-title")).to_have_text("Keyboard shortcuts")
    row = page.locator('li[data-status="queued"]').first
    await expect(row.locator('button[data-action="ack"]')).to_have_text("Acknowledge")
    await expect(row.locator(".status-badge")).to_have_text("Queued")
    await expect(row.locator(".category")).to_have_text("Crime in progress / security")
    await expect(page.locator("#sound")).to_have_text("Click anywhere to enable sound")
    # The switch goes to the same page in Bahasa Indonesia.
    await page.locator(".lang-switch").click()
    await page.wait_for_url(re.compile(r"/console/agency$"))
    await expect(page.locator("#queue-title")).to_have_text("Antrean penugasan")
    await expect(page.locator("#connection")).to_have_text("Terhubung")
    await expect(page.locator('li[data-status="queued"] button[data-action="ack"]').first
                 ).to_have_text("Terima")
    await expect(page.locator('li[data-status="queued"] .category').first).to_have_text(
        "Kriminalitas / gangguan keamanan")
