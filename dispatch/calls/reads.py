"""What the intake reads before it writes, in one round trip, and the reads a call's view
needs (repeat pranks, possible duplicates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dispatch.actor import Actor
from dispatch.incidents.location import Located
from dispatch.models import PRANK_DISPOSITIONS, Call, User

REPEAT_WINDOW = timedelta(hours=24)  # prank or ghost calls from a number counted this far back


def counts_as_repeat(disposition: str | None, received_at: datetime, now: datetime) -> bool:
    """Whether a call with this disposition counts toward its number's repeat count."""
    return disposition in PRANK_DISPOSITIONS and received_at >= now - REPEAT_WINDOW


@dataclass(frozen=True)
class IntakeReads:
    number_value: int | None  # nextval for the incident number, when one will be opened
    repeat_count: int  # prank or ghost calls from this number in the last 24 h
    pending_aml: list[dict[str, Any]]  # unmatched AML of this number, locked
    duplicates: list[dict[str, Any]]  # for the provisional position and category


DUPLICATES_SHOWN = 10
# Open incidents near the point and recent, of the call's category or, for a call without
# one yet, of any (a caller describes the place before anyone knows what happened): the
# nearest ten by the spheroid distance (to 0.1 m), older first among equals. Where many lie
# within the radius (a flood: hundreds of the same category), measuring every one of them
# was the intake read's largest cost. So the index (0009) first walks out nearest first to
# the tenth by `<->`, a sphere distance, and only the rows within that reach are measured.
# The two distances differ by under 0.6 % (the ellipsoid's curvatures against the mean
# sphere), so a reach of 1 % (+ 0.1 m for the rounding) past the tenth holds every row the
# exact ordering would pick; with fewer than ten in the radius, the reach holds them all.
#
# Two statements, not one with `(:category IS NULL OR category = :category)`: the service's
# prepared statements are planned once, generically, and such a plan cannot test the
# category inside the index. Without a category the same GiST index of 0009 on (category,
# location::geography, created_at) serves the lookup, testing the place and the window in
# the index with no condition on its first column: with 12,780 open incidents of 15
# categories in a 6 x 5 km box, 81 buffers and 0.2 ms (generic plan, warm), where a
# dedicated index on (location::geography, created_at) took 35 buffers and 0.15 ms; not
# worth a second GiST index to maintain on every intake's insert.
def _duplicates_sql(*, any_category: bool) -> str:
    same = "" if any_category else "AND category = :category"
    return f"""
    SELECT id::text AS incident_id, number, category,
           round(ST_Distance(location::geography,
                             ST_MakePoint(:lon, :lat)::geography)::numeric, 1) AS distance_m,
           round(extract(epoch FROM (:now - created_at))) AS age_s
    FROM incidents
    WHERE status <> 'closed' {same} AND created_at >= :duplicate_since
      AND ST_DWithin(location::geography, ST_MakePoint(:lon, :lat)::geography, (
          SELECT least(:radius, max(sphere_m) * 1.01 + 0.1)  -- none found: the radius
          FROM (SELECT location::geography <-> ST_MakePoint(:lon, :lat)::geography AS sphere_m
                FROM incidents
                WHERE status <> 'closed' {same}
                  AND created_at >= :duplicate_since
                  AND ST_DWithin(location::geography, ST_MakePoint(:lon, :lat)::geography,
                                 :radius)
                ORDER BY 1 LIMIT {DUPLICATES_SHOWN}) nearest))
    ORDER BY distance_m, created_at LIMIT {DUPLICATES_SHOWN}
"""


_DUPLICATES_SQL = _duplicates_sql(any_category=False)
_DUPLICATES_ANY_SQL = _duplicates_sql(any_category=True)
_DUPLICATES = text(_DUPLICATES_SQL)
_DUPLICATES_ANY = text(_DUPLICATES_ANY_SQL)


