"""Accounts through the HTTP API: the users endpoints, password rules, own password change,
log-out, revocation in one process, the last-admin rule and the audit events.

Every test makes accounts of its own (`_new_user`); the demo accounts other tests log in
with are never changed (the last-admin cells only try, and are refused)."""

from __future__ import annotations

import itertools
import os
import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import login

_numbers = itertools.count(1)
RUN = uuid.uuid4().hex[:6]
MENTIKAN = {"lat": -7.47, "lon": 112.43}  # crime here → POLSEK-PRAJURITKULON
AGENCY_A = "POLSEK-PRAJURITKULON"
AGENCY_B = "DAMKAR-MJK"


@pytest.fixture(scope="module")
async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    return await login(client, "admin")


async def _new_user(client: httpx.AsyncClient, admin: dict[str, str], role: str = "operator",
                    agency_code: str | None = None) -> dict[str, Any]:
    """A fresh account, with its password and a logged-in header."""
    name = f"acct-{RUN}-{next(_numbers)}"
    password = f"{name}-secret"
    body: dict[str, Any] = {"username": name, "role": role, "password": password}
    if agency_code is not None:
        body["agency_code"] = agency_code
    response = await client.post("/v1/users", headers=admin, json=body)
    assert response.status_code == 201, response.text
    user = response.json()
    return {**user, "password": password,
            "headers": await login(client, name, password)}


async def _token_status(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await client.get("/v1/categories", headers=headers)).status_code


async def test_create_read_and_list_users(client: httpx.AsyncClient, admin: dict) -> None:
    user = await _new_user(client, admin, role="agency", agency_code=AGENCY_A)
    assert set(user) - {"password", "headers"} == {
        "id", "username", "role", "agency_code", "active", "created_at", "last_login_at"}
    assert (user["role"], user["agency_code"], user["active"]) == ("agency", AGENCY_A, True)
    assert user["last_login_at"] is None  # read before the log-in
    read = (await client.get(f"/v1/users/{user['id']}", headers=admin)).json()
    assert read["username"] == user["username"]
    assert read["last_login_at"] is not None  # _new_user logged in
    assert "password" not in str(read) and "$argon2" not in str(read)

    page = (await client.get("/v1/users", headers=admin,
                             params={"role": "agency", "agency": AGENCY_A})).json()
    assert user["username"] in [u["username"] for u in page["items"]]
    assert {u["agency_code"] for u in page["items"]} == {AGENCY_A}

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/users", headers=admin, params=params)).json()
        assert len(page["items"]) <= 2
        seen.extend(u["username"] for u in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everyone = (await client.get("/v1/users", headers=admin, params={"limit": 500})).json()
    assert seen == [u["username"] for u in everyone["items"]] == sorted(seen)
    assert len(seen) == len(set(seen))

    bad = await client.get("/v1/users", headers=admin, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"role": "operator", "password": "short-pw"}, 422, "at least 10 characters"),
    ({"role": "operator", "password": "{name}"}, 422, "must not be the username"),
    ({"role": "agency", "password": "long-enough-pw"}, 422, "needs agency_code"),
    ({"role": "operator", "agency_code": AGENCY_A, "password": "long-enough-pw"}, 422,
     "only an agency account"),
    ({"role": "agency", "agency_code": "NO-SUCH", "password": "long-enough-pw"}, 422,
     "no agency with code NO-SUCH"),
    ({"role": "emperor", "password": "long-enough-pw"}, 422, "role"),
    ({"role": "operator", "password": "long-enough-pw", "colour": "red"}, 422, "colour"),
])
async def test_create_refuses_what_breaks_a_rule(
    client: httpx.AsyncClient, admin: dict, body: dict, status: int, words: str
) -> None:
    name = f"bad-{RUN}-{next(_numbers)}"
    body = {k: (v.format(name=name) if isinstance(v, str) else v) for k, v in body.items()}
    response = await client.post("/v1/users", headers=admin, json={"username": name, **body})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.text
    names = [u["username"] for u in (await client.get(
        "/v1/users", headers=admin, params={"limit": 500})).json()["items"]]
    assert name not in names


