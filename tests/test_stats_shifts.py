"""Shift statistics without a database (dispatch/stats/figures.py): shift windows and their
boundaries, configured shifts and zones, bad input, and the CSV form of the figures."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from dispatch.core.errors import Invalid, NotFound
from dispatch.stats import figures as stats
from tests.stats_support import DAY, PAGI, utc, wib
from tests.support import make_settings

# --- shift windows (no database) ---------------------------------------------------------

SETTINGS = make_settings("postgresql://nobody@127.0.0.1/none")


def test_default_shift_windows_in_utc() -> None:
    assert stats.shift_names(SETTINGS) == ["pagi", "siang", "malam"]
    assert stats.shift_window(SETTINGS, DAY, "pagi") == (utc(15, 0), utc(15, 8))
    assert stats.shift_window(SETTINGS, DAY, "siang") == (utc(15, 8), utc(15, 16))
    # 23:00 WIB on the 15th to 07:00 WIB on the 16th: the night belongs to the 15th
    assert stats.shift_window(SETTINGS, DAY, "malam") == (utc(15, 16), utc(16, 0))


@pytest.mark.parametrize(("instant", "expected"), [
    (wib(6, 59, 59), (date(2031, 1, 14), "malam")),
    (wib(7, 0, 0), (DAY, "pagi")),
    (wib(14, 59, 59), (DAY, "pagi")),
    (wib(15, 0, 0), (DAY, "siang")),
    (wib(22, 59, 59), (DAY, "siang")),
    (wib(23, 0, 0), (DAY, "malam")),
    (wib(0, 0, 0, day=16), (DAY, "malam")),
    (wib(2, 0, 0, day=16), (DAY, "malam")),
    (wib(6, 59, 59, day=16), (DAY, "malam")),
    (wib(7, 0, 0, day=16), (date(2031, 1, 16), "pagi")),
    (utc(15, 0), (DAY, "pagi")),  # any offset: 00:00 UTC is 07:00 WIB
    (utc(14, 23) + timedelta(minutes=59, seconds=59), (date(2031, 1, 14), "malam")),
])
def test_shift_of_boundaries(instant: datetime, expected: tuple[date, str]) -> None:
    assert stats.shift_of(SETTINGS, instant) == expected
    assert stats.current_shift(SETTINGS, instant) == expected
    start, end = stats.shift_window(SETTINGS, *expected)
    assert start <= instant < end


def test_configured_shifts_and_zone() -> None:
    settings = make_settings("postgresql://nobody@127.0.0.1/none", timezone="Asia/Makassar",
                             shifts="siang=14:00,pagi=06:00,malam=22:00")
    assert stats.shift_names(settings) == ["pagi", "siang", "malam"]  # by start time
    # WITA is UTC+8
    assert stats.shift_window(settings, DAY, "pagi") == (
        utc(14, 22), utc(15, 6))
    assert stats.shift_window(settings, DAY, "malam") == (utc(15, 14), utc(15, 22))
    assert stats.shift_of(settings, utc(15, 21)) == (DAY, "malam")
    midnight = make_settings("postgresql://nobody@127.0.0.1/none", shifts="a=00:00,b=12:00")
    assert stats.shift_of(midnight, wib(0, 0, 0)) == (DAY, "a")
    assert stats.shift_of(midnight, wib(23, 59, 59)) == (DAY, "b")
    assert stats.shift_window(midnight, DAY, "b") == (utc(15, 5), utc(15, 17))


def test_unknown_shift_and_bad_input() -> None:
    with pytest.raises(NotFound, match="sore"):
        stats.shift_window(SETTINGS, DAY, "sore")
    with pytest.raises(Invalid):
        stats.shift_window(SETTINGS, date.max, "malam")
    with pytest.raises(ValueError, match="timezone-aware"):
        stats.shift_of(SETTINGS, datetime(2031, 1, 15, 7))


def test_csv_round_trip_keeps_types_and_defuses_formulas() -> None:
    figures = json.loads(json.dumps(PAGI))
    figures["operators"]["=HYPERLINK(\"x\")"] = {"calls": 1, "incidents": 0}
    figures["operators"]["a,b \"c\""] = {"calls": 2, "incidents": 1}
    text = stats.figures_to_csv(figures)
    lines = text.splitlines()
    assert lines[0] == "section,item,field,value"
    assert "calls,,total,9" in lines
    assert "calls,by_disposition,none,4" in lines
    assert "calls,,prank_ratio,0.3333" in lines
    assert "agencies,DAMKAR-MJK-KOTA,p90_ack_s,37.0" in lines
    assert "agencies,POLRES-MJK-KOTA,median_ack_s," in lines
    assert "incidents,by_priority,1,2" in lines
    assert 'operators,"\'=HYPERLINK(""x"")",calls,1' in lines  # shown as text, not run
    assert stats.parse_figures_csv(text) == figures
    with pytest.raises(ValueError, match="header"):
        stats.parse_figures_csv("a,b\n1,2\n")