# Everything the intake reads, in one round trip. The pending AML rows are locked (SKIP
# LOCKED: two calls from one number never both take a message) until the intake commits.
def _intake_reads_sql(*, any_category: bool) -> str:
    return f"""
    SELECT
      CASE WHEN :numbered THEN nextval('incident_number_seq') END AS number_value,
      (SELECT count(*) FROM calls
        WHERE caller_number = :caller AND disposition = ANY(:pranks)
          AND received_at >= :repeat_since) AS repeat_count,
      (SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.id, 'raw', m.raw)
                                 ORDER BY m.received_at DESC), '[]')
         FROM (SELECT id, raw, received_at FROM aml_messages
                WHERE caller_number = :caller AND call_id IS NULL
                  AND received_at >= :aml_since
                ORDER BY received_at DESC FOR UPDATE SKIP LOCKED) m) AS pending_aml,
      (SELECT coalesce(jsonb_agg(d ORDER BY d.distance_m, d.age_s DESC), '[]')
         FROM ({_duplicates_sql(any_category=any_category)}) d) AS duplicates
"""


_INTAKE_READS = text(_intake_reads_sql(any_category=False))
_INTAKE_READS_ANY = text(_intake_reads_sql(any_category=True))


def _duplicate_params(
    actor: Actor, category: str | None, located: Located | None, now: datetime
) -> dict[str, Any]:
    settings = actor.settings
    return {"category": category, "lat": located.lat if located else None,
            "lon": located.lon if located else None, "now": now,
            "duplicate_since": now - timedelta(seconds=settings.duplicate_window_s),
            "radius": settings.duplicate_radius_m}


async def intake_reads(
    session: AsyncSession, actor: Actor, caller: str, *, numbered: bool,
    category: str | None, located: Located | None, now: datetime,
) -> IntakeReads:
    row = (await session.execute(_INTAKE_READS if category else _INTAKE_READS_ANY, {
        "numbered": numbered, "caller": caller, "pranks": list(PRANK_DISPOSITIONS),
        "repeat_since": now - REPEAT_WINDOW,
        "aml_since": now - timedelta(seconds=actor.settings.aml_match_window_s),
        **_duplicate_params(actor, category, located, now),
    })).one()
    return IntakeReads(row.number_value, int(row.repeat_count), list(row.pending_aml),
                       [_duplicate(d) for d in row.duplicates])


def _duplicate(row: dict[str, Any]) -> dict[str, Any]:
    return {"incident_id": str(row["incident_id"]), "number": row["number"],
            "category": row["category"], "distance_m": float(row["distance_m"]),
            "age_s": int(row["age_s"])}


async def possible_duplicates(
    session: AsyncSession, actor: Actor, category: str | None, located: Located | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Open incidents near the point and recent, nearest first: of the same category, or
    of any when the call has none yet."""
    if located is None:
        return []
    rows = await session.execute(_DUPLICATES if category else _DUPLICATES_ANY,
                                 _duplicate_params(actor, category, located, now))
    return [_duplicate(dict(r)) for r in rows.mappings()]


async def repeat_caller(session: AsyncSession, caller_number: str, now: datetime) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Call).where(
            Call.caller_number == caller_number,
            Call.disposition.in_(PRANK_DISPOSITIONS),
            Call.received_at >= now - REPEAT_WINDOW,
        )
    )
    return int(count or 0)


async def call_to_close(
    session: AsyncSession, call_id: Any, now: datetime
) -> tuple[Call, str | None, int] | None:
    """The call locked for its disposition, its operator's username, and the prank or
    ghost calls from its number in the last 24 h other than itself: one round trip."""
    other = aliased(Call)
    other_pranks = (
        select(func.count()).select_from(other)
        .where(other.caller_number == Call.caller_number,
               other.disposition.in_(PRANK_DISPOSITIONS),
               other.received_at >= now - REPEAT_WINDOW, other.id != Call.id)
        .scalar_subquery()
    )
    row = (await session.execute(
        select(Call, User.username, other_pranks)
        .outerjoin(User, User.id == Call.operator_id)
        .where(Call.id == call_id)
        .with_for_update(of=Call)
    )).one_or_none()
    return None if row is None else (row[0], row[1], int(row[2]))
