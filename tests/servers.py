"""Real `dispatch serve` processes for the tests that need what only a server process
shows: its log output, several processes sharing one database, memory of its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import free_port, make_settings


@dataclass(frozen=True)
class Served:
    process: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def dispatch_serve(
    database_url: str, log_path: Path, *, env: dict[str, str] | None = None,
    workers: int = 1,
) -> AsyncIterator[Served]:
    """`dispatch serve` on a free port, stdout and stderr to `log_path`, ready (/readyz 200)
    when entered; stopped with SIGTERM (then SIGKILL) on exit."""
    port = free_port()
    full_env = {**os.environ, "DATABASE_URL": database_url,
                "DISPATCH_SECRET_KEY": make_settings(database_url).secret_key or "",
                **(env or {})}
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dispatch.tools.cli", "serve", "--port", str(port),
            "--workers", str(workers), env=full_env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(process, port, log_path)
    try:
        await _wait_ready(served)
        yield served
    finally:
        await _stop(process)


async def _wait_ready(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base_url, timeout=2) as client:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            if served.process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    raise RuntimeError(f"dispatch serve did not start: {served.log()[-2000:]}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 15)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


@contextlib.asynccontextmanager
async def serve_pair(
    make_database: Callable[..., Awaitable[str]], log_dir: Path, *,
    env: dict[str, str] | None = None, first_env: dict[str, str] | None = None,
) -> AsyncIterator[tuple[Served, Served]]:
    """Two `dispatch serve` processes on one new database with the demo region, as two
    hosts behind a load balancer would be (`first_env` adds to the first one's `env`).
    On exit, after both stopped, neither log may hold a traceback."""
    from tests.support import load_demo_into

    database_url = await make_database(migrated=True)
    await load_demo_into(database_url)
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(dispatch_serve(
            database_url, log_dir / "a.log", env={**(env or {}), **(first_env or {})}))
        second = await stack.enter_async_context(dispatch_serve(
            database_url, log_dir / "b.log", env=env))
        yield first, second
    for served in (first, second):
        assert "Traceback" not in served.log(), served.log()[-3000:]
