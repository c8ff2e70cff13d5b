"""Optional profiling (--profile): `Profiler` runs py-spy record on every worker of a server
during a phase, and `summarize_collapsed` turns its collapsed stacks into self, inclusive
and project-only sample shares per frame.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness.common import PROJECT_PACKAGES, REPO
from bench.harness.context import Context
from bench.harness.servers import Server
from bench.profile_shares import collapsed_stacks


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
