"""The gazetteer of landmarks and streets against the migrated demo region: searching it,
loading (upserts, areas) and reading its CSV. Codes: tests/geo_search_support.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from geo.search import (
    GazetteerInput,
    geocode_address,
    load_gazetteer,
    read_gazetteer_csv,
    search_places,
)
from tests.geo_search_support import GEDONGAN, JAGALAN, MENTIKAN


async def point_in(session: AsyncSession, code: str) -> tuple[float, float]:
    row = (
        await session.execute(
            text(
                "SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                "FROM areas WHERE code = :code) s"
            ),
            {"code": code},
        )
    ).one()
    return float(row[0]), float(row[1])


# --- the gazetteer -----------------------------------------------------------------------


async def test_landmark_found_by_a_slip_with_its_kelurahan(session: AsyncSession) -> None:
    lat, lon = await point_in(session, JAGALAN)
    stored = await load_gazetteer(
        session,
        [
            GazetteerInput("Klenteng Hok Sian Kiong", "landmark", lat, lon),
            GazetteerInput("Masjid Agung Al-Fattah", "landmark", lat + 0.0001, lon),
        ],
    )
    assert stored == 2
    hits = await search_places(session, "klenteng hok sian kyong")
    assert (hits[0].name, hits[0].level, hits[0].area_code) == (
        "Klenteng Hok Sian Kiong",
        "landmark",
        JAGALAN,
    )
    assert (hits[0].lat, hits[0].lon, hits[0].radius_m) == (lat, lon, 50.0)
    assert 0.6 < hits[0].score < 1.0
    hit = await geocode_address(session, "mesjid agung al fatah")
    assert hit is not None and hit.name == "Masjid Agung Al-Fattah"


async def test_a_street_in_the_named_kelurahan_beats_the_kelurahan(session: AsyncSession) -> None:
    lat, lon = await point_in(session, JAGALAN)
    await load_gazetteer(
        session,
        [
            GazetteerInput("Jalan Gajah Mada", "street", lat, lon),
            # a street of the same name elsewhere, in Mentikan
            GazetteerInput("Jl. Gajah Mada", "street", *await point_in(session, MENTIKAN)),
        ],
    )
    hits = await search_places(session, "Jl. Gajah Mada, Jagalan, Kranggan")
    assert (hits[0].level, hits[0].area_code, hits[0].score) == ("street", JAGALAN, 1.0)
    # the kelurahan explains two parts of three: 1.0 * (0.75 + 0.25 * 1/2)
    assert (hits[1].code, hits[1].score) == (JAGALAN, 0.875)
    street_in_mentikan = next(h for h in hits if h.area_code == MENTIKAN)
    assert street_in_mentikan.score < hits[1].score


async def test_load_gazetteer_upserts_by_name_and_kind(session: AsyncSession) -> None:
    lat, lon = await point_in(session, GEDONGAN)
    await load_gazetteer(session, [GazetteerInput("Pasar Tanjung Anyar", "landmark", lat, lon)])
    new_lat, new_lon = await point_in(session, MENTIKAN)
    stored = await load_gazetteer(
        session,
        [
            GazetteerInput("Pasar Tanjung Anyar", "landmark", 0.0, 0.0),
            GazetteerInput(" Pasar Tanjung Anyar ", "landmark", new_lat, new_lon),  # last wins
            GazetteerInput("Pasar Tanjung Anyar", "street", lat, lon),
        ],
    )
    assert stored == 2
    rows = (
        await session.execute(
            text(
                "SELECT kind, area_code, ST_Y(geom), ST_X(geom) FROM gazetteer"
                " WHERE name = 'Pasar Tanjung Anyar' ORDER BY kind"
            )
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("landmark", MENTIKAN, new_lat, new_lon),
        ("street", GEDONGAN, lat, lon),
    ]
    assert await load_gazetteer(session, []) == 0


async def test_gazetteer_entry_outside_the_region_has_no_area(session: AsyncSession) -> None:
    await load_gazetteer(session, [GazetteerInput("Monas", "landmark", -6.1754, 106.8272)])
    hit = await geocode_address(session, "Monas")
    assert hit is not None
    assert (hit.area_code, hit.lat, hit.lon, hit.score) == (None, -6.1754, 106.8272, 1.0)


def test_read_gazetteer_csv(tmp_path: Path) -> None:
    path = tmp_path / "gazetteer.csv"
    path.write_text(
        "\ufeffname,kind,lat,lon\nAlun-Alun Kota Mojokerto,landmark,-7.4722,112.4381\n"
        '"Jalan Majapahit, Mojokerto",street,-7.47,112.43\n',
        encoding="utf-8",
    )
    assert read_gazetteer_csv(path) == [
        GazetteerInput("Alun-Alun Kota Mojokerto", "landmark", -7.4722, 112.4381),
        GazetteerInput("Jalan Majapahit, Mojokerto", "street", -7.47, 112.43),
    ]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("Pasar,landmark,abc,112.4", "lat must be a number"),
        ("Pasar,landmark,-91,112.4", "lat must be a finite number"),
        ("Pasar,landmark,nan,112.4", "lat must be a finite number"),
        ("Pasar,landmark,-7.4,inf", "lon must be a finite number"),
        ("Pasar,landmark,-7.4,181", "lon must be a finite number"),
        ("Pasar,,-7.4,112.4", "kind must be"),
        ("Pasar,a-kind-that-is-far-too-long,-7.4,112.4", "kind must be"),
        (",landmark,-7.4,112.4", "name is empty"),
        ("Pasar,landmark,-7.4", "missing value for lon"),
    ],
)
def test_read_gazetteer_csv_names_the_bad_line(tmp_path: Path, bad_row: str, message: str) -> None:
    path = tmp_path / "gazetteer.csv"
    path.write_text(f"name,kind,lat,lon\nGood,landmark,-7.4,112.4\n{bad_row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"line 3: {message}"):
        read_gazetteer_csv(path)


def test_read_gazetteer_csv_needs_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "gazetteer.csv"
    path.write_text("name,lat,lon\nPasar,-7.4,112.4\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: missing column"):
        read_gazetteer_csv(path)
