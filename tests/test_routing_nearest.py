"""Routing decisions (agencies/routing.py) outside every coverage: the nearest station within
its radius, else the kind's fallback, and no location at all. Pure, no database."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import Point

from agencies.routing import AgencyIndex, RouteDecision
from dispatch.core.geodesy import haversine_m
from tests.routing_support import (
    ALL_KINDS,
    BY_CODE,
    COVERAGE,
    FALLBACK,
    INDEX,
    JAKARTA,
    R,
    codes,
    inside,
    rec,
    station_distance,
)

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