async def test_a_taken_username_is_409(client: httpx.AsyncClient, admin: dict) -> None:
    user = await _new_user(client, admin)
    again = await client.post("/v1/users", headers=admin, json={
        "username": user["username"], "role": "operator", "password": "another-pass-1"})
    assert again.status_code == 409
    assert (await _token_status(client, user["headers"])) == 200


async def test_role_change_revokes_and_the_new_token_has_the_new_role(
    client: httpx.AsyncClient, admin: dict
) -> None:
    user = await _new_user(client, admin, role="operator")
    assert (await client.get("/v1/stats/shifts/current",
                             headers=user["headers"])).status_code == 403
    changed = await client.patch(f"/v1/users/{user['id']}", headers=admin,
                                 json={"role": "supervisor"})
    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["agency_code"]) == ("supervisor", None)
    assert (await _token_status(client, user["headers"])) == 401
    again = await login(client, user["username"], user["password"])
    assert (await client.get("/v1/stats/shifts/current", headers=again)).status_code == 200


async def test_agency_change_holds_from_the_very_next_request(
    client: httpx.AsyncClient, admin: dict, operator: dict
) -> None:
    user = await _new_user(client, admin, role="agency", agency_code=AGENCY_A)
    queue = await client.get(f"/v1/agencies/{AGENCY_A}/queue", headers=user["headers"])
    assert queue.status_code == 200
    changed = await client.patch(f"/v1/users/{user['id']}", headers=admin,
                                 json={"agency_code": AGENCY_B})
    assert changed.json()["agency_code"] == AGENCY_B
    stale = await client.get(f"/v1/agencies/{AGENCY_A}/queue", headers=user["headers"])
    assert stale.status_code == 401
    moved = await login(client, user["username"], user["password"])
    assert (await client.get(f"/v1/agencies/{AGENCY_A}/queue",
                             headers=moved)).status_code == 404
    assert (await client.get(f"/v1/agencies/{AGENCY_B}/queue",
                             headers=moved)).status_code == 200
    to_operator = await client.patch(f"/v1/users/{user['id']}", headers=admin,
                                     json={"role": "operator"})
    assert (to_operator.json()["role"], to_operator.json()["agency_code"]) == ("operator", None)
    assert (await client.patch(f"/v1/users/{user['id']}", headers=admin,
                               json={"role": "agency"})).status_code == 422


async def test_disable_and_enable(client: httpx.AsyncClient, admin: dict) -> None:
    user = await _new_user(client, admin)
    disabled = await client.patch(f"/v1/users/{user['id']}", headers=admin,
                                  json={"active": False})
    assert disabled.json()["active"] is False
    assert (await _token_status(client, user["headers"])) == 401
    refused = await client.post("/auth/token", data={"username": user["username"],
                                                     "password": user["password"]})
    assert refused.status_code == 401
    inactive = (await client.get("/v1/users", headers=admin,
                                 params={"active": "false", "limit": 500})).json()
    assert user["username"] in [u["username"] for u in inactive["items"]]
    await client.patch(f"/v1/users/{user['id']}", headers=admin, json={"active": True})
    assert (await _token_status(client, user["headers"])) == 401  # old tokens stay revoked
    assert (await _token_status(client, await login(client, user["username"],
                                                    user["password"]))) == 200


