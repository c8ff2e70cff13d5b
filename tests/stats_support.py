"""Shared by the shift statistics tests (tests/test_stats_shifts.py, test_stats_figures.py):
the hand-built rows of 15 January 2031 (WIB) and the figures worked out from them by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")
DAY = date(2031, 1, 15)
DAMKAR, PSC, POLRES = "DAMKAR-MJK-KOTA", "PSC119-MJK-KOTA", "POLRES-MJK-KOTA"


def wib(hour: int, minute: int, second: int = 0, day: int = 15) -> datetime:
    return datetime(2031, 1, day, hour, minute, second, tzinfo=WIB)


def utc(day: int, hour: int) -> datetime:
    return datetime(2031, 1, day, hour, tzinfo=UTC)


# Incidents: key -> (category, priority, created_at, created_by)
INCIDENTS = {
    "I1": ("fire", 1, wib(7, 0, 30), "operator"),
    "I2": ("fire", 2, wib(10, 0, 40), "operator2"),
    "I3": ("fallen_tree", 3, wib(12, 0, 0), "operator"),  # no call: not in the times
    "I4": ("fire", 1, wib(13, 0, 10), "operator"),
    "I5": ("utility_outage", 4, wib(14, 0, 0), "operator2"),
    "I6": ("medical", 1, wib(23, 30, 0), "operator"),  # the night of the 15th
}
# Calls: (received_at, disposition, operator, incident)
CALLS = [
    (wib(7, 0, 0), None, "operator", "I1"),
    (wib(7, 10), "prank", "operator", None),
    (wib(8, 0), "ghost", "operator2", None),
    (wib(9, 0), "info", "operator2", None),
    (wib(10, 0, 0), None, "operator", "I2"),
    (wib(10, 0, 30), "duplicate", "operator2", "I2"),
    (wib(13, 0, 0), None, "operator", "I4"),
    (wib(14, 0, 0), None, "operator2", "I5"),
    (wib(14, 59, 59), "ghost", None, None),  # last second of pagi, no operator
    (wib(6, 59, 59), "prank", "operator", None),  # still the night of the 14th
    (wib(15, 0, 0), "abandoned", "operator2", None),  # first second of siang
    (wib(22, 59, 59), "info", "operator", None),  # last second of siang
    (wib(23, 29, 50), None, "operator", "I6"),
    (wib(2, 0, 0, day=16), "transferred", "operator2", None),  # night of the 15th
    (wib(7, 0, 0, day=16), "prank", "operator", None),  # pagi of the 16th
]
# Assignments: (incident, agency, created_at, seconds to acknowledge, status now)
ASSIGNMENTS = [
    ("I1", DAMKAR, wib(7, 0, 40), 10, "completed"),
    ("I1", PSC, wib(7, 1, 30), 90, "completed"),
    ("I2", DAMKAR, wib(10, 1, 0), 20, "en_route"),
    ("I3", DAMKAR, wib(12, 0, 10), 30, "acknowledged"),
    ("I4", DAMKAR, wib(13, 0, 20), 40, "acknowledged"),
    ("I4", DAMKAR, wib(13, 0, 30), None, "queued"),
    ("I5", DAMKAR, wib(14, 1, 40), None, "escalated"),
    ("I5", POLRES, wib(14, 2, 0), None, "queued"),
    ("I6", PSC, wib(0, 10, 0, day=16), 15, "acknowledged"),  # after midnight, still malam
]

DISPOSITIONS_ZERO = {"prank": 0, "ghost": 0, "info": 0, "duplicate": 0, "transferred": 0,
                     "abandoned": 0, "none": 0}
EMPTY_TIMES = {"median_call_to_dispatch_s": None, "p90_call_to_dispatch_s": None}
NO_PRIORITIES = {"1": 0, "2": 0, "3": 0, "4": 0}


# Unit status events: (unit, agency, incident, status, at). DAMKAR's two units reach the
# scene 360 s and 600 s after dispatch (the second on_scene of unit 2 does not count);
# PSC's unit never arrives: median (360 + 600) / 2 = 480, p90 360 + 0.9 * 240 = 576.
UNIT_STEPS = [
    ("DAMKAR-MJK-KOTA-1", DAMKAR, "I1", "dispatched", wib(7, 1, 0)),
    ("DAMKAR-MJK-KOTA-1", DAMKAR, "I1", "en_route", wib(7, 2, 0)),
    ("DAMKAR-MJK-KOTA-1", DAMKAR, "I1", "on_scene", wib(7, 7, 0)),
    ("DAMKAR-MJK-KOTA-2", DAMKAR, "I2", "dispatched", wib(10, 2, 0)),
    ("DAMKAR-MJK-KOTA-2", DAMKAR, "I2", "on_scene", wib(10, 12, 0)),
    ("DAMKAR-MJK-KOTA-2", DAMKAR, "I2", "on_scene", wib(10, 30, 0)),
    ("PSC119-MJK-KOTA-1", PSC, "I1", "dispatched", wib(7, 2, 0)),
]
NO_UNITS = {"units_on_scene": 0, "median_dispatch_to_scene_s": None,
            "p90_dispatch_to_scene_s": None}


def hours(first: int, **counts: int) -> dict[str, int]:
    """calls.by_hour of an 8-hour shift starting at `first` o'clock: h07=2 -> "07:00": 2."""
    keys = [f"{(first + n) % 24:02d}:00" for n in range(8)]
    return {key: counts.get(f"h{key[:2]}", 0) for key in keys}



