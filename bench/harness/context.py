"""The state of one run that every phase gets: the arguments, the plan, the database, the
log directory, the worker and pool sizes, and the service under test, which `Context`
starts (after migrating to the code's head) and stops.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.harness.common import SECRET, SERVICE_ENV, Plan, log, run_async
from bench.harness.servers import Server, free_port


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

    @property
    def db_name(self) -> str:
        return urlsplit(self.db_url).path.lstrip("/")

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
