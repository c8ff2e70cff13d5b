"""The users' page (/console/admin, admins only): the list with its filters and pages,
creating a user, the password rule, disabling and enabling, a role change, a password
reset, the last admin; and other roles sent away.

The page is opened as the demo `admin` (never changed here); every account it changes is
one these tests create, so the demo users other tests log in with stay as they are."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from playwright.async_api import Page, Route, expect

from tests.console.support import TOKEN_KEY, PageLog, Server, open_as

Json = dict[str, Any]
PASSWORD = "sandi-awal-112"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def new_user(server: Server, role: str = "operator", *, username: str | None = None,
                   password: str = PASSWORD, agency_code: str | None = None) -> Json:
    """An account of this test's own, created through the API as the demo admin."""
    body: Json = {"username": username or unique(f"t-{role}"), "role": role,
                  "password": password}
    if agency_code:
        body["agency_code"] = agency_code
    answer = await server.api.post("/v1/users", json=body, headers=await server.headers("admin"))
    assert answer.status_code == 201, answer.text
    user: Json = answer.json()
    return user


async def log_in_api(server: Server, username: str, password: str = PASSWORD) -> int | str:
    """The token of a log-in through the API, or the refusal's status code."""
    answer = await server.api.post("/auth/token",
                                   data={"username": username, "password": password})
    if answer.status_code != 200:
        return answer.status_code
    token: str = answer.json()["access_token"]
    return token


async def token_of(server: Server, username: str, password: str = PASSWORD) -> str:
    token = await log_in_api(server, username, password)
    assert isinstance(token, str), token
    return token


