"""Helpers of the console's browser tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import ConsoleMessage, Page

SCREENSHOTS = Path(__file__).parent / "screenshots"
CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console"
# Where the demo "crime" call of these tests happens: routed to POLSEK-PRAJURITKULON.
CRIME_SPOT = {"lat": -7.472, "lon": 112.430}
AGENCY = "POLSEK-PRAJURITKULON"
AGENCY_USER = "polsek-prajuritkulon"
Json = dict[str, Any]


@dataclass
class Server:
    """The served console: its base URL and `host:port`, and an HTTP client for the API."""

    address: str
    api: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    async def headers(self, username: str) -> dict[str, str]:
        """Authorization header of a demo user (password `<username>-demo-112`)."""
        if username not in self.tokens:
            response = await self.api.post("/auth/token", data={
                "username": username, "password": f"{username}-demo-112"})
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def crime_call(self, caller: str = "+6281377700001", **extra: object) -> Json:
        """POST /v1/calls as the operator: a crime at CRIME_SPOT. Returns the call."""
        response = await self.api.post("/v1/calls", headers=await self.headers("operator"),
                                       json={"caller_number": caller, "category": "crime",
                                             "location": CRIME_SPOT, **extra})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


def agency_assignment(call: Json, agency: str = AGENCY) -> Json:
    """The assignment of `agency` on a call's incident."""
    [assignment] = [a for a in call["incident"]["assignments"] if a["agency"]["code"] == agency]
    return assignment  # type: ignore[no-any-return]


@dataclass
class PageLog:
    """What a page did: browser errors (console errors, uncaught exceptions), requests."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """An error this test causes on purpose (e.g. the 401 of a wrong password)."""
        self.allowed.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def foreign_requests(self, address: str) -> list[str]:
        return [url for url in self.requests
                if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != address]


def watch(page: Page, log: PageLog) -> Page:
    """Record a page's errors and requests (WebSockets included) into `log`."""

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            log.errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.errors.append(f"pageerror: {error}"))
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("websocket", lambda ws: log.requests.append(ws.url))
    return page


async def log_in(page: Page, username: str, lang: str | None = None) -> None:
    """Log in through the form of /console/ as a demo user and wait for the landing page."""
    await page.goto("/console/" + (f"?lang={lang}" if lang else ""))
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', f"{username}-demo-112")
    await page.click('button[type="submit"]')
    await page.wait_for_url(re.compile(r"/console/(operator|agency|supervisor)"))


TOKEN_KEY = "siaga112.token"  # console/js/auth.js


async def open_as(page: Page, server: Server, username: str, path: str,
                  lang: str | None = None) -> None:
    """Open a console page signed in as a demo user, the token put where the log-in page
    puts it (sessionStorage) without going through the form: a log-in costs the server an
    Argon2 hash (0.5 s here), and the form has its own tests."""
    token = (await server.headers(username))["Authorization"].removeprefix("Bearer ")
    query = f"?lang={lang}" if lang else ""
    await page.goto("/console/" + query)
    await page.evaluate("([key, token]) => sessionStorage.setItem(key, token)", [TOKEN_KEY, token])
    await page.goto(path + query)


async def open_agency_page(page: Page, server: Server, lang: str | None = None) -> None:
    """The Polsek Prajuritkulon account's page, once its queue is loaded and its feed
    connected."""
    await open_as(page, server, AGENCY_USER, "/console/agency", lang)
    await page.wait_for_selector('#connection[data-state="connected"]')
    await page.wait_for_selector("#queue-loading", state="hidden")


async def shoot(page: Page, name: str) -> None:
    """tests/console/screenshots/<name>.png"""
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png")


# Units of a test's own (the demo fleet stays as other tests expect it).
_unit_serial = count(1)


async def own_unit(server: Server, *, agency: str = AGENCY, kind: str = "patrol",
                   at: dict[str, float] | None = None) -> Json:
    """A unit of this test (a fresh code), positioned at `at` when given."""
    code = f"T-UNIT-{int(time.time()) % 100000}-{next(_unit_serial)}"
    answer = await server.api.put(f"/v1/units/{code}", headers=await server.headers("admin"),
                                  json={"agency_code": agency, "kind": kind,
                                        "name": f"Unit uji {code[-4:]}"})
    assert answer.status_code == 201, answer.text
    if at is not None:
        await post_fix(server, code, at)
    return await read_unit(server, code)


async def post_fix(server: Server, code: str, at: dict[str, float], speed_kmh: float = 0) -> None:
    answer = await server.api.post("/v1/units/positions",
                                   headers=await server.headers("aml-gateway"),
                                   json=[{"unit_code": code, "lat": at["lat"], "lon": at["lon"],
                                          "speed_kmh": speed_kmh,
                                          "at": datetime.now(UTC).isoformat()}])
    assert answer.status_code == 200 and answer.json()["current"] == 1, answer.text


async def read_unit(server: Server, code: str) -> Json:
    answer = await server.api.get(f"/v1/units/{code}", headers=await server.headers("supervisor"))
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def set_unit_status(server: Server, code: str, status: str) -> None:
    answer = await server.api.post(f"/v1/units/{code}/status",
                                   headers=await server.headers("supervisor"),
                                   json={"status": status})
    assert answer.status_code == 200, answer.text


# BMKG nowcast samples (tests/data/bmkg_nowcast_*.xml) made unique and current for a test.
_DATA = Path(__file__).resolve().parents[1] / "data"
_warning_serial = count(1)


def nowcast_xml(sample: str = "mojokerto", *, expires_in_s: float = 2 * 3600,
                sent_ago_s: float = 60) -> tuple[str, bytes]:
    """A sample warning with a fresh identifier, sent `sent_ago_s` ago and expiring
    `expires_in_s` from now (negative: already expired). Returns (identifier, XML)."""
    text = (_DATA / f"bmkg_nowcast_{sample}.xml").read_text(encoding="utf-8")
    now = datetime.now(UTC)
    identifier = f"CJI-TEST-{time.time_ns()}-{next(_warning_serial)}"

    def stamp(seconds: float) -> str:
        return datetime.fromtimestamp(now.timestamp() + seconds, UTC).isoformat(timespec="seconds")

    text = re.sub(r"<identifier>[^<]*</identifier>", f"<identifier>{identifier}</identifier>", text)
    for tag, seconds in (("sent", -sent_ago_s), ("effective", -sent_ago_s),
                         ("onset", -sent_ago_s), ("expires", expires_in_s)):
        text = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{stamp(seconds)}</{tag}>", text)
    return identifier, text.encode("utf-8")


async def post_warning(server: Server, xml: bytes) -> Json:
    """POST /v1/warnings as the gateway; the warning stored."""
    response = await server.api.post(
        "/v1/warnings", content=xml,
        headers={**await server.headers("aml-gateway"), "Content-Type": "application/cap+xml"})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
