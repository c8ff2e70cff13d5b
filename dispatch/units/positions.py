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
NO_FIX = "no position: lat 0, lon 0 is what a tracker without a fix sends"


def is_no_fix(lat: float, lon: float) -> bool:
    """(0, 0) is what cheap trackers and some apps send while they have no fix (Traccar's
    own OsmAnd decoder reads it so); stored, it would move a Mojokerto ambulance to the Gulf
    of Guinea and out of every recommendation."""
    return lat == 0 and lon == 0


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
    # The unit of each fix refused for its time or place (for the log: whose tracker).
    refused_units: dict[int, str] = field(default_factory=dict)


# One statement: the fixes are matched to their units (by code or device id, of the
# sender's agency when it is one), the valid ones of known units stored, and each unit
# moved on to its newest fix. `known` lists the fixes whose unit was found (valid or
# not), so that an unknown id is told apart from a fix refused for its time or place.
_STORE = text("""
WITH input AS (
    SELECT * FROM unnest(CAST(:indexes AS integer[]), CAST(:codes AS text[]),
                         CAST(:devices AS text[]), CAST(:valid AS boolean[]),
                         CAST(:ats AS timestamptz[]),
                         CAST(:lats AS float8[]), CAST(:lons AS float8[]),
                         CAST(:accuracies AS float8[]), CAST(:speeds AS float8[]),
                         CAST(:headings AS float8[]))
        AS f(idx, code, device_id, valid, at, lat, lon, accuracy_m, speed_kmh, heading)
),
matched AS (  -- a code names its unit before a device id does (two joins: an OR in one
              -- join compared every fix with every unit)
    SELECT DISTINCT ON (idx) * FROM (
        SELECT f.*, u.code AS unit_code, u.agency_code, 0 AS named_by
        FROM input f JOIN units u ON u.code = f.code
        UNION ALL
        SELECT f.*, u.code, u.agency_code, 1
        FROM input f JOIN units u ON u.device_id = f.device_id
    ) m
    WHERE CAST(:agency AS text) IS NULL OR agency_code = CAST(:agency AS text)
    ORDER BY idx, named_by
),
fixes AS (
    SELECT unit_code, at, lat, lon, accuracy_m, speed_kmh, heading FROM matched WHERE valid
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
),
moved AS (
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
)
SELECT k.known, k.known_units, m.* FROM (
    SELECT array_agg(idx ORDER BY idx) AS known,
           array_agg(unit_code ORDER BY idx) AS known_units
    FROM matched) k
LEFT JOIN moved m ON true
""")


async def ingest(
    session: AsyncSession, fixes: Sequence[Fix], *, now: datetime, retention: timedelta,
    only_agency: str | None = None, actor: str,
) -> Ingested:
    """Store the fixes of known units (of `only_agency`, when the sender is an agency);
    the others are rejected one by one with the reason, and the rest still stored."""
    result = Ingested()
    refusals = [_refused(fix, now, retention) for fix in fixes]  # None: usable
    rows = (await session.execute(_STORE, {
        "indexes": list(range(len(fixes))), "valid": [r is None for r in refusals],
        "codes": [f.unit_code for f in fixes], "devices": [f.device_id for f in fixes],
        "ats": [f.at for f in fixes], "lats": [f.lat for f in fixes],
        "lons": [f.lon for f in fixes], "accuracies": [f.accuracy_m for f in fixes],
        "speeds": [f.speed_kmh for f in fixes], "headings": [f.heading for f in fixes],
        "agency": only_agency,
        "interval": POSITION_EVENT_INTERVAL_S, "min_move": POSITION_EVENT_MIN_MOVE_M,
    })).all()
    known = dict(zip(rows[0].known or (), rows[0].known_units or (), strict=True))
    for index, refused in enumerate(refusals):
        if index not in known:
            result.rejected.append({"index": index, "detail": "no such unit"})
        elif refused is not None:
            result.rejected.append({"index": index, "detail": refused})
            result.refused_units[index] = known[index]
        else:
            result.accepted += 1
    moved = [row for row in rows if row.code is not None]
    result.current = len(moved)
    # Not in the incident's timeline: its record of the track is unit_positions.
    events = [unit_event("unit.position", unit_view(row), actor=actor)
              for row in moved if row.due]
    if events:
        await batch_write.write(session, batch_write.NewRecords(events=events))
    return result


def _refused(fix: Fix, now: datetime, retention: timedelta) -> str | None:
    """Why the fix's place or time makes it unusable, or None."""
    if is_no_fix(fix.lat, fix.lon):
        return NO_FIX
    if fix.at > now + MAX_FUTURE:
        return "the fix is in the future"
    if fix.at < now - retention:
        return "the fix is older than the retention"
    return None
