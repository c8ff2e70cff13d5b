"""Routing decisions (agencies/routing.py): pure, no database."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from agencies.routing import (
    STRTREE_MIN_COVERAGES,
    AgencyIndex,
    AgencyRecord,
    RouteDecision,
    load_agencies_geojson,
)
from dispatch.core.agency_kinds import AGENCY_KINDS
from dispatch.core.geodesy import haversine_m

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path("/work/shared/data")


def _data_file(bundled: str, shared: str) -> Path:
    path = ROOT / "dispatch" / "tools" / "demo_data" / bundled
    return path if path.exists() else SHARED / shared


AGENCIES_FILE = _data_file("agencies.geojson", "mojokerto/agencies.geojson")
CATEGORIES_FILE = _data_file("categories.json", "categories.json")

RECORDS = load_agencies_geojson(AGENCIES_FILE)
INDEX = AgencyIndex.build(RECORDS)
BY_CODE = {r.code: r for r in RECORDS}
COVERAGE = {r.code: r.coverage for r in RECORDS}
ALL_KINDS = AGENCY_KINDS
FALLBACK = {
    "police": "POLRES-MJK-KOTA",
    "fire": "DAMKAR-MJK-KOTA",
    "health": "PSC119-MJK-KOTA",
    "disaster": "BPBD-MJK-KOTA",
    "sar": "BASARNAS-SBY",
    "utility": "PLN-UP3-MJK",
}
JAKARTA = (-6.2, 106.8)
R = 6_371_008.8  # the mean Earth radius the module uses


def inside(code: str) -> tuple[float, float]:
    """A (lat, lon) inside `code`'s coverage."""
    p = COVERAGE[code].representative_point()
    return p.y, p.x


def station_distance(code: str, lat: float, lon: float) -> float:
    rec = BY_CODE[code]
    return haversine_m(lat, lon, rec.station_lat, rec.station_lon)


def rec(code, kind, lat, lon, coverage=None, *, active=True, fallback=False) -> AgencyRecord:
    return AgencyRecord(code, code.title(), kind, lat, lon, coverage, active, fallback)


def codes(decisions: list[RouteDecision]) -> list[str | None]:
    return [d.agency_code for d in decisions]


# -- the demo file --------------------------------------------------------------------------


def test_loader_reads_the_sixteen_demo_agencies():
    assert len(RECORDS) == 16
    assert len(INDEX) == 16 and INDEX.version == 0
    assert INDEX.kinds == frozenset(ALL_KINDS)
    assert {r.code for r in RECORDS if r.is_fallback} == set(FALLBACK.values())
    assert {r.code for r in RECORDS if r.coverage is None} == {"BASARNAS-SBY", "PLN-UP3-MJK"}
    polres = INDEX.get("POLRES-MJK")
    assert polres is not None
    assert (polres.kind, polres.station_lat, polres.station_lon) == (
        "police",
        -7.520452,
        112.561524,
    )
    assert polres.coverage.geom_type == "Polygon" and polres.active and not polres.is_fallback
    assert INDEX.get("NOPE") is None


def test_loader_rejects_malformed_files(tmp_path):
    def write(features) -> Path:
        path = tmp_path / "a.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        return path

    good = {"code": "X", "name": "X", "kind": "police", "station": {"lat": -7.5, "lon": 112.4}}
    [only] = load_agencies_geojson(
        write([{"type": "Feature", "properties": good, "geometry": None}])
    )
    assert only == AgencyRecord("X", "X", "police", -7.5, 112.4, None, True, False)
    no_station = {k: v for k, v in good.items() if k != "station"}
    with pytest.raises(ValueError, match="station"):
        load_agencies_geojson(write([{"properties": no_station, "geometry": None}]))
    with pytest.raises(ValueError, match="unknown kind 'navy'"):
        load_agencies_geojson(write([{"properties": {**good, "kind": "navy"}, "geometry": None}]))
    (tmp_path / "b.json").write_text("[]")
    with pytest.raises(ValueError, match="FeatureCollection"):
        load_agencies_geojson(tmp_path / "b.json")


# -- coverage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "polsek",
    [
        "POLSEK-PRAJURITKULON",
        "POLSEK-MAGERSARI",
        "POLSEK-KRANGGAN",
        "POLSEK-TROWULAN",
        "POLSEK-MOJOSARI",
    ],
)
def test_nested_coverage_picks_the_polsek_not_the_polres(polsek):
    lat, lon = inside(polsek)
    [d] = INDEX.route(["police"], lat, lon)
    assert d == RouteDecision("police", polsek, "coverage", station_distance(polsek, lat, lon))


