"""Routing decisions (agencies/routing.py) against a plainly written reference rule, as
property tests on the demo agencies and on a synthetic grid large enough for the STRtree path.
Pure, no database."""

from __future__ import annotations

import dataclasses
import math

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from agencies.routing import STRTREE_MIN_COVERAGES, AgencyIndex, AgencyRecord, RouteDecision
from dispatch.core.geodesy import haversine_m
from tests.routing_support import (
    ALL_KINDS,
    BY_CODE,
    COVERAGE,
    INDEX,
    RECORDS,
    codes,
    decline_chain,
    rec,
)

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
