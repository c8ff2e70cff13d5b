"""Shift statistics for supervisors: what one shift received, dispatched and left open.

Shifts come from the settings (`DISPATCH_SHIFTS`, default pagi 07:00, siang 15:00, malam
23:00 in `DISPATCH_TIMEZONE`). A shift runs from its start to the next shift's start; the
last one of the day runs into the next date and belongs to the date it *starts* on (the
night of 15 January is 23:00 on the 15th to 07:00 on the 16th). Windows are half-open,
[start, end): 06:59:59 WIB belongs to the previous night, 07:00:00 WIB to pagi.

Definitions (all counts are over rows whose timestamp falls in the shift window):

- ``calls.total``: calls *received* in the shift (``calls.received_at``).
- ``calls.by_disposition``: those calls per disposition. Every known disposition is listed
  (0 when none), plus ``"none"`` for calls without a disposition (real emergencies and
  calls still being handled), so the values always add up to ``total``.
- ``calls.prank_ratio``: (prank + ghost) / total, rounded to 4 decimals; 0 without calls.
- ``calls.by_hour`` (an extension, for the supervisor's chart): those calls per hour of the
  shift, counted from the shift's start ([start + n h, start + (n + 1) h)), keyed by the
  local time that hour starts ("07:00", ..., "14:00"); every hour of the shift is listed
  (0 when none), in running order, so the values add up to ``total`` too. (Keys are unique
  in zones without daylight saving time, which is every Indonesian zone.)
- ``incidents.total``: incidents *created* in the shift; ``by_category`` (only categories
  that occur) and ``by_priority`` (keys "1".."4", always present). An incident merged into
  another (``merged_into`` set: the same emergency, opened twice) is counted once, as the
  incident that survived, and not in these three; ``incidents.merged`` (an extension) says
  how many of the shift's incidents were merged away. A merge undone counts again.
- ``agencies``: per agency code, the assignments *created* in the shift:
  ``assigned`` (all of them), ``acknowledged`` (``acknowledged_at`` set, whatever the status
  is now), ``completed`` (status completed now), ``unacknowledged`` (status queued or
  escalated *now*: still waiting for the agency), ``escalated`` (an extension: status
  escalated *now*, a subset of unacknowledged), ``median_ack_s`` / ``p90_ack_s``
  (``acknowledged_at - created_at`` over the acknowledged ones, seconds; null when none).
  Units (extensions): ``units_on_scene``, the units of the agency sent to an incident in
  the shift that reached it, and ``median_dispatch_to_scene_s`` / ``p90_...``, from each
  one's first ``dispatched`` to its first ``on_scene`` there (unit.status events).
  The status-based counts are live: asking again later can give other numbers.
- ``times``: per incident created in the shift (merged ones aside: their calls moved to
  the survivor), call-to-dispatch = its first assignment's
  ``created_at`` minus its earliest linked call's ``received_at``. Incidents without a
  linked call or without an assignment are left out, and so are the rare ones whose first
  call came after the first assignment (a call attached later to a running incident).
  ``median_call_to_dispatch_s`` / ``p90_call_to_dispatch_s``; null when no incident counts.
- ``operators``: per username, ``calls`` taken (``calls.operator_id``) and ``incidents``
  created (``incidents.created_by``) in the shift; calls without an operator are not
  attributed.

Medians and 90th percentiles are PostgreSQL's ``percentile_cont`` (linear interpolation:
10, 20, 30, 40 s give a median of 25 and a p90 of 37), rounded to the millisecond; no rows
are loaded into Python, only one row per group.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.core.errors import Invalid, NotFound
from dispatch.core.settings import Settings
from dispatch.models import DISPOSITIONS, PRANK_DISPOSITIONS

PRIORITIES = ("1", "2", "3", "4")
NO_DISPOSITION = "none"
AGENCY_FIELDS = ("assigned", "acknowledged", "completed", "unacknowledged", "escalated",
                 "median_ack_s", "p90_ack_s", "units_on_scene", "median_dispatch_to_scene_s",
                 "p90_dispatch_to_scene_s")
CSV_HEADER = ("section", "item", "field", "value")

# Every statement takes the half-open shift window [:start, :end) in UTC.
# One row per (disposition, hour of the shift): at most 7 x 24 rows, one index range scan.
CALLS_SQL = """
SELECT coalesce(disposition, 'none') AS disposition,
       floor(extract(epoch FROM received_at - :start) / 3600)::int AS hour,
       count(*) AS n
