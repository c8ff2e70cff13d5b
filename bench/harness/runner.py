"""One run of the harness: creates the scratch database, runs the chosen phases in order
(starting the service when a phase needs it, profiling some when asked), records each
phase's result or error and duration, drops the database and returns the JSON document.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness.common import FULL, PHASES, QUICK, SERVICE_ENV, log, run_async
from bench.harness.context import Context
from bench.harness.database import create_database, drop_database, server_facts
from bench.harness.phases_feeds import phase_e2e, phase_fanout
from bench.harness.phases_intake import phase_bare_api, phase_bare_insert, phase_intake
from bench.harness.phases_load import phase_soak, phase_surge
from bench.harness.profiler import Profiler
from bench.harness.report import targets_report
from bench.harness.servers import raise_nofile
from bench.harness.year_of_data import load_year


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
        results["meta"]["year_of_data"] = run_async(load_year(url)) if args.year_of_data \
            else None

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