async def status_with(server: Server, token: str) -> int:
    """What the API answers a request made with `token` (200, or 401 once revoked)."""
    answer = await server.api.get("/v1/agencies",
                                  headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


async def open_with_token(page: Page, token: str, path: str, lang: str | None = None) -> None:
    """A console page signed in with `token` (put where the log-in page puts it)."""
    query = f"?lang={lang}" if lang else ""
    await page.goto("/console/" + query)
    await page.evaluate("([key, token]) => sessionStorage.setItem(key, token)", [TOKEN_KEY, token])
    await page.goto(path + query)


async def open_admin_page(page: Page, server: Server, lang: str | None = None) -> None:
    await open_as(page, server, "admin", "/console/admin", lang)
    await expect(page.locator("#users-loading")).to_be_hidden()
    await expect(page.locator("#users-body tr").first).to_be_visible()


async def user_row(page: Page, user_id: str) -> Any:
    """The row of a user, reading more pages ("more") until it is listed."""
    row = page.locator(f'#users-body tr[data-user-id="{user_id}"]')
    more = page.locator('[data-action="more"]')
    for _ in range(20):
        if await row.count():
            break
        await expect(more).to_be_visible()
        count = await page.locator("#users-body tr").count()
        await more.click()
        await expect(page.locator("#users-body tr")).not_to_have_count(count)
    await expect(row).to_be_visible()
    return row


async def test_the_admin_lists_the_users_by_page_and_filters_them(
    page: Page, console_server: Server
) -> None:
    everyone = await console_server.api.get(
        "/v1/users", params={"limit": 500}, headers=await console_server.headers("admin"))
    assert everyone.status_code == 200, everyone.text
    expected = {user["id"]: user for user in everyone.json()["items"]}
    # Pages of 7 (the page asks for 50): "more" reads the next one until there is none.
    pages: list[str] = []

    async def small_pages(route: Route) -> None:
        url = urlsplit(route.request.url)
        query = dict(parse_qsl(url.query)) | {"limit": "7"}
        pages.append(query.get("cursor", ""))
        await route.continue_(url=url._replace(query=urlencode(query)).geturl())

    await page.route(re.compile(r"/v1/users\?"), small_pages)
    await open_admin_page(page, console_server)
    rows = page.locator("#users-body tr[data-user-id]")
    await expect(rows).to_have_count(7)
    await expect(page.locator("#users-count")).to_have_text(re.compile(r"^7 pengguna ditampilkan"))
    more = page.locator('[data-action="more"]')
    while await more.is_visible():
        count = await rows.count()
        await more.click()
        await expect(rows).not_to_have_count(count)
    await expect(rows).to_have_count(len(expected))
    assert len(pages) >= -(-len(expected) // 7) and all(pages[1:]), pages
    await expect(page.locator("#users-count")).to_have_text(f"{len(expected)} pengguna")
    listed = await rows.evaluate_all("rows => rows.map((r) => r.dataset.userId)")
    assert set(listed) == set(expected) and len(listed) == len(set(listed))

    # A row: username, role, agency, state, created, last log-in, actions.
    [operator] = [u for u in expected.values() if u["username"] == "operator"]
    row = page.locator(f'tr[data-user-id="{operator["id"]}"]')
    await expect(row).to_have_attribute("data-active", "true")
    await expect(row.locator("td.username")).to_have_text("operator")
    await expect(row.locator("td.role")).to_have_text("Operator")
    await expect(row.locator("td.state")).to_have_text("Aktif")
    await expect(row.locator("td.when").first).to_have_text(re.compile(r"\d{2}[.:]\d{2} WIB$"))
    for action in ("edit", "reset_password", "disable"):
        await expect(row.locator(f'button[data-action="{action}"]')).to_be_visible()
    await expect(row.locator('button[data-action="disable"]')).to_have_text("Nonaktifkan")
    await expect(row.locator('button[data-action="reset_password"]')).to_have_text(
        "Atur ulang kata sandi")
    [admin] = [u for u in expected.values() if u["username"] == "admin"]
    await expect(page.locator(f'tr[data-user-id="{admin["id"]}"] .you')).to_have_text("(Anda)")
    polsek = page.locator('tr[data-user-id] td.username', has_text="polsek-prajuritkulon")
    await expect(polsek.locator("xpath=..").locator("td.agency")).to_have_text(
        "POLSEK-PRAJURITKULON")

    # Filters: by role, then by state.
    await page.unroute(re.compile(r"/v1/users\?"))
    await page.select_option('#filters select[name="role"]', "agency")
    agencies = [u for u in expected.values() if u["role"] == "agency"]
    await expect(rows).to_have_count(len(agencies))
    assert set(await rows.evaluate_all("rows => rows.map((r) => r.dataset.role)")) == {"agency"}
    await page.select_option('#filters select[name="role"]', "")
    await page.select_option('#filters select[name="active"]', "true")
    await expect(rows.first).to_be_visible()
    assert set(await rows.evaluate_all("rows => rows.map((r) => r.dataset.active)")) == {"true"}


async def test_the_admin_creates_an_operator_who_can_then_log_in(
    page: Page, console_server: Server
) -> None:
    await open_admin_page(page, console_server)
    form = page.locator("#create-form")
    agency = form.locator('select[name="agency_code"]')
    await expect(agency).to_be_hidden()  # only for the agency role
    username = unique("op-baru")
    await form.locator('input[name="username"]').fill(username)
    await form.locator('select[name="role"]').select_option("operator")
    await form.locator('input[name="password"]').fill("kata-sandi-baru-112")
    await form.locator('[data-action="create"]').click()
    await expect(page.locator("#create-message")).to_have_text(f"Pengguna {username} dibuat.")
    row = page.locator("#users-body tr", has_text=username)
    await expect(row).to_have_attribute("data-active", "true")
    await expect(row.locator("td.role")).to_have_text("Operator")
    await expect(row.locator("td.last-login")).to_have_text("Belum pernah")
    user_id = await row.get_attribute("data-user-id")
    assert user_id and uuid.UUID(user_id)
    # The new operator logs in, as an operator.
    token = await token_of(console_server, username, "kata-sandi-baru-112")
    assert await status_with(console_server, token) == 200
    me = await console_server.api.get(f"/v1/users/{user_id}",
                                      headers=await console_server.headers("admin"))
    assert me.json()["role"] == "operator" and me.json()["agency_code"] is None

    # An agency account: the agency field appears, and is needed.
    agency_name = unique("pln-petugas")
    await form.locator('input[name="username"]').fill(agency_name)
    await form.locator('select[name="role"]').select_option("agency")
    await expect(agency).to_be_visible()
    await form.locator('input[name="password"]').fill("kata-sandi-baru-112")
    await form.locator('[data-action="create"]').click()
    await expect(page.locator("#create-message")).to_have_text(
        "Akun instansi harus memiliki instansi.")
    await agency.select_option("PLN-UP3-MJK")
    await form.locator('[data-action="create"]').click()
    await expect(page.locator("#create-message")).to_have_text(f"Pengguna {agency_name} dibuat.")
    agency_row = page.locator("#users-body tr", has_text=agency_name)
    await expect(agency_row.locator("td.role")).to_have_text("Instansi")
    await expect(agency_row.locator("td.agency")).to_have_text("PLN-UP3-MJK")


async def test_a_password_against_the_rule_or_a_taken_username_shows_the_servers_reason(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    page_log.allow(r"status of 422")
    page_log.allow(r"status of 409")
    await open_admin_page(page, console_server)
    rows = await page.locator("#users-body tr").count()
    form = page.locator("#create-form")
    message = page.locator("#create-message")
    username = unique("op-pendek")
    await form.locator('input[name="username"]').fill(username)
    await form.locator('input[name="password"]').fill("pendek")
    await form.locator('[data-action="create"]').click()
    await expect(message).to_have_attribute("data-kind", "error")
    await expect(message).to_have_text(re.compile(r"^Ditolak: .*10"))
    # The rule is shown beside the field as well.
    await expect(form.locator(".hint")).to_have_text(
        "Minimal 10 karakter, tidak sama dengan nama pengguna.")
    await form.locator('input[name="password"]').fill(username)  # the username itself
    await form.locator('[data-action="create"]').click()
    await expect(message).to_have_text(re.compile(r"^Ditolak: .*username"))
    await form.locator('input[name="username"]').fill("operator")  # taken
    await form.locator('input[name="password"]').fill("kata-sandi-baru-112")
    await form.locator('[data-action="create"]').click()
    await expect(message).to_have_text(re.compile(r"^Ditolak: .*operator.*exists"))
    await expect(page.locator("#users-body tr")).to_have_count(rows)
    assert await log_in_api(console_server, username, "pendek") == 401


async def test_disabling_a_user_ends_their_sessions_and_enabling_lets_them_back(
    page: Page, console_server: Server
) -> None:
    user = await new_user(console_server)
    token = await token_of(console_server, user["username"])
    await open_admin_page(page, console_server)
    row = await user_row(page, user["id"])
    await expect(row).to_have_attribute("data-active", "true")
    await row.locator('button[data-action="disable"]').click()
    await expect(row).to_have_attribute("data-active", "false")
    await expect(row.locator("td.state")).to_have_text("Nonaktif")
    await expect(page.locator("#admin-message")).to_have_text(
        f"Pengguna {user['username']} dinonaktifkan; sesinya sudah berakhir.")
    assert await status_with(console_server, token) == 401  # refused at once
    assert await log_in_api(console_server, user["username"]) == 401
    await row.locator('button[data-action="enable"]').click()
    await expect(row).to_have_attribute("data-active", "true")
    await expect(row.locator('button[data-action="disable"]')).to_be_visible()
    assert await status_with(console_server, token) == 401  # the old token stays refused
    fresh = await token_of(console_server, user["username"])
    assert await status_with(console_server, fresh) == 200


async def test_the_admin_resets_a_password(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    page_log.allow(r"status of 422")
    user = await new_user(console_server)
    token = await token_of(console_server, user["username"])
    await open_admin_page(page, console_server)
    row = await user_row(page, user["id"])
    await row.locator('button[data-action="reset_password"]').click()
    dialog = page.locator("#reset-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("h2")).to_have_text(f"Atur ulang kata sandi {user['username']}")
    await dialog.locator('input[name="password"]').fill("terlalu")
    await dialog.locator('[data-action="confirm_reset"]').click()
    await expect(dialog.locator("#reset-message")).to_have_text(re.compile(r"^Ditolak: .*10"))
    await expect(dialog).to_be_visible()
    assert await status_with(console_server, token) == 200  # nothing changed yet
    await dialog.locator('input[name="password"]').fill("sandi-pengganti-112")
    await dialog.locator('[data-action="confirm_reset"]').click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#admin-message")).to_have_text(
        f"Kata sandi {user['username']} diatur ulang; sesinya sudah berakhir.")
    assert await status_with(console_server, token) == 401
    assert await log_in_api(console_server, user["username"]) == 401
    assert isinstance(await log_in_api(console_server, user["username"], "sandi-pengganti-112"),
                      str)
    # Cancel closes the dialog without a request.
    await row.locator('button[data-action="reset_password"]').click()
    await dialog.locator('[data-action="cancel"]').click()
    await expect(dialog).to_be_hidden()


async def test_the_admin_changes_a_role_and_agency(page: Page, console_server: Server) -> None:
    user = await new_user(console_server)
    token = await token_of(console_server, user["username"])
    await open_admin_page(page, console_server)
    row = await user_row(page, user["id"])
    await row.locator('button[data-action="edit"]').click()
    dialog = page.locator("#edit-dialog")
    await expect(dialog).to_be_visible()
    agency = dialog.locator('select[name="agency_code"]')
    await expect(agency).to_be_hidden()
    await dialog.locator('select[name="role"]').select_option("agency")
    await expect(agency).to_be_visible()
    await agency.select_option("PLN-UP3-MJK")
    await dialog.locator('[data-action="save_role"]').click()
    await expect(dialog).to_be_hidden()
    await expect(row.locator("td.role")).to_have_text("Instansi")
    await expect(row.locator("td.agency")).to_have_text("PLN-UP3-MJK")
    changed = await console_server.api.get(f"/v1/users/{user['id']}",
                                           headers=await console_server.headers("admin"))
    assert (changed.json()["role"], changed.json()["agency_code"]) == ("agency", "PLN-UP3-MJK")
    assert await status_with(console_server, token) == 401  # a role change ends the sessions
    # And back to operator: the agency goes with it.
    await row.locator('button[data-action="edit"]').click()
    await dialog.locator('select[name="role"]').select_option("operator")
    await expect(agency).to_be_hidden()
    await dialog.locator('[data-action="save_role"]').click()
    await expect(row.locator("td.role")).to_have_text("Operator")
    await expect(row.locator("td.agency")).to_have_text("–")


async def test_the_last_active_admin_can_be_neither_disabled_nor_demoted(
    page: Page, page_log: PageLog, console_server: Server
) -> None:
    page_log.allow(r"status of 409")
    admin_headers = await console_server.headers("admin")
    # The demo admin must be the only active one: disable the admins other tests made.
    admins = await console_server.api.get("/v1/users", headers=admin_headers,
                                          params={"role": "admin", "active": "true"})
    for other in admins.json()["items"]:
        if other["username"] != "admin":
            answer = await console_server.api.patch(f"/v1/users/{other['id']}",
                                                    json={"active": False}, headers=admin_headers)
            assert answer.status_code == 200, answer.text
    [admin] = [u for u in admins.json()["items"] if u["username"] == "admin"]
    await open_admin_page(page, console_server)
    row = await user_row(page, admin["id"])
    await row.locator('button[data-action="disable"]').click()
    message = page.locator("#admin-message")
    await expect(message).to_have_attribute("data-kind", "error")
    await expect(message).to_have_text(re.compile(r"^Ditolak: .*last active admin"))
    await expect(row).to_have_attribute("data-active", "true")
    await row.locator('button[data-action="edit"]').click()
    dialog = page.locator("#edit-dialog")
    await dialog.locator('select[name="role"]').select_option("supervisor")
    await dialog.locator('[data-action="save_role"]').click()
    await expect(dialog.locator("#edit-message")).to_have_text(
        re.compile(r"^Ditolak: .*last active admin"))
    await dialog.locator('[data-action="cancel"]').click()
    await expect(row.locator("td.role")).to_have_text("Admin")
    still = await console_server.api.get(f"/v1/users/{admin['id']}", headers=admin_headers)
    assert still.json()["active"] is True and still.json()["role"] == "admin"


async def test_the_page_in_english(page: Page, console_server: Server) -> None:
    await open_admin_page(page, console_server, lang="en")
    await expect(page.locator("#users-title")).to_have_text("User accounts")
    await expect(page.locator('[data-action="create"]')).to_have_text("Create user")
    await expect(page.locator('#users-body button[data-action="disable"]').first).to_have_text(
        "Disable")
    await expect(page.locator(".shell .nav-link[aria-current='page']")).to_have_text("Users")


@pytest.mark.parametrize(("username", "landing"), [
    ("operator", "/console/operator"),
    ("supervisor", "/console/supervisor"),
    ("pln-up3-mjk", "/console/agency"),
])
async def test_other_roles_are_sent_to_their_own_page(
    page: Page, console_server: Server, username: str, landing: str
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await open_as(page, console_server, username, "/console/admin")
    await page.wait_for_url(re.compile(re.escape(landing) + "$"))
    assert not [url for url in requests if "/v1/users" in url], requests
    # Their header has no link to the users' page (an admin's has).
    await expect(page.locator('.shell .nav-link[data-nav="password"]')).to_be_visible()
    await expect(page.locator('.shell .nav-link[data-nav="admin"]')).to_have_count(0)


async def test_without_a_token_the_page_is_the_login_page(page: Page) -> None:
    await page.goto("/console/admin")
    await page.wait_for_url(re.compile(r"/console/$"))


async def test_an_admin_reaches_the_users_page_from_the_board(
    page: Page, console_server: Server
) -> None:
    await open_as(page, console_server, "admin", "/console/supervisor")
    link = page.locator('.shell .nav-link[data-nav="admin"]')
    await expect(link).to_have_text("Pengguna")
    await expect(page.locator('.shell .nav-link[data-nav="supervisor"]')).to_have_attribute(
        "aria-current", "page")
    await link.click()
    await page.wait_for_url(re.compile(r"/console/admin$"))
    await expect(page.locator("#users-body tr").first).to_be_visible()
    await expect(page.locator(".shell .page-title")).to_have_text("Pengguna")