FROM calls
WHERE received_at >= :start AND received_at < :end
GROUP BY 1, 2
"""

INCIDENTS_SQL = """
SELECT category, priority, merged_into IS NOT NULL AS merged, count(*) AS n
FROM incidents
WHERE created_at >= :start AND created_at < :end
GROUP BY 1, 2, 3
"""

AGENCIES_SQL = """
SELECT ag.code,
       count(*) AS assigned,
       count(a.acknowledged_at) AS acknowledged,
       count(*) FILTER (WHERE a.status = 'completed') AS completed,
       count(*) FILTER (WHERE a.status IN ('queued', 'escalated')) AS unacknowledged,
       count(*) FILTER (WHERE a.status = 'escalated') AS escalated,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM a.acknowledged_at - a.created_at)::float8
       ) AS median_ack_s,
       percentile_cont(0.9) WITHIN GROUP (
           ORDER BY extract(epoch FROM a.acknowledged_at - a.created_at)::float8
       ) AS p90_ack_s
FROM assignments a
JOIN agencies ag ON ag.id = a.agency_id
WHERE a.created_at >= :start AND a.created_at < :end
GROUP BY ag.code
ORDER BY ag.code
"""

# Grouped joins, not per-incident `(SELECT min(...) WHERE incident_id = i.id)`: for those
# the planner's min/max rewrite walks ix_assignments_created_at / ix_calls_received_at
# from the start for every incident, quadratic in the shift's size (a 35,000-incident
# surge shift ran past the statement timeout).
TIMES_SQL = """
WITH shift_incidents AS MATERIALIZED (
    SELECT id FROM incidents
    WHERE created_at >= :start AND created_at < :end AND merged_into IS NULL
), first_assigned AS (
    SELECT a.incident_id, min(a.created_at) AS at
    FROM assignments a JOIN shift_incidents s ON s.id = a.incident_id
    GROUP BY a.incident_id
), first_call AS (
    SELECT c.incident_id, min(c.received_at) AS at
    FROM calls c JOIN shift_incidents s ON s.id = c.incident_id
    GROUP BY c.incident_id
), measured AS (
    SELECT extract(epoch FROM fa.at - fc.at)::float8 AS seconds
    FROM first_assigned fa JOIN first_call fc USING (incident_id)
    WHERE fa.at >= fc.at
)
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90_s,
       count(*) AS measured
FROM measured
"""

# Per unit sent in the shift (its first `dispatched` to an incident), the time to its first
# `on_scene` there, grouped by the unit's agency (the event's one agency code).
UNITS_SQL = """
WITH dispatched AS (
    SELECT entity_id AS unit, incident_id, agency_codes[1] AS agency, min(at) AS at
    FROM events
    WHERE type = 'unit.status' AND after->>'status' = 'dispatched'
      AND at >= :start AND at < :end
    GROUP BY 1, 2, 3
), arrived AS (
    SELECT d.agency, extract(epoch FROM min(e.at) - d.at)::float8 AS seconds
    FROM dispatched d
    JOIN events e ON e.incident_id = d.incident_id AND e.type = 'unit.status'
                 AND e.entity_id = d.unit AND e.after->>'status' = 'on_scene'
                 AND e.at >= d.at
    GROUP BY d.agency, d.unit, d.incident_id, d.at
)
SELECT agency, count(*) AS on_scene,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90_s
FROM arrived
GROUP BY agency
ORDER BY agency
"""

OPERATORS_SQL = """
WITH taken AS (
    SELECT operator_id AS user_id, count(*) AS n
    FROM calls
    WHERE received_at >= :start AND received_at < :end AND operator_id IS NOT NULL
    GROUP BY operator_id
), created AS (
    SELECT created_by AS user_id, count(*) AS n
    FROM incidents
    WHERE created_at >= :start AND created_at < :end AND created_by IS NOT NULL
    GROUP BY created_by
)
SELECT u.username, coalesce(taken.n, 0) AS calls, coalesce(created.n, 0) AS incidents
FROM taken
FULL JOIN created USING (user_id)
JOIN users u ON u.id = user_id
ORDER BY u.username
"""

QUERIES = {
    "calls": CALLS_SQL,
    "incidents": INCIDENTS_SQL,
    "agencies": AGENCIES_SQL,
    "times": TIMES_SQL,
    "units": UNITS_SQL,
    "operators": OPERATORS_SQL,
}


# --- shifts and their windows ---------------------------------------------------------


def shift_names(settings: Settings) -> list[str]:
    """The shift names in the order they run during a day."""
    return [s.name for s in settings.shift_list]


def shift_window(settings: Settings, day: date, name: str) -> tuple[datetime, datetime]:
    """The UTC window [start, end) of shift `name` of local date `day`.

    Raises NotFound for a name that is not a configured shift, Invalid for a date whose
    window cannot be represented (year 1 or 9999)."""
    shifts = settings.shift_list
    index = next((i for i, s in enumerate(shifts) if s.name == name), None)
    if index is None:
        known = ", ".join(shift_names(settings))
        raise NotFound(f"there is no shift named {name!r} (shifts: {known})")
    try:
        start = _utc(settings, day, shifts[index].start)
        if index + 1 < len(shifts):
            end = _utc(settings, day, shifts[index + 1].start)
        else:  # the day's last shift ends when the next date's first one starts
            end = _utc(settings, day + timedelta(days=1), shifts[0].start)
    except OverflowError:
        raise Invalid(f"{day.isoformat()} is outside the range of dates kept") from None
    return start, end


def _utc(settings: Settings, day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=settings.zone).astimezone(UTC)


def shift_of(settings: Settings, instant: datetime) -> tuple[date, str]:
    """The (local date, shift name) an aware instant belongs to. Before the day's first
    shift starts it is still the previous date's last shift."""
    if instant.tzinfo is None:
        raise ValueError("shift_of needs a timezone-aware instant")
    local = instant.astimezone(settings.zone)
    shifts = settings.shift_list
    started = [s for s in shifts if s.start <= local.time()]
    if started:
        return local.date(), started[-1].name
    return local.date() - timedelta(days=1), shifts[-1].name


