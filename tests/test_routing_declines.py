"""Routing decisions (agencies/routing.py) over several kinds, decline chains, excluded and
inactive agencies, refused input and repaired coverages. Pure, no database."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import shapely
from shapely.geometry import Point

from agencies.routing import AgencyIndex, RouteDecision
from tests.routing_support import (
    BY_CODE,
    CATEGORIES_FILE,
    INDEX,
    RECORDS,
    codes,
    decline_chain,
    inside,
    rec,
    station_distance,
)

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
