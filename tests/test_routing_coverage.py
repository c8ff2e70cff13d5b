"""Routing decisions (agencies/routing.py) by coverage: the demo agencies file, nested and
bordering coverages, and deterministic tie-breaks. Pure, no database."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Point, box

from agencies.routing import AgencyIndex, AgencyRecord, RouteDecision, load_agencies_geojson
from tests.routing_support import (
    ALL_KINDS,
    BY_CODE,
    COVERAGE,
    FALLBACK,
    INDEX,
    RECORDS,
    codes,
    inside,
    rec,
    station_distance,
)

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
