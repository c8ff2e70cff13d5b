"""Which seqs of the event log are final: the rule the feed hub and the audit sealer share.

A seq is taken before commit, so seq 9 can become visible after seq 10. `Finality` keeps
`cursor`: every seq ≤ cursor is final (delivered, or lost for good to a rollback). When it
meets a missing seq it waits: the seq's transaction had its id before it took the seq
(dispatch/core/events.py), so it is older than a transaction id the reader assigns itself
right after seeing the hole. Once the snapshot xmin has passed that id, every such
transaction has ended, and a seq still missing was rolled back and is skipped. (The
snapshot's own xmax is not enough: it is the newest *completed* id + 1, and a running
transaction can have a newer id.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Finality:
    """Which seqs of the event log are final, in order (see the module docstring).
    Shared by the feed hub and the audit sealer."""

    def __init__(self, cursor: int = 0) -> None:
        self.cursor = cursor
        self._holes: dict[int, int] = {}  # missing seq → xid assigned when first seen

    def new_holes(self, rows: Sequence[Any]) -> bool:
        """Whether these rows show a missing seq not seen before (then the reader must
        assign itself a transaction id to pass as `fresh_xid`)."""
        expected = self.cursor + 1
        for row in rows:
            for missing in range(expected, row["seq"]):
                if missing not in self._holes:
                    return True
            expected = row["seq"] + 1
        return False

    def take_final(self, rows: Sequence[Any], xmin: int, fresh_xid: int | None) -> list[Any]:
        """From rows with seq > cursor in seq order, read under one snapshot (its xmin),
        return those now final, in order, and move the cursor past them. `fresh_xid` is a
        transaction id assigned after the rows were read (needed when new_holes())."""
        final: list[Any] = []
        expected = self.cursor + 1
        for row in rows:
            while row["seq"] > expected:
                if expected not in self._holes:
                    if fresh_xid is None:
                        raise ValueError("a new hole needs a freshly assigned xid")
                    self._holes[expected] = fresh_xid
                if xmin <= self._holes[expected]:
                    return final  # the hole's transaction may still commit: wait
                del self._holes[expected]  # rolled back: that seq will never exist
                self.cursor = expected
                expected += 1
            self._holes.pop(expected, None)
            final.append(row)
            self.cursor = row["seq"]
            expected = self.cursor + 1
        return final


