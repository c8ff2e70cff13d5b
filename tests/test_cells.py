"""Serving-cell positions: lookup, upsert and the CSV the admin loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from geo.cells import CellFix, CellTowerInput, load_cell_towers, locate_cell, read_cell_csv

TOWER = CellTowerInput(
    mcc=510, mnc=10, lac=12345, cid=67890, lat=-7.4705, lon=112.4338, radius_m=800.0
)


async def count_towers(session: AsyncSession, mcc: int, mnc: int, lac: int, cid: int) -> int:
    return int(
        await session.scalar(
            text(
                "SELECT count(*) FROM cell_towers"
                " WHERE mcc = :mcc AND mnc = :mnc AND lac = :lac AND cid = :cid"
            ),
            {"mcc": mcc, "mnc": mnc, "lac": lac, "cid": cid},
        )
    )


async def test_locate_a_loaded_cell(session: AsyncSession) -> None:
    assert await load_cell_towers(session, [TOWER]) == 1
    assert await locate_cell(session, 510, 10, 12345, 67890) == CellFix(
        lat=-7.4705, lon=112.4338, radius_m=800.0, mcc=510, mnc=10, lac=12345, cid=67890
    )


@pytest.mark.parametrize(
    "key",
    [
        (510, 10, 12345, 67891),  # another cell id
        (510, 11, 12345, 67890),  # another network
        (510, 10, 12346, 67890),  # another area
        (511, 10, 12345, 67890),  # another country
        (510, 10, 12345, -1),  # cannot exist
        (510, 10, 12345, 2**36 - 1),  # a 5G NR cell id (36 bits) not in the table
        (510, 10, 12345, 2**36),  # beyond any cell id
    ],
)
async def test_unknown_cell_is_none(session: AsyncSession, key: tuple[int, ...]) -> None:
    await load_cell_towers(session, [TOWER])
    assert await locate_cell(session, *key) is None


async def test_upsert_twice_leaves_one_row_with_the_last_position(session: AsyncSession) -> None:
    moved = CellTowerInput(510, 10, 12345, 67890, lat=-7.5, lon=112.5, radius_m=1500.0)
    assert await load_cell_towers(session, [TOWER]) == 1
    assert await load_cell_towers(session, [TOWER, moved]) == 2
    assert await count_towers(session, 510, 10, 12345, 67890) == 1
    fix = await locate_cell(session, 510, 10, 12345, 67890)
    assert fix is not None
    assert (fix.lat, fix.lon, fix.radius_m) == (-7.5, 112.5, 1500.0)


async def test_load_in_batches(session: AsyncSession) -> None:
    towers = [
        CellTowerInput(510, 89, 700, cid, lat=-7.47 + cid * 1e-5, lon=112.43, radius_m=300.0)
        for cid in range(1, 2502)
    ]
    assert await load_cell_towers(session, towers) == 2501
    count = await session.scalar(text("SELECT count(*) FROM cell_towers WHERE mnc = 89"))
    assert count == 2501
    fix = await locate_cell(session, 510, 89, 700, 2501)
    assert fix is not None and fix.lat == pytest.approx(-7.47 + 2501e-5)
    assert await load_cell_towers(session, []) == 0


def test_read_cell_csv(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text(
        "\ufeffmcc,mnc,lac,cid,lat,lon,radius_m\n"
        "510,10,12345,67890,-7.4705,112.4338,800\n"
        "510, 01 ,0,268435455,-7.5,112.5,1500.5\n",
        encoding="utf-8",
    )
    assert read_cell_csv(path) == [
        TOWER,
        CellTowerInput(510, 1, 0, 268_435_455, -7.5, 112.5, 1500.5),
    ]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("51,10,1,1,-7.4,112.4,500", "mcc must be 3 digits"),
        ("5100,10,1,1,-7.4,112.4,500", "mcc must be 3 digits"),
        ("ABC,10,1,1,-7.4,112.4,500", "mcc must be 3 digits"),
        ("510,1,1,1,-7.4,112.4,500", "mnc must be 2 or 3 digits"),
        ("510,1000,1,1,-7.4,112.4,500", "mnc must be 2 or 3 digits"),
        ("510,10,-1,1,-7.4,112.4,500", "lac must be a non-negative integer"),
        ("510,10,16777216,1,-7.4,112.4,500", "lac must be in"),
        ("510,10,1,x,-7.4,112.4,500", "cid must be a non-negative integer"),
        ("510,10,1,68719476736,-7.4,112.4,500", "cid must be in"),  # 2**36
        ("510,10,1,1,-90.5,112.4,500", "lat must be a finite number"),
        ("510,10,1,1,nan,112.4,500", "lat must be a finite number"),
        ("510,10,1,1,-7.4,180.01,500", "lon must be a finite number"),
        ("510,10,1,1,-7.4,east,500", "lon must be a number"),
        ("510,10,1,1,-7.4,112.4,0", "radius_m must be a finite number > 0"),
        ("510,10,1,1,-7.4,112.4,-5", "radius_m must be a finite number > 0"),
        ("510,10,1,1,-7.4,112.4,inf", "radius_m must be a finite number > 0"),
        ("510,10,1,1,-7.4,112.4", "radius_m must be a number"),
    ],
)
def test_read_cell_csv_names_the_bad_line(tmp_path: Path, bad_row: str, message: str) -> None:
    path = tmp_path / "cells.csv"
    path.write_text(
        "mcc,mnc,lac,cid,lat,lon,radius_m\n"
        "510,10,1,1,-7.4,112.4,500\n"
        "510,10,1,2,-7.4,112.4,500\n"
        f"{bad_row}\n"
        "510,10,1,3,-7.4,112.4,500\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=rf"line 4: {message}"):
        read_cell_csv(path)


def test_read_cell_csv_needs_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("mcc,mnc,lac,cid,lat,lon\n510,10,1,1,-7.4,112.4\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 1: missing column.*radius_m"):
        read_cell_csv(path)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"mcc": 1000}, "mcc"),
        ({"lat": float("nan")}, "lat"),
        ({"lon": -180.5}, "lon"),
        ({"radius_m": 0.0}, "radius_m"),
    ],
)
def test_tower_input_is_validated_whatever_its_source(fields: dict, message: str) -> None:
    values = {
        "mcc": 510,
        "mnc": 10,
        "lac": 1,
        "cid": 1,
        "lat": -7.4,
        "lon": 112.4,
        "radius_m": 500.0,
    }
    values.update(fields)
    with pytest.raises(ValueError, match=message):
        CellTowerInput(**values)
