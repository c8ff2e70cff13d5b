"""Siaga112 performance harness (issues 6 and 8): one command, one JSON document.

    python -m bench.harness [--quick] [--soak-s N] [--out bench/results/NAME.json]
                            [--workers 2] [--phases intake,e2e,...] [--profile]

Creates a scratch database (siaga112_bench_<random>: postgis, pg_trgm, migrations, the
demo region), starts the service as separate processes (`python -m dispatch.cli serve
--workers N`), drives it from separate processes (multiprocessing, spawn: the driver's and
the subscribers' CPU never share the server's event loop), and measures, each beside its
limit measured in the same run:

* intake: POST /v1/calls with a category, closed loop at saturation (calls/s) and open loop
  at half that rate (p50/p99); beside `bench/bare_insert.py` (asyncpg INSERT … RETURNING
  on a table as wide as calls, the service's connection count) and `bench/bare_api.py`
  (FastAPI + uvicorn doing that insert, served the same way); for all three, the cores
  each role used (`cpu_cores`: the CPU one request costs where);
* e2e: 201 received by the driver → the assignment frame received by the agency's
  subscriber (time.time_ns on both sides, one machine), 100 calls/s of realistic traffic
  (30 % prank/ghost) with 500 subscribers spread over the 16 demo agency feeds and the
  supervisors' /v1/feed; beside `bench/bare_broadcast.py` replaying the same frames (same
  groups, same sizes, same clients);
* fan-out: a burst of calls to 1,000 subscribers of /v1/feed (every subscriber gets every
  frame): frames delivered per second, beside the bare broadcast of as many frames;
* surge: 10× the steady rate for 60 s (open loop, 64 requests in flight): every 201 must be
  in the database and in every feed it belongs to; how long the backlog takes to drain;
* soak: the service restarted, warmed up, then steady traffic for --soak-s seconds (default
  60; 600 is the full soak): RSS of each worker at start and end.

Settings for the service under test: DISPATCH_LOG_LEVEL=WARNING; the per-token rate limit
raised (the driver is one token standing for many consoles); acknowledgement time-outs of a
day (no escalation storm from earlier phases leaks into later ones). `--quick` runs every
part for a few seconds with few subscribers (≈ 3 min); the default run takes ≈ 15–25 min.
Progress goes to stderr; the JSON document to stdout (and to --out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.profile_shares import collapsed_stacks

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret-key-" + "k" * 32
PROJECT_PACKAGES = {"api", "dispatch", "geo", "agencies"}
PHASES = ("bare_insert", "bare_api", "intake", "e2e", "fanout", "surge", "soak")
TARGETS = {"intake_vs_bare_insert": 0.40, "e2e_p99_ms": 50.0, "fanout_vs_bare": 0.50,
           "rss_growth": 0.10}
SERVICE_ENV = {
    "DISPATCH_LOG_LEVEL": "WARNING",
    "DISPATCH_RATE_LIMIT_PER_S": "1000000",
    "DISPATCH_RATE_LIMIT_BURST": "1000000",
    "DISPATCH_ACK_TIMEOUT_S": "86400,86400,86400,86400",
}


def log(message: str) -> None:
    print(f"[harness {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_async(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


@dataclass(frozen=True)
class Plan:
    """How long and how big each part is."""

    bare_insert_s: float
    intake_s: float
    intake_concurrency: int
    warmup_s: float
    steady_rate: float
    e2e_s: float
    e2e_subscribers: int
    fanout_subscribers: int
    fanout_calls: int
    surge_s: float
    surge_subscribers_per_feed: int
    surge_drain_cap_s: float
    soak_subscribers: int
    soak_s: float


FULL = Plan(bare_insert_s=20, intake_s=30, intake_concurrency=48, warmup_s=5, steady_rate=100,
            e2e_s=60, e2e_subscribers=500, fanout_subscribers=1000, fanout_calls=150,
            surge_s=60, surge_subscribers_per_feed=2, surge_drain_cap_s=420,
            soak_subscribers=100, soak_s=60)
QUICK = Plan(bare_insert_s=3, intake_s=4, intake_concurrency=32, warmup_s=2, steady_rate=100,
             e2e_s=5, e2e_subscribers=50, fanout_subscribers=100, fanout_calls=20,
             surge_s=2, surge_subscribers_per_feed=1, surge_drain_cap_s=60,
             soak_subscribers=20, soak_s=10)


# --- processes: servers (subprocess) and clients (multiprocessing, spawn) -----------------------


def raise_nofile() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return 0


def http_post_form(url: str, form: dict[str, str], timeout: float = 10.0) -> dict[str, Any]:
    from urllib.parse import urlencode

    request = urllib.request.Request(url, data=urlencode(form).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def proc_children(pid: int) -> list[int]:
    children: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    with contextlib.suppress(OSError):
        for task in task_dir.iterdir():
            with contextlib.suppress(OSError):
                children += [int(c) for c in (task / "children").read_text().split()]
    return children


def rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    return ""


class Server:
    """A server process group started here; stopped (TERM, then KILL) by its group id."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], port: int,
                 log_dir: Path) -> None:
        self.name = name
        self.port = port
        self.log_path = log_dir / f"{name}-{port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(list(argv), env=env, cwd=REPO, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: "
                                   f"{self.log_tail()}")
            if http_get(self.base_url + path) == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout_s} s: {self.log_tail()}")

    def workers(self) -> list[int]:
        """The worker processes (the main process itself when it has no children)."""
        children = [p for p in proc_children(self.proc.pid)
                    if "resource_tracker" not in cmdline(p)]
        return children or [self.proc.pid]

    def rss(self) -> dict[str, int | None]:
        return {str(pid): rss_kib(pid) for pid in self.workers()}

    def log_tail(self, size: int = 1500) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_bytes()[-size:].decode(errors="replace")
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


CTX = multiprocessing.get_context("spawn")


class Child:
    """A client process (driver, subscribers, producer) with a pipe to talk to it."""

    def __init__(self, kind: str, spec: dict[str, Any]) -> None:
        self.kind = kind
        self.pipe, child_end = CTX.Pipe()
        self.proc = CTX.Process(target=child_main, args=(child_end, kind, spec), daemon=True,
                                name=f"bench-{kind}")
        self.proc.start()
        child_end.close()

    def recv(self, timeout_s: float) -> tuple[str, Any]:
        if not self.pipe.poll(timeout_s):
            raise TimeoutError(f"{self.kind} process silent for {timeout_s} s")
        message = self.pipe.recv()
        if message[0] == "error":
            raise RuntimeError(f"{self.kind} process failed: {message[1]}")
        return message

    def ask(self, message: tuple[Any, ...], timeout_s: float = 30.0) -> Any:
        self.pipe.send(message)
        return self.recv(timeout_s)[1]

    def finish(self) -> None:
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.pipe.close()


