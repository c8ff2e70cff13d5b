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
  created (``incidents.created_by``, merged ones included) in the shift, by username;
  calls without an operator are not attributed.

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


def _seconds_sql(interval: str) -> str:
    """SQL for an interval's length in seconds, float8: the value of
    `extract(epoch FROM interval)::float8`, whose numeric arithmetic cost 0.15 us a row
    (6 ms of the agencies statement on the surge shift). Under a day the interval is
    microseconds only and date_part divides them by 10^6 in float8, rounded once as the
    numeric's conversion is; from a day on it adds the days' seconds after rounding, which
    can differ in the last bit, so those take extract."""
    return (f"CASE WHEN ({interval}) > interval '-1 day' AND ({interval}) < interval '1 day'"
            f" THEN date_part('epoch', {interval}) ELSE extract(epoch FROM {interval})::float8"
            " END")


# Every statement takes the half-open shift window [:start, :end) in UTC.
# Calls: one index range scan, grouped twice (GROUPING SETS): per (disposition, hour of the
# shift), at most 7 x 24 rows, and per operator (`per_operator`: GROUPING() says which
# set a row belongs to). Rows go into their hour with date_bin (integer arithmetic); the numeric
# extract(epoch ...) per call took half the statement, so it runs once per group. The
# operators' counts used to be a statement of their own, scanning the calls and the
# incidents again: for the 35,000-incident surge shift calls + incidents + operators took
# 44 ms, now 25 (bench/bench_stats.py).
CALLS_SQL = """
SELECT g.per_operator, g.disposition,
       (extract(epoch FROM g.hour_start - :start) / 3600)::int AS hour, u.username, g.n
FROM (
    SELECT GROUPING(operator_id) = 0 AS per_operator,
           coalesce(disposition, 'none') AS disposition,
           date_bin('1 hour', received_at, :start) AS hour_start,
           operator_id,
           count(*) AS n
    FROM calls
    WHERE received_at >= :start AND received_at < :end
    GROUP BY GROUPING SETS ((2, 3), (4))
) g
LEFT JOIN users u ON u.id = g.operator_id
"""

# Incidents: per (category, priority, merged), and per operator (`per_operator`).
INCIDENTS_SQL = """
SELECT g.per_operator, g.category, g.priority, g.merged, u.username, g.n
FROM (
    SELECT GROUPING(created_by) = 0 AS per_operator,
           category, priority, merged_into IS NOT NULL AS merged, created_by,
           count(*) AS n
    FROM incidents
    WHERE created_at >= :start AND created_at < :end
    GROUP BY GROUPING SETS ((2, 3, 4), (5))
) g
LEFT JOIN users u ON u.id = g.created_by
"""

# Grouped by agency_id (a hash aggregate, no sort of the shift's assignments by code); each
# agency's acknowledgement times are collected in an array and only those are sorted for the
# percentiles. The same numbers as grouping the join by code with two percentile_cont over
# the rows: 55 -> 35 ms on the 35,000-incident surge shift (bench/bench_stats.py).
AGENCIES_SQL = f"""
WITH counted AS (
    SELECT agency_id,
           count(*) AS assigned,
           count(acknowledged_at) AS acknowledged,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status IN ('queued', 'escalated')) AS unacknowledged,
           count(*) FILTER (WHERE status = 'escalated') AS escalated,
           array_agg({_seconds_sql("acknowledged_at - created_at")})
               FILTER (WHERE acknowledged_at IS NOT NULL) AS ack_s
    FROM assignments
    WHERE created_at >= :start AND created_at < :end
    GROUP BY agency_id
)
SELECT ag.code, c.assigned, c.acknowledged, c.completed, c.unacknowledged, c.escalated,
       p.median_ack_s, p.p90_ack_s
FROM counted c
JOIN agencies ag ON ag.id = c.agency_id
CROSS JOIN LATERAL (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS median_ack_s,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90_ack_s
    FROM unnest(c.ack_s) s
) p
ORDER BY ag.code
"""

