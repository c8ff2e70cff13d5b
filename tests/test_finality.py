"""The rule that decides which seqs of the event log are final (no database needed)."""

from __future__ import annotations

from agencies.feed_hub import Finality


def rows(*seqs: int) -> list[dict]:
    return [{"seq": s} for s in seqs]


def test_contiguous_seqs_are_final_at_once() -> None:
    finality = Finality()
    assert [r["seq"] for r in finality.take_final(rows(1, 2, 3), xmin=10, xmax=10)] == [1, 2, 3]
    assert finality.cursor == 3


def test_a_hole_waits_until_every_transaction_seen_running_has_ended() -> None:
    finality = Finality(cursor=3)
    # seq 4 missing, 5 visible; transactions 7..11 may still run (xmin 7 < xmax 12)
    assert finality.take_final(rows(5), xmin=7, xmax=12) == []
    assert finality.cursor == 3
    # still a transaction older than 12 running: keep waiting
    assert finality.take_final(rows(5), xmin=11, xmax=15) == []
    # seq 4 committed meanwhile: both delivered, in order
    assert [r["seq"] for r in finality.take_final(rows(4, 5), xmin=11, xmax=15)] == [4, 5]
    assert finality.cursor == 5


def test_a_rolled_back_seq_is_skipped_once_its_transactions_are_over() -> None:
    finality = Finality(cursor=3)
    assert finality.take_final(rows(5, 6), xmin=7, xmax=12) == []
    # every transaction that could hold seq 4 (ids < 12) has ended and 4 never appeared
    assert [r["seq"] for r in finality.take_final(rows(5, 6), xmin=12, xmax=13)] == [5, 6]
    assert finality.cursor == 6


def test_the_hole_remembers_when_it_was_first_seen() -> None:
    finality = Finality(cursor=0)
    assert finality.take_final(rows(2), xmin=5, xmax=9) == []
    # later snapshots have a larger xmax; the first one (9) is what counts
    assert finality.take_final(rows(2), xmin=9, xmax=20) == [{"seq": 2}]
