"""The keys of PostgreSQL advisory locks for work only one process may do at a time, in
one place so that two never share a key."""

from __future__ import annotations

from enum import IntEnum, unique


@unique
class AdvisoryLock(IntEnum):
    ESCALATION_SWEEP = 112_0001  # dispatch/assignments/sweeper.py
    AUDIT_SEAL = 112_0002  # dispatch/core/audit.py
    STATS_PUBLISHER = 112_0003  # dispatch/stats/feed.py
    MERGE = 112_0004  # dispatch/incidents/merging.py: one merge or unmerge at a time
    POSITION_PRUNING = 112_0005  # dispatch/units/retention.py
