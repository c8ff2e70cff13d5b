"""Shift statistics (dispatch/stats/figures.py, api/stats.py, dispatch/tools/stats_cli.py) on
hand-built data whose figures were worked out by hand.

The rows live in a database of this module's own (migrated, demo region loaded), not in
the run's shared one: the 2031 incidents would top every newest-first incident list and the
queued assignments would sit in the demo agencies' queues that other tests read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import typer
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from agencies.models import Agency
from api import stats as stats_api
from api.app import create_app
from dispatch.assignments.model import Assignment
from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.errors import Invalid, NotFound
from dispatch.core.settings import Settings
from dispatch.models import Call, Incident, User
from dispatch.stats import figures as stats
from dispatch.tools.stats_cli import stats_app
from tests.support import load_demo_into, login, make_settings, started_client

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

PAGI = {
    "shift": {"name": "pagi", "date": "2031-01-15", "start": "2031-01-15T07:00:00+07:00",
              "end": "2031-01-15T15:00:00+07:00"},
    "calls": {
        "total": 9,
        "by_disposition": {**DISPOSITIONS_ZERO, "prank": 1, "ghost": 2, "info": 1,
                           "duplicate": 1, "none": 4},
        "prank_ratio": 0.3333,  # (1 prank + 2 ghost) / 9
    },
    "incidents": {
        "total": 5,
        "by_category": {"fallen_tree": 1, "fire": 3, "utility_outage": 1},
        "by_priority": {"1": 2, "2": 1, "3": 1, "4": 1},
    },
    "agencies": {
        # acknowledged after 10, 20, 30, 40 s: median 25, p90 30 + 0.7 * 10 = 37
        DAMKAR: {"assigned": 6, "acknowledged": 4, "completed": 1, "unacknowledged": 2,
                 "escalated": 1, "median_ack_s": 25.0, "p90_ack_s": 37.0},
        POLRES: {"assigned": 1, "acknowledged": 0, "completed": 0, "unacknowledged": 1,
                 "escalated": 0, "median_ack_s": None, "p90_ack_s": None},
        PSC: {"assigned": 1, "acknowledged": 1, "completed": 1, "unacknowledged": 0,
              "escalated": 0, "median_ack_s": 90.0, "p90_ack_s": 90.0},
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
              "prank_ratio": 0},
    "incidents": {"total": 0, "by_category": {}, "by_priority": NO_PRIORITIES},
    "agencies": {},
    "times": EMPTY_TIMES,
    "operators": {"operator": {"calls": 1, "incidents": 0},
                  "operator2": {"calls": 1, "incidents": 0}},
}
MALAM = {
    "shift": {"name": "malam", "date": "2031-01-15", "start": "2031-01-15T23:00:00+07:00",
              "end": "2031-01-16T07:00:00+07:00"},
    "calls": {"total": 2, "by_disposition": {**DISPOSITIONS_ZERO, "none": 1, "transferred": 1},
              "prank_ratio": 0},
    "incidents": {"total": 1, "by_category": {"medical": 1},
                  "by_priority": {**NO_PRIORITIES, "1": 1}},
    "agencies": {PSC: {"assigned": 1, "acknowledged": 1, "completed": 0, "unacknowledged": 0,
                       "escalated": 0, "median_ack_s": 15.0, "p90_ack_s": 15.0}},
    # 23:29:50 on the 15th -> 00:10:00 on the 16th
    "times": {"median_call_to_dispatch_s": 2410.0, "p90_call_to_dispatch_s": 2410.0},
    "operators": {"operator": {"calls": 1, "incidents": 1},
                  "operator2": {"calls": 1, "incidents": 0}},
}


async def _insert_rows(engine: AsyncEngine) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        users = {u.username: u.id for u in await session.scalars(select(User))}
        agencies = {a.code: a for a in await session.scalars(select(Agency))}
        incidents = {}
        for n, (key, (category, priority, created_at, by)) in enumerate(INCIDENTS.items()):
            incidents[key] = Incident(
                id=uuid.uuid4(), number=f"STATS-20310115-{n:04d}", category=category,
                priority=priority, status="dispatched", created_by=users[by],
                created_at=created_at, updated_at=created_at,
            )
        session.add_all(incidents.values())
        await session.flush()
        for n, (received_at, disposition, operator, incident) in enumerate(CALLS):
            session.add(Call(
                received_at=received_at, caller_number=f"+62819917{n:05d}", channel="voice",
                operator_id=users[operator] if operator else None, disposition=disposition,
                incident_id=incidents[incident].id if incident else None,
            ))
        for incident, code, created_at, ack_s, status in ASSIGNMENTS:
            agency = agencies[code]
            session.add(Assignment(
                incident_id=incidents[incident].id, agency_id=agency.id, kind=agency.kind,
                status=status, reason="manual", priority=incidents[incident].priority,
                created_at=created_at, updated_at=created_at,
                ack_due_at=created_at + timedelta(seconds=60),
                acknowledged_at=created_at + timedelta(seconds=ack_s) if ack_s else None,
                escalated_at=created_at + timedelta(seconds=60) if status == "escalated"
                else None,
            ))


@pytest.fixture(scope="module")
async def stats_url(make_database) -> str:  # type: ignore[no-untyped-def]
    url = await make_database(migrated=True)
    await load_demo_into(url)
    engine = make_engine(make_settings(url))
    try:
        await _insert_rows(engine)
    finally:
        await engine.dispose()
    return url


@pytest.fixture(scope="module")
def stats_settings(stats_url: str) -> Settings:
    return make_settings(stats_url)


@pytest.fixture(scope="module")
async def stats_engine(stats_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(stats_settings)
    yield engine
    await engine.dispose()


def _app_with_stats(settings: Settings) -> FastAPI:
    app = create_app(settings)
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/v1/stats/shifts/current" not in paths:
        app.include_router(stats_api.router)
    return app


@pytest.fixture(scope="module")
async def stats_client(stats_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in started_client(_app_with_stats(stats_settings)):
        yield client


async def _figures(engine: AsyncEngine, settings: Settings, day: date, name: str) -> dict:
    async with transaction(make_sessionmaker(engine)) as session:
        return await stats.shift_figures(session, settings, day, name)


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


# --- figures from the database -------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("pagi", PAGI), ("siang", SIANG), ("malam", MALAM),
])
async def test_shift_figures(
    stats_url: str, stats_engine: AsyncEngine, stats_settings: Settings, name: str,
    expected: dict,
) -> None:
    figures = await _figures(stats_engine, stats_settings, DAY, name)
    assert figures == expected
    assert sum(figures["calls"]["by_disposition"].values()) == figures["calls"]["total"]


async def test_neighbouring_and_empty_shifts(
    stats_url: str, stats_engine: AsyncEngine, stats_settings: Settings
) -> None:
    night_before = await _figures(stats_engine, stats_settings, date(2031, 1, 14), "malam")
    assert night_before["calls"]["total"] == 1  # 06:59:59 on the 15th
    assert night_before["calls"]["by_disposition"]["prank"] == 1
    assert night_before["calls"]["prank_ratio"] == 1.0
    assert night_before["operators"] == {"operator": {"calls": 1, "incidents": 0}}
    next_morning = await _figures(stats_engine, stats_settings, date(2031, 1, 16), "pagi")
    assert next_morning["calls"]["total"] == 1  # 07:00:00 on the 16th
    empty = await _figures(stats_engine, stats_settings, date(2031, 1, 17), "pagi")
    assert empty["calls"] == {"total": 0, "by_disposition": DISPOSITIONS_ZERO,
                              "prank_ratio": 0}
    assert empty["incidents"] == {"total": 0, "by_category": {}, "by_priority": NO_PRIORITIES}
    assert (empty["agencies"], empty["operators"], empty["times"]) == ({}, {}, EMPTY_TIMES)


# --- HTTP -----------------------------------------------------------------------------------


async def test_shifts_of_a_date(stats_client: httpx.AsyncClient) -> None:
    supervisor = await login(stats_client, "supervisor")
    response = await stats_client.get("/v1/stats/shifts", params={"date": "2031-01-15"},
                                      headers=supervisor)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"date": "2031-01-15", "timezone": "Asia/Jakarta",
                    "items": [PAGI, SIANG, MALAM], "next_cursor": None}


async def test_current_shift(
    stats_client: httpx.AsyncClient, stats_settings: Settings
) -> None:
    supervisor = await login(stats_client, "supervisor")
    before = stats.current_shift(stats_settings)
    response = await stats_client.get("/v1/stats/shifts/current", headers=supervisor)
    after = stats.current_shift(stats_settings)
    assert response.status_code == 200, response.text
    shift = response.json()["shift"]
    assert (date.fromisoformat(shift["date"]), shift["name"]) in {before, after}
    assert response.json()["calls"]["total"] == 0  # all the rows are in 2031
    today = await stats_client.get("/v1/stats/shifts", headers=supervisor)
    assert today.json()["date"] == datetime.now(WIB).date().isoformat()
    assert [s["shift"]["name"] for s in today.json()["items"]] == ["pagi", "siang", "malam"]


async def test_csv_reads_back_to_the_json_figures(stats_client: httpx.AsyncClient) -> None:
    supervisor = await login(stats_client, "supervisor")
    response = await stats_client.get("/v1/stats/shifts/2031-01-15/pagi.csv",
                                      headers=supervisor)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="shift-2031-01-15-pagi.csv"' in response.headers["content-disposition"]
    assert "agencies,DAMKAR-MJK-KOTA,median_ack_s,25.0" in response.text.splitlines()
    parsed = stats.parse_figures_csv(response.text)
    assert parsed == PAGI
    assert parsed["agencies"][DAMKAR]["p90_ack_s"] == 37.0
    assert parsed["calls"]["prank_ratio"] == 0.3333


@pytest.mark.parametrize("path", [
    "/v1/stats/shifts?date=2031-01-15",
    "/v1/stats/shifts/current",
    "/v1/stats/shifts/2031-01-15/pagi.csv",
])
async def test_supervisors_only(stats_client: httpx.AsyncClient, path: str) -> None:
    anonymous = await stats_client.get(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    for username in ("operator", "admin", "damkar-mjk-kota"):
        response = await stats_client.get(path, headers=await login(stats_client, username))
        assert response.status_code == 403, (username, response.text)
        assert response.json()["status"] == 403


@pytest.mark.parametrize(("path", "status"), [
    ("/v1/stats/shifts?date=2031-13-01", 422),
    ("/v1/stats/shifts?date=yesterday", 422),
    ("/v1/stats/shifts/2031-02-30/pagi.csv", 422),
    ("/v1/stats/shifts/9999-12-31/malam.csv", 422),
    ("/v1/stats/shifts/2031-01-15/sore.csv", 404),
])
async def test_bad_date_or_shift_is_a_problem(
    stats_client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await stats_client.get(path, headers=await login(stats_client, "supervisor"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status
    if status == 404:
        assert "sore" in response.json()["detail"]


# --- command line ---------------------------------------------------------------------------


def _env(url: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "DISPATCH_SECRET_KEY": "k" * 40}


def test_cli_json_is_the_same_figures(stats_url: str) -> None:
    result = CliRunner().invoke(
        stats_app, ["--date", "2031-01-15", "--shift", "pagi", "--json"], env=_env(stats_url)
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == PAGI
    every = CliRunner().invoke(stats_app, ["--date", "2031-01-15", "--json"],
                               env=_env(stats_url))
    assert every.exit_code == 0, every.output
    assert json.loads(every.stdout) == [PAGI, SIANG, MALAM]


def test_cli_tables_as_a_dispatch_subcommand(stats_url: str) -> None:
    dispatch = typer.Typer()
    dispatch.add_typer(stats_app, name="stats")
    result = CliRunner().invoke(dispatch, ["stats", "--date", "2031-01-15"],
                                env={**_env(stats_url), "COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Shift pagi 2031-01-15", "Shift siang 2031-01-15", "Shift malam 2031-01-15",
                 DAMKAR, PSC, POLRES, "0.3333", "25.0", "37.0", "88.0", "2410.0",
                 "fallen_tree", "operator2"):
        assert text in out, text
    damkar = next(line for line in out.splitlines() if DAMKAR in line)
    cells = [cell.strip() for cell in damkar.split("│")[1:9]]
    assert cells == [DAMKAR, "6", "4", "1", "2", "1", "25.0", "37.0"]


def test_cli_unknown_shift_and_bad_date(stats_url: str) -> None:
    unknown = CliRunner().invoke(stats_app, ["--date", "2031-01-15", "--shift", "sore"],
                                 env=_env(stats_url))
    assert unknown.exit_code == 1
    assert "sore" in unknown.stderr
    bad = CliRunner().invoke(stats_app, ["--date", "15/01/2031"], env=_env(stats_url))
    assert bad.exit_code == 2
    assert "not a date" in bad.stderr
