"""Place search and address geocoding of areas against the migrated demo region: exact names,
prefixes, spelling slips, kecamatan confirming a kelurahan, ordering, limits, points and radii,
and the geocoding threshold. Codes: tests/geo_search_support.py."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from geo.search import GEOCODE_MIN_SCORE, PlaceHit, geocode_address, search_places
from tests.geo_search_support import (
    DESA_SOOKO,
    GEDONGAN,
    JAGALAN,
    KABUPATEN,
    KAUMAN_MOJOSARI,
    KAUMAN_PRAJURITKULON,
    KEC_SOOKO,
    KOTA,
    MENTIKAN,
)


def codes(hits: list[PlaceHit]) -> list[str]:
    return [h.code for h in hits]


# --- areas -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["Mentikan", "mentikan", "MENTIKAN", "  Mentikan. "])
async def test_exact_name_in_any_case(session: AsyncSession, query: str) -> None:
    hits = await search_places(session, query)
    assert codes(hits) == [MENTIKAN]
    assert (hits[0].name, hits[0].level, hits[0].score) == ("Mentikan", "kelurahan", 1.0)
    assert hits[0].area_code == MENTIKAN


@pytest.mark.parametrize(
    ("query", "first", "level"),
    [
        ("Kel. Mentikan", MENTIKAN, "kelurahan"),
        ("Kelurahan Mentikan", MENTIKAN, "kelurahan"),
        ("Desa Sooko", DESA_SOOKO, "kelurahan"),
        ("Ds. Sooko", DESA_SOOKO, "kelurahan"),
        ("Kec. Sooko", KEC_SOOKO, "kecamatan"),
        ("Kecamatan Sooko", KEC_SOOKO, "kecamatan"),
    ],
)
async def test_prefix_is_dropped_and_its_level_wins(
    session: AsyncSession, query: str, first: str, level: str
) -> None:
    hits = await search_places(session, query)
    assert (hits[0].code, hits[0].level, hits[0].score) == (first, level, 1.0)
    assert all(h.score <= 0.9 for h in hits[1:])


async def test_sooko_without_prefix_ties_and_ties_break_by_code(session: AsyncSession) -> None:
    hits = await search_places(session, "sooko")
    assert [(h.code, h.score) for h in hits] == [(KEC_SOOKO, 1.0), (DESA_SOOKO, 1.0)]


@pytest.mark.parametrize(
    ("query", "first", "low", "high"),
    [
        ("mentikn", MENTIKAN, 0.5, 0.6),
        ("gedongn", GEDONGAN, 0.5, 0.6),
        ("magersar", "35.76.02", 0.7, 0.75),
        ("prajurit kulon", "35.76.01", 0.7, 0.71),
        ("Kel. Mentkan", MENTIKAN, 0.5, 0.6),
    ],
)
async def test_spelling_slips(
    session: AsyncSession, query: str, first: str, low: float, high: float
) -> None:
    hits = await search_places(session, query)
    assert hits[0].code == first
    assert low <= hits[0].score <= high


async def test_slip_finds_both_areas_of_the_same_name(session: AsyncSession) -> None:
    hits = await search_places(session, "magersar")
    assert [(h.code, h.level) for h in hits[:2]] == [
        ("35.76.02", "kecamatan"),
        ("35.76.02.1003", "kelurahan"),
    ]
    assert hits[0].score == hits[1].score


@pytest.mark.parametrize(
    ("query", "first", "second"),
    [
        ("Kota Mojokerto", KOTA, KABUPATEN),
        ("kota mojokerto", KOTA, KABUPATEN),
        ("Kabupaten Mojokerto", KABUPATEN, KOTA),
        ("Kab. Mojokerto", KABUPATEN, KOTA),
    ],
)
async def test_kota_and_kabupaten_are_told_apart(
    session: AsyncSession, query: str, first: str, second: str
) -> None:
    hits = await search_places(session, query)
    assert codes(hits[:2]) == [first, second]
    assert hits[0].score == 1.0
    assert hits[1].score == pytest.approx(0.81)
    assert {h.level for h in hits[:2]} == {"kabkota"}


async def test_a_kelurahan_confirmed_by_its_kecamatan_ranks_first(session: AsyncSession) -> None:
    hits = await search_places(session, "Gedongan, Magersari")
    assert (hits[0].code, hits[0].score) == (GEDONGAN, 1.0)
    # the kecamatan and the kelurahan named Magersari explain only one of the two parts
    assert [(h.code, h.score) for h in hits[1:3]] == [
        ("35.76.02", 0.75),
        ("35.76.02.1003", 0.75),
    ]
    hits = await search_places(session, "Jagalan, Kranggan")
    assert (hits[0].code, hits[0].score) == (JAGALAN, 1.0)


@pytest.mark.parametrize(
    ("query", "first", "other"),
    [
        ("Kauman, Mojosari", KAUMAN_MOJOSARI, KAUMAN_PRAJURITKULON),
        ("Kauman, Prajuritkulon", KAUMAN_PRAJURITKULON, KAUMAN_MOJOSARI),
        ("Kel. Kauman Kec. Prajurit Kulon", KAUMAN_PRAJURITKULON, KAUMAN_MOJOSARI),
    ],
)
async def test_the_kecamatan_picks_between_kelurahan_of_the_same_name(
    session: AsyncSession, query: str, first: str, other: str
) -> None:
    hits = await search_places(session, query)
    assert hits[0].code == first
    assert hits[0].score >= 0.9
    other_hit = next(h for h in hits if h.code == other)
    assert other_hit.score == pytest.approx(0.75)


async def test_an_address_naming_the_wrong_kecamatan_stays_below_one(
    session: AsyncSession,
) -> None:
    # Jagalan lies in Kranggan, so "Jagalan, Magersari" confirms nothing: every hit is 0.75
    hits = await search_places(session, "Jagalan, Magersari")
    assert JAGALAN in codes(hits)
    assert {h.score for h in hits[:3]} == {0.75}


async def test_a_full_address_without_commas(session: AsyncSession) -> None:
    hits = await search_places(
        session, "Jl. Gajah Mada No. 5 RT 01/RW 02 Kel. Jagalan Kec. Kranggan Kota Mojokerto"
    )
    assert (hits[0].code, hits[0].score) == (JAGALAN, 1.0)
    assert hits[1].code == "35.76.03"  # the kecamatan, less specific


@pytest.mark.parametrize("query", ["", "   ", "Kel.", "Jl. Gg.", "RT/RW 01/02", "Kota", ",,,"])
async def test_empty_or_prefix_only_query_gives_nothing(session: AsyncSession, query: str) -> None:
    assert await search_places(session, query) == []
    assert await geocode_address(session, query) is None


@pytest.mark.parametrize("query", ["xyzzy qwerty", "qqqq zzzz", "1234567", "sari"])
async def test_nonsense_gives_nothing_or_low_scores(session: AsyncSession, query: str) -> None:
    hits = await search_places(session, query)
    assert all(h.score < GEOCODE_MIN_SCORE for h in hits)
    assert await geocode_address(session, query) is None


async def test_long_queries_are_cut_to_200_characters(session: AsyncSession) -> None:
    hits = await search_places(session, "Mentikan, " + "zq " * 300)
    assert hits[0].code == MENTIKAN
    assert MENTIKAN not in codes(await search_places(session, "zq " * 67 + "Mentikan"))


async def test_limit_and_order(session: AsyncSession) -> None:
    hits = await search_places(session, "mojo", limit=50)
    assert len(hits) > 3
    keys = [(-h.score, h.code) for h in hits]
    assert keys == sorted(keys)
    assert codes(await search_places(session, "mojo", limit=3)) == codes(hits[:3])
    assert await search_places(session, "Mentikan", limit=0) == []


async def test_area_points_lie_inside_their_polygon_and_radius_is_equal_area(
    session: AsyncSession,
) -> None:
    hits = []
    for query in ("mojo", "rejo", "sari", "Mojokerto", "Magersari", "Sooko"):
        hits += await search_places(session, query, limit=50)
    assert len({h.code for h in hits}) > 20
    assert {h.level for h in hits} == {"kelurahan", "kecamatan", "kabkota"}
    # the provinsi has no polygon in the demo data, so no point to offer
    assert await search_places(session, "Jawa Timur") == []
    for hit in hits:
        row = (
            await session.execute(
                text(
                    "SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)),"
                    " sqrt(ST_Area(geom::geography) / pi()) FROM areas WHERE code = :code"
                ),
                {"lon": hit.lon, "lat": hit.lat, "code": hit.code},
            )
        ).one()
        assert row[0] is True, hit
        assert hit.radius_m == pytest.approx(row[1])
    mentikan = (await search_places(session, "Mentikan"))[0]
    assert 300 < mentikan.radius_m < 450  # about 0.44 km²
    assert -7.48 < mentikan.lat < -7.46 and 112.42 < mentikan.lon < 112.44


# --- geocoding ---------------------------------------------------------------------------


async def test_geocode_address_threshold(session: AsyncSession) -> None:
    hit = await geocode_address(session, "Jl. Merpati 7, Kel. Mentikan, Kec. Prajuritkulon")
    assert hit is not None
    assert (hit.code, hit.level) == (MENTIKAN, "kelurahan")
    assert 300 < hit.radius_m < 450
    slip = await geocode_address(session, "mentikn")  # one letter missing: score 0.545
    assert slip is not None and slip.code == MENTIKAN
    assert GEOCODE_MIN_SCORE < slip.score < 0.6
    # two letters missing (0.33) or a fragment of several names (0.4): not a position
    assert (await search_places(session, "mentkn"))[0].score < GEOCODE_MIN_SCORE
    assert await geocode_address(session, "mentkn") is None
    assert await geocode_address(session, "sari") is None
    whole_kabupaten = await geocode_address(session, "Kab. Mojokerto")
    assert whole_kabupaten is not None and whole_kabupaten.code == KABUPATEN
    assert whole_kabupaten.radius_m > 15_000  # the caller learns how vague that is
