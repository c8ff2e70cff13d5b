"""`dispatch warnings import FILE`: a CAP 1.2 warning (BMKG's nowcast) from a file, with
the same checks as `POST /v1/warnings`; the actor recorded is `cli:<login name>`.
Registered in dispatch/tools/cli.py."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.errors import DomainError
from dispatch.core.settings import SettingsError, load_settings
from dispatch.interop.cap_xml import MAX_CAP_BYTES
from dispatch.interop.hazards import receive_warning

warnings_app = typer.Typer(help="Hazard warnings (CAP 1.2) received.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(code)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except OSError:
        return "cli"


@warnings_app.command("import")
def import_warning(path: Path) -> None:
    """Store one CAP 1.2 warning from FILE (as POST /v1/warnings would)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CAP_BYTES + 1)
    except OSError as exc:
        _fail(str(exc))
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(f"configuration: {exc}", 2)

    async def run() -> dict[str, Any]:
        engine = make_engine(settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await receive_warning(session, data, actor=_actor())
        finally:
            await engine.dispose()

    try:
        view = asyncio.run(run())
    except DomainError as exc:
        _fail(exc.detail)
    names = ", ".join(f"{a['name']} ({a['code']})" for a in view["areas"]) or "none"
    console.print(f"warning [bold]{view['identifier']}[/] of {view['sender']} stored; "
                  f"areas of the region: {names}")
