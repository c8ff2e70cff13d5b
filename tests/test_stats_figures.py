"""Shift statistics (dispatch/stats/figures.py, api/stats.py, dispatch/tools/stats_cli.py) from
the database, over HTTP and on the command line, on hand-built data whose figures were worked
out by hand (tests/stats_support.py).

The rows live in a database of this module's own (migrated, demo region loaded), not in
the run's shared one: the 2031 incidents would top every newest-first incident list and the
queued assignments would sit in the demo agencies' queues that other tests read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import httpx
import pytest
import typer
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from agencies.models import Agency
from api import stats as stats_api
from api.app import create_app
from dispatch.assignments.model import Assignment
from dispatch.core.db import make_engine, make_sessionmaker, transaction
from dispatch.core.settings import Settings
from dispatch.models import Call, Incident, User
from dispatch.stats import figures as stats
from dispatch.tools.stats_cli import stats_app
from tests.stats_support import (
    ASSIGNMENTS,
    CALLS,
    DAMKAR,
    DAY,
    DISPOSITIONS_ZERO,
    EMPTY_TIMES,
    INCIDENTS,
    MALAM,
    NO_PRIORITIES,
    PAGI,
    POLRES,
    PSC,
    SIANG,
    UNIT_STEPS,
    WIB,
    hours,
)
from tests.support import load_demo_into, login, make_settings, started_client


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
        await session.flush()
        for unit, code, incident, status, at in UNIT_STEPS:
            await session.execute(text(
                "INSERT INTO events (at, type, actor, entity, entity_id, incident_id,"
                " agency_codes, after, txid) VALUES (:at, 'unit.status', 'test', 'unit',"
                " :unit, :incident, ARRAY[CAST(:code AS text)],"
                " jsonb_build_object('status', CAST(:status AS text)),"
                " pg_current_xact_id()::text::bigint)"),
                {"at": at, "unit": unit, "incident": incidents[incident].id, "code": code,
                 "status": status})


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
    assert sum(figures["calls"]["by_hour"].values()) == figures["calls"]["total"]


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
                              "prank_ratio": 0, "by_hour": hours(7)}
    assert empty["incidents"] == {"total": 0, "by_category": {}, "by_priority": NO_PRIORITIES,
                                  "merged": 0}
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
    for shown in ("Shift pagi 2031-01-15", "Shift siang 2031-01-15", "Shift malam 2031-01-15",
                  DAMKAR, PSC, POLRES, "0.3333", "25.0", "37.0", "88.0", "2410.0",
                  "fallen_tree", "operator2"):
        assert shown in out, shown
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
