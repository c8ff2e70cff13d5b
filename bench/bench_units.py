"""Unit positions under load (issue 21): 1,000 units reporting every 5 s, half through the
OsmAnd protocol (one GET per fix) and half through the JSON batch (the gateway posts a
fifth of them every second), while the intake takes calls at 50/s.

    python -m bench.bench_units [--units 1000] [--duration 60] [--warm-up 10]
                                [--calls-per-s 50] [--workers 2]

On a scratch database with the demo region and the units inserted directly, a
`dispatch serve --workers N` process group; the load comes from the harness's light HTTP
client (bench/http_client.py) in this process. The same load runs `--warm-up` seconds
before the `--duration` measured: a fresh worker's first seconds are slower (each new
database connection's backend plans every statement once and the driver introspects
its types), and they are reported apart (`warm_up`), not hidden. Reports the latency of
each kind of request (median, p99), when the requests over 50 ms were sent, what was
acknowledged against what the history holds (nothing lost: every acknowledged fix is a
row), and the recommendation query at that fleet size: its SQL alone (EXPLAIN ANALYZE
execution time) and the endpoint. The database is dropped at the end."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text

from bench.harness.common import SERVICE_ENV
from bench.harness.cpu import CpuShares, machine_times, stolen_share
from bench.harness.servers import Server, free_port
from bench.http_client import HttpClient
from dispatch.core.databases import create_database, drop_database, sqlalchemy_url
from dispatch.core.db import make_engine
from dispatch.core.settings import Settings
from dispatch.tools.demo import load_demo_into
from dispatch.tools.migrate import upgrade_async
from dispatch.tools.simulate.client import TransportError
from dispatch.units.recommendations import _NEAREST

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PERIOD_S = 5.0
KOTA = (-7.49, -7.45, 112.41, 112.45)  # lat min, lat max, lon min, lon max
FLEET = (("PSC119-MJK-KOTA", "ambulance"), ("PSC119-MJK", "ambulance"),
         ("POLRES-MJK-KOTA", "patrol"), ("POLSEK-MAGERSARI", "patrol"),
         ("DAMKAR-MJK-KOTA", "fire_engine"))


def _quantiles(samples: list[float]) -> dict[str, float | int]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return {"n": len(samples), "p50_ms": round(statistics.median(ordered) * 1e3, 2),
            "p99_ms": round(p99 * 1e3, 2), "max_ms": round(ordered[-1] * 1e3, 2)}


def _slow_by_second(slow: list[tuple[float, float]], began: float) -> dict[int, str]:
    """When the slow requests were sent (second of the run: how many, the slowest), to
    tell a warm-up or a pause from a tail spread over the run."""
    seconds: dict[int, list[float]] = {}
    for sent_at, took in slow:
        seconds.setdefault(int(sent_at - began), []).append(took)
    return {second: f"{len(took)} (max {max(took) * 1e3:.0f} ms)"
            for second, took in sorted(seconds.items())}


async def insert_units(engine: Any, count: int) -> list[tuple[str, str]]:
    """(code, device id) of `count` units spread over the fleet's agencies, at random
    places in the city."""
    rows = []
    for n in range(count):
        agency, kind = FLEET[n % len(FLEET)]
        lat, lon = random.uniform(*KOTA[:2]), random.uniform(*KOTA[2:])
        rows.append({"code": f"BENCH-{n:04d}", "name": f"Bench {n}", "agency": agency,
                     "kind": kind,
                     "device": f"bench-device-{n:06d}", "lat": lat, "lon": lon})
    async with engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO units (code, agency_code, kind, name, device_id, lat, lon,"
            " position_at, location) VALUES (:code, :agency, :kind, :name, :device, :lat,"
            " :lon, now(), ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)"), rows)
    return [(r["code"], r["device"]) for r in rows]


class Load:
    def __init__(self, client: HttpClient, operator: str, gateway: str) -> None:
        self.client = client
        self.operator = {"Authorization": f"Bearer {operator}"}
        self.gateway = {"Authorization": f"Bearer {gateway}"}
        self.latency: dict[str, list[float]] = {"osmand": [], "batch": [], "intake": []}
        self.warm_up: dict[str, list[float]] = {kind: [] for kind in self.latency}
        self.measuring = False  # requests sent before it is set count as the warm-up
        self.statuses: dict[str, dict[int, int]] = {k: {} for k in self.latency}
        self.acknowledged_fixes = 0
        self.rejected_fixes = 0
        self.incident_ids: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.slow: list[tuple[float, float]] = []  # (sent at, seconds) of those over 50 ms

    def fire(self, kind: str, coroutine: Any) -> None:
        task = asyncio.create_task(self._timed(kind, coroutine))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _timed(self, kind: str, coroutine: Any) -> None:
        started = time.perf_counter()
        latencies = self.latency if self.measuring else self.warm_up
        try:
            status = await coroutine
        except TransportError:
            status = 0
        took = time.perf_counter() - started
        latencies[kind].append(took)
        if took > 0.05:
            self.slow.append((started, took))
        self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1

    async def osmand(self, device: str) -> int:
        params = (f"id={device}&lat={random.uniform(*KOTA[:2]):.6f}"
                  f"&lon={random.uniform(*KOTA[2:]):.6f}&timestamp={time.time():.3f}"
                  "&speed=20&bearing=90&accuracy=8")
        status, body = await self.client.request("GET", f"/osmand?{params}")
        if status == 200 and orjson.loads(body)["stored"]:
            self.acknowledged_fixes += 1
        elif status == 200:  # answered, not stored (its time was refused)
            self.rejected_fixes += 1
        return status

    async def batch(self, codes: list[str]) -> int:
        at = datetime.now(UTC).isoformat()
        fixes = [{"unit_code": code, "lat": random.uniform(*KOTA[:2]),
                  "lon": random.uniform(*KOTA[2:]), "at": at, "speed_kmh": 30.0}
                 for code in codes]
        status, body = await self.client.request("POST", "/v1/units/positions",
                                                 json_body=fixes, headers=self.gateway)
        if status == 200:
            receipt = orjson.loads(body)
            self.acknowledged_fixes += receipt["accepted"]
            self.rejected_fixes += len(receipt["rejected"])
        return status

    async def intake(self, n: int) -> int:
        status, body = await self.client.request("POST", "/v1/calls", headers=self.operator,
                                                 json_body={
            "caller_number": f"+62812{n:08d}", "category": "medical",
            "location": {"lat": random.uniform(*KOTA[:2]), "lon": random.uniform(*KOTA[2:])}})
        if status == 201:
            self.incident_ids.append(orjson.loads(body)["incident"]["id"])
        return status


async def _token(client: HttpClient, username: str) -> str:
    status, body = await client.request("POST", "/auth/token", form={
        "username": username, "password": f"{username}-demo-112"})
    assert status == 200, body
    return str(orjson.loads(body)["access_token"])


def service_env(url: str) -> dict[str, str]:
    """The service's environment for a benchmark on the scratch database `url`."""
    return {**os.environ, **SERVICE_ENV, "DATABASE_URL": url,
            "DISPATCH_SECRET_KEY": secrets.token_hex(32)}


