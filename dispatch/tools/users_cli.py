"""`dispatch users create|list|disable|enable|set-password`: accounts from the terminal.

The same rules and audit events as the users API (dispatch/accounts/); the actor recorded
is `cli:<login name of whoever ran it>`. Registered in dispatch/tools/cli.py."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.accounts import changes, users
from dispatch.tools.cli_support import cli_actor, console, in_transaction

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def create(
    name: str,
    role: Annotated[str, typer.Option(help="gateway, operator, supervisor, agency or admin")],
    agency: Annotated[str | None, typer.Option(help="agency code (agency role only)")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user account."""
    password = _password(password_stdin)

    async def work(session: AsyncSession) -> str:
        user = await users.create_user(session, name, role=role, password=password,
                                       agency_code=agency, actor=cli_actor())
        return f"created {user.role} account [bold]{user.username}[/]"

    console.print(in_transaction(work))


@users_app.command("list")
def list_accounts(
    role: Annotated[str | None, typer.Option(help="only this role")] = None,
    agency: Annotated[str | None, typer.Option(help="only this agency's accounts")] = None,
) -> None:
    """Every account: name, role, agency, active, last log-in."""
    async def work(session: AsyncSession) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        cursor = None
        while True:
            page = await users.list_users(session, role=role, agency=agency, limit=500,
                                          cursor=cursor)
            rows.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return rows

    table = Table()
    for heading in ("username", "role", "agency", "active", "last log-in"):
        table.add_column(heading)
    for row in in_transaction(work):
        last = row["last_login_at"]
        table.add_row(str(row["username"]), str(row["role"]), str(row["agency_code"] or "–"),
                      "yes" if row["active"] else "no",
                      "–" if last is None else f"{last:%Y-%m-%d %H:%M %Z}")
    console.print(table)


def _set_active(name: str, active: bool) -> None:
    async def work(session: AsyncSession) -> str:
        user = await users.find_user_by_name(session, name)
        await changes.update_user(session, user.id, changes.AccountPatch(active=active),
                                  actor=cli_actor())
        return f"{'enabled' if active else 'disabled'} [bold]{name}[/]"

    console.print(in_transaction(work))


@users_app.command("disable")
def disable(name: str) -> None:
    """Disable an account: its tokens stop working within a second, everywhere."""
    _set_active(name, False)


@users_app.command("enable")
def enable(name: str) -> None:
    """Enable a disabled account again (it logs in anew)."""
    _set_active(name, True)


@users_app.command("set-password")
def set_password(name: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password (lifts a failed-log-in lock; revokes the account's tokens)."""
    password = _password(password_stdin)

    async def work(session: AsyncSession) -> str:
        user = await users.find_user_by_name(session, name)
        await changes.reset_password(session, user.id, password, actor=cli_actor())
        return f"new password set for [bold]{name}[/]"

    console.print(in_transaction(work))
