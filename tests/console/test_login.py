"""Log-in, landing pages, where the token lives, log-out, and what a refused token does."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Mapping

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.console.support import AGENCY_USER, TOKEN_KEY, PageLog, Server, log_in, shoot


async def stored_token(page: Page) -> str | None:
    return await page.evaluate(f"() => sessionStorage.getItem('{TOKEN_KEY}')")  # type: ignore[no-any-return]


async def assert_no_token_outside_session_storage(page: Page, context: BrowserContext) -> None:
    assert await page.evaluate("() => localStorage.length") == 0
    assert await page.evaluate("() => document.cookie") == ""
    assert await context.cookies() == []


@pytest.mark.parametrize(("username", "landing"), [
    ("operator", "/console/operator"),
    (AGENCY_USER, "/console/agency"),
    ("supervisor", "/console/supervisor"),
    ("admin", "/console/supervisor"),
])
async def test_each_role_lands_on_its_page(
    page: Page, context: BrowserContext, username: str, landing: str
) -> None:
    await log_in(page, username)
    assert page.url.endswith(landing), page.url
    token = await stored_token(page)
    assert token and token.count(".") == 2
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["name"] == username
    await assert_no_token_outside_session_storage(page, context)
    # The page knows who is signed in (from the token's claims).
    await expect(page.locator(".shell .who")).to_have_text(username)


async def test_a_wrong_password_shows_an_error_and_stores_nothing(
    page: Page, context: BrowserContext, page_log: PageLog
) -> None:
    page_log.allow(r"status of 401")  # the browser logs the refused POST /auth/token
    await page.goto("/console/")
    await page.fill('input[name="username"]', "operator")
    await page.fill('input[name="password"]', "not-the-password")
    await page.click('button[type="submit"]')
    message = page.locator("#login-message")
    await expect(message).to_have_text("Nama pengguna atau kata sandi salah.")
    await expect(message).to_have_attribute("data-kind", "error")
    assert page.url.endswith("/console/")
    assert await stored_token(page) is None
    await assert_no_token_outside_session_storage(page, context)
    await shoot(page, "login-error")


@pytest.mark.parametrize("path", ["/console/agency", "/console/operator",
                                  "/console/supervisor", "/console/wall"])
async def test_a_page_opened_without_a_token_goes_to_the_login_page(
    page: Page, path: str
) -> None:
    await page.goto(path + "?lang=en")
    await page.wait_for_url(re.compile(r"/console/\?lang=en$"))
    await expect(page.locator('button[type="submit"]')).to_have_text("Log in")


async def test_another_roles_page_sends_to_ones_own(page: Page) -> None:
    await log_in(page, "operator")
    await page.goto("/console/agency")
    await page.wait_for_url(re.compile(r"/console/operator$"))


async def test_logout_clears_the_token_calls_the_server_and_returns_to_login(
    page: Page, page_log: PageLog
) -> None:
    # operator2: no other test uses its tokens (a logout may revoke them all).
    await log_in(page, "operator2")
    token = await stored_token(page)
    logout_calls = []
    page.on("request", lambda r: logout_calls.append(r) if r.url.endswith("/auth/logout") else None)
    await page.click('[data-action="logout"]')
    await page.wait_for_url(re.compile(r"/console/$"))
    assert await stored_token(page) is None
    [call] = logout_calls
    assert call.method == "POST"
    assert await call.header_value("authorization") == f"Bearer {token}"
    # Back on the log-in page, the operator's page is closed to this tab now.
    await page.goto("/console/operator")
    await page.wait_for_url(re.compile(r"/console/$"))


def forged_token(role: str, agency: str | None) -> str:
    """A token whose claims look right but whose signature the server refuses."""
    def part(value: Mapping[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    claims = {"sub": "x", "name": "mallory", "role": role, "agency": agency,
              "exp": int(time.time()) + 3600}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


async def test_a_refused_token_returns_to_the_login_page(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    page_log.allow(r"status of 401")
    await page.goto("/console/")
    await page.evaluate("([key, token]) => sessionStorage.setItem(key, token)",
                        [TOKEN_KEY, forged_token("agency", "POLSEK-PRAJURITKULON")])
    await page.goto("/console/agency")
    await page.wait_for_url(re.compile(r"/console/\?reason=expired$"))
    await expect(page.locator("#login-message")).to_have_text(
        "Sesi berakhir. Silakan masuk lagi.")
    assert await stored_token(page) is None


async def test_an_expired_token_is_not_used(page: Page) -> None:
    await page.goto("/console/")
    claims = {"role": "agency", "agency": "POLSEK-PRAJURITKULON", "exp": int(time.time()) - 5}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    await page.evaluate("([key, token]) => sessionStorage.setItem(key, token)",
                        [TOKEN_KEY, f"e30.{payload}.x"])
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await page.goto("/console/agency")
    await page.wait_for_url(re.compile(r"/console/\?reason=expired$"))
    assert not [url for url in requests if "/v1/" in url], requests
