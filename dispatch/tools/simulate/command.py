"""The `dispatch simulate` command: log in, drive the traffic model at an open-loop rate
with a live progress bar, print the summary; exit 1 when any request failed with a 5xx or
a transport error.

Registered in the CLI with `app.command("simulate")(simulate)`; `simulate_app` runs it
alone (`python -m dispatch.tools.simulate.command --help`).
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from dispatch.tools.simulate.client import HttpxClient, TransportError, login_many
from dispatch.tools.simulate.driver import Driver
from dispatch.tools.simulate.report import DriveStats, percentile, summary_table
from dispatch.tools.simulate.traffic import generate_calls


async def run_simulation(
    base_url: str, *, rate: float, duration: float, username: str, password: str,
    prank_share: float, seed: int, max_in_flight: int, consoles: int, timeout_s: float,
    console: Console, show_progress: bool = True,
) -> DriveStats:
    """Log `consoles` operator consoles in, then post `rate × duration` calls open-loop."""
    client = HttpxClient(base_url, max_connections=max_in_flight + 4, timeout_s=timeout_s)
    try:
        tokens = await login_many(client, username, password, consoles)
        driver = Driver(client, tokens, seed=seed)
        plans = generate_calls(seed, prank_share=prank_share)
        total = max(1, round(rate * duration))
        if not show_progress:
            return await driver.open_loop(plans, rate=rate, duration_s=duration,
                                          max_in_flight=max_in_flight)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TextColumn("{task.fields[line]}"),
                      TimeElapsedColumn(), console=console, refresh_per_second=4) as bar:
            task = bar.add_task(f"{rate:g} calls/s", total=total, line="")
            run = asyncio.create_task(driver.open_loop(
                plans, rate=rate, duration_s=duration, max_in_flight=max_in_flight))
            while not run.done():
                await asyncio.wait({run}, timeout=0.25)
                st = driver.stats
                p50 = percentile(st.recent_ms, 50)
                p99 = percentile(st.recent_ms, 99)
                bad = st.done - st.count("call", ok=True) - st.count("disposition", ok=True)
                bar.update(task, completed=min(st.sent, total), line=(
                    f"in flight {st.in_flight:>3}  201 {st.count('call', ok=True)}  "
                    f"not ok {bad}  p50 {p50 or 0:.0f} ms  p99 {p99 or 0:.0f} ms"))
            return run.result()
    finally:
        await client.close()


def simulate(
    base_url: Annotated[str, typer.Option(help="the service, e.g. http://127.0.0.1:8112")] =
        "http://127.0.0.1:8112",
    rate: Annotated[float, typer.Option(min=0.01, max=10000, help="calls per second")] = 5.0,
    duration: Annotated[float, typer.Option(min=0.1, max=86400, help="seconds")] = 60.0,
    username: Annotated[str, typer.Option(help="operator account")] = "operator",
    password: Annotated[str, typer.Option(help="its password")] = "operator-demo-112",
    prank_share: Annotated[float, typer.Option(min=0, max=1,
                                               help="prank and ghost calls")] = 0.3,
    seed: Annotated[int | None, typer.Option(help="random seed (printed when omitted)")] = None,
    max_in_flight: Annotated[int, typer.Option(min=1, max=4096)] = 64,
    consoles: Annotated[int, typer.Option(
        min=0, max=32, help="operator consoles, one token each (0: one per 40 calls/s)")] = 0,
    timeout: Annotated[float, typer.Option(min=0.1, max=600, help="per request, s")] = 30.0,
    progress: Annotated[bool, typer.Option(help="live progress bar")] = True,
) -> None:
    """Post realistic 112 call traffic (category mix, pranks, repeat callers, positions
    over Mojokerto) at an open-loop RATE for DURATION seconds, then print a summary.
    Exits 1 when any request failed with a 5xx or a transport error."""
    console = Console(stderr=True)
    if seed is None:
        seed = random.SystemRandom().randrange(1 << 31)
    consoles = consoles or min(32, max(1, math.ceil(rate / 40)))
    console.print(f"simulating {rate:g} calls/s for {duration:g} s against {base_url} "
                  f"(seed {seed}, prank share {prank_share:g}, {consoles} console(s))")
    try:
        stats = asyncio.run(run_simulation(
            base_url, rate=rate, duration=duration, username=username, password=password,
            prank_share=prank_share, seed=seed, max_in_flight=max_in_flight,
            consoles=consoles, timeout_s=timeout, console=console, show_progress=progress))
    except (TransportError, ValueError) as exc:
        console.print(f"[bold red]Error:[/] {base_url}: {exc}")
        raise typer.Exit(2) from None
    Console().print(summary_table(stats, title=f"dispatch simulate (seed {seed})"))
    if stats.failed:
        raise typer.Exit(1)


simulate_app = typer.Typer(help="Realistic call traffic against a running service.")
simulate_app.callback(invoke_without_command=True)(simulate)


if __name__ == "__main__":
    simulate_app()
