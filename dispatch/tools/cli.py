"""The `dispatch` command line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core import schema
from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.settings import Settings, SettingsError, load_settings
from dispatch.tools import migrate
from dispatch.tools.simulate.command import simulate
from dispatch.tools.stats_cli import stats_app
from dispatch.tools.users_cli import users_app
from dispatch.tools.warnings_cli import warnings_app

if TYPE_CHECKING:
    from dispatch.tools.demo import DemoUser

app = typer.Typer(help="Siaga112: 112 emergency command center backend.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
demo_app = typer.Typer(help="The bundled demo region (Mojokerto).", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log integrity (hash chain).", no_args_is_help=True)
geo_app = typer.Typer(help="Geographic reference tables.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(geo_app, name="geo")
app.add_typer(stats_app, name="stats")
app.add_typer(warnings_app, name="warnings")
app.command("simulate")(simulate)

console = Console()
errors = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        errors.print(f"[bold red]Configuration error:[/] {exc}")
        raise typer.Exit(2) from None


def _fail(message: str) -> NoReturn:
    errors.print(f"[bold red]Error:[/] {message}")
    raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = _settings()
    migrate.upgrade(settings.database_url, revision)
    shown = schema.head_revision() if revision == "head" else revision
    console.print(f"database at migration [bold]{shown}[/]")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` removes the whole schema)."""
    settings = _settings()
    migrate.downgrade(settings.database_url, revision)
    console.print(f"database at migration [bold]{revision}[/]")


def _print_demo_users(users: Sequence[DemoUser]) -> None:
    """One plain line per account, never wider than 80 columns and never cut: an operator
    copies these passwords from a terminal. Agency accounts are named after their agency
    (the code in lower case), so the agency needs no column of its own."""
    console.print("Demo users (demo only: change or remove them before real use):")
    name_width = max(len(u.username) for u in users)
    password_width = max(len(u.password) for u in users)
    print(f"  {'username':<{name_width}}  {'password':<{password_width}}  role")
    for user in users:
        print(f"  {user.username:<{name_width}}  {user.password:<{password_width}}  {user.role}")


@demo_app.command("load")
def demo_load() -> None:
    """Load the Mojokerto areas, demo agencies, categories and demo users (idempotent)."""
    from dispatch.tools.demo import load_demo

    settings = _settings()

    async def run() -> None:
        engine = make_engine(settings)
        try:
            async with engine.connect() as connection:
                current = await schema.current_revision(connection)
            if current != schema.head_revision():
                _fail(f"the database schema is at {current or 'nothing'}: run "
                      "`dispatch db upgrade` first")
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=False,
            ) as bar:
                task = bar.add_task("loading demo region", total=None)

                def advance(step: str, count: int) -> None:
                    bar.update(task, advance=count, description=f"loading {step}")

                async with transaction(make_sessionmaker(engine)) as session:
                    result = await load_demo(
                        session, advance, on_total=lambda n: bar.update(task, total=n)
                    )
                bar.update(task, description="demo region loaded")
        finally:
            await engine.dispose()
        console.print(
            f"{result.areas} areas, {result.agencies} agencies, "
            f"{result.categories} categories, {len(result.users)} demo users, "
            f"{result.units} demo units"
        )
        _print_demo_users(result.users)

    asyncio.run(run())


def _load_table(kind: str, path: Path) -> None:
    """Read a CSV (a bad line stops everything, naming the line) and upsert it."""
    from geo.cells import load_cell_towers, read_cell_csv
    from geo.search import load_gazetteer, read_gazetteer_csv

    if kind == "cells":
        _load_rows(kind, path, read_cell_csv, load_cell_towers)
    elif kind == "gazetteer":
        _load_rows(kind, path, read_gazetteer_csv, load_gazetteer)
    else:
        raise KeyError(kind)


_Row = TypeVar("_Row")


def _load_rows(
    kind: str,
    path: Path,
    reader: Callable[[Path], list[_Row]],
    loader: Callable[[AsyncSession, list[_Row]], Awaitable[int]],
) -> None:
    try:
        rows = reader(path)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    settings = _settings()

    async def run() -> int:
        engine = make_engine(settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                return await loader(session, rows)
        finally:
            await engine.dispose()

    console.print(f"loaded {asyncio.run(run())} {kind} rows from {path}")


@geo_app.command("load-cells")
def geo_load_cells(path: Path) -> None:
    """Upsert serving cells from a CSV: mcc,mnc,lac,cid,lat,lon,radius_m."""
    _load_table("cells", path)


@geo_app.command("load-gazetteer")
def geo_load_gazetteer(path: Path) -> None:
    """Upsert landmarks and streets from a CSV: name,kind,lat,lon."""
    _load_table("gazetteer", path)


@audit_app.command("verify")
def audit_verify() -> None:
    """Seal what is final, then recompute the whole hash chain; exit 1 if it is broken."""
    from dispatch.core.audit import Sealer, verify_chain

    settings = _settings()

    async def run() -> None:
        from dispatch.core.databases import connect_any

        conn = await connect_any(settings.sync_database_url, timeout=5)
        try:
            while await Sealer().seal_pending(conn):
                pass
            result = await verify_chain(conn)
        finally:
            await conn.close()
        if not result.ok:
            _fail(f"audit chain broken at event {result.first_broken_seq}: {result.problem}")
        console.print(f"audit chain intact: {result.sealed} events sealed and verified, "
                      f"{result.unsealed_tail} newer events not sealed yet")

    asyncio.run(run())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default DISPATCH_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default DISPATCH_PORT or 8112")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes")] = None,
) -> None:
    """Serve the HTTP and WebSocket API with uvicorn."""
    import uvicorn

    from dispatch.core.logs import logging_config

    settings = _settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level.lower(),
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,  # the app's own access log carries the request id
        proxy_headers=False,  # X-Forwarded-For: only from DISPATCH_TRUSTED_PROXIES (api)
        ws_per_message_deflate=settings.ws_per_message_deflate,
        # A bigger client frame closes the socket with 1009, read no further than its header.
        ws_max_size=settings.max_body_bytes,
    )


if __name__ == "__main__":
    app()
