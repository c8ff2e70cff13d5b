"""Where a worker's CPU went, grouped by what the request was doing, from the py-spy raw
collapsed stacks that `bench.harness --profile` writes.

    python -m bench.profile_shares /tmp/siaga112-bench/profile-intake-*.txt

Each sample is put in the first group whose frame it contains (the intake's steps, the
feeds, the session's BEGIN/COMMIT, HTTP parsing, the framework around the handler), and
the shares of all samples are printed per file, largest first. py-spy records only busy
samples, so the shares are of the worker's CPU time.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# (group, a frame that puts a sample in it): the intake's steps before the handler itself.
HANDLER_STEPS = (
    ("read statement", "intake_reads dispatch/calls/reads.py"),
    ("write statement", "write dispatch/batch_write.py"),
    ("address search", "geocode_address geo/search.py"),
    ("routing + incident plan", "plan_incident dispatch/incidents/opening.py"),
    ("phone number", "normalise_number dispatch/calls/input.py"),
    ("reverse geocoding", "AreaIndex.locate geo/areas.py"),
)
HANDLERS = ("register_call dispatch/calls/intake.py", "create_app.<locals>.register_call bench/")


def collapsed_stacks(path: Path) -> Iterator[tuple[list[tuple[str, str]], int]]:
    """(frames, sample count) per line of py-spy's raw format (`frame;frame;… count`, a
    frame being `function (path:line)`), each frame as (function, path)."""
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = []
        for raw in stack.split(";"):
            function, _, where = raw.partition(" (")
            frames.append((function, where.rsplit(":", 1)[0]))
        yield frames, int(count_text)


def group_of(frames: list[str]) -> str:
    stack = ";".join(frames)
    if frames[-1].startswith("Runner.run "):
        return "event loop (native)"
    if "feed_hub.py" in stack or "api/feeds.py" in stack:
        return "feeds"
    if any(handler in stack for handler in HANDLERS):
        for group, frame in HANDLER_STEPS:
            if frame in stack:
                return f"handler: {group}"
        return "handler: the rest"
    if "unit_of_work " in stack or "transaction dispatch/core/db.py" in stack:
        return "BEGIN/COMMIT"
    if "run_asgi " in stack:
        return "framework: FastAPI, Starlette, middleware, pydantic"
    if "httptools_impl.py" in stack:
        return "HTTP parsing and transport"
    return f"other: {frames[-1]}"


def shares(path: Path) -> tuple[int, Counter[str]]:
    counts: Counter[str] = Counter()
    total = 0
    for frames, count in collapsed_stacks(path):
        total += count
        counts[group_of([f"{function} {file}" if file else function
                         for function, file in frames])] += count
    return total, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=14)
    args = parser.parse_args()
    for path in args.files:
        total, counts = shares(path)
        print(f"{path}: {total} samples")
        for group, count in counts.most_common(args.top):
            print(f"  {count / max(total, 1):6.1%}  {group}")


if __name__ == "__main__":
    main()
