"""What the console's answers promise a browser: a Content-Security-Policy of this origin
only (no inline script, no framing), nosniff, no referrer, on every answer under /console
(errors too); only the console's own files; and pages that ask nothing of another host."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Response

from api.console import CONSOLE_DIR
from tests.console.support import PageLog, Server, open_agency_page

PAGES = ["/console/", "/console/agency", "/console/operator", "/console/supervisor",
         "/console/wall", "/console/admin", "/console/password"]
SOME_FILES = ["/console/js/feed.js", "/console/css/console.css", "/console/i18n/id.js",
              "/console/vendor/leaflet/leaflet.js", "/console/vendor/leaflet/images/layers.png",
              "/console/img/logo.svg"]


def check_security_headers(headers: dict[str, str], where: str) -> None:
    policy = headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives.get("default-src") == ["'self'"], (where, policy)
    assert directives.get("script-src") == ["'self'"], (where, policy)
    assert directives.get("connect-src") == ["'self'"], (where, policy)
    assert directives.get("frame-ancestors") == ["'none'"], (where, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (where, policy)
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "no-referrer", where


@pytest.mark.parametrize("path", [*PAGES, *SOME_FILES])
async def test_every_console_file_is_served_with_the_security_headers(
    console_server: Server, path: str
) -> None:
    response = await console_server.api.get(path)
    assert response.status_code == 200, response.text
    check_security_headers(dict(response.headers), path)
    suffix = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else "html"
    expected = {"html": "text/html", "js": "text/javascript", "css": "text/css",
                "png": "image/png", "svg": "image/svg+xml"}[suffix]
    assert response.headers["content-type"].startswith(expected), response.headers


async def test_pages_are_the_console_files(console_server: Server) -> None:
    login = await console_server.api.get("/console/")
    assert login.text == (CONSOLE_DIR / "index.html").read_text()
    agency = await console_server.api.get("/console/agency?lang=en")
    assert agency.text == (CONSOLE_DIR / "agency.html").read_text()
    redirect = await console_server.api.get("/console?lang=en")
    assert redirect.status_code == 307 and redirect.headers["location"] == "/console/?lang=en"
    check_security_headers(dict(redirect.headers), "/console")


@pytest.mark.parametrize("path", [
    "/console/nothing-here.js",
    "/console/%2e%2e/pyproject.toml",          # outside the folder
    "/console/..%2fapi%2fconsole.py",
    "/console/vendor/leaflet/README.md",       # not a suffix the console serves
    "/console/vendor/leaflet/SHA256SUMS",
    "/console/js/.hidden.js",
    "/console//etc/passwd",
])
async def test_nothing_else_is_served_and_errors_carry_the_headers_too(
    console_server: Server, path: str
) -> None:
    response = await console_server.api.get(path)
    assert response.status_code == 404, (path, response.status_code, response.text[:200])
    assert response.headers["content-type"] == "application/problem+json"
    check_security_headers(dict(response.headers), path)


async def test_the_console_is_read_only(console_server: Server) -> None:
    response = await console_server.api.post("/console/agency", content=b"x")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    check_security_headers(dict(response.headers), "POST /console/agency")


async def test_in_the_browser_every_console_answer_has_the_headers_and_no_other_host_is_asked(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))
    await open_agency_page(page, console_server)
    await page.wait_for_selector('#map[data-boundaries="kabkota kecamatan kelurahan"]')
    await page.goto("/console/?lang=en")  # (signed in: it sends back to the agency page)
    await page.wait_for_url("**/console/agency?lang=en")
    console_answers = [r for r in responses if "/console" in r.url]
    assert len(console_answers) > 20
    for response in console_answers:
        check_security_headers(await response.all_headers(), response.url)
    hosts = {urlsplit(url).netloc for url in page_log.requests}
    assert hosts == {console_server.address}, hosts
    asked = " ".join(page_log.requests)
    for expected in ("/v1/geo/boundaries?level=kelurahan", "ws://",
                     "/v1/agencies/POLSEK-PRAJURITKULON/queue",
                     "/console/vendor/leaflet/leaflet.js"):
        assert expected in asked, expected