def start_service(env: dict[str, str], workers: int, name: str) -> Server:
    """`dispatch serve --workers N` on a free port, its log in /tmp/<name>, once ready."""
    port = free_port()
    logs = Path("/tmp") / name
    logs.mkdir(exist_ok=True)
    server = Server("service", [sys.executable, "-m", "dispatch.tools.cli", "serve",
                                "--port", str(port), "--workers", str(workers)],
                    env, port, logs)
    server.wait_ready("/readyz")
    return server


async def logged_in_load(client: HttpClient) -> Load:
    """The load's requests, sent as the demo operator and the demo AML gateway."""
    return Load(client, await _token(client, "operator"), await _token(client, "aml-gateway"))


async def run(units: int, duration: float, warm_up: float, calls_per_s: float,
              workers: int, admin_url: str) -> dict[str, Any]:
    name = f"siaga112_bench_units_{secrets.token_hex(4)}"
    url = sqlalchemy_url(await create_database(admin_url, name))
    engine = make_engine(Settings(database_url=url, demo_mode=True))
    server = None
    try:
        await upgrade_async(url)
        await load_demo_into(url)
        fleet = await insert_units(engine, units)
        osmand_units = fleet[: units // 2]
        batch_units = [code for code, _ in fleet[units // 2:]]
        server = start_service(service_env(url), workers, name)
        client = HttpClient(server.base_url, max_connections=128)
        load = await logged_in_load(client)

        gc.collect()  # the load's own collector pauses would count as the service's latency
        gc.freeze()
        osmand_rate = len(osmand_units) / PERIOD_S
        batch_size = max(1, round(len(batch_units) / PERIOD_S))
        started = time.monotonic()
        load_began = time.perf_counter()
        sent = {"osmand": 0, "batch": 0, "intake": 0}
        times_at_start: list[int] = []
        shares: CpuShares | None = None
        while (elapsed := time.monotonic() - started) < warm_up + duration:
            if not load.measuring and elapsed >= warm_up:
                load.measuring = True
                times_at_start = machine_times()
                shares = CpuShares(server, name)
            while sent["osmand"] < elapsed * osmand_rate:
                load.fire("osmand", load.osmand(osmand_units[sent["osmand"]
                                                             % len(osmand_units)][1]))
                sent["osmand"] += 1
            while sent["batch"] < elapsed:  # one batch per second
                first = (sent["batch"] * batch_size) % len(batch_units)
                load.fire("batch", load.batch(batch_units[first:first + batch_size]))
                sent["batch"] += 1
            while sent["intake"] < elapsed * calls_per_s:
                load.fire("intake", load.intake(sent["intake"]))
                sent["intake"] += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*list(load.tasks))
        steal = stolen_share(times_at_start, machine_times())
        cores = shares.stop() if shares is not None else {}

        async with engine.connect() as connection:
            stored = (await connection.execute(text(
                "SELECT count(*) FROM unit_positions WHERE unit_code LIKE 'BENCH-%'"))).scalar()
            plans = []
            for incident_id in load.incident_ids[:100]:
                plan = (await connection.execute(text(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + str(_NEAREST.text)),
                    {"incident": incident_id, "kinds": ["health"], "per_kind": 5,
                     "agency": None})).scalar()
                plans.append(plan[0]["Execution Time"] / 1e3)
        endpoint = []
        for incident_id in load.incident_ids[:100]:
            begun = time.perf_counter()
            status, _ = await client.request(
                "GET", f"/v1/incidents/{incident_id}/recommendations", headers=load.operator)
            endpoint.append(time.perf_counter() - begun)
            assert status == 200
        await client.close()
        return {
            "units": units, "duration_s": duration, "warm_up_s": warm_up, "workers": workers,
            "cpu_stolen_by_other_guests": steal,
            "cores_used": cores,  # "harness" is this process: the load's client
            "sent": sent,
            "statuses": load.statuses,
            "osmand": _quantiles(load.latency["osmand"]),
            f"batch_of_{batch_size}": _quantiles(load.latency["batch"]),
            "intake": _quantiles(load.latency["intake"]),
            "warm_up": {kind: _quantiles(samples) for kind, samples in load.warm_up.items()},
            "fixes_acknowledged": load.acknowledged_fixes,
            "fixes_rejected": load.rejected_fixes,
            "fixes_stored": stored,
            "fixes_lost": load.acknowledged_fixes - int(stored or 0),
            "recommendation_sql": _quantiles(plans),
            "recommendation_endpoint": _quantiles(endpoint),
            "over_50ms_by_second": _slow_by_second(load.slow, load_began),
        }
    finally:
        if server is not None:
            server.stop()
        await engine.dispose()
        await drop_database(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warm-up", type=float, default=10.0)
    parser.add_argument("--calls-per-s", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    result = asyncio.run(run(args.units, args.duration, args.warm_up, args.calls_per_s,
                             args.workers, args.admin_url))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