async def test_admin_reset(client: httpx.AsyncClient, admin: dict) -> None:
    user = await _new_user(client, admin)
    for _ in range(5):  # locks the account
        await client.post("/auth/token", data={"username": user["username"],
                                               "password": "wrong-password"})
    short = await client.post(f"/v1/users/{user['id']}/password", headers=admin,
                              json={"password": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    reset = await client.post(f"/v1/users/{user['id']}/password", headers=admin,
                              json={"password": "brand-new-password"})
    assert reset.status_code == 204
    assert (await _token_status(client, user["headers"])) == 401
    old = await client.post("/auth/token", data={"username": user["username"],
                                                 "password": user["password"]})
    assert old.status_code == 401
    assert (await _token_status(client, await login(client, user["username"],
                                                    "brand-new-password"))) == 200
    missing = await client.post(f"/v1/users/{uuid.uuid4()}/password", headers=admin,
                                json={"password": "brand-new-password"})
    assert missing.status_code == 404


async def test_own_password_change(client: httpx.AsyncClient, admin: dict) -> None:
    user = await _new_user(client, admin, role="supervisor")
    headers = user["headers"]
    wrong = await client.post("/auth/password", headers=headers, json={
        "current_password": "not-my-password", "new_password": "a-new-password-1"})
    assert wrong.status_code == 401
    weak = await client.post("/auth/password", headers=headers, json={
        "current_password": user["password"], "new_password": user["username"]})
    assert weak.status_code == 422 and "must not be the username" in weak.text
    assert (await _token_status(client, headers)) == 200  # refused changes revoke nothing
    changed = await client.post("/auth/password", headers=headers, json={
        "current_password": user["password"], "new_password": "a-new-password-1"})
    assert changed.status_code == 200
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert (await _token_status(client, headers)) == 401
    assert (await _token_status(client, fresh)) == 200
    old = await client.post("/auth/token", data={"username": user["username"],
                                                 "password": user["password"]})
    assert old.status_code == 401
    assert (await client.post("/auth/password", json={
        "current_password": "x", "new_password": "y" * 12})).status_code == 401


async def test_guessing_the_current_password_locks_the_account(
    client: httpx.AsyncClient, admin: dict
) -> None:
    """A stolen token must not let its holder guess the password: wrong current passwords
    count as failed log-ins (five lock the account), and the count survives the 401."""
    user = await _new_user(client, admin)
    for _ in range(5):
        wrong = await client.post("/auth/password", headers=user["headers"], json={
            "current_password": "a-wrong-guess", "new_password": "taken-over-1234"})
        assert wrong.status_code == 401
    # The guess that locked the account revoked its tokens: the thief's too.
    locked = await client.post("/auth/password", headers=user["headers"], json={
        "current_password": user["password"], "new_password": "taken-over-1234"})
    assert locked.status_code == 401 and "revoked" in locked.json()["detail"]
    refused = await client.post("/auth/token", data={"username": user["username"],
                                                     "password": user["password"]})
    assert refused.status_code == 401 and "locked" in refused.json()["detail"]
    wrong_too = await client.post("/auth/token", data={"username": user["username"],
                                                       "password": "another-guess"})
    assert wrong_too.json()["detail"] == "wrong username or password"  # the lock not named
    reset = await client.post(f"/v1/users/{user['id']}/password", headers=admin,
                              json={"password": "after-the-lock-1"})
    assert reset.status_code == 204  # an admin reset lifts the lock
    assert (await _token_status(client, await login(client, user["username"],
                                                    "after-the-lock-1"))) == 200


async def test_logout_revokes_every_token_issued_before(
    client: httpx.AsyncClient, admin: dict
) -> None:
    user = await _new_user(client, admin)
    second = await login(client, user["username"], user["password"])
    out = await client.post("/auth/logout", headers=user["headers"])
    assert out.status_code == 204
    assert (await _token_status(client, user["headers"])) == 401
    assert (await _token_status(client, second)) == 401
    assert (await client.post("/auth/logout", headers=user["headers"])).status_code == 401
    assert (await _token_status(client, await login(client, user["username"],
                                                    user["password"]))) == 200


async def _only_the_demo_admin_active(client: httpx.AsyncClient, admin: dict) -> list[dict]:
    """Disable the admins other tests made (test_authz_matrix's, when it ran first), so that
    the demo admin is the last active one; returns the active admins then."""
    params = {"role": "admin", "active": "true"}
    for other in (await client.get("/v1/users", headers=admin, params=params)).json()["items"]:
        if other["username"] != "admin":
            disabled = await client.patch(f"/v1/users/{other['id']}", headers=admin,
                                          json={"active": False})
            assert disabled.status_code == 200, disabled.text
    return list((await client.get("/v1/users", headers=admin, params=params)).json()["items"])


async def test_the_last_active_admin_stays(client: httpx.AsyncClient, admin: dict) -> None:
    admins = await _only_the_demo_admin_active(client, admin)
    assert [a["username"] for a in admins] == ["admin"]
    me = admins[0]["id"]
    for change in ({"active": False}, {"role": "operator"}):
        refused = await client.patch(f"/v1/users/{me}", headers=admin, json=change)
        assert refused.status_code == 409, refused.text
        assert "last active admin" in refused.json()["detail"]
    assert (await _token_status(client, admin)) == 200
    other = await _new_user(client, admin, role="admin")
    assert (await client.patch(f"/v1/users/{other['id']}", headers=admin,
                               json={"active": False})).status_code == 200


async def test_every_change_is_audited_without_secrets(
    client: httpx.AsyncClient, admin: dict, engine: AsyncEngine
) -> None:
    user = await _new_user(client, admin, role="agency", agency_code=AGENCY_A)
    url = f"/v1/users/{user['id']}"
    await client.patch(url, headers=admin, json={"agency_code": AGENCY_B})
    await client.patch(url, headers=admin, json={"role": "operator"})
    await client.patch(url, headers=admin, json={"active": False})
    await client.patch(url, headers=admin, json={"active": True})
    await client.post(f"{url}/password", headers=admin, json={"password": "reset-password-1"})
    own = await login(client, user["username"], "reset-password-1")
    changed = await client.post("/auth/password", headers=own, json={
        "current_password": "reset-password-1", "new_password": "changed-password-1"})
    await client.post("/auth/logout", headers={
        "Authorization": f"Bearer {changed.json()['access_token']}"})
    async with engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT type, actor, before::text AS before, after::text AS after FROM events"
            " WHERE entity = 'user' AND entity_id = :id ORDER BY seq"),
            {"id": user["id"]})).all()
        stored_hash = (await connection.execute(text(
            "SELECT password_hash FROM users WHERE id = :id"), {"id": user["id"]})).scalar()
    assert [(r.type, r.actor) for r in rows] == [
        ("user.created", "admin"), ("user.agency_changed", "admin"),
        ("user.role_changed", "admin"), ("user.disabled", "admin"), ("user.enabled", "admin"),
        ("user.password_reset", "admin"), ("user.password_changed", user["username"]),
        ("user.logged_out", user["username"])]
    generations = [int(r.after.split('"token_generation": ')[1].split("}")[0].split(",")[0])
                   for r in rows]
    assert generations == [0, 1, 2, 3, 3, 4, 5, 6]
    for row in rows:
        for secret in ("password", "$argon2", stored_hash, user["password"],
                       "reset-password-1", "changed-password-1"):
            assert secret not in f"{row.before}{row.after}"