def child_main(pipe: Any, kind: str, spec: dict[str, Any]) -> None:
    """Entry point of every client process."""
    raise_nofile()
    try:
        if kind == "driver":
            run_async(_drive(pipe, spec))
        elif kind == "subscribers":
            run_async(_subscribe(pipe, spec))
        elif kind == "hold":
            run_async(_hold(pipe, spec))
        elif kind == "pgwaits":
            pipe.send(("result", run_async(_pg_waits(spec))))
        elif kind == "producer":
            from bench.bare_broadcast import produce

            pipe.send(("result", run_async(produce(spec["url"], spec["schedule"],
                                                   spec["size"]))))
        else:
            raise ValueError(kind)
    except Exception as exc:  # reported to the parent, which records it
        with contextlib.suppress(Exception):
            pipe.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


# --- database helpers run as client processes ----------------------------------------------------

_HOLD = """
    WITH tx AS MATERIALIZED (SELECT pg_current_xact_id()::text::bigint AS txid)
    INSERT INTO events (type, actor, entity, entity_id, txid)
    SELECT 'bench.hold', 'bench', 'bench', 'hold', tx.txid FROM tx
    RETURNING seq
"""


async def _hold(pipe: Any, spec: dict[str, Any]) -> None:
    """Take one seq of the event log in an open transaction: the feed hubs deliver nothing
    after it (they keep seq order) until it is rolled back on `release`. That queues a
    whole burst of events, then lets it go at once: a pure fan-out measurement."""
    import asyncpg

    conn = await asyncpg.connect(spec["dsn"])
    try:
        transaction = conn.transaction()
        await transaction.start()
        seq = await conn.fetchval(_HOLD)
        pipe.send(("held", seq))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipe.poll, spec.get("max_s", 600))
        released = time.time_ns()
        await transaction.rollback()
        pipe.send(("released", released))
    finally:
        await conn.close()


async def _pg_waits(spec: dict[str, Any]) -> dict[str, Any]:
    """What the database's active backends wait on, sampled every 100 ms."""
    import asyncpg

    conn = await asyncpg.connect(spec["dsn"])
    waits: Counter[str] = Counter()
    samples = 0
    stop = time.monotonic() + spec["duration_s"]
    try:
        while time.monotonic() < stop:
            rows = await conn.fetch(
                """SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w,
                          left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q
                   FROM pg_stat_activity
                   WHERE datname = current_database() AND state = 'active'
                     AND pid <> pg_backend_pid() AND backend_type = 'client backend'""")
            samples += 1
            for row in rows:
                key = row["w"]
                if key.startswith(("Lock", "LWLock")):
                    key += " | " + row["q"]
                waits[key] += 1
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return {"samples": samples,
            "mean_active_backends": round(sum(waits.values()) / samples, 2) if samples else 0,
            "top": [(k, round(n / samples, 2)) for k, n in waits.most_common(12)]}


class PgWaits:
    def __init__(self, ctx: Context, duration_s: float) -> None:
        self.child = Child("pgwaits", {"dsn": ctx.db_url, "duration_s": duration_s})
        self.duration_s = duration_s

    def collect(self) -> dict[str, Any] | None:
        try:
            return self.child.recv(self.duration_s + 30)[1]
        except (TimeoutError, RuntimeError) as exc:
            return {"error": str(exc)}
        finally:
            self.child.finish()


class CpuShares:
    """Cores used by each role while it runs: the service's processes, PostgreSQL, this
    harness's client processes (driver, subscribers), and the rest of the machine, sampled
    from /proc every 0.5 s (a process that ends between samples loses at most 0.5 s)."""

    def __init__(self, service: Server | None) -> None:
        self._group = service.proc.pid if service is not None else None
        self._first: dict[int, tuple[str, int]] = {}
        self._last: dict[int, int] = {}
        self._started = time.monotonic()
        self._busy_start = self._machine()
        self._sample(baseline=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="cpu-shares")
        self._thread.start()

    @staticmethod
    def _machine() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def _role(self, pid: int, name: str, ppid: int, pgrp: int) -> str:
        me = os.getpid()
        if pid == me:
            return "harness"
        if pgrp == self._group:
            return "service"
        if name == "postgres":
            return "postgresql"
        return "clients" if ppid == me else "other"

    def _sample(self, baseline: bool = False) -> None:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            pid = int(stat.parent.name)
            fields = text[text.rindex(")") + 2:].split()
            ticks = int(fields[11]) + int(fields[12])
            if pid not in self._first:  # born during the window: counted from zero
                name = text[text.index("(") + 1:text.rindex(")")]
                role = self._role(pid, name, int(fields[1]), int(fields[2]))
                self._first[pid] = (role, ticks if baseline else 0)
            self._last[pid] = ticks

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self._sample()
        elapsed = time.monotonic() - self._started
        ticks = Counter[str]()
        for pid, (role, first) in self._first.items():
            ticks[role] += self._last[pid] - first
        hz = os.sysconf("SC_CLK_TCK")
        busy, total = (b - a for a, b in zip(self._busy_start, self._machine(), strict=True))
        cores = {role: round(n / hz / elapsed, 2) for role, n in sorted(ticks.items())}
        cores["machine_busy"] = round(busy / max(total, 1) * (os.cpu_count() or 1), 2)
        return cores


# --- the driver process ---------------------------------------------------------------------------