PAGI = {
    "shift": {"name": "pagi", "date": "2031-01-15", "start": "2031-01-15T07:00:00+07:00",
              "end": "2031-01-15T15:00:00+07:00"},
    "calls": {
        "total": 9,
        "by_disposition": {**DISPOSITIONS_ZERO, "prank": 1, "ghost": 2, "info": 1,
                           "duplicate": 1, "none": 4},
        "prank_ratio": 0.3333,  # (1 prank + 2 ghost) / 9
        "by_hour": hours(7, h07=2, h08=1, h09=1, h10=2, h13=1, h14=2),  # 14:59:59 is 14:00
    },
    "incidents": {
        "total": 5,
        "by_category": {"fallen_tree": 1, "fire": 3, "utility_outage": 1},
        "by_priority": {"1": 2, "2": 1, "3": 1, "4": 1},
        "merged": 0,
    },
    "agencies": {
        # acknowledged after 10, 20, 30, 40 s: median 25, p90 30 + 0.7 * 10 = 37
        DAMKAR: {"assigned": 6, "acknowledged": 4, "completed": 1, "unacknowledged": 2,
                 "escalated": 1, "median_ack_s": 25.0, "p90_ack_s": 37.0,
                 "units_on_scene": 2, "median_dispatch_to_scene_s": 480.0,
                 "p90_dispatch_to_scene_s": 576.0},
        POLRES: {"assigned": 1, "acknowledged": 0, "completed": 0, "unacknowledged": 1,
                 "escalated": 0, "median_ack_s": None, "p90_ack_s": None, **NO_UNITS},
        PSC: {"assigned": 1, "acknowledged": 1, "completed": 1, "unacknowledged": 0,
              "escalated": 0, "median_ack_s": 90.0, "p90_ack_s": 90.0, **NO_UNITS},
    },
    # call -> first assignment: I1 40 s, I2 60 s, I4 20 s, I5 100 s (I3 has no call):
    # median (40 + 60) / 2 = 50, p90 60 + 0.7 * 40 = 88
    "times": {"median_call_to_dispatch_s": 50.0, "p90_call_to_dispatch_s": 88.0},
    "operators": {"operator": {"calls": 4, "incidents": 3},
                  "operator2": {"calls": 4, "incidents": 2}},
}
SIANG = {
    "shift": {"name": "siang", "date": "2031-01-15", "start": "2031-01-15T15:00:00+07:00",
              "end": "2031-01-15T23:00:00+07:00"},
    "calls": {"total": 2, "by_disposition": {**DISPOSITIONS_ZERO, "info": 1, "abandoned": 1},
              "prank_ratio": 0, "by_hour": hours(15, h15=1, h22=1)},
    "incidents": {"total": 0, "by_category": {}, "by_priority": NO_PRIORITIES, "merged": 0},
    "agencies": {},
    "times": EMPTY_TIMES,
    "operators": {"operator": {"calls": 1, "incidents": 0},
                  "operator2": {"calls": 1, "incidents": 0}},
}
MALAM = {
    "shift": {"name": "malam", "date": "2031-01-15", "start": "2031-01-15T23:00:00+07:00",
              "end": "2031-01-16T07:00:00+07:00"},
    "calls": {"total": 2, "by_disposition": {**DISPOSITIONS_ZERO, "none": 1, "transferred": 1},
              "prank_ratio": 0, "by_hour": hours(23, h23=1, h02=1)},
    "incidents": {"total": 1, "by_category": {"medical": 1},
                  "by_priority": {**NO_PRIORITIES, "1": 1}, "merged": 0},
    "agencies": {PSC: {"assigned": 1, "acknowledged": 1, "completed": 0, "unacknowledged": 0,
                       "escalated": 0, "median_ack_s": 15.0, "p90_ack_s": 15.0,
                       **NO_UNITS}},
    # 23:29:50 on the 15th -> 00:10:00 on the 16th
    "times": {"median_call_to_dispatch_s": 2410.0, "p90_call_to_dispatch_s": 2410.0},
    "operators": {"operator": {"calls": 1, "incidents": 1},
                  "operator2": {"calls": 1, "incidents": 0}},
}
