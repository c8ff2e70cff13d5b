"""The intake phases: `bare_insert` (asyncpg INSERT … RETURNING at the service's connection
count), `bare_api` (FastAPI + uvicorn doing that insert) and `intake` (POST /v1/calls
closed loop at saturation, then open loop at half that rate), each with its cpu_cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bench.harness.children import PgWaits, drive
from bench.harness.common import REPO
from bench.harness.context import Context
from bench.harness.cpu import CpuShares
from bench.harness.profiler import Profiler
from bench.harness.servers import Server, free_port


def phase_bare_insert(ctx: Context) -> dict[str, Any]:
    connections = ctx.workers * ctx.pool_per_worker
    cpu = CpuShares(None, ctx.db_name)  # the inserting process counts as a client
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
        cpu = CpuShares(server, ctx.db_name)
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
    cpu = CpuShares(ctx.service, ctx.db_name)
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