def test_kabupaten_point_outside_any_polsek_goes_to_the_polres():
    rest = COVERAGE["POLRES-MJK"].difference(
        shapely.union_all(
            [COVERAGE["POLSEK-TROWULAN"], COVERAGE["POLSEK-MOJOSARI"], COVERAGE["POLRES-MJK-KOTA"]]
        )
    )
    p = rest.representative_point()
    assert INDEX.route(["police"], p.y, p.x)[0].agency_code == "POLRES-MJK"
    # Mojokerto's Kabupaten offices, a few km west of Mojosari
    [d] = INDEX.route(["police"], -7.54126, 112.482)
    assert (d.agency_code, d.reason) == ("POLRES-MJK", "coverage")
    assert d.distance_m == pytest.approx(station_distance("POLRES-MJK", -7.54126, 112.482))


def test_kota_points_never_go_to_the_kabupaten_polres():
    kota = COVERAGE["POLRES-MJK-KOTA"]
    minx, miny, maxx, maxy = kota.bounds
    kota_police = {"POLSEK-PRAJURITKULON", "POLSEK-MAGERSARI", "POLSEK-KRANGGAN"}
    seen: set[str | None] = set()
    checked = 0
    for i in range(40):
        for j in range(40):
            lon, lat = minx + (maxx - minx) * i / 39, miny + (maxy - miny) * j / 39
            if not kota.covers(Point(lon, lat)):
                continue
            checked += 1
            police, fire = INDEX.route(["police", "fire"], lat, lon)
            assert police.agency_code in kota_police | {"POLRES-MJK-KOTA"}
            assert fire.agency_code == "DAMKAR-MJK-KOTA"
            seen.add(police.agency_code)
    assert checked > 500
    assert kota_police <= seen
    # the sliver where the Kabupaten polygon overlaps the Kota still goes to the Kota
    sliver = COVERAGE["POLRES-MJK"].intersection(kota).representative_point()
    assert INDEX.route(["police"], sliver.y, sliver.x)[0].agency_code in kota_police


def test_fire_in_pacet_goes_to_the_pacet_post():
    pacet = BY_CODE["DAMKAR-MJK-POS-PACET"]
    for lat, lon in [inside("DAMKAR-MJK-POS-PACET"), (pacet.station_lat, pacet.station_lon)]:
        fire, police = INDEX.route(["fire", "police"], lat, lon)
        assert (fire.agency_code, fire.reason) == ("DAMKAR-MJK-POS-PACET", "coverage")
        assert (police.agency_code, police.reason) == ("POLRES-MJK", "coverage")
    assert INDEX.route(["fire"], pacet.station_lat, pacet.station_lon)[0].distance_m == 0.0
    # outside Pacet + Trawas the Kabupaten's own fire service takes it
    assert INDEX.route(["fire"], *inside("POLSEK-MOJOSARI"))[0].agency_code == "DAMKAR-MJK"


def test_point_on_a_shared_border_is_deterministic():
    a, b = COVERAGE["POLSEK-MAGERSARI"], COVERAGE["POLSEK-KRANGGAN"]
    shared = set(map(tuple, shapely.get_coordinates(a))) & set(
        map(tuple, shapely.get_coordinates(b))
    )
    assert shared
    for lon, lat in sorted(shared):
        assert a.covers(Point(lon, lat)) and b.covers(Point(lon, lat))
        # both cover the vertex: the smaller coverage (Kranggan, 3.8 vs 6.7 km²-ish) wins
        [d] = INDEX.route(["police"], lat, lon)
        assert (d.agency_code, d.reason) == ("POLSEK-KRANGGAN", "coverage")
    assert COVERAGE["POLSEK-KRANGGAN"].area < COVERAGE["POLSEK-MAGERSARI"].area


def test_equal_coverages_tie_break_on_the_smaller_code_whatever_the_input_order():
    square = box(112.0, -8.0, 112.1, -7.9)
    agencies = [
        rec("B-POST", "fire", -7.95, 112.05, square),
        rec("A-POST", "fire", -7.95, 112.05, square),
        rec("C-POST", "fire", -7.95, 112.05, box(112.1, -8.0, 112.2, -7.9)),
    ]
    for order in (agencies, agencies[::-1]):
        index = AgencyIndex.build(order)
        # inside, and on the edge shared with C-POST's equal-sized square
        assert codes(index.route(["fire"], -7.95, 112.05)) == ["A-POST"]
        assert codes(index.route(["fire"], -7.95, 112.1)) == ["A-POST"]
        assert codes(index.route(["fire"], -7.95, 112.15)) == ["C-POST"]
        assert codes(index.route(["fire"], -7.95, 112.05, exclude={"A-POST"})) == ["B-POST"]


