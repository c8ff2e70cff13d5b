"""`dispatch geo load-cells` and `load-gazetteer`: admin-loadable tables used by intake."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from tests.support import load_demo_into, login, make_settings, started_client


@pytest.fixture(scope="module")
async def own_db(make_database) -> str:
    """Rows loaded by these tests persist, so they get a database of their own."""
    url = await make_database(migrated=True)
    await load_demo_into(url)
    return url


@pytest.fixture(scope="module")
async def own_client(own_db: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in started_client(create_app(make_settings(own_db))):
        yield client


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DISPATCH_SECRET_KEY": "k" * 40}
    return subprocess.run([sys.executable, "-m", "dispatch.tools.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


async def test_loaded_cell_locates_a_call(
    tmp_path: Path, own_db: str, own_client: httpx.AsyncClient
) -> None:
    database_url, client = own_db, own_client
    cells = tmp_path / "cells.csv"
    cells.write_text("mcc,mnc,lac,cid,lat,lon,radius_m\n510,10,4321,98765,-7.47,112.43,800\n")
    result = _cli(database_url, "geo", "load-cells", str(cells))
    assert result.returncode == 0, result.stderr
    assert "loaded 1 cells rows" in result.stdout
    operator = await login(client, "operator")
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281500000001",
        "cell": {"mcc": 510, "mnc": 10, "lac": 4321, "cid": 98765}})).json()
    assert call["location"] == {"lat": -7.47, "lon": 112.43, "accuracy_m": 800.0,
                                "source": "cell"}
    assert call["area"]["kelurahan"]["name"] == "Mentikan"


async def test_gazetteer_landmark_locates_an_address(
    tmp_path: Path, own_db: str, own_client: httpx.AsyncClient
) -> None:
    database_url, client = own_db, own_client
    places = tmp_path / "places.csv"
    places.write_text("name,kind,lat,lon\nAlun-alun Kota Mojokerto,landmark,-7.4722,112.4338\n")
    assert _cli(database_url, "geo", "load-gazetteer", str(places)).returncode == 0
    operator = await login(client, "operator")
    call = (await client.post("/v1/calls", headers=operator, json={
        "caller_number": "+6281500000002", "address": "alun alun kota mojokerto"})).json()
    assert call["location"]["source"] == "address"
    assert (call["location"]["lat"], call["location"]["lon"]) == (-7.4722, 112.4338)


def test_bad_csv_line_is_named_and_nothing_loaded(tmp_path: Path, own_db: str) -> None:
    database_url = own_db
    cells = tmp_path / "cells.csv"
    cells.write_text("mcc,mnc,lac,cid,lat,lon,radius_m\n510,10,1,1,-7.4,112.4,500\n"
                     "51,10,1,2,-7.4,112.4,500\n")
    result = _cli(database_url, "geo", "load-cells", str(cells))
    assert result.returncode == 1
    assert "line 3" in result.stderr and "mcc" in result.stderr
