"""Client processes (multiprocessing, spawn, so that their CPU never shares the server's
event loop) as the parent sees them: `Child` and its pipe, the entry point `child_main`
every client process runs, `drive` (one driver run), `PgWaits` (what the database's
backends wait on during a phase) and `Subscribers` (feed or bare broadcast connections
spread over a few processes).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bench.harness.client_db import hold_main, pg_waits_main
from bench.harness.client_driver import driver_main
from bench.harness.client_feeds import subscribers_main
from bench.harness.common import run_async
from bench.harness.servers import raise_nofile

if TYPE_CHECKING:
    from bench.harness.context import Context

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
            run_async(driver_main(pipe, spec))
        elif kind == "subscribers":
            run_async(subscribers_main(pipe, spec))
        elif kind == "hold":
            run_async(hold_main(pipe, spec))
        elif kind == "pgwaits":
            pipe.send(("result", run_async(pg_waits_main(spec))))
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


def drive(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run a load to its end. A load of which no call got through measured nothing (the
    server died, or never listened): that is the phase's error, not a figure of 0/s."""
    child = Child("driver", spec)
    try:
        result: dict[str, Any] = child.recv(timeout_s)[1]
    finally:
        child.finish()
    summary = result.get("summary", {})
    if summary.get("sent") and not summary.get("calls_ok"):
        raise RuntimeError(f"no call of {summary['sent']} got through: "
                           f"{summary.get('by_status')} {summary.get('transport_errors')}")
    return result


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