def test_rebuilding_from_shuffled_records_gives_the_same_decisions():
    shuffled = RECORDS[:]
    random.Random(112).shuffle(shuffled)
    other = AgencyIndex.build(shuffled, version=7)
    assert other.version == 7
    for code in COVERAGE:
        if COVERAGE[code] is not None:
            lat, lon = inside(code)
            assert other.route(ALL_KINDS, lat, lon) == INDEX.route(ALL_KINDS, lat, lon)


# -- nearest, fallback, no location -------------------------------------------------------------


def test_nearest_station_distance_matches_a_hand_computation():
    # On the equator the great circle between two points is the equator itself:
    # distance = R * Δλ = 6 371 008.8 m * 0.1° * π/180 = 11 119.508 m.
    index = AgencyIndex.build(
        [
            rec("NEAR", "health", 0.0, 0.0),
            rec("FAR", "health", 0.0, 0.3),
            rec("HQ", "health", 1.0, 1.0, fallback=True),
        ]
    )
    [d] = index.route(["health"], 0.0, 0.1)
    assert (d.agency_code, d.reason) == ("NEAR", "nearest")
    assert d.distance_m == pytest.approx(11_119.508, abs=0.01)
    # along a meridian likewise: R * Δφ = 0.2° → 22 239.016 m, still within 25 km
    [d] = index.route(["health"], 0.2, 0.0, exclude={"FAR"})
    assert (d.agency_code, d.reason) == ("NEAR", "nearest")
    assert d.distance_m == pytest.approx(22_239.016, abs=0.01)
    # 0.3° = 33.4 km from both: beyond max_nearest_m → the fallback, distance to its station
    [d] = index.route(["health"], 0.0, -0.3)
    assert (d.agency_code, d.reason) == ("HQ", "fallback")
    assert d.distance_m == pytest.approx(haversine_m(0.0, -0.3, 1.0, 1.0))


def test_demo_point_outside_every_coverage_goes_to_the_nearest_station():
    # 0.138476° east of the Mojosari station at its latitude, east of every polygon;
    # over 15 km a parallel and the great circle differ by millimetres:
    # R * Δλ * cos φ = 6 371 008.8 * 0.138476 * π/180 * cos 7.520452° = 15 265.40 m
    lat, lon = -7.520452, 112.70
    assert not any(g is not None and g.covers(Point(lon, lat)) for g in COVERAGE.values())
    hand = R * math.radians(112.70 - 112.561524) * math.cos(math.radians(7.520452))
    assert hand == pytest.approx(15_265.40, abs=0.01)
    police, health, fire = INDEX.route(["police", "health", "fire"], lat, lon)
    assert (police.agency_code, police.reason) == ("POLRES-MJK", "nearest")
    assert (health.agency_code, health.reason) == ("PSC119-MJK", "nearest")
    assert (fire.agency_code, fire.reason) == ("DAMKAR-MJK", "nearest")
    for d in (police, health, fire):
        assert d.distance_m == pytest.approx(hand, abs=1.0)


def test_equidistant_stations_tie_break_on_the_smaller_code():
    index = AgencyIndex.build([rec("ZULU", "sar", 0.0, 0.1), rec("ALFA", "sar", 0.0, -0.1)])
    for _ in range(2):
        [d] = index.route(["sar"], 0.0, 0.0)
        assert (d.agency_code, d.reason) == ("ALFA", "nearest")


def test_far_point_goes_to_the_fallback_of_each_kind():
    decisions = INDEX.route(ALL_KINDS, *JAKARTA)
    assert codes(decisions) == [FALLBACK[k] for k in ALL_KINDS]
    assert {d.reason for d in decisions} == {"fallback"}
    for d in decisions:
        assert d.distance_m == pytest.approx(station_distance(d.agency_code, *JAKARTA))
        assert 600_000 < d.distance_m < 700_000


def test_no_location_goes_to_the_fallback_of_every_kind_without_distance():
    for lat, lon in [(None, None), (-7.5, None), (None, 112.4)]:
        decisions = INDEX.route(ALL_KINDS, lat, lon)
        assert decisions == [RouteDecision(k, FALLBACK[k], "fallback", None) for k in ALL_KINDS]