def test_users_cli(database_url: str) -> None:
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": database_url}
    name = f"cli-{RUN}"

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dispatch.tools.cli", "users", *args],
                              env=env, input=stdin, capture_output=True, text=True,
                              timeout=60, check=False)

    assert cli("create", name, "--role", "operator", "--password-stdin",
               stdin="short\n").returncode == 1
    made = cli("create", name, "--role", "operator", "--password-stdin",
               stdin="cli-password-1\n")
    assert made.returncode == 0, made.stderr
    listed = cli("list", "--role", "operator")
    assert name in listed.stdout and "supervisor" not in listed.stdout
    assert cli("disable", name).returncode == 0
    assert " no " in next(line for line in cli("list").stdout.splitlines() if name in line)
    assert cli("enable", name).returncode == 0
    assert cli("set-password", name, "--password-stdin",
               stdin="cli-password-2\n").returncode == 0
    # Admins other tests made (test_authz_matrix's, when it ran first) are disabled, as in
    # _only_the_demo_admin_active: the demo admin must be the last active one.
    listed_admins = cli("list", "--role", "admin").stdout
    for other in set(re.findall(r"^\W*([\w.@+-]+)\s+\W+\s*admin\b", listed_admins, re.M)):
        if other not in ("admin", "Username", "username"):
            assert cli("disable", other).returncode == 0
    last = cli("disable", "admin")
    assert last.returncode == 1 and "last active admin" in last.stderr
    assert cli("disable", "nobody-such").returncode == 1
