"""The shift statistics' bounded statements (dispatch/stats/figures.py) are exact: on data
built to trip a time-bounded scan, they give what the plain statements over whole tables
give. Those plain statements (the module's before the surge work) are kept here as the
definition: REFERENCE_*.

The call-to-dispatch times only scan the assignments near the shift; these rows break
every shortcut: a survivor of a merge whose first call (or first assignment) is days
older, a call received days before its incident (backdated by the client, an old stored
call linked later), a first assignment two days after the incident, an assignment
stamped minutes before its incident (clocks of two processes), incidents without calls or
assignments, merged-away and unmerged incidents, and the shift's edges. NAIVE_TIMES_SQL,
the bounded statement without the fallbacks, gets this shift wrong: the data bites.

Hand-built rows (2032, in this module's own database) and rows made through the API
(merge, unmerge, an old call opening an incident, a backdated call) are both checked.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from agencies.models import Agency
from api.app import create_app
from dispatch.assignments.model import Assignment
from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.settings import Settings
from dispatch.models import Call, Incident, IncidentMerge, User
from dispatch.stats import figures as stats
from tests.support import demo_settings_with_idle_sweeper, login, started_client

REFERENCE_TIMES_SQL = """
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

# The first try at bounding the scans: assignments from the shift's start to a day after
# its end, calls from a day before to a day after. Wrong here; kept to show the data bites.
NAIVE_TIMES_SQL = REFERENCE_TIMES_SQL.replace(
    "GROUP BY a.incident_id",
    "WHERE a.created_at >= :start AND a.created_at < CAST(:end AS timestamptz)"
    " + interval '1 day' GROUP BY a.incident_id",
).replace(
    "GROUP BY c.incident_id",
    "WHERE c.received_at >= CAST(:start AS timestamptz) - interval '1 day'"
    " AND c.received_at < CAST(:end AS timestamptz) + interval '1 day' GROUP BY c.incident_id",
)

REFERENCE_AGENCIES_SQL = """
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

REFERENCE_INCIDENTS_SQL = """
SELECT category, priority, merged_into IS NOT NULL AS merged, count(*) AS n
FROM incidents
WHERE created_at >= :start AND created_at < :end
GROUP BY 1, 2, 3
"""

REFERENCE_OPERATORS_SQL = """
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

REFERENCE_CALLS_SQL = """
SELECT coalesce(disposition, 'none') AS disposition,
       floor(extract(epoch FROM received_at - :start) / 3600)::int AS hour,
       count(*) AS n
FROM calls
WHERE received_at >= :start AND received_at < :end
GROUP BY 1, 2
"""

DAY = date(2032, 3, 10)  # siang: 15:00-23:00 WIB, 08:00-16:00 UTC
START = datetime(2032, 3, 10, 8, tzinfo=UTC)
END = START + timedelta(hours=8)
DAMKAR, PSC, POLRES = "DAMKAR-MJK-KOTA", "PSC119-MJK-KOTA", "POLRES-MJK-KOTA"


def at(days: int = 0, hours: int = 0, minutes: int = 0, seconds: float = 0) -> datetime:
    return START + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


S = timedelta(seconds=1)
# Call-to-dispatch of each incident siang measures (worked out in _build's comments).
SIANG_SECONDS = [65, 80, 95, 110, 262_860, 40, 172_810, 5_405, 1_842, 29, 39, 439_210,
                 369_035, 75]