async def _drive(pipe: Any, spec: dict[str, Any]) -> None:
    from bench.http_client import HttpClient
    from dispatch.tools.simulate.client import login
    from dispatch.tools.simulate.driver import Driver
    from dispatch.tools.simulate.traffic import generate_calls

    concurrency = spec.get("concurrency", 0)
    client = HttpClient(spec["base_url"],
                        max_connections=max(concurrency, spec.get("max_in_flight", 64)) + 8,
                        timeout_s=spec.get("timeout_s", 30.0))
    tokens = ["unused"]
    if spec.get("login", True):
        tokens = [await login(client, "operator", "operator-demo-112")]
    records: list[tuple[Any, ...]] = []
    last_done = [0]

    def hook(plan: Any, outcome: Any) -> None:
        last_done[0] = max(last_done[0], outcome.done_ns)
        if outcome.kind != "call" or outcome.status != 201 or not isinstance(outcome.body,
                                                                               dict):
            return
        incident = outcome.body.get("incident") or None
        assignments = incident.get("assignments") or [] if incident else []
        codes = tuple(sorted({a["agency"]["code"] for a in assignments}))
        records.append((outcome.body.get("id"), incident["id"] if incident else None,
                        outcome.done_ns, outcome.sent_ns, codes, len(assignments)))

    driver = Driver(client, tokens, seed=spec["seed"], on_outcome=hook,
                    close_pranks=spec.get("close_pranks", True))
    plans = generate_calls(spec["seed"], prank_share=spec.get("prank_share", 0.0))
    offset_ns = time.time_ns() - time.monotonic_ns()
    try:
        if spec["mode"] == "closed":
            await driver.closed_loop(plans, concurrency=concurrency,
                                     duration_s=spec["duration_s"])
        else:
            await driver.open_loop(plans, rate=spec["rate"], duration_s=spec["duration_s"],
                                   max_in_flight=spec.get("max_in_flight", 64),
                                   give_up_after_s=spec.get("give_up_after_s"))
    finally:
        await client.close()
    stats = driver.stats

    def wall(mono: float | None) -> int | None:
        return None if mono is None else int(mono * 1e9) + offset_ns

    pipe.send(("result", {
        "summary": stats.summary(), "records": records, "started_ns": wall(stats.started),
        "sending_ended_ns": wall(stats.sending_ended), "ended_ns": wall(stats.ended),
        "last_response_ns": last_done[0],
    }))


