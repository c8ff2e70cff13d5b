"""The `cpu_cores` of a phase: `CpuShares` samples /proc every 0.5 s in a thread and reports
the cores each role used while it ran (the service's processes, PostgreSQL, the client
processes, this harness, the rest of the machine) and how busy the machine was. Given the
scratch database's name, PostgreSQL backends connected to other databases (other
benchmarks or tests sharing the server) count apart, as `postgresql_others`.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.harness.servers import Server

def backend_database(pid: int) -> str | None:
    """The database a PostgreSQL backend serves, from its process title
    ("postgres: 15/main: user dbname host(port) state"); None for the server's own
    processes (checkpointer, WAL writer, ...) and when the title cannot be read."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    parts = title.split(": ", 2)
    words = parts[2].split() if len(parts) == 3 else []
    if len(words) >= 3 and (words[2].endswith(")") or words[2] == "[local]"):
        return words[1]
    return None


class CpuShares:
    """Cores used by each role while it runs: the service's processes, PostgreSQL, this
    harness's client processes (driver, subscribers), and the rest of the machine, sampled
    from /proc every 0.5 s (a process that ends between samples loses at most 0.5 s)."""

    def __init__(self, service: Server | None, database: str | None = None) -> None:
        self._group = service.proc.pid if service is not None else None
        self._database = database
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
        values = machine_times()
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def _role(self, pid: int, name: str, ppid: int, pgrp: int) -> str:
        me = os.getpid()
        if pid == me:
            return "harness"
        if pgrp == self._group:
            return "service"
        if name == "postgres":
            other = self._database is not None and backend_database(pid) not in (
                None, self._database)
            return "postgresql_others" if other else "postgresql"
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


def machine_times() -> list[int]:
    """The machine's CPU time counters (/proc/stat's first line, in clock ticks): user,
    nice, system, idle, iowait, irq, softirq, steal, …"""
    return [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def stolen_share(before: list[int], after: list[int]) -> float:
    """The share of the machine's time the hypervisor gave to other guests between two
    `machine_times` readings: on a shared virtual machine a benchmark that ran while this
    was high measured the neighbours, not the code."""
    spent = [b - a for a, b in zip(before[:8], after[:8], strict=True)]
    return round(spent[7] / max(1, sum(spent)), 3)
