"""Positions from trackers: the JSON batch and the OsmAnd protocol.

Every fix is kept in `unit_positions`; the unit's newest fix replaces its position only
when it is newer (trackers resend buffered fixes late and out of order). A fix becomes a
`unit.position` feed event at most once per unit per POSITION_EVENT_INTERVAL_S, and only
when the unit moved at least POSITION_EVENT_MIN_MOVE_M since the last one: parked units
write nothing to the event log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import batch_write
from dispatch.units.views import unit_event, unit_view

MAX_FIXES = 1000
POSITION_EVENT_INTERVAL_S = 5.0
POSITION_EVENT_MIN_MOVE_M = 10.0
MAX_FUTURE = timedelta(minutes=5)  # a phone's clock ahead by more than this is wrong


@dataclass(frozen=True)
class Fix:
    """One reported position; names the unit by `unit_code` or by `device_id`."""

    lat: float
    lon: float
    at: datetime
    unit_code: str | None = None
    device_id: str | None = None
    accuracy_m: float | None = None
    speed_kmh: float | None = None
    heading: float | None = None


@dataclass
class Ingested:
    accepted: int = 0  # fixes stored
    current: int = 0  # units whose position they moved on
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"index", "detail"}


_UNITS = text("""
    SELECT code, device_id, agency_code FROM units
    WHERE code = ANY(CAST(:codes AS text[])) OR device_id = ANY(CAST(:devices AS text[]))
""")

_STORE = text("""
WITH fixes AS (
    SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:ats AS timestamptz[]),
                         CAST(:lats AS float8[]), CAST(:lons AS float8[]),
                         CAST(:accuracies AS float8[]), CAST(:speeds AS float8[]),
                         CAST(:headings AS float8[]))
        AS f(unit_code, at, lat, lon, accuracy_m, speed_kmh, heading)
),
stored AS (
    INSERT INTO unit_positions (unit_code, at, lat, lon, accuracy_m, speed_kmh, heading)
    SELECT unit_code, at, lat, lon, accuracy_m, speed_kmh, heading FROM fixes
),
newest AS (
    SELECT DISTINCT ON (unit_code) * FROM fixes ORDER BY unit_code, at DESC
),
locked AS (  -- in code order: two batches never wait for each other in a circle
    SELECT u.code,
           (u.position_event_at IS NULL
            OR u.position_event_at < now() - make_interval(secs => :interval))
           AND (u.event_lat IS NULL
                OR ST_Distance(ST_SetSRID(ST_MakePoint(u.event_lon, u.event_lat), 4326)
                                   ::geography,
                               ST_SetSRID(ST_MakePoint(n.lon, n.lat), 4326)::geography)
                   >= :min_move) AS due
    FROM units u JOIN newest n ON n.unit_code = u.code
    ORDER BY u.code
    FOR UPDATE OF u
)
UPDATE units u
SET lat = n.lat, lon = n.lon, accuracy_m = n.accuracy_m, speed_kmh = n.speed_kmh,
    heading = n.heading, position_at = n.at,
    location = ST_SetSRID(ST_MakePoint(n.lon, n.lat), 4326)::geography,
    position_event_at = CASE WHEN l.due THEN now() ELSE u.position_event_at END,
    event_lat = CASE WHEN l.due THEN n.lat ELSE u.event_lat END,
    event_lon = CASE WHEN l.due THEN n.lon ELSE u.event_lon END,
    updated_at = now()
FROM newest n JOIN locked l ON l.code = n.unit_code
WHERE u.code = n.unit_code AND (u.position_at IS NULL OR u.position_at < n.at)
RETURNING u.code, u.agency_code, u.kind, u.name, u.status, u.lat, u.lon, u.accuracy_m,
          u.speed_kmh, u.heading, u.position_at, u.incident_id, u.updated_at, l.due
""")


async def ingest(
    session: AsyncSession, fixes: Sequence[Fix], *, now: datetime, retention: timedelta,
    only_agency: str | None = None, actor: str,
) -> Ingested:
    """Store the fixes of known units (of `only_agency`, when the sender is an agency);
    the others are rejected one by one with the reason, and the rest still stored."""
    result = Ingested()
    codes = [f.unit_code for f in fixes if f.unit_code]
    devices = [f.device_id for f in fixes if f.device_id]
    known = (await session.execute(_UNITS, {"codes": codes, "devices": devices})).all()
    by_code = {row.code: row for row in known}
    by_device = {row.device_id: row for row in known if row.device_id}
    rows: list[tuple[str, Fix]] = []
    for index, fix in enumerate(fixes):
        unit = by_code.get(fix.unit_code or "") or by_device.get(fix.device_id or "")
        if unit is None or (only_agency is not None and unit.agency_code != only_agency):
            result.rejected.append({"index": index, "detail": "no such unit"})
        elif fix.at > now + MAX_FUTURE:
            result.rejected.append({"index": index, "detail": "the fix is in the future"})
        elif fix.at < now - retention:
            result.rejected.append({"index": index,
                                    "detail": "the fix is older than the retention"})
        else:
            rows.append((unit.code, fix))
    if not rows:
        return result
    moved = (await session.execute(_STORE, {
        "codes": [code for code, _ in rows], "ats": [f.at for _, f in rows],
        "lats": [f.lat for _, f in rows], "lons": [f.lon for _, f in rows],
        "accuracies": [f.accuracy_m for _, f in rows],
        "speeds": [f.speed_kmh for _, f in rows], "headings": [f.heading for _, f in rows],
        "interval": POSITION_EVENT_INTERVAL_S, "min_move": POSITION_EVENT_MIN_MOVE_M,
    })).all()
    result.accepted = len(rows)
    result.current = len(moved)
    # Not in the incident's timeline: its record of the track is unit_positions.
    events = [unit_event("unit.position", unit_view(row), actor=actor)
              for row in moved if row.due]
    if events:
        await batch_write.write(session, batch_write.NewRecords(events=events))
    return result