# Call-to-dispatch: one hash aggregate over (a) every call of the shift's incidents, found
# through ix_calls_incident_id (one index descent per incident, whatever the call's age), and
# (b) the assignments created in [start - 1 day, end + 1 hour), a range of
# ix_assignments_created_at; then an exact per-incident look-up for the few incidents (b)
# may have got wrong. Exact, because:
# - Calls: all of them. A call can be any age: `received_at` comes from the client, an old
#   stored call can open or join an incident (calls/actions.py), a merge moves calls.
# - Assignments: rows are made only by assignments/records.py:new_assignment, with the
#   `now` of the transaction that opens the incident (the incident's own created_at) or of
#   a later one that found it (reroute, manual, escalation of one of its overdue
#   assignments), so never before the incident was created.
#   Only a merge moves an assignment to another incident, and it records the survivor in
#   incident_merges (never deleted; an unmerge moves it back where it was). So an incident
#   of the shift that never took a merge has no assignment before `start`: (b) holds its
#   first one unless it has none before `end + 1 hour`. For those (no row in (b)) and for
#   merge survivors, the lateral takes the minimum over all its assignments. The day
#   before `start` covers clocks of different processes disagreeing by up to a day.
# Min over a whole table per incident needs GROUP BY: without it the planner rewrites
# min() into a walk of ix_assignments_created_at from the start for every incident
# (quadratic: a 35,000-incident surge shift ran past the statement timeout). Grouped joins
# of the whole tables (hashing all of calls and assignments, 24,700 blocks read past
# shared_buffers) took 214-381 ms on that shift; this, 119-121 ms (bench/bench_stats.py).
TIMES_SQL = f"""
WITH firsts AS (
    SELECT t.incident_id, min(t.call_at) AS call_at, min(t.assigned_at) AS assigned_at
    FROM (
        SELECT c.incident_id, c.received_at AS call_at, NULL::timestamptz AS assigned_at
        FROM calls c
        WHERE c.incident_id = ANY (ARRAY(
            SELECT id FROM incidents
            WHERE created_at >= :start AND created_at < :end AND merged_into IS NULL))
        UNION ALL
        SELECT a.incident_id, NULL, a.created_at
        FROM assignments a
        WHERE a.created_at >= CAST(:start AS timestamptz) - interval '1 day'
          AND a.created_at < CAST(:end AS timestamptz) + interval '1 hour'
    ) t
    GROUP BY t.incident_id
    HAVING min(t.call_at) IS NOT NULL
), measured AS (
    SELECT {_seconds_sql("delay")} AS seconds
    FROM (
        SELECT coalesce(x.at, f.assigned_at) - f.call_at AS delay
        FROM firsts f
        LEFT JOIN LATERAL (
            SELECT min(a.created_at) AS at
            FROM assignments a
            WHERE a.incident_id = f.incident_id
              AND (f.assigned_at IS NULL
                   OR f.incident_id IN (SELECT into_id FROM incident_merges))
            GROUP BY a.incident_id
        ) x ON true
        WHERE coalesce(x.at, f.assigned_at) >= f.call_at
    ) delays
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

QUERIES = {
    "calls": CALLS_SQL,
    "incidents": INCIDENTS_SQL,
    "agencies": AGENCIES_SQL,
    "times": TIMES_SQL,
    "units": UNITS_SQL,
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

    operators: dict[str, dict[str, int]] = {}
    by_disposition = {d: 0 for d in (*DISPOSITIONS, NO_DISPOSITION)}
    hours = shift_hours(settings, start, end)
    by_hour = dict.fromkeys(hours, 0)
    rows = await session.execute(text(CALLS_SQL), window)
    for per_operator, disposition, hour, username, n in rows:
        if per_operator:
            if username is not None:  # else calls without an operator
                operators.setdefault(username, {"calls": 0, "incidents": 0})["calls"] += n
            continue
        by_disposition[disposition] = by_disposition.get(disposition, 0) + n
        by_hour[hours[min(hour, len(hours) - 1)]] += n
    total_calls = sum(by_disposition.values())
    pranks = sum(by_disposition[d] for d in PRANK_DISPOSITIONS)

    by_category: dict[str, int] = {}
    by_priority = dict.fromkeys(PRIORITIES, 0)
    merged_away = 0
    rows = await session.execute(text(INCIDENTS_SQL), window)
    for per_operator, category, priority, merged, username, n in rows:
        if per_operator:
            if username is not None:
                operators.setdefault(username, {"calls": 0, "incidents": 0})["incidents"] += n
            continue
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
        "operators": dict(sorted(operators.items())),
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
