"""What the `dispatch` sub-commands that change the database share: one transaction
against DATABASE_URL, errors as one red line, and who the actor is in the audit log."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.errors import DomainError
from dispatch.core.settings import SettingsError, load_settings

console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code)


def cli_actor() -> str:
    """`cli:<login name of whoever ran it>`, as the audit log names a CLI change."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except OSError:
        return "cli"


def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction against DATABASE_URL; a refused change exits 1 with
    the rule it broke, a bad configuration exits 2."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(f"configuration: {exc}", 2)

    async def run() -> T:
        engine = make_engine(settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        fail(exc.detail)