def test_sar_and_utility_have_no_coverage_so_nearest_or_fallback():
    lat, lon = inside("POLSEK-MAGERSARI")
    sar, utility = INDEX.route(["sar", "utility"], lat, lon)
    assert (sar.agency_code, sar.reason) == ("BASARNAS-SBY", "nearest")
    assert (utility.agency_code, utility.reason) == ("PLN-UP3-MJK", "nearest")
    assert utility.distance_m == pytest.approx(station_distance("PLN-UP3-MJK", lat, lon))
    # Pacet is over 25 km from both stations: same agencies, as the kind's fallback
    pacet = BY_CODE["DAMKAR-MJK-POS-PACET"]
    plat, plon = pacet.station_lat, pacet.station_lon
    assert station_distance("BASARNAS-SBY", plat, plon) > 25_000
    assert station_distance("PLN-UP3-MJK", plat, plon) > 25_000
    sar, utility = INDEX.route(["sar", "utility"], plat, plon)
    assert (sar.agency_code, sar.reason) == ("BASARNAS-SBY", "fallback")
    assert (utility.agency_code, utility.reason) == ("PLN-UP3-MJK", "fallback")
    assert sar.distance_m == pytest.approx(31_167.3, abs=1.0)


# -- kinds, declines, inactive agencies -----------------------------------------------------------


def test_multi_agency_category_keeps_the_category_order():
    categories = {c["code"]: c for c in json.loads(CATEGORIES_FILE.read_text())["categories"]}
    kinds = categories["traffic_accident"]["agency_kinds"]
    assert kinds == ["police", "health"]
    lat, lon = inside("POLSEK-TROWULAN")
    decisions = INDEX.route(kinds, lat, lon)
    assert [(d.kind, d.agency_code) for d in decisions] == [
        ("police", "POLSEK-TROWULAN"),
        ("health", "PSC119-MJK"),
    ]
    # duplicates are dropped, first occurrence keeps its place
    assert [d.kind for d in INDEX.route(["health", "police", "health"], lat, lon)] == [
        "health",
        "police",
    ]
    # a kind nobody serves is unroutable rather than an error
    assert INDEX.route(["navy"], lat, lon) == [RouteDecision("navy", None, "unroutable", None)]


def decline_chain(index: AgencyIndex, kind: str, lat, lon) -> list[RouteDecision]:
    """Decline every chosen agency in turn until nobody is left."""
    declined: set[str] = set()
    chain = []
    while True:
        d = index.next_for_kind(kind, lat, lon, frozenset(declined))
        chain.append(d)
        if d.agency_code is None:
            return chain
        assert d.agency_code not in declined
        declined.add(d.agency_code)


def test_decline_chain_polsek_then_polres_then_fallback():
    lat, lon = inside("POLSEK-TROWULAN")
    # with a 5 km nearest radius no other police station qualifies as "nearest"
    index = AgencyIndex.build(RECORDS, max_nearest_m=5_000)
    assert [(d.agency_code, d.reason) for d in decline_chain(index, "police", lat, lon)] == [
        ("POLSEK-TROWULAN", "coverage"),
        ("POLRES-MJK", "coverage"),
        ("POLRES-MJK-KOTA", "fallback"),
        (None, "unroutable"),
    ]


def test_decline_chain_with_default_radius_goes_through_nearest_stations():
    lat, lon = inside("POLSEK-TROWULAN")
    chain = decline_chain(INDEX, "police", lat, lon)
    assert [d.reason for d in chain[:2]] == ["coverage", "coverage"]
    assert codes(chain[:2]) == ["POLSEK-TROWULAN", "POLRES-MJK"]
    nearest = chain[2:-1]
    assert {d.reason for d in nearest} == {"nearest"}
    expected = sorted(
        (station_distance(c, lat, lon), c)
        for c, r in BY_CODE.items()
        if r.kind == "police" and c not in ("POLSEK-TROWULAN", "POLRES-MJK")
    )
    assert [d.agency_code for d in nearest] == [c for _, c in expected]
    assert all(d.distance_m <= 25_000 for d in nearest)
    assert chain[-1] == RouteDecision("police", None, "unroutable", None)
    # every police agency was offered exactly once
    assert sorted(codes(chain[:-1])) == sorted(c for c, r in BY_CODE.items() if r.kind == "police")


def test_excluded_fallback_leaves_the_kind_unroutable():
    [d] = INDEX.route(["police"], None, None, exclude=["POLRES-MJK-KOTA"])
    assert d == RouteDecision("police", None, "unroutable", None)


