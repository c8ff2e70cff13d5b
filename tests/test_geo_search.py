"""Place search and address geocoding against the migrated demo region (Kota and Kabupaten
Mojokerto). Expected codes come from dispatch/tools/demo_data/desa_*.geojson and
kecamatan_mojokerto.geojson: Mentikan 35.76.01.1003 (kec. Prajuritkulon 35.76.01), Gedongan
35.76.02.1004 (kec. Magersari 35.76.02), Jagalan 35.76.03.1004 (kec. Kranggan 35.76.03, not
Magersari), Kauman both 35.16.08.1004 (kec. Mojosari) and 35.76.01.1004 (kec. Prajuritkulon),
Sooko both the desa 35.16.13.2010 and its kecamatan 35.16.13."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from geo import search
from geo.search import (
    GEOCODE_MIN_SCORE,
    GazetteerInput,
    PlaceHit,
    geocode_address,
    load_gazetteer,
    parse_query,
    read_gazetteer_csv,
    search_places,
)

MENTIKAN = "35.76.01.1003"
GEDONGAN = "35.76.02.1004"
JAGALAN = "35.76.03.1004"
KAUMAN_MOJOSARI = "35.16.08.1004"
KAUMAN_PRAJURITKULON = "35.76.01.1004"
DESA_SOOKO = "35.16.13.2010"
KEC_SOOKO = "35.16.13"
KOTA = "35.76"
KABUPATEN = "35.16"


def codes(hits: list[PlaceHit]) -> list[str]:
    return [h.code for h in hits]


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


# --- normalisation (no database) ------------------------------------------------------------


def test_parse_query_drops_prefixes_rt_rw_and_house_numbers() -> None:
    parsed = parse_query("Jl. Gajah Mada No. 5 RT 01/RW 02, Kel. Jagalan, Kec. Kranggan")
    assert [(p.words, p.hint) for p in parsed.parts] == [
        ("gajah mada", "street"),
        ("jagalan", "kelurahan"),
        ("kranggan", "kecamatan"),
    ]
    assert parsed.parts[0].spellings == ("gajah mada", "jl gajah mada", "jalan gajah mada")
    assert parsed.whole == "jl gajah mada kel jagalan kec kranggan"


def test_parse_query_splits_before_a_prefix_word_without_commas() -> None:
    parsed = parse_query("Gg. Melati RT/RW 001/002 Desa Sooko Kab. Mojokerto")
    assert [(p.words, p.hint) for p in parsed.parts] == [
        ("melati", "street"),
        ("sooko", "kelurahan"),
        ("mojokerto", "kabupaten"),
    ]
    # a prefix word right after another one is part of the name ("Kelurahan Kota Baru")
    parsed = parse_query("Kel. Kota Baru")
    assert [(p.words, p.hint) for p in parsed.parts] == [("kota baru", "kelurahan")]
    assert parse_query("Mentikan").whole is None


@pytest.mark.parametrize(
    "query", ["", "   ", "Kel.", "Jl. , Kec.", "Jl. Gg.", "RT/RW 01/02", ",;,", "-"]
)
def test_parse_query_without_a_name_has_no_parts(query: str) -> None:
    assert parse_query(query).parts == ()


def test_parse_query_cuts_at_200_characters() -> None:
    assert parse_query("a" * 300).parts[0].words == "a" * 200
    assert "mentikan" not in parse_query("zq " * 67 + "Mentikan").parts[0].words


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


# --- the statement uses the trigram indexes ----------------------------------------------


async def test_search_statement_uses_the_trigram_indexes(session: AsyncSession) -> None:
    """The function's own query, planned under the function's own settings (its SET
    clauses, read back from the catalogue), reads both tables through their GIN indexes."""
    body, config = (await session.execute(text(
        "SELECT prosrc, proconfig FROM pg_proc WHERE proname = 'search_place_candidates'"
    ))).one()
    assert "enable_seqscan=off" in config
    for setting in config:
        name, value = setting.split("=", 1)
        await session.execute(text("SELECT set_config(:name, :value, true)"),
                              {"name": name, "value": value})
    query = body.split("RETURN QUERY", 1)[1].rsplit(";", 1)[0]
    await session.execute(text(
        "PREPARE place_search(text[], float8, int, float8) AS " + query.replace(":", "\\:")))
    terms, _ = search.search_terms(parse_query("Jl. Gajah Mada, Jagalan"))
    literal = await session.scalar(  # EXPLAIN EXECUTE takes no parameters
        text("SELECT quote_literal(CAST(:terms AS text[]))"), {"terms": terms})
    plan = "\n".join(row[0] for row in await session.execute(text(
        f"EXPLAIN EXECUTE place_search({literal}, 0.9, 50, 50.0)")))
    await session.execute(text("DEALLOCATE place_search"))
    assert "Bitmap Index Scan on ix_areas_name_trgm" in plan
    assert "Bitmap Index Scan on ix_gazetteer_name_trgm" in plan
    assert "Seq Scan on areas" not in plan and "Seq Scan on gazetteer" not in plan
    assert "ix_areas_geom" not in plan  # else every area's similarity is measured (0010)


async def test_trigram_indexes_keep_no_pending_list(session: AsyncSession) -> None:
    """A GIN pending list is read whole by every search until a vacuum or analyze merges
    it (migration 0010)."""
    options = dict((await session.execute(text(
        "SELECT relname, reloptions FROM pg_class"
        " WHERE relname IN ('ix_areas_name_trgm', 'ix_gazetteer_name_trgm')"))).all())
    assert options == {"ix_areas_name_trgm": ["fastupdate=off"],
                       "ix_gazetteer_name_trgm": ["fastupdate=off"]}


async def test_search_leaves_the_planner_settings_as_it_found_them(
    session: AsyncSession,
) -> None:
    await session.execute(text("SET LOCAL enable_seqscan = on"))
    for name in ("similarity_threshold", "strict_word_similarity_threshold"):
        await session.execute(text(f"SET LOCAL pg_trgm.{name} = 0.9"))
    hits = await search_places(session, "mentikn")  # similarity 0.55: found at 0.3 only
    assert hits and hits[0].code == MENTIKAN
    assert await session.scalar(text("SHOW enable_seqscan")) == "on"
    assert await session.scalar(text("SHOW pg_trgm.similarity_threshold")) == "0.9"