def percentile_cont(values: Sequence[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont (linear interpolation)."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


class Rows:
    """Incidents, calls, assignments and merge records as the domain code leaves them."""

    def __init__(self, users: dict[str, uuid.UUID], agencies: dict[str, Agency]) -> None:
        self.users, self.agencies = users, agencies
        self.incidents: dict[str, Incident] = {}
        self.calls: list[Call] = []
        self.assignments: list[Assignment] = []
        self.merges: list[IncidentMerge] = []
        self.merged_into: dict[str, str] = {}

    def incident(self, key: str, created_at: datetime) -> str:
        self.incidents[key] = Incident(
            id=uuid.uuid4(), number=f"EXACT-{len(self.incidents):04d}", category="fire",
            priority=1 + len(self.incidents) % 4, status="dispatched",
            created_by=self.users["supervisor" if len(self.incidents) % 3 else "operator"],
            created_at=created_at, updated_at=created_at)
        return key

    def call(self, key: str | None, received_at: datetime) -> Call:
        operator = ("operator", "operator2", None)[len(self.calls) % 3]
        call = Call(id=uuid.uuid4(), received_at=received_at, channel="voice",
                    caller_number=f"+62816{len(self.calls):08d}",
                    operator_id=self.users[operator] if operator else None,
                    incident_id=self.incidents[key].id if key else None)
        self.calls.append(call)
        return call

    def assign(self, key: str, code: str, created_at: datetime, *, status: str = "completed",
               ack_s: float | None = 20) -> Assignment:
        agency = self.agencies[code]
        assignment = Assignment(
            id=uuid.uuid4(), incident_id=self.incidents[key].id, agency_id=agency.id,
            kind=agency.kind, status=status, reason="coverage", priority=2,
            created_at=created_at, updated_at=created_at,
            ack_due_at=created_at + timedelta(seconds=60),
            acknowledged_at=created_at + timedelta(seconds=ack_s) if ack_s else None)
        self.assignments.append(assignment)
        return assignment

    def merge(self, merged: str, into: str, merged_at: datetime, *, calls: list[Call],
              moved: list[Assignment], cancelled: list[Assignment],
              undone_at: datetime | None = None) -> None:
        """What merging.merge_incident leaves (and, with `undone_at`, the unmerge after it:
        the rows back where they were, the record kept)."""
        if undone_at is None:
            into_id = self.incidents[into].id
            for call in calls:
                call.incident_id = into_id
            for assignment in moved:
                assignment.incident_id = into_id
            for assignment in cancelled:
                assignment.status = "cancelled"
            self.merged_into[merged] = into
        self.merges.append(IncidentMerge(
            id=uuid.uuid4(), merged_id=self.incidents[merged].id,
            into_id=self.incidents[into].id, merged_at=merged_at, merged_by="supervisor",
            status_before="dispatched", call_ids=[c.id for c in calls], note_ids=[],
            moved_assignment_ids=[a.id for a in moved],
            cancelled_assignments=[{"id": str(a.id), "status": "queued", "note": None}
                                   for a in cancelled],
            undone_at=undone_at, undone_by="supervisor" if undone_at else None))


def _build(rows: Rows) -> None:
    for k in range(1, 5):  # ordinary: 50 + 15 k s
        key = rows.incident(f"ordinary{k}", at(minutes=30 * k))
        rows.call(key, at(minutes=30 * k, seconds=-(20 + 5 * k)))
        rows.assign(key, DAMKAR, at(minutes=30 * k, seconds=30 + 10 * k), ack_s=7 * k + 3)
        rows.assign(key, PSC, at(minutes=30 * k, seconds=200),
                    status="escalated" if k == 4 else "completed", ack_s=None if k == 4 else 90)
    # B's first call is A's, 3 days older; A's assignment was cancelled (B holds DAMKAR):
    # 3 d + 1 h + 60 s = 262,860 s
    rows.incident("B", at(hours=1))
    rows.call("B", at(hours=1, seconds=-30))
    rows.assign("B", DAMKAR, at(hours=1, seconds=40), status="acknowledged", ack_s=15)
    rows.incident("A", at(days=-3))
    a_call = rows.call("A", at(days=-3, seconds=-20))
    a_damkar = rows.assign("A", DAMKAR, at(days=-3, seconds=30), status="queued", ack_s=None)
    rows.merge("A", "B", at(hours=2), calls=[a_call], moved=[], cancelled=[a_damkar])
    # C's first call and first assignment both came with A2, 2 days older: 40 s
    rows.incident("C", at(hours=1, minutes=30))
    rows.call("C", at(hours=1, minutes=30, seconds=-10))
    rows.assign("C", POLRES, at(hours=1, minutes=30, seconds=50))
    rows.incident("A2", at(days=-2))
    a2_call = rows.call("A2", at(days=-2, seconds=-15))
    a2_psc = rows.assign("A2", PSC, at(days=-2, seconds=25), status="acknowledged", ack_s=10)
    rows.merge("A2", "C", at(hours=1, minutes=45), calls=[a2_call], moved=[a2_psc],
               cancelled=[])
    # D's only assignment two days after it: 2 d + 10 s
    rows.call(rows.incident("D", at(hours=3)), at(hours=3, seconds=-10))
    rows.assign("D", DAMKAR, at(days=2, hours=3), status="queued", ack_s=None)
    # E's only assignment half an hour after the shift: 1 h 30 min + 5 s
    rows.call(rows.incident("E", at(hours=7)), at(hours=7, seconds=-5))
    rows.assign("E", DAMKAR, END + timedelta(minutes=30))
    # F without an assignment, G without a call: neither counts
    rows.call(rows.incident("F", at(hours=4)), at(hours=4, seconds=-8))
    rows.assign(rows.incident("G", at(hours=4, minutes=10)), DAMKAR,
                at(hours=4, minutes=10, seconds=15))
    # M, of this shift, merged into Z: M does not count, its call is Z's first:
    # 30 min + 42 s = 1,842 s
    rows.incident("M", at(hours=5))
    m_call = rows.call("M", at(hours=5, seconds=-12))
    m_damkar = rows.assign("M", DAMKAR, at(hours=5, seconds=20), status="queued", ack_s=None)
    rows.incident("Z", at(hours=5, minutes=30))
    rows.call("Z", at(hours=5, minutes=30, seconds=-9))
    rows.assign("Z", DAMKAR, at(hours=5, minutes=30, seconds=30))
    rows.merge("M", "Z", at(hours=5, minutes=40), calls=[m_call], moved=[],
               cancelled=[m_damkar])
    # U1 merged into U2 and unmerged: 29 s and 39 s
    rows.incident("U1", at(hours=6))
    u1_call = rows.call("U1", at(hours=6, seconds=-7))
    u1_psc = rows.assign("U1", PSC, at(hours=6, seconds=22))
    rows.incident("U2", at(hours=6, minutes=10))
    rows.call("U2", at(hours=6, minutes=10, seconds=-6))
    rows.assign("U2", POLRES, at(hours=6, minutes=10, seconds=33))
    rows.merge("U1", "U2", at(hours=6, minutes=15), calls=[u1_call], moved=[u1_psc],
               cancelled=[], undone_at=at(hours=6, minutes=20))
    # H's call was received (client's received_at) 5 days earlier: 5 d + 2 h + 10 s
    rows.call(rows.incident("H", at(hours=2)), at(days=-5))
    rows.assign("H", DAMKAR, at(hours=2, seconds=10))
    # I's only call came after its assignment: does not count
    rows.assign(rows.incident("I", at(hours=2, minutes=30)), DAMKAR,
                at(hours=2, minutes=30, seconds=10))
    rows.call("I", at(hours=3, minutes=30))
    # J's first assignment stamped 5 minutes before J (another process's clock), before
    # its call: does not count
    rows.call(rows.incident("J", at(minutes=1)), at(seconds=50))
    rows.assign("J", PSC, at(minutes=-4))
    rows.assign("J", DAMKAR, at(minutes=1, seconds=20))
    # N got a call received 4 days earlier linked: 4 d + 6 h 30 min + 35 s = 369,035 s
    rows.call(rows.incident("N", at(hours=6, minutes=30)), at(hours=6, minutes=30, seconds=-10))
    rows.assign("N", DAMKAR, at(hours=6, minutes=30, seconds=35))
    rows.call("N", at(days=-4))
    # the edges: K in the last microsecond (75 s), L just before, O at the end (next shift)
    micro = timedelta(microseconds=1)
    rows.call(rows.incident("K", END - micro), END - micro - 30 * S)
    rows.assign("K", DAMKAR, END - micro + 45 * S)
    rows.call(rows.incident("L", START - micro), START - micro - 5 * S)
    rows.assign("L", DAMKAR, START - micro + 5 * S)
    rows.call(rows.incident("O", END), END - 5 * S)
    rows.assign("O", PSC, END + 7 * S)
    # calls without an incident, for the calls statement
    rows.call(None, at(minutes=10)).disposition = "prank"
    rows.call(None, at(hours=7, minutes=59, seconds=59)).disposition = "ghost"


async def _insert_rows(engine: AsyncEngine) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        users = {u.username: u.id for u in await session.scalars(select(User))}
        agencies = {a.code: a for a in await session.scalars(select(Agency))}
        rows = Rows(users, agencies)
        _build(rows)
        session.add_all(rows.incidents.values())
        await session.flush()
        for merged, into in rows.merged_into.items():
            incident = rows.incidents[merged]
            incident.merged_into = rows.incidents[into].id
            incident.status, incident.resolution = "closed", "merged"
            incident.closed_at = incident.updated_at = incident.created_at + timedelta(hours=1)
        session.add_all([*rows.calls, *rows.assignments, *rows.merges])


@pytest.fixture(scope="module")
async def exact_settings(make_database: Callable[..., Awaitable[str]]) -> Settings:
    return await demo_settings_with_idle_sweeper(make_database)


@pytest.fixture(scope="module")
async def exact_engine(exact_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(exact_settings)
    await _insert_rows(engine)
    yield engine
    await engine.dispose()


async def _rows(engine: AsyncEngine, window: tuple[datetime, datetime],
                *statements: str) -> list[list[tuple[Any, ...]]]:
    """Every statement's rows for the window, all from one snapshot."""
    params = {"start": window[0], "end": window[1]}
    async with engine.connect() as conn:
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        return [[tuple(row) for row in await conn.execute(text(sql), params)]
                for sql in statements]


async def _assert_like_reference(engine: AsyncEngine, window: tuple[datetime, datetime],
                                 ) -> tuple[Any, ...]:
    """Every statement of the module against its reference; the reference times."""
    (times, times_ref, agencies, agencies_ref, calls, calls_ref, incidents, incidents_ref,
     operators_ref) = await _rows(
        engine, window, stats.TIMES_SQL, REFERENCE_TIMES_SQL, stats.AGENCIES_SQL,
        REFERENCE_AGENCIES_SQL, stats.CALLS_SQL, REFERENCE_CALLS_SQL, stats.INCIDENTS_SQL,
        REFERENCE_INCIDENTS_SQL, REFERENCE_OPERATORS_SQL)
    assert times == times_ref, window
    assert agencies == agencies_ref, window
    # calls and incidents carry the operators' counts as a second grouping set
    assert sorted((d, h, n) for per_op, d, h, _, n in calls if not per_op) == sorted(calls_ref)
    assert sorted((c, p, m, n) for per_op, c, p, m, _, n in incidents if not per_op) == sorted(
        incidents_ref)
    operators: dict[str, list[int]] = {}
    for column, rows in ((0, [(u, n) for per_op, _, _, u, n in calls if per_op]),
                         (1, [(u, n) for per_op, _, _, _, u, n in incidents if per_op])):
        for username, n in rows:
            if username is not None:
                operators.setdefault(username, [0, 0])[column] += n
    assert operators == {u: [c, i] for u, c, i in operators_ref}, window
    return times_ref[0]


async def test_hand_built_shift_matches_the_plain_statements(
    exact_engine: AsyncEngine, exact_settings: Settings
) -> None:
    assert stats.shift_window(exact_settings, DAY, "siang") == (START, END)
    median, p90, measured = await _assert_like_reference(exact_engine, (START, END))
    assert measured == len(SIANG_SECONDS)
    assert median == pytest.approx(statistics.median(SIANG_SECONDS))  # 102.5
    assert p90 == pytest.approx(percentile_cont(SIANG_SECONDS, 0.9))  # 337,182.5
    [naive] = (await _rows(exact_engine, (START, END), NAIVE_TIMES_SQL))[0]
    assert naive != (median, p90, measured)


async def test_every_shift_around_matches_the_plain_statements(
    exact_engine: AsyncEngine, exact_settings: Settings
) -> None:
    measured = 0
    for offset in range(-6, 4):
        for name in stats.shift_names(exact_settings):
            window = stats.shift_window(exact_settings, DAY + timedelta(days=offset), name)
            measured += (await _assert_like_reference(exact_engine, window))[2]
    assert measured == len(SIANG_SECONDS) + 2  # L (pagi) and O (malam)


async def test_shift_figures_of_the_hand_built_shift(
    exact_engine: AsyncEngine, exact_settings: Settings
) -> None:
    async with transaction(make_sessionmaker(exact_engine)) as session:
        figures = await stats.shift_figures(session, exact_settings, DAY, "siang")
    assert figures["times"] == {
        "median_call_to_dispatch_s": 102.5, "p90_call_to_dispatch_s": 337_182.5}
    assert figures["incidents"]["merged"] == 1  # M (A and A2 are older)
    assert figures["calls"]["total"] == 20


async def test_float_seconds_equal_numeric_extract(exact_engine: AsyncEngine) -> None:
    """The statements' float8 seconds (figures._seconds_sql) are extract()::float8, to
    the last bit: 200,000 random microsecond intervals up to 2,000 days either way, and
    the ones around a day."""
    seconds = stats._seconds_sql("d")
    async with exact_engine.connect() as conn:
        checked, differing = (await conn.execute(text(f"""
            WITH spans AS (
                SELECT (timestamptz '2032-03-10' + r * interval '1 microsecond')
                       - timestamptz '2032-03-10' AS d
                FROM (SELECT floor((random() * 2 - 1) * 86400e6 * power(10, random() * 3.3))
                             ::bigint AS r
                      FROM generate_series(1, 200000)
                      UNION ALL
                      SELECT s * (86400000000 + e)
                      FROM unnest(ARRAY[-1, 1]) s, generate_series(-3, 3) e) r
            )
            SELECT count(*), count(*) FILTER (
                WHERE {seconds} IS DISTINCT FROM extract(epoch FROM d)::float8)
            FROM spans"""))).one()
    assert (checked, differing) == (200_014, 0)


# --- through the API -------------------------------------------------------------------

SPOT = {"lat": -7.4705, "lon": 112.4401}


@pytest.fixture(scope="module")
async def exact_client(exact_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in started_client(create_app(exact_settings)):
        yield client


async def _post(client: httpx.AsyncClient, headers: dict[str, str], path: str, **body: Any,
                ) -> dict[str, Any]:
    response = await client.post(path, headers=headers, json=body)
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _call(client: httpx.AsyncClient, operator: dict[str, str], **body: Any,
                ) -> dict[str, Any]:
    number = f"+62817{uuid.uuid4().int % 10**8:08d}"
    return await _post(client, operator, "/v1/calls", caller_number=number, location=SPOT,
                       **body)


async def test_merges_and_old_calls_through_the_api(
    exact_client: httpx.AsyncClient, exact_engine: AsyncEngine, exact_settings: Settings
) -> None:
    operator = await login(exact_client, "operator")
    now = datetime.now(UTC)

    def ago(days: int) -> str:
        return (now - timedelta(days=days)).isoformat()

    # a call received 3 days ago opens A (backdated by the client); A merged into B
    merged = (await _call(exact_client, operator, category="fire",
                          received_at=ago(3)))["incident"]
    survivor = (await _call(exact_client, operator, category="fire"))["incident"]
    await _post(exact_client, operator, f"/v1/incidents/{merged['id']}/merge",
                into_incident_id=survivor["id"])
    # a call stored two days ago without an incident gets one now
    stored = await _call(exact_client, operator, received_at=ago(2))
    await _post(exact_client, operator, f"/v1/calls/{stored['id']}/incident",
                category="traffic_accident")
    # a merge undone
    first = (await _call(exact_client, operator, category="crime"))["incident"]
    second = (await _call(exact_client, operator, category="traffic_accident"))["incident"]
    await _post(exact_client, operator, f"/v1/incidents/{first['id']}/merge",
                into_incident_id=second["id"])
    await _post(exact_client, operator, f"/v1/incidents/{first['id']}/unmerge")
    # a call received 4 days ago linked to a running incident; an incident without a call
    linked = (await _call(exact_client, operator, category="medical"))["incident"]
    await _call(exact_client, operator, link_incident_id=linked["id"], received_at=ago(4))

    async with exact_engine.connect() as conn:
        created = list(await conn.scalars(text(
            "SELECT created_at FROM incidents WHERE created_at BETWEEN :since AND :until"),
            {"since": now - timedelta(minutes=1), "until": datetime.now(UTC)}))
    shifts = {stats.shift_of(exact_settings, instant) for instant in created}
    for day, name in shifts:
        window = stats.shift_window(exact_settings, day, name)
        await _assert_like_reference(exact_engine, window)
    window = stats.shift_window(exact_settings, *stats.shift_of(
        exact_settings, datetime.fromisoformat(survivor["created_at"])))
    reference, naive = await _rows(exact_engine, window, REFERENCE_TIMES_SQL, NAIVE_TIMES_SQL)
    assert reference != naive