def test_inactive_agency_is_never_chosen():
    off = {"POLSEK-TROWULAN", "POLRES-MJK-KOTA", "PLN-UP3-MJK"}
    index = AgencyIndex.build(
        [dataclasses.replace(r, active=False) if r.code in off else r for r in RECORDS]
    )
    trowulan = inside("POLSEK-TROWULAN")
    assert codes(index.route(["police"], *trowulan)) == ["POLRES-MJK"]
    # inactive as nearest station or as fallback: skipped too
    assert codes(index.route(["police", "utility"], None, None)) == [None, None]
    assert codes(index.route(["utility"], *inside("POLSEK-MAGERSARI"))) == [None]
    assert "utility" not in index.kinds
    # still known to the registry
    assert index.get("POLSEK-TROWULAN").active is False
    for d in decline_chain(index, "police", *trowulan):
        assert d.agency_code not in off


# -- input checking and repairs --------------------------------------------------------------------


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="invalid coordinates"):
        INDEX.route(["police"], 200.0, 112.4)
    with pytest.raises(ValueError, match="invalid coordinates"):
        INDEX.route(["police"], math.nan, 112.4)
    with pytest.raises(TypeError):
        INDEX.route("police", -7.5, 112.4)
    with pytest.raises(ValueError, match="duplicate agency code"):
        AgencyIndex.build([rec("A", "fire", 0, 0), rec("A", "fire", 1, 1)])
    with pytest.raises(ValueError, match="station"):
        AgencyIndex.build([rec("A", "fire", 91.0, 0)])
    with pytest.raises(ValueError, match="polygon"):
        AgencyIndex.build([rec("A", "fire", 0, 0, Point(0, 0))])
    with pytest.raises(ValueError, match="max_nearest_m"):
        AgencyIndex.build([], max_nearest_m=-1)


def test_invalid_coverage_is_repaired_not_fatal():
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    assert not bowtie.is_valid
    index = AgencyIndex.build([rec("BOW", "fire", 5.0, 5.0, bowtie)])
    [d] = index.route(["fire"], 0.5, 0.2)  # lower triangle of the bow tie
    assert (d.agency_code, d.reason) == ("BOW", "coverage")


def test_empty_index_routes_nothing():
    index = AgencyIndex.build([])
    assert index.route(["police", "fire"], -7.5, 112.4) == [
        RouteDecision("police", None, "unroutable", None),
        RouteDecision("fire", None, "unroutable", None),
    ]


# -- properties -----------------------------------------------------------------------------------


def _area_rank(geom) -> float:
    return geom.area * math.cos(math.radians(geom.centroid.y))


def reference_route(records, kinds, lat, lon, exclude, max_nearest_m=25_000.0):
    """The rule written as plainly as possible, to compare the index against."""
    usable = [r for r in records if r.active and r.code not in exclude]
    out = []
    for kind in dict.fromkeys(kinds):
        mine = sorted((r for r in usable if r.kind == kind), key=lambda r: r.code)
        fallbacks = [r for r in mine if r.is_fallback]
        if lat is None or lon is None:
            d = (
                RouteDecision(kind, fallbacks[0].code, "fallback", None)
                if fallbacks
                else RouteDecision(kind, None, "unroutable", None)
            )
            out.append(d)
            continue
        p = Point(lon, lat)
        dist = {r.code: haversine_m(lat, lon, r.station_lat, r.station_lon) for r in mine}
        covering = sorted(
            (_area_rank(r.coverage), r.code) for r in mine if r.coverage and r.coverage.covers(p)
        )
        near = min(((dist[r.code], r.code) for r in mine), default=None)
        far = min(((dist[r.code], r.code) for r in fallbacks), default=None)
        if covering:
            out.append(RouteDecision(kind, covering[0][1], "coverage", dist[covering[0][1]]))
        elif near is not None and near[0] <= max_nearest_m:
            out.append(RouteDecision(kind, near[1], "nearest", near[0]))
        elif far is not None:
            out.append(RouteDecision(kind, far[1], "fallback", far[0]))
        else:
            out.append(RouteDecision(kind, None, "unroutable", None))
    return out


CODES = sorted(BY_CODE)
VERTICES = [
    (lat, lon)
    for g in COVERAGE.values()
    if g is not None
    for lon, lat in shapely.get_coordinates(g)[::25]
]
points = st.one_of(
    st.none(),
    st.tuples(st.floats(-7.85, -7.25), st.floats(112.25, 112.75)),  # the region
    st.sampled_from(VERTICES),  # on coverage borders
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)),  # anywhere
)


