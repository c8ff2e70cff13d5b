"""The rule that decides which seqs of the event log are final (no database needed)."""

from __future__ import annotations

import pytest

from dispatch.core.finality import Finality


def rows(*seqs: int) -> list[dict]:
    return [{"seq": s} for s in seqs]


def test_contiguous_seqs_are_final_at_once() -> None:
    finality = Finality()
    assert not finality.new_holes(rows(1, 2, 3))
    assert [r["seq"] for r in finality.take_final(rows(1, 2, 3), xmin=10, fresh_xid=None)] == [
        1, 2, 3]
    assert finality.cursor == 3


def test_a_hole_waits_until_every_transaction_older_than_the_fresh_xid_has_ended() -> None:
    finality = Finality(cursor=3)
    assert finality.new_holes(rows(5))
    # seq 4 missing; the reader assigned itself xid 20 after seeing that
    assert finality.take_final(rows(5), xmin=7, fresh_xid=20) == []
    assert not finality.new_holes(rows(5))  # already known: no new xid needed
    # a transaction with an id up to 20 may still run (xmin 20): keep waiting
    assert finality.take_final(rows(5), xmin=20, fresh_xid=None) == []
    # seq 4 committed meanwhile: both delivered, in order
    assert [r["seq"] for r in finality.take_final(rows(4, 5), xmin=15, fresh_xid=None)] == [4, 5]
    assert finality.cursor == 5


def test_a_rolled_back_seq_is_skipped_once_older_transactions_are_over() -> None:
    finality = Finality(cursor=3)
    assert finality.take_final(rows(5, 6), xmin=7, fresh_xid=12) == []
    # every transaction with an id up to 12 has ended and seq 4 never appeared
    assert [r["seq"] for r in finality.take_final(rows(5, 6), xmin=13, fresh_xid=None)] == [5, 6]
    assert finality.cursor == 6


def test_the_hole_remembers_the_xid_from_when_it_was_first_seen() -> None:
    finality = Finality(cursor=0)
    assert finality.take_final(rows(2), xmin=5, fresh_xid=9) == []
    assert finality.take_final(rows(2), xmin=10, fresh_xid=None) == [{"seq": 2}]


def test_a_new_hole_without_a_fresh_xid_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="fresh"):
        Finality(cursor=0).take_final(rows(2), xmin=5, fresh_xid=None)
