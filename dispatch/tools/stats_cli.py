"""`dispatch stats [--date D] [--shift NAME] [--json]`: shift statistics in the terminal.

Registered in dispatch/tools/cli.py with `app.add_typer(stats_app, name="stats")`; the figures
and their definitions are dispatch/stats/figures.py's, the same the API serves.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.errors import DomainError
from dispatch.core.settings import Settings, SettingsError, load_settings
from dispatch.stats import figures as stats

stats_app = typer.Typer(help="Supervisor statistics per shift.")
MIN_WIDTH = 100
AGENCY_HEADINGS = ("assigned", "acked", "completed", "unacked", "escalated", "median ack s",
                   "p90 ack s", "units on scene", "median to scene s",
                   "p90 to scene s")  # stats.AGENCY_FIELDS, in that order


def _none(value: object) -> str:
    return "–" if value is None else str(value)


def _tables(figures: dict[str, Any]) -> list[Table]:
    shift = figures["shift"]
    calls = figures["calls"]
    start, end = (datetime.fromisoformat(shift[k]) for k in ("start", "end"))
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    heading = f"{shift['name']} {shift['date']}, {start:%H:%M} – {until}"

    times = figures["times"]
    summary = Table(title=f"Shift {heading}")
    summary.add_column("figure", style="bold")
    summary.add_column("value", justify="right")
    summary.add_row("calls", str(calls["total"]))
    for disposition, n in calls["by_disposition"].items():
        summary.add_row(f"  {disposition}", str(n))
    summary.add_row("prank ratio (prank + ghost)", f"{calls['prank_ratio']:.4f}")
    summary.add_row("incidents", str(figures["incidents"]["total"]))
    summary.add_row("  merged into another (not counted)", str(figures["incidents"]["merged"]))
    summary.add_row("median call → dispatch s", _none(times["median_call_to_dispatch_s"]))
    summary.add_row("p90 call → dispatch s", _none(times["p90_call_to_dispatch_s"]))

    incidents = Table(title="Incidents")
    incidents.add_column("by", style="bold")
    incidents.add_column("value")
    incidents.add_column("incidents", justify="right")
    for category, n in figures["incidents"]["by_category"].items():
        incidents.add_row("category", category, str(n))
    for priority, n in figures["incidents"]["by_priority"].items():
        incidents.add_row("priority", priority, str(n))

    agencies = Table(title="Agencies (assignments created in the shift; status counts live)")
    agencies.add_column("agency", style="bold")
    for heading_text in AGENCY_HEADINGS:
        agencies.add_column(heading_text, justify="right")
    for code, row in figures["agencies"].items():
        agencies.add_row(code, *(_none(row.get(f)) for f in stats.AGENCY_FIELDS))

    operators = Table(title="Operators")
    operators.add_column("operator", style="bold")
    operators.add_column("calls", justify="right")
    operators.add_column("incidents", justify="right")
    for username, row in figures["operators"].items():
        operators.add_row(username, str(row["calls"]), str(row["incidents"]))
    return [summary, incidents, agencies, operators]


async def _collect(settings: Settings, day: date, names: list[str]) -> list[dict[str, Any]]:
    engine = make_engine(settings)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return [await stats.shift_figures(session, settings, day, n) for n in names]
    finally:
        await engine.dispose()


@stats_app.callback(invoke_without_command=True)
def show(
    day: Annotated[str | None, typer.Option(
        "--date", help="local date YYYY-MM-DD (default: the date the current shift began)",
    )] = None,
    shift: Annotated[str | None, typer.Option(
        "--shift", help="shift name (default: the current shift, or all shifts with --date)",
    )] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """Shift statistics: calls, prank ratio, incidents, agency acknowledgement times.

    Without options: the current shift. --date alone: every shift of that date.
    --shift alone: that shift of the current operational date (the night shift belongs to
    the date it starts on, so at 02:00 that is yesterday)."""
    out = Console()
    if not out.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
        out = Console(width=max(out.width, MIN_WIDTH))
    errors = Console(stderr=True)
    try:
        settings = load_settings()
    except SettingsError as exc:
        errors.print(f"[bold red]Configuration error:[/] {exc}")
        raise typer.Exit(2) from None
    current_day, current_name = stats.current_shift(settings)
    if day is None:
        chosen = current_day
    else:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            errors.print(f"[bold red]Error:[/] --date {day!r} is not a date like 2031-01-15")
            raise typer.Exit(2) from None
    every_shift = day is not None and shift is None
    names = stats.shift_names(settings) if every_shift else [shift or current_name]
    try:
        figures = asyncio.run(_collect(settings, chosen, names))
    except DomainError as exc:
        errors.print(f"[bold red]Error:[/] {exc.detail}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(figures if every_shift else figures[0], indent=2))
        return
    for one in figures:
        for table in _tables(one):
            out.print(table)
