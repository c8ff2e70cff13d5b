"""One's own password (/console/password, every role, linked from every page's header),
log-out, and a token revoked elsewhere: the console uses the new token after a change,
calls /auth/logout when logging out, and an open page whose token is revoked goes back to
the log-in page (its feed closed with 4401).

Every account here is one these tests create (tests/console/test_admin.py `new_user`): the
demo users other tests log in with keep their passwords and tokens."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, Request, Response, expect

from tests.console.support import TOKEN_KEY, PageLog, Server
from tests.console.test_admin import (
    PASSWORD,
    log_in_api,
    new_user,
    open_with_token,
    status_with,
    token_of,
)

NEW_PASSWORD = "sandi-baru-sekali-112"
QUIET_AGENCY = "PLN-UP3-MJK"  # no test call is routed to it: its queue stays empty
LANDING = {"operator": "/console/operator", "agency": "/console/agency",
           "supervisor": "/console/supervisor", "admin": "/console/supervisor"}


async def stored_token(page: Page) -> str | None:
    return await page.evaluate(f"() => sessionStorage.getItem('{TOKEN_KEY}')")  # type: ignore[no-any-return]


@pytest.mark.parametrize("role", ["operator", "agency", "supervisor", "admin"])
async def test_everyone_changes_their_own_password_and_keeps_working(
    page: Page, console_server: Server, role: str
) -> None:
    user = await new_user(console_server, role,
                          agency_code=QUIET_AGENCY if role == "agency" else None)
    old_token = await token_of(console_server, user["username"])
    await open_with_token(page, old_token, LANDING[role])
    await expect(page.locator(".shell .who")).to_have_text(user["username"])
    link = page.locator('.shell .nav-link[data-nav="password"]')
    await expect(link).to_have_text("Kata sandi")
    await link.click()
    await page.wait_for_url(re.compile(r"/console/password$"))
    await expect(page.locator(".shell .page-title")).to_have_text("Ganti kata sandi")
    await expect(page.locator("#password-account")).to_contain_text(user["username"])

    form = page.locator("#password-form")
    await form.locator('input[name="current_password"]').fill(PASSWORD)
    await form.locator('input[name="new_password"]').fill(NEW_PASSWORD)
    await form.locator('input[name="new_password_repeat"]').fill(NEW_PASSWORD)
    await form.locator('[data-action="change_password"]').click()
    message = page.locator("#password-message")
    await expect(message).to_have_attribute("data-kind", "ok")
    await expect(message).to_have_text(re.compile(r"^Kata sandi diganti\."))
    new_token = await stored_token(page)
    assert new_token and new_token != old_token
    assert await status_with(console_server, old_token) == 401
    assert await status_with(console_server, new_token) == 200
    await expect(form.locator('input[name="new_password"]')).to_have_value("")

    # Back on one's page, with the new token: it works (no trip to the log-in page).
    await page.locator("#password-back").click()
    await page.wait_for_url(re.compile(re.escape(LANDING[role]) + "$"))
    if role == "agency":
        await expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    await expect(page.locator(".shell .who")).to_have_text(user["username"])
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith(LANDING[role]), page.url
    assert await stored_token(page) == new_token
    assert await log_in_api(console_server, user["username"], PASSWORD) == 401
    assert isinstance(await log_in_api(console_server, user["username"], NEW_PASSWORD), str)


async def test_a_wrong_current_password_or_a_bad_new_one_changes_nothing(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    page_log.allow(r"status of 401")  # the wrong current password
    page_log.allow(r"status of 422")  # the new password against the rule
    user = await new_user(console_server)
    token = await token_of(console_server, user["username"])
    await open_with_token(page, token, "/console/password")
    form = page.locator("#password-form")
    message = page.locator("#password-message")
    changes: list[Request] = []
    page.on("request", lambda r: changes.append(r) if r.url.endswith("/auth/password") else None)

    # The repetition differs: said at once, nothing sent.
    await form.locator('input[name="current_password"]').fill(PASSWORD)
    await form.locator('input[name="new_password"]').fill(NEW_PASSWORD)
    await form.locator('input[name="new_password_repeat"]').fill(NEW_PASSWORD + "x")
    await form.locator('[data-action="change_password"]').click()
    await expect(message).to_have_text("Kata sandi baru dan ulangannya tidak sama.")
    assert changes == []

    # A wrong current password: 401, said as such, and the page stays signed in.
    await form.locator('input[name="current_password"]').fill("bukan-sandinya-112")
    await form.locator('input[name="new_password_repeat"]').fill(NEW_PASSWORD)
    await form.locator('[data-action="change_password"]').click()
    await expect(message).to_have_text("Kata sandi sekarang salah.")
    await expect(message).to_have_attribute("data-kind", "error")
    assert len(changes) == 1
    assert page.url.endswith("/console/password")
    assert await stored_token(page) == token

    # A new password against the rule: the server's reason.
    await form.locator('input[name="current_password"]').fill(PASSWORD)
    await form.locator('input[name="new_password"]').fill("pendek")
    await form.locator('input[name="new_password_repeat"]').fill("pendek")
    await form.locator('[data-action="change_password"]').click()
    await expect(message).to_have_text(re.compile(r"^Kata sandi baru ditolak: .*10"))
    assert await stored_token(page) == token
    assert await status_with(console_server, token) == 200
    assert isinstance(await log_in_api(console_server, user["username"], PASSWORD), str)


async def test_the_password_page_in_english(page: Page, console_server: Server) -> None:
    user = await new_user(console_server, "supervisor")
    await open_with_token(page, await token_of(console_server, user["username"]),
                          "/console/password", lang="en")
    await expect(page.locator("#password-title")).to_have_text("Change password")
    await expect(page.locator('[data-action="change_password"]')).to_have_text("Change password")
    await expect(page.locator("#password-back")).to_have_text("Back to Supervisor board")
    await expect(page.locator('.shell .nav-link[data-nav="password"]')).to_have_attribute(
        "aria-current", "page")


async def test_a_page_opened_without_a_token_goes_to_the_login_page(page: Page) -> None:
    await page.goto("/console/password")
    await page.wait_for_url(re.compile(r"/console/$"))


async def test_logout_calls_the_server_and_the_old_token_is_refused(
    page: Page, console_server: Server
) -> None:
    user = await new_user(console_server)
    token = await token_of(console_server, user["username"])
    await open_with_token(page, token, "/console/operator")
    await expect(page.locator(".shell .who")).to_have_text(user["username"])
    calls: list[Request] = []
    page.on("request", lambda r: calls.append(r) if r.url.endswith("/auth/logout") else None)
    await page.click('[data-action="logout"]')
    await page.wait_for_url(re.compile(r"/console/$"))
    [call] = calls
    assert call.method == "POST"
    assert await call.header_value("authorization") == f"Bearer {token}"
    response = await call.response()
    assert response is not None and response.status == 204
    assert await stored_token(page) is None
    assert await status_with(console_server, token) == 401


async def test_logout_forgets_the_token_even_when_the_server_fails(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    page_log.allow(r"status of 503")
    user = await new_user(console_server)
    token = await token_of(console_server, user["username"])
    await open_with_token(page, token, "/console/password")
    await page.route("**/auth/logout", lambda route: route.fulfill(status=503, body=""))
    await page.click('[data-action="logout"]')
    await page.wait_for_url(re.compile(r"/console/$"))
    assert await stored_token(page) is None


# Records the close code of every WebSocket of the page in sessionStorage (which the
# log-in page keeps: only the token is forgotten).
RECORD_CLOSES = """
(() => {
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('close',
        (e) => sessionStorage.setItem('test.ws_close', String(e.code)));
    }
  };
})();
"""


@pytest.mark.parametrize("how", ["logout", "password", "disabled"])
async def test_a_token_revoked_elsewhere_sends_an_open_agency_page_to_login(
    page: Page, console_server: Server, how: str
) -> None:
    user = await new_user(console_server, "agency", agency_code=QUIET_AGENCY)
    token = await token_of(console_server, user["username"])
    await page.add_init_script(RECORD_CLOSES)
    await open_with_token(page, token, "/console/agency")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    await expect(page.locator("#queue-loading")).to_be_hidden()
    refused: list[Response] = []
    page.on("response", lambda r: refused.append(r) if r.status == 401 else None)

    # Elsewhere: the same account logs out on another PC, changes its password, or an
    # admin disables it.
    if how == "logout":
        other = await token_of(console_server, user["username"])
        answer = await console_server.api.post(
            "/auth/logout", headers={"Authorization": f"Bearer {other}"})
        assert answer.status_code == 204, answer.text
    elif how == "password":
        answer = await console_server.api.post(
            "/auth/password", headers={"Authorization": f"Bearer {token}"},
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert answer.status_code == 200, answer.text
    else:
        answer = await console_server.api.patch(
            f"/v1/users/{user['id']}", json={"active": False},
            headers=await console_server.headers("admin"))
        assert answer.status_code == 200, answer.text

    await page.wait_for_url(re.compile(r"/console/\?reason=expired$"), timeout=10_000)
    await expect(page.locator("#login-message")).to_have_text("Sesi berakhir. Silakan masuk lagi.")
    assert await stored_token(page) is None
    # The feed did it (closed by the server with 4401), not a refused request.
    assert await page.evaluate("() => sessionStorage.getItem('test.ws_close')") == "4401"
    assert refused == [], [r.url for r in refused]
