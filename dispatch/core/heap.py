"""The garbage collector's view of a long-running worker.

A worker holds about 170,000 objects that live as long as it does (the area index,
SQLAlchemy's mappers and compiled statements, pydantic's validators, FastAPI's routes).
CPython's full (generation 2) collection walks every one of them and stops the event loop
while it does: 115–129 ms in a started worker on this machine, against under 0.01 ms once
they are frozen (`python -m bench.bench_quiet`, BENCHMARKS.md "Session 9"). The collector
runs a full collection whenever enough new long-lived objects have piled up, so without
this every request in flight at that moment waits a tenth of a second. `gc.freeze` moves
what exists once the worker is ready into the permanent generation, which the collector
skips; reference counting still frees those objects, only reference cycles among them
wait until they are unfrozen, which the worker does when it stops (and which keeps a test
process that starts many apps from accumulating them)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def settled_heap() -> Iterator[int]:
    """Collect what start-up left behind and freeze the rest for the duration; yields how
    many objects were frozen."""
    gc.collect()
    gc.freeze()
    try:
        yield gc.get_freeze_count()
    finally:
        gc.unfreeze()