def current_shift(settings: Settings, now: datetime | None = None) -> tuple[date, str]:
    """The shift running now (or at `now`): (the date it started on, its name)."""
    return shift_of(settings, now or datetime.now(UTC))


def shift_hours(settings: Settings, start: datetime, end: datetime) -> list[str]:
    """The local start time ("HH:MM") of each hour of the window [start, end), counted from
    `start`; a last, shorter hour counts as one."""
    count = -(-int((end - start).total_seconds()) // 3600)
    return [f"{(start + timedelta(hours=n)).astimezone(settings.zone):%H:%M}"
            for n in range(count)]


# --- the figures ------------------------------------------------------------------------


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


async def shift_figures(
    session: AsyncSession, settings: Settings, day: date, name: str
) -> dict[str, Any]:
    """All figures of one shift, in the shape of API.md "Supervisor statistics" (plus
    `shift.date` and `agencies[CODE].escalated`). See the module docstring for what each
    number counts."""
    start, end = shift_window(settings, day, name)
    window = {"start": start, "end": end}

    by_disposition = {d: 0 for d in (*DISPOSITIONS, NO_DISPOSITION)}
    hours = shift_hours(settings, start, end)
    by_hour = dict.fromkeys(hours, 0)
    for disposition, hour, n in await session.execute(text(CALLS_SQL), window):
        by_disposition[disposition] = by_disposition.get(disposition, 0) + n
        by_hour[hours[min(hour, len(hours) - 1)]] += n
    total_calls = sum(by_disposition.values())
    pranks = sum(by_disposition[d] for d in PRANK_DISPOSITIONS)

    by_category: dict[str, int] = {}
    by_priority = dict.fromkeys(PRIORITIES, 0)
    merged_away = 0
    for category, priority, merged, n in await session.execute(text(INCIDENTS_SQL), window):
        if merged:
            merged_away += n
            continue
        by_category[category] = by_category.get(category, 0) + n
        by_priority[str(priority)] = by_priority.get(str(priority), 0) + n

    agencies = {}
    for row in await session.execute(text(AGENCIES_SQL), window):
        agencies[row.code] = {
            "assigned": row.assigned,
            "acknowledged": row.acknowledged,
            "completed": row.completed,
            "unacknowledged": row.unacknowledged,
            "escalated": row.escalated,
            "median_ack_s": _seconds(row.median_ack_s),
            "p90_ack_s": _seconds(row.p90_ack_s),
            "units_on_scene": 0,
            "median_dispatch_to_scene_s": None,
            "p90_dispatch_to_scene_s": None,
        }
    for row in await session.execute(text(UNITS_SQL), window):
        figures = agencies.setdefault(row.agency, {
            "assigned": 0, "acknowledged": 0, "completed": 0, "unacknowledged": 0,
            "escalated": 0, "median_ack_s": None, "p90_ack_s": None})
        figures["units_on_scene"] = row.on_scene
        figures["median_dispatch_to_scene_s"] = _seconds(row.median_s)
        figures["p90_dispatch_to_scene_s"] = _seconds(row.p90_s)

    times = (await session.execute(text(TIMES_SQL), window)).one()
    operators = {
        row.username: {"calls": row.calls, "incidents": row.incidents}
        for row in await session.execute(text(OPERATORS_SQL), window)
    }

    zone = settings.zone
    return {
        "shift": {
            "name": name,
            "date": day.isoformat(),
            "start": start.astimezone(zone).isoformat(),
            "end": end.astimezone(zone).isoformat(),
        },
        "calls": {
            "total": total_calls,
            "by_disposition": by_disposition,
            "prank_ratio": round(pranks / total_calls, 4) if total_calls else 0,
            "by_hour": by_hour,
        },
        "incidents": {
            "total": sum(by_category.values()),
            "by_category": dict(sorted(by_category.items())),
            "by_priority": by_priority,
            "merged": merged_away,
        },
        "agencies": agencies,
        "times": {
            "median_call_to_dispatch_s": _seconds(times.median_s),
            "p90_call_to_dispatch_s": _seconds(times.p90_s),
        },
        "operators": operators,
    }


async def day_figures(
    session: AsyncSession, settings: Settings, day: date
) -> list[dict[str, Any]]:
    """The figures of every shift of local date `day`, in running order."""
    return [await shift_figures(session, settings, day, n) for n in shift_names(settings)]


# --- CSV --------------------------------------------------------------------------------
#
# One row per number, `section,item,field,value`, so a spreadsheet can filter or pivot it:
#   shift,,name,pagi                     -> figures["shift"]["name"]
#   calls,,total,9                       -> figures["calls"]["total"]
#   calls,by_disposition,prank,1         -> figures["calls"]["by_disposition"]["prank"]
#   calls,by_hour,07:00,2                -> figures["calls"]["by_hour"]["07:00"]
#   agencies,DAMKAR-MJK-KOTA,p90_ack_s,37.0 -> figures["agencies"][code]["p90_ack_s"]
# An empty value is null. Text cells that a spreadsheet would run as a formula (=, +, -, @)
# get a leading apostrophe, which the parser removes again.

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    value = str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _uncell(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def figures_to_csv(figures: dict[str, Any]) -> str:
    """Flatten one shift's figures to `section,item,field,value` rows (with a header)."""
    rows: list[tuple[object, ...]] = [CSV_HEADER]
    for section, content in figures.items():
        for key, value in content.items():
            if isinstance(value, dict):
                rows.extend((section, key, field, v) for field, v in value.items())
            else:
                rows.append((section, "", key, value))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _number(cell: str) -> int | float | None:
    if cell == "":
        return None
    try:
        return int(cell)
    except ValueError:
        return float(cell)


def parse_figures_csv(data: str) -> dict[str, Any]:
    """Read figures_to_csv's output back into the figures dict (numbers as int or float,
    empty as None; the `shift` section stays text)."""
    figures: dict[str, Any] = {
        "shift": {},
        "calls": {"by_disposition": {}, "by_hour": {}},
        "incidents": {"by_category": {}, "by_priority": {}},
        "agencies": {},
        "times": {},
        "operators": {},
    }
    reader = csv.reader(io.StringIO(data))
    header = next(reader, None)
    if header is None or tuple(header) != CSV_HEADER:
        raise ValueError(f"not a shift statistics CSV: the header is {header!r}")
    for line, row in enumerate(reader, start=2):
        if len(row) != len(CSV_HEADER):
            raise ValueError(f"line {line}: expected 4 cells, found {len(row)}")
        section, item, field, cell = row[0], _uncell(row[1]), _uncell(row[2]), row[3]
        value: Any = _uncell(cell) if section == "shift" else _number(cell)
        target = figures.setdefault(section, {})
        if item:
            target = target.setdefault(item, {})
        target[field] = value
    return figures