def drive(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    child = Child("driver", spec)
    try:
        return child.recv(timeout_s)[1]
    finally:
        child.finish()


# --- the subscriber processes ---------------------------------------------------------------------


async def _subscribe(pipe: Any, spec: dict[str, Any]) -> None:
    """Open every target, report ready, then answer `status` / `stop` from the parent."""
    import orjson
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

    from bench.bare_broadcast import BareSink, bare_client

    mode = spec["mode"]
    targets: list[tuple[str, str]] = spec["targets"]
    compression = None if spec.get("no_compression") else "deflate"
    deadline = time.monotonic() + spec["max_s"]
    opening = asyncio.Semaphore(spec.get("connect_concurrency", 50))
    stopping = asyncio.Event()
    connected: list[Any] = []
    failed = Counter[str]()
    ready = [0]
    sink = BareSink()
    state = {"records": 0, "frames": 0, "bytes": 0, "first_ns": None, "last_ns": 0}
    per_conn: list[dict[str, Any]] = []

    async def feed(index: int, group: str, url: str) -> None:
        record: dict[str, Any] = {"group": group, "seen": {}, "frames": 0, "closes": Counter(),
                                  "reconnects": 0, "last_seq": None}
        per_conn.append(record)
        first = True
        for _attempt in range(30):
            if stopping.is_set():
                return
            since = record["last_seq"]
            target = url if since is None else f"{url}&since={since}"
            try:
                async with opening:
                    ws = await connect(target, open_timeout=30, ping_interval=None,
                                       max_size=1 << 22, close_timeout=2,
                                       compression=compression)
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                failed[type(exc).__name__] += 1
                if first:
                    ready[0] += 1
                    first = False
                await asyncio.sleep(0.5)
                continue
            connected.append(ws)
            if first:
                ready[0] += 1
                first = False
            else:
                record["reconnects"] += 1
            seen = record["seen"]
            try:
                async for text in ws:
                    now = time.time_ns()
                    frame = orjson.loads(text)
                    record["frames"] += 1
                    state["frames"] += 1
                    state["bytes"] += len(text)
                    if state["first_ns"] is None:
                        state["first_ns"] = now
                    state["last_ns"] = now
                    if "seq" in frame:
                        record["last_seq"] = frame["seq"]
                    incident = frame.get("incident")
                    if frame.get("type") == "assignment.created" and incident:
                        key = incident["id"]
                        if key not in seen:
                            seen[key] = now
                            state["records"] += 1
            except ConnectionClosed:
                pass
            code = ws.close_code
            if stopping.is_set():
                return
            record["closes"][str(code)] += 1
            await asyncio.sleep(0.2)

    async def bare(url: str) -> None:
        try:
            await bare_client(url, sink, connected, compression=compression)
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            failed[type(exc).__name__] += 1

    tasks = []
    for index, (group, url) in enumerate(targets):
        if mode == "feed":
            tasks.append(asyncio.create_task(feed(index, group, url)))
        else:
            tasks.append(asyncio.create_task(bare(url)))
    while time.monotonic() < deadline:
        # feed: every connection made its first attempt; bare: connected or failed for good
        opened = len(connected) + sum(failed.values()) if mode == "bare" else ready[0]
        if opened >= len(targets):
            break
        await asyncio.sleep(0.05)
    pipe.send(("ready", {"connected": len(connected), "failed": dict(failed)}))
    loop = asyncio.get_running_loop()
    while time.monotonic() < deadline:
        if not await loop.run_in_executor(None, pipe.poll, 0.5):
            continue
        message = pipe.recv()
        if message[0] == "status":
            frames = sink.frames if mode == "bare" else state["frames"]
            pipe.send(("status", {"records": state["records"], "frames": frames,
                                  "last_ns": max(state["last_ns"], sink.last_ns)}))
        elif message[0] == "stop":
            break
    stopping.set()
    await asyncio.gather(*(_close(ws) for ws in connected), return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if mode == "bare":
        result: dict[str, Any] = sink.result()
    else:
        result = {"conns": [{**r, "closes": dict(r["closes"])} for r in per_conn],
                  "frames": state["frames"], "bytes": state["bytes"],
                  "first_ns": state["first_ns"], "last_ns": state["last_ns"]}
    result["failed"] = dict(failed)
    pipe.send(("result", result))


async def _close(ws: Any) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(3):
            await ws.close()


class Subscribers:
    """Subscriber connections spread over `processes` client processes."""

    def __init__(self, mode: str, targets: Sequence[tuple[str, str]], *, processes: int,
                 max_s: float, no_compression: bool = False) -> None:
        processes = max(1, min(processes, len(targets)))
        self.count = len(targets)
        self.children = [Child("subscribers", {
            "mode": mode, "targets": list(targets[i::processes]), "max_s": max_s,
            "no_compression": no_compression}) for i in range(processes)]

    def wait_ready(self, timeout_s: float = 180.0) -> dict[str, Any]:
        connected, failed = 0, Counter[str]()
        for child in self.children:
            info = child.recv(timeout_s)[1]
            connected += info["connected"]
            failed.update(info["failed"])
        return {"connected": connected, "failed": dict(failed)}

    def status(self) -> dict[str, int]:
        total = {"records": 0, "frames": 0, "last_ns": 0}
        for child in self.children:
            info = child.ask(("status",))
            total["records"] += info["records"]
            total["frames"] += info["frames"]
            total["last_ns"] = max(total["last_ns"], info["last_ns"])
        return total

    def wait_for(self, key: str, expected: int, *, stall_s: float, max_s: float
                 ) -> dict[str, int]:
        """Until `key` reaches `expected`, or stops growing for `stall_s`, or `max_s`."""
        deadline = time.monotonic() + max_s
        best, best_at = -1, time.monotonic()
        status = self.status()
        while time.monotonic() < deadline:
            status = self.status()
            if status[key] >= expected:
                break
            if status[key] > best:
                best, best_at = status[key], time.monotonic()
            elif time.monotonic() - best_at > stall_s:
                break
            time.sleep(0.25)
        return status

    def stop(self) -> list[dict[str, Any]]:
        results = []
        for child in self.children:
            try:
                results.append(child.ask(("stop",), timeout_s=60))
            finally:
                child.finish()
        return results

    def abort(self) -> None:
        for child in self.children:
            child.finish()


# --- the database ---------------------------------------------------------------------------------


async def create_database(admin_url: str) -> tuple[str, str]:
    from dispatch.core import databases
    from dispatch.tools import migrate
    from dispatch.tools.demo import load_demo_into

    name = f"siaga112_bench_{secrets.token_hex(4)}"
    url = await databases.create_database(admin_url, name)
    await migrate.upgrade_async(databases.sqlalchemy_url(url))
    await load_demo_into(databases.sqlalchemy_url(url))
    return name, url


async def drop_database(admin_url: str, name: str) -> None:
    from dispatch.core import databases

    await databases.drop_database(admin_url, name)


async def count_present(url: str, table: str, ids: Sequence[str]) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE id = ANY($1::uuid[])", list(ids)))
    finally:
        await conn.close()


async def server_facts(url: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return {name: await conn.fetchval(f"SHOW {name}") for name in
                ("server_version", "synchronous_commit", "fsync", "max_connections",
                 "shared_buffers")}
    finally:
        await conn.close()


# --- measurements ---------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float | None:
    from dispatch.tools.simulate.report import percentile

    value = percentile(values, q)
    return None if value is None else round(value, 2)


def demo_agency_codes() -> list[str]:
    data = json.loads((REPO / "dispatch" / "tools" / "demo_data" / "agencies.geojson").read_text())
    return [f["properties"]["code"] for f in data["features"]]


def feed_targets(base_url: str, count: int, *, spread: bool) -> list[tuple[str, str]]:
    """`count` feed URLs: round-robin over the 16 agency feeds and /v1/feed (spread), or
    all on /v1/feed."""
    ws = base_url.replace("http://", "ws://")
    tokens: dict[str, str] = {}

    def token(username: str) -> str:
        if username not in tokens:
            tokens[username] = http_post_form(
                base_url + "/auth/token",
                {"username": username, "password": f"{username}-demo-112"})["access_token"]
        return tokens[username]

    feeds = [*demo_agency_codes(), "*"] if spread else ["*"]
    targets = []
    for i in range(count):
        code = feeds[i % len(feeds)]
        if code == "*":
            targets.append(("*", f"{ws}/v1/feed?token={token('supervisor')}"))
        else:
            targets.append((code, f"{ws}/v1/agencies/{code}/feed?token={token(code.lower())}"))
    return targets


def expected_records(records: Sequence[tuple[Any, ...]], groups: Counter[str]) -> int:
    """Keyed feed records (first assignment.created per subscriber and incident) due."""
    total = 0
    for _call, incident, _acc, _sent, codes, _n in records:
        if incident:
            total += groups["*"] + sum(groups[c] for c in codes)
    return total


def join_feed_latencies(records: Sequence[tuple[Any, ...]], results: Sequence[dict[str, Any]]
                        ) -> dict[str, Any]:
    """201 → frame for each (subscriber, incident) due; lost ones counted."""
    accepted = {r[1]: r for r in records if r[1]}
    agency_ms: list[float] = []
    agency_sent_ms: list[float] = []
    supervisor_ms: list[float] = []
    due = lost = 0
    closes: Counter[str] = Counter()
    reconnects = 0
    for result in results:
        for conn in result["conns"]:
            group, seen = conn["group"], conn["seen"]
            closes.update(conn["closes"])
            reconnects += conn["reconnects"]
            for incident, (_call, _i, accepted_ns, sent_ns, codes, _n) in accepted.items():
                if group != "*" and group not in codes:
                    continue
                due += 1
                arrival = seen.get(incident)
                if arrival is None:
                    lost += 1
                    continue
                if group == "*":
                    supervisor_ms.append((arrival - accepted_ns) / 1e6)
                else:
                    agency_ms.append((arrival - accepted_ns) / 1e6)
                    agency_sent_ms.append((arrival - sent_ns) / 1e6)
    frames = sum(r["frames"] for r in results)
    return {
        "incidents": len(accepted), "deliveries_due": due, "deliveries_lost": lost,
        "agency_accepted_to_frame_p50_ms": pct(agency_ms, 50),
        "agency_accepted_to_frame_p99_ms": pct(agency_ms, 99),
        "agency_accepted_to_frame_max_ms": round(max(agency_ms), 2) if agency_ms else None,
        "agency_sent_to_frame_p50_ms": pct(agency_sent_ms, 50),
        "agency_sent_to_frame_p99_ms": pct(agency_sent_ms, 99),
        "supervisor_accepted_to_frame_p50_ms": pct(supervisor_ms, 50),
        "supervisor_accepted_to_frame_p99_ms": pct(supervisor_ms, 99),
        "frames": frames,
        "mean_frame_bytes": round(sum(r["bytes"] for r in results) / frames, 1) if frames else 0,
        "closes": dict(closes), "reconnects": reconnects,
    }


@dataclass
class Context:
    args: argparse.Namespace
    plan: Plan
    admin_url: str
    db_url: str
    log_dir: Path
    workers: int
    pool_per_worker: int
    service: Server | None = None
    started: list[dict[str, Any]] = field(default_factory=list)

    def service_env(self) -> dict[str, str]:
        env = {**os.environ, **SERVICE_ENV, "DATABASE_URL": self.db_url,
               "DISPATCH_SECRET_KEY": SECRET, "PYTHONUNBUFFERED": "1"}
        env.pop("DISPATCH_DEMO_MODE", None)
        return env

    def start_service(self) -> Server:
        """Migrate to the code's head first (the code may have moved since the database was
        created: others work on the service), then start it and wait for /readyz."""
        from dispatch.core import schema
        from dispatch.core.databases import sqlalchemy_url
        from dispatch.tools import migrate

        run_async(migrate.upgrade_async(sqlalchemy_url(self.db_url)))
        self.started.append({"at": time.strftime("%H:%M:%S"),
                             "migration": schema.head_revision()})
        port = free_port()
        server = Server("service", [sys.executable, "-m", "dispatch.tools.cli", "serve",
                                    "--workers",
                                    str(self.workers), "--port", str(port)],
                        self.service_env(), port, self.log_dir)
        self.service = server
        server.wait_ready("/readyz")
        log(f"service up on :{port}, workers {server.workers()}")
        return server

    def stop_service(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def subscriber_processes(self, count: int) -> int:
        return 1 if count < 200 else 2


def phase_bare_insert(ctx: Context) -> dict[str, Any]:
    connections = ctx.workers * ctx.pool_per_worker
    cpu = CpuShares(None)  # the inserting process counts as a client
    out = subprocess.run(
        [sys.executable, "-m", "bench.bare_insert", "--dsn", ctx.db_url, "--connections",
         str(connections), "--duration", str(ctx.plan.bare_insert_s)],
        cwd=REPO, capture_output=True, text=True, timeout=ctx.plan.bare_insert_s + 120,
        check=True)
    return json.loads(out.stdout) | {"cpu_cores": cpu.stop()}


def intake_spec(base_url: str, ctx: Context, **extra: Any) -> dict[str, Any]:
    return {"base_url": base_url, "seed": ctx.args.seed, "prank_share": 0.0, **extra}


def phase_bare_api(ctx: Context) -> dict[str, Any]:
    port = free_port()
    server = Server("bare_api", [sys.executable, "-m", "bench.bare_api", "--dsn", ctx.db_url,
                                 "--port", str(port), "--workers", str(ctx.workers),
                                 "--pool", str(ctx.pool_per_worker)],
                    {**os.environ, "PYTHONUNBUFFERED": "1"}, port, ctx.log_dir)
    try:
        server.wait_ready("/healthz")
        drive(intake_spec(server.base_url, ctx, mode="open", rate=20,
                          duration_s=ctx.plan.warmup_s, login=False), 120)
        profiler = Profiler(ctx, "bare_api", ctx.plan.intake_s, server)
        cpu = CpuShares(server)
        result = drive(intake_spec(server.base_url, ctx, mode="closed",
                                   concurrency=ctx.plan.intake_concurrency,
                                   duration_s=ctx.plan.intake_s, login=False),
                       ctx.plan.intake_s + 120)
        out = {"concurrency": ctx.plan.intake_concurrency, "workers": ctx.workers,
               "pool_per_worker": ctx.pool_per_worker, **result["summary"],
               "cpu_cores": cpu.stop()}
        profile = profiler.collect()
        return out | {"profile": profile} if profile else out
    finally:
        server.stop()


def phase_intake(ctx: Context) -> dict[str, Any]:
    base = ctx.service.base_url  # type: ignore[union-attr]
    drive(intake_spec(base, ctx, mode="open", rate=20, duration_s=ctx.plan.warmup_s), 120)
    waits = PgWaits(ctx, max(1.0, ctx.plan.intake_s - 1))
    cpu = CpuShares(ctx.service)
    saturation = drive(intake_spec(base, ctx, mode="closed",
                                   concurrency=ctx.plan.intake_concurrency,
                                   duration_s=ctx.plan.intake_s), ctx.plan.intake_s + 120)
    saturation["summary"]["cpu_cores"] = cpu.stop()
    saturation["summary"]["pg_waits"] = waits.collect()
    rate = saturation["summary"]["calls_ok_per_s"] or 1.0
    half = drive(intake_spec(base, ctx, mode="open", rate=rate / 2,
                             duration_s=ctx.plan.intake_s, max_in_flight=64),
                 ctx.plan.intake_s + 120)
    return {
        "saturation": {"concurrency": ctx.plan.intake_concurrency, **saturation["summary"]},
        "half_rate": {"rate": round(rate / 2, 2), **half["summary"]},
    }


def e2e_service(ctx: Context, rate: float, subscribers: int, duration_s: float, seed: int
                ) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, Any]]:
    base = ctx.service.base_url  # type: ignore[union-attr]
    targets = feed_targets(base, subscribers, spread=True)
    groups = Counter(g for g, _ in targets)
    subs = Subscribers("feed", targets, processes=ctx.subscriber_processes(len(targets)),
                       max_s=duration_s + 900, no_compression=ctx.args.no_compression)
    try:
        ready = subs.wait_ready()
        log(f"e2e: {rate:g} calls/s, {ready['connected']} subscribers connected "
            f"({ready['failed']} failed)")
        rss_before = ctx.service.rss()  # type: ignore[union-attr]
        waits = PgWaits(ctx, duration_s)
        cpu = CpuShares(ctx.service)
        drove = drive({"base_url": base, "seed": seed, "prank_share": 0.3, "mode": "open",
                       "rate": rate, "duration_s": duration_s, "max_in_flight": 64},
                      duration_s + 600)
        cpu_cores = cpu.stop()
        expected = expected_records(drove["records"], groups)
        status = subs.wait_for("records", expected, stall_s=5, max_s=120)
        results = subs.stop()
    except BaseException:
        subs.abort()
        raise
    service = {"subscribers": ready, "rate": rate, "duration_s": duration_s,
               "prank_share": 0.3, "driver": drove["summary"],
               **join_feed_latencies(drove["records"], results),
               "records_expected": expected, "records_seen": status["records"],
               "service_rss_kib_before": rss_before, "cpu_cores": cpu_cores,
               "pg_waits": waits.collect()}
    return service, targets, drove


def phase_e2e(ctx: Context, intake: dict[str, Any] | None = None) -> dict[str, Any]:
    plan = ctx.plan
    service, targets, drove = e2e_service(ctx, plan.steady_rate, plan.e2e_subscribers,
                                          plan.e2e_s, ctx.args.seed + 1)
    groups = Counter(g for g, _ in targets)
    # The same frames (groups, sizes, times of acceptance) through the bare broadcast.
    start = min((r[2] for r in drove["records"]), default=0)
    schedule = sorted(((r[2] - start) / 1e9, code) for r in drove["records"] if r[1]
                      for code in r[4])
    bare = bare_broadcast(ctx, targets=[g for g, _ in targets], schedule=schedule,
                          size=int(service["mean_frame_bytes"] or 1500),
                          expected=sum(groups[code] + groups["*"] for _, code in schedule))
    out = {"service": service, "bare_broadcast": bare}
    saturation = ((intake or {}).get("saturation") or {}).get("calls_ok_per_s")
    driver = service["driver"]
    overloaded = ((driver["calls_ok_per_s"] or 0) < 0.95 * plan.steady_rate
                  or (driver["call_from_schedule_p99_ms"] or 0) > 1000)
    if overloaded:
        # The steady rate overloads the service here: also measure at a rate it sustains
        # (half the intake saturation, or half what it managed at the steady rate).
        rate = round((saturation or driver["calls_ok_per_s"] or 20) / 2, 1)
        out["service_at_half_saturation"], _, _ = e2e_service(
            ctx, rate, plan.e2e_subscribers, plan.e2e_s, ctx.args.seed + 6)
    return out


def bare_broadcast(ctx: Context, *, targets: Sequence[str], schedule: Sequence[tuple[float, str]],
                   size: int, expected: int) -> dict[str, Any]:
    from bench.bare_broadcast import summarize

    port = free_port()
    server = Server("bare_broadcast", [sys.executable, "-m", "bench.bare_broadcast", "serve",
                                       "--port", str(port), "--max-s", "3600"],
                    {**os.environ, "PYTHONUNBUFFERED": "1"}, port, ctx.log_dir)
    subs = None
    try:
        server.wait_ready("/healthz")
        urls = [(g, f"ws://127.0.0.1:{port}/sub/{g}") for g in targets]
        subs = Subscribers("bare", urls, processes=ctx.subscriber_processes(len(urls)),
                           max_s=900, no_compression=ctx.args.no_compression)
        ready = subs.wait_ready()
        duration = schedule[-1][0] if schedule else 0
        producer = Child("producer", {"url": f"ws://127.0.0.1:{port}/pub",
                                      "schedule": list(schedule), "size": size})
        try:
            sent = producer.recv(duration + 120)[1]
        finally:
            producer.finish()
        subs.wait_for("frames", expected, stall_s=5, max_s=120)
        results = subs.stop()
        subs = None
        summary = summarize(results, len(urls), len(schedule), expected)
        return {"clients_connected": ready, "size": size, **summary,
                "producer_s": round((sent["last_sent_ns"] - sent["first_sent_ns"]) / 1e9, 3)}
    finally:
        if subs is not None:
            subs.abort()
        server.stop()


def phase_fanout(ctx: Context) -> dict[str, Any]:
    plan = ctx.plan
    base = ctx.service.base_url  # type: ignore[union-attr]
    targets = feed_targets(base, plan.fanout_subscribers, spread=False)
    subs = Subscribers("feed", targets, processes=ctx.subscriber_processes(len(targets)),
                       max_s=900, no_compression=ctx.args.no_compression)
    try:
        ready = subs.wait_ready()
        log(f"fan-out: {ready['connected']} subscribers connected; holding the feeds")
        hold = Child("hold", {"dsn": ctx.db_url, "max_s": 600})
        try:
            held_seq = hold.recv(30)[1]
            drove = drive({"base_url": base, "seed": ctx.args.seed + 2, "prank_share": 0.0,
                           "mode": "open", "rate": 1000.0,
                           "duration_s": plan.fanout_calls / 1000.0, "max_in_flight": 32},
                          300)
            held_frames = subs.status()["frames"]
            hold.pipe.send(("release",))
            released_ns = hold.recv(30)[1]
        finally:
            hold.finish()
        events = sum(r[5] for r in drove["records"])
        expected_frames = events * ready["connected"]
        subs.wait_for("frames", expected_frames, stall_s=10, max_s=300)
        results = subs.stop()
    except BaseException:
        subs.abort()
        raise
    frames = sum(r["frames"] for r in results)
    first = min((r["first_ns"] for r in results if r["first_ns"]), default=0)
    last = max((r["last_ns"] for r in results), default=0)
    window = (last - first) / 1e9 if first else 0
    closes: Counter[str] = Counter()
    for result in results:
        for conn in result["conns"]:
            closes.update(conn["closes"])
    size = int(sum(r["bytes"] for r in results) / frames) if frames else 1500
    service = {
        "subscribers": ready, "calls": len(drove["records"]), "events": events,
        "frames_expected": expected_frames, "frames": frames,
        "delivery_window_s": round(window, 3),
        "frames_per_s": round(frames / window, 1) if window else None,
        "release_to_last_frame_s": round((last - released_ns) / 1e9, 3),
        "frames_before_release": held_frames, "held_seq": held_seq,
        "mean_frame_bytes": size, "closes": dict(closes), "driver": drove["summary"],
    }
    bare = bare_broadcast(ctx, targets=["*"] * ready["connected"],
                          schedule=[(0.0, "")] * max(events, 1), size=size,
                          expected=max(events, 1) * ready["connected"])
    return {"service": service, "bare_broadcast": bare}


def phase_surge(ctx: Context) -> dict[str, Any]:
    plan = ctx.plan
    base = ctx.service.base_url  # type: ignore[union-attr]
    count = plan.surge_subscribers_per_feed * 17
    targets = feed_targets(base, count, spread=True)
    groups = Counter(g for g, _ in targets)
    rate = plan.steady_rate * 10
    subs = Subscribers("feed", targets, processes=1, max_s=plan.surge_s +
                       plan.surge_drain_cap_s + 900, no_compression=ctx.args.no_compression)
    try:
        ready = subs.wait_ready()
        log(f"surge: {rate:g} calls/s for {plan.surge_s} s, {ready['connected']} subscribers")
        drove = drive({"base_url": base, "seed": ctx.args.seed + 3, "prank_share": 0.3,
                       "mode": "open", "rate": rate, "duration_s": plan.surge_s,
                       "max_in_flight": 64,
                       "give_up_after_s": plan.surge_s + plan.surge_drain_cap_s},
                      plan.surge_s + plan.surge_drain_cap_s + 300)
        expected = expected_records(drove["records"], groups)
        status = subs.wait_for("records", expected, stall_s=15, max_s=300)
        results = subs.stop()
    except BaseException:
        subs.abort()
        raise
    records = drove["records"]
    call_ids = [r[0] for r in records]
    incident_ids = [r[1] for r in records if r[1]]
    in_db_calls = run_async(count_present(ctx.db_url, "calls", call_ids))
    in_db_incidents = run_async(count_present(ctx.db_url, "incidents", incident_ids))
    feeds = join_feed_latencies(records, results)
    scheduled_end = drove["started_ns"] + int(plan.surge_s * 1e9)
    summary = drove["summary"]
    return {
        "rate": rate, "duration_s": plan.surge_s, "subscribers": ready, "driver": summary,
        "calls_201": len(call_ids), "calls_in_db": in_db_calls,
        "incidents": len(incident_ids), "incidents_in_db": in_db_incidents,
        "feed_deliveries_due": feeds["deliveries_due"],
        "feed_deliveries_lost": feeds["deliveries_lost"],
        "feed_closes": feeds["closes"], "feed_reconnects": feeds["reconnects"],
        "records_seen": status["records"],
        "nothing_lost": (in_db_calls == len(call_ids) and in_db_incidents == len(incident_ids)
                         and feeds["deliveries_lost"] == 0),
        "offered_calls": summary["scheduled"], "unsent_at_cap": summary["unsent"],
        "drained": summary["unsent"] == 0,
        "backlog_drain_s_after_surge": round((drove["last_response_ns"] - scheduled_end) / 1e9,
                                             2),
        "feeds_drain_s_after_surge": round((status["last_ns"] - scheduled_end) / 1e9, 2),
        "call_p99_ms_send_to_201": summary["call_p99_ms"],
        "call_p99_ms_schedule_to_201": summary["call_from_schedule_p99_ms"],
        "feed_accepted_to_frame_p50_ms": feeds["agency_accepted_to_frame_p50_ms"],
        "feed_accepted_to_frame_p99_ms": feeds["agency_accepted_to_frame_p99_ms"],
    }


def phase_soak(ctx: Context) -> dict[str, Any]:
    plan = ctx.plan
    soak_s = ctx.args.soak_s if ctx.args.soak_s is not None else plan.soak_s
    ctx.stop_service()
    server = ctx.start_service()
    targets = feed_targets(server.base_url, plan.soak_subscribers, spread=True)
    subs = Subscribers("feed", targets, processes=1, max_s=soak_s + 900,
                       no_compression=ctx.args.no_compression)
    samples: list[dict[str, Any]] = []
    try:
        ready = subs.wait_ready()
        drive({"base_url": server.base_url, "seed": ctx.args.seed + 4, "prank_share": 0.3,
               "mode": "open", "rate": plan.steady_rate, "duration_s": max(plan.warmup_s, 5)},
              300)
        start = server.rss()
        log(f"soak: {soak_s} s at {plan.steady_rate:g} calls/s; RSS at start {start}")
        child = Child("driver", {"base_url": server.base_url, "seed": ctx.args.seed + 5,
                                 "prank_share": 0.3, "mode": "open", "rate": plan.steady_rate,
                                 "duration_s": soak_s, "max_in_flight": 64})
        began = time.monotonic()
        try:
            while True:
                if child.pipe.poll(min(10.0, max(1.0, soak_s / 20))):
                    drove = child.recv(1)[1]
                    break
                samples.append({"t_s": round(time.monotonic() - began, 1), **server.rss()})
                if time.monotonic() - began > soak_s + 300:
                    raise TimeoutError("soak driver did not finish")
        finally:
            child.finish()
        subs.wait_for("records", 1 << 60, stall_s=3, max_s=30)
        end = server.rss()
        subs.stop()
    except BaseException:
        subs.abort()
        raise
    growth = {pid: round(end[pid] / start[pid] - 1, 4) for pid in start
              if start[pid] and end.get(pid)}
    return {"soak_s": soak_s, "rate": plan.steady_rate, "subscribers": ready,
            "rss_kib_start": start, "rss_kib_end": end, "rss_growth": growth,
            "rss_growth_max": max(growth.values()) if growth else None,
            "samples": samples, "driver": drove["summary"]}


# --- profiling (optional) -------------------------------------------------------------------------


class Profiler:
    """py-spy record (raw collapsed stacks) on every worker of `server` (default: the
    service) for `duration_s`."""

    def __init__(self, ctx: Context, name: str, duration_s: float,
                 server: Server | None = None) -> None:
        self.procs: list[tuple[int, Path, subprocess.Popen[bytes]]] = []
        spy = Path(sys.executable).with_name("py-spy")
        server = server or ctx.service
        if not ctx.args.profile or not spy.exists() or server is None:
            return
        for pid in server.workers():
            out = ctx.log_dir / f"profile-{name}-{pid}.txt"
            self.procs.append((pid, out, subprocess.Popen(
                [str(spy), "record", "--pid", str(pid), "--duration", str(int(duration_s)),
                 "--rate", "200", "--format", "raw", "--nonblocking", "--output", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))

    def collect(self, top: int = 15) -> dict[str, Any] | None:
        if not self.procs:
            return None
        report: dict[str, Any] = {}
        for pid, out, proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait(10)
            report[str(pid)] = summarize_collapsed(out, top) | {"file": str(out)}
        return report


def summarize_collapsed(path: Path, top: int) -> dict[str, Any]:
    """Self and inclusive sample shares per frame from py-spy's collapsed stacks, plus the
    inclusive shares of the project's own frames (not the venv, not the stdlib)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    project: Counter[str] = Counter()
    total = 0
    with contextlib.suppress(OSError):
        for stack, count in collapsed_stacks(path):
            frames = []
            mine = set()
            for function, file in stack:
                name = f"{function} {file.rsplit('/', 1)[-1]}"
                frames.append(name)
                if file.removeprefix(str(REPO) + "/").split("/", 1)[0] in PROJECT_PACKAGES:
                    mine.add(f"{function} {file.removeprefix(str(REPO) + '/')}")
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
            for frame in mine:
                project[frame] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(n / total, 3)) for f, n in counter.most_common(top)] if total else []

    return {"samples": total, "self": share(own), "inclusive": share(inclusive),
            "project_inclusive": share(project)}


# --- the run --------------------------------------------------------------------------------------


def targets_report(results: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    intake = results.get("intake", {})
    bare_insert = results.get("bare_insert", {}).get("inserts_per_s")
    sat = intake.get("saturation", {}).get("calls_ok_per_s")
    if sat and bare_insert:
        ratio = sat / bare_insert
        report["intake_vs_bare_insert"] = {"ratio": round(ratio, 4), "target": ">= 0.40",
                                           "met": ratio >= TARGETS["intake_vs_bare_insert"]}
    bare_api = results.get("bare_api", {}).get("calls_ok_per_s")
    if sat and bare_api:
        report["intake_vs_bare_api"] = {"ratio": round(sat / bare_api, 4), "target": None}
    e2e = results.get("e2e", {}).get("service", {})
    p99 = e2e.get("agency_accepted_to_frame_p99_ms")
    if p99 is not None:
        bare_p99 = results["e2e"].get("bare_broadcast", {}).get("latency_p99_ms")
        report["e2e_p99_ms"] = {"value": p99, "bare_broadcast_p99_ms": bare_p99,
                                "target": "<= 50", "met": p99 <= TARGETS["e2e_p99_ms"]}
    fan = results.get("fanout", {})
    service_rate = fan.get("service", {}).get("frames_per_s")
    bare_rate = fan.get("bare_broadcast", {}).get("frames_per_s")
    if service_rate and bare_rate:
        ratio = service_rate / bare_rate
        report["fanout_vs_bare"] = {"ratio": round(ratio, 4), "target": ">= 0.50",
                                    "met": ratio >= TARGETS["fanout_vs_bare"]}
    growth = results.get("soak", {}).get("rss_growth_max")
    if growth is not None:
        report["rss_growth"] = {"value": growth, "target": "<= 0.10",
                                "met": growth <= TARGETS["rss_growth"]}
    surge = results.get("surge")
    if surge:
        report["surge_nothing_lost"] = {"met": bool(surge.get("nothing_lost"))}
        report["surge_backlog_drained"] = {
            "met": bool(surge.get("drained")), "unsent_at_cap": surge.get("unsent_at_cap"),
            "drain_s_after_surge": surge.get("backlog_drain_s_after_surge")}
    return report


def run(args: argparse.Namespace) -> dict[str, Any]:
    from dispatch.core.settings import Settings

    plan = QUICK if args.quick else FULL
    phases = [p.strip() for p in args.phases.split(",")] if args.phases else list(PHASES)
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise SystemExit(f"unknown phases: {sorted(unknown)}; known: {PHASES}")
    nofile = raise_nofile()
    pool = Settings.model_fields["db_pool_size"].default + \
        Settings.model_fields["db_max_overflow"].default
    log_dir = Path(args.log_dir or Path(tempfile.gettempdir()) / "siaga112-bench")
    log_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"meta": {
        "command": " ".join(sys.argv), "quick": args.quick, "workers": args.workers,
        "pool_per_worker": pool, "plan": plan.__dict__ | {"soak_s": args.soak_s or plan.soak_s},
        "phases": phases, "seed": args.seed, "nofile": nofile, "cpus": os.cpu_count(),
        "python": platform.python_version(), "machine": platform.platform(),
        "compression": "none" if args.no_compression else "permessage-deflate (both)",
        "service_env": SERVICE_ENV, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }, "errors": {}}
    began = time.monotonic()
    log("creating the scratch database (migrations, demo region)")
    name, url = run_async(create_database(args.admin_url))
    ctx = Context(args, plan, args.admin_url, url, log_dir, args.workers, pool)
    results["meta"]["database"] = name
    try:
        results["meta"]["postgres"] = run_async(server_facts(url))

        def phase(key: str, body: Callable[[Context], dict[str, Any]]) -> None:
            if key not in phases:
                return
            log(f"phase {key}")
            started = time.monotonic()
            try:
                results[key] = body(ctx)
            except Exception as exc:
                results["errors"][key] = f"{type(exc).__name__}: {exc}"
                log(f"phase {key} failed: {exc}")
                if ctx.service is not None and ctx.service.proc.poll() is not None:
                    ctx.service = None
            results.setdefault("phase_s", {})[key] = round(time.monotonic() - started, 1)
            log(f"phase {key} done in {results['phase_s'][key]} s: "
                f"{json.dumps(results.get(key), default=str)[:600]}")

        phase("bare_insert", phase_bare_insert)
        phase("bare_api", phase_bare_api)
        if any(p in phases for p in ("intake", "e2e", "fanout", "surge")):
            ctx.start_service()

        def profiled(key: str, body: Callable[[Context], dict[str, Any]], span: float
                     ) -> Callable[[Context], dict[str, Any]]:
            def wrapped(c: Context) -> dict[str, Any]:
                profiler = Profiler(c, key, span)
                out = body(c)
                profile = profiler.collect()
                if profile:
                    out["profile"] = profile
                return out
            return wrapped

        phase("intake", profiled("intake", phase_intake, plan.warmup_s + plan.intake_s + 1))
        phase("e2e", profiled("e2e", lambda c: phase_e2e(c, results.get("intake")),
                              plan.e2e_s + 20))
        phase("fanout", profiled("fanout", phase_fanout, 40 if not args.quick else 12))
        phase("surge", phase_surge)
        phase("soak", phase_soak)
    finally:
        if ctx.service is not None:
            results["meta"]["service_log_tail"] = ctx.service.log_tail(800)
        ctx.stop_service()
        if args.keep_db:
            log(f"kept database {name}")
        else:
            with contextlib.suppress(Exception):
                run_async(drop_database(args.admin_url, name))
    results["meta"]["service_starts"] = ctx.started
    results["targets"] = targets_report(results)
    results["meta"]["total_s"] = round(time.monotonic() - began, 1)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every part short (≈ 3 min)")
    parser.add_argument("--soak-s", type=float, default=None,
                        help="soak duration (default 60 s, 10 s with --quick; 600: full)")
    parser.add_argument("--out", type=Path, help="also write the JSON document here")
    parser.add_argument("--workers", type=int, default=2, help="service worker processes")
    parser.add_argument("--phases", help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--seed", type=int, default=112)
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL",
                                                              DEFAULT_ADMIN_URL),
                        help="a role that may create databases and extensions")
    parser.add_argument("--no-compression", action="store_true",
                        help="clients do not offer permessage-deflate")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the workers of the bare API and of the service during "
                        "intake, e2e and fan-out (needs .venv/bin/py-spy)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--log-dir", help="server logs and profiles (default: "
                        "$TMPDIR/siaga112-bench)")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 16:
        parser.error("--workers 1..16")
    if args.soak_s is not None and not 1 <= args.soak_s <= 7200:
        parser.error("--soak-s 1..7200")
    results = run(args)
    text = json.dumps(results, indent=2, default=str)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text, flush=True)


if __name__ == "__main__":
    main()
