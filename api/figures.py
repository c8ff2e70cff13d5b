"""Response models of the supervisor statistics (API.md "Supervisor statistics"); what
each number counts is defined in dispatch/stats/figures.py."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from api.responses import Out, Timestamp


class Shift(Out):
    """A shift: its name, the local date it starts on, and its window in local time."""

    name: str
    date: dt.date
    start: Timestamp
    end: Timestamp


class CallFigures(Out):
    """Calls received in the shift."""

    total: int
    by_disposition: dict[str, int] = Field(description="every disposition, and 'none'")
    prank_ratio: float
    by_hour: dict[str, int] = Field(
        description='per hour of the shift, keyed by the local time it starts ("07:00"), '
                    "in running order; every hour listed")


class IncidentFigures(Out):
    """Incidents created in the shift."""

    total: int = Field(description="incidents merged into another left out: each "
                                   "emergency counted once")
    by_category: dict[str, int]
    by_priority: dict[str, int] = Field(description='keys "1".."4"')
    merged: int = Field(description="incidents of the shift merged into another (not in "
                                    "total)")


class AgencyFigures(Out):
    """One agency's assignments created in the shift."""

    assigned: int
    acknowledged: int
    completed: int
    unacknowledged: int
    escalated: int
    median_ack_s: float | None
    p90_ack_s: float | None
    units_on_scene: int = Field(description="units sent in the shift that reached the scene")
    median_dispatch_to_scene_s: float | None = Field(
        description="a unit's dispatch to its arrival on scene, seconds")
    p90_dispatch_to_scene_s: float | None


class DispatchTimes(Out):
    """Call-to-dispatch times of the shift's incidents, seconds."""

    median_call_to_dispatch_s: float | None
    p90_call_to_dispatch_s: float | None


class OperatorFigures(Out):
    """What one operator took and opened in the shift."""

    calls: int
    incidents: int


class ShiftFigures(Out):
    """One shift's figures (API.md "Supervisor statistics")."""

    shift: Shift
    calls: CallFigures
    incidents: IncidentFigures
    agencies: dict[str, AgencyFigures] = Field(description="per agency code")
    times: DispatchTimes
    operators: dict[str, OperatorFigures] = Field(description="per username")


class DayFigures(Out):
    """Every shift of one local date, in running order."""

    date: dt.date
    timezone: str
    items: list[ShiftFigures]
    next_cursor: None