def _assert_sound(index, records, kinds, point, exclude, inactive):
    lat, lon = point if point is not None else (None, None)
    decisions = index.route(kinds, lat, lon, exclude=exclude)
    distinct = list(dict.fromkeys(kinds))
    assert [d.kind for d in decisions] == distinct
    for d in decisions:
        assert d.reason in ("coverage", "nearest", "fallback", "unroutable")
        assert (d.agency_code is None) == (d.reason == "unroutable")
        if d.agency_code is not None:
            assert d.agency_code not in exclude and d.agency_code not in inactive
            assert index.get(d.agency_code).kind == d.kind
        if point is None or d.agency_code is None:
            assert d.distance_m is None
        else:
            chosen = index.get(d.agency_code)
            expected = haversine_m(lat, lon, chosen.station_lat, chosen.station_lon)
            assert d.distance_m == pytest.approx(expected, abs=1e-6)
        if d.reason == "nearest":
            assert d.distance_m <= index.max_nearest_m
    ref = reference_route(records, kinds, lat, lon, exclude, index.max_nearest_m)
    assert [(d.kind, d.agency_code, d.reason) for d in decisions] == [
        (d.kind, d.agency_code, d.reason) for d in ref
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(ALL_KINDS), min_size=1, max_size=8),
    point=points,
    exclude=st.frozensets(st.sampled_from(CODES), max_size=8),
    inactive=st.frozensets(st.sampled_from(CODES), max_size=4),
)
def test_property_one_sound_decision_per_kind(kinds, point, exclude, inactive):
    records = [dataclasses.replace(r, active=r.code not in inactive) for r in RECORDS]
    index = AgencyIndex.build(records) if inactive else INDEX
    _assert_sound(index, records, kinds, point, exclude, inactive)


def _grid_records() -> list[AgencyRecord]:
    """A synthetic region large enough for the STRtree path: 10 x 10 cells per kind pair,
    with a district around each 5 x 5 block and one fallback per kind."""
    out = []
    for kind in ("police", "fire"):
        for i in range(10):
            for j in range(10):
                cell = box(100 + i * 0.05, -8 + j * 0.05, 100.05 + i * 0.05, -7.95 + j * 0.05)
                c = cell.centroid
                out.append(rec(f"{kind[0].upper()}-{i}-{j}", kind, c.y, c.x, cell))
        for bi in range(2):
            for bj in range(2):
                block = box(100 + bi * 0.25, -8 + bj * 0.25, 100.25 + bi * 0.25, -7.75 + bj * 0.25)
                c = block.centroid
                out.append(rec(f"{kind[0].upper()}-BLOCK-{bi}{bj}", kind, c.y, c.x, block))
        out.append(rec(f"{kind[0].upper()}-HQ", kind, -7.0, 101.0, fallback=True))
    out.append(rec("S-HQ", "sar", -7.5, 100.25, fallback=True))
    return out


GRID = _grid_records()
GRID_INDEX = AgencyIndex.build(GRID)
GRID_CODES = sorted(r.code for r in GRID)


def test_grid_index_uses_the_strtree_and_nests():
    assert sum(r.coverage is not None for r in GRID) >= STRTREE_MIN_COVERAGES
    police, fire = GRID_INDEX.route(["police", "fire"], -7.99, 100.01)
    assert (police.agency_code, fire.agency_code) == ("P-0-0", "F-0-0")
    chain = decline_chain(GRID_INDEX, "police", -7.99, 100.01)
    assert codes(chain[:2]) == ["P-0-0", "P-BLOCK-00"]
    assert chain[2].reason == "nearest"  # the neighbouring cells' stations


@settings(max_examples=200, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["police", "fire", "sar", "health"]), min_size=1),
    point=st.one_of(
        st.none(),
        st.tuples(st.floats(-8.1, -7.4), st.floats(99.9, 100.6)),
        # grid lines and corners: on several coverages' borders at once
        st.tuples(
            st.integers(0, 10).map(lambda k: -8 + k * 0.05),
            st.integers(0, 10).map(lambda k: 100 + k * 0.05),
        ),
    ),
    exclude=st.frozensets(st.sampled_from(GRID_CODES), max_size=20),
)
def test_property_strtree_path_matches_the_reference(kinds, point, exclude):
    _assert_sound(GRID_INDEX, GRID, kinds, point, exclude, frozenset())
