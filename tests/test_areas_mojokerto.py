"""The in-memory reverse-geocoding index (geo.areas) on the real Mojokerto data: named points,
shared borders, sliver gaps, points outside the region or invalid, batch lookups, and a
property test. No database."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.area_codes import Area, AreaMatch
from geo.area_geojson import load_areas_geojson
from tests.areas_support import data_dir, mojokerto_areas, mojokerto_index

MOJOKERTO_BBOX = (112.33187, -7.77922, 112.66377, -7.30313)  # min lon, min lat, max lon, max lat


def kelurahan_by_name() -> dict[str, Area]:
    return {a.name: a for a in mojokerto_areas() if a.level == "kelurahan"}


# --- locating real points -----------------------------------------------------------------


def test_documented_check_point_is_mentikan() -> None:
    match = mojokerto_index().locate(-7.47, 112.43)
    assert isinstance(match, AreaMatch) and match.exact is True
    assert match.to_dict() == {
        "kelurahan": {"code": "35.76.01.1003", "name": "Mentikan"},
        "kecamatan": {"code": "35.76.01", "name": "Prajuritkulon"},
        "kabkota": {"code": "35.76", "name": "Kota Mojokerto"},
        "provinsi": {"code": "35", "name": "Jawa Timur"},
    }


@pytest.mark.parametrize(
    ("name", "kecamatan", "kabkota"),
    [
        ("Mentikan", "Prajuritkulon", "Kota Mojokerto"),
        ("Trowulan", "Trowulan", "Kabupaten Mojokerto"),
        ("Mojosari", "Mojosari", "Kabupaten Mojokerto"),
        ("Pacet", "Pacet", "Kabupaten Mojokerto"),
    ],
)
def test_representative_point_of_named_kelurahan(name: str, kecamatan: str, kabkota: str) -> None:
    area = kelurahan_by_name()[name]
    assert area.geometry is not None
    point = area.geometry.representative_point()
    match = mojokerto_index().locate(point.y, point.x)
    assert match is not None and match.exact
    assert (match.kelurahan.code, match.kelurahan.name) == (area.code, name)
    assert (match.kecamatan.code, match.kecamatan.name) == (area.parent_code, kecamatan)
    assert match.kabkota.name == kabkota
    assert match.provinsi.code == "35"


def test_every_kelurahan_finds_itself_or_a_smaller_overlapping_code() -> None:
    index = mojokerto_index()
    own = 0
    for area in mojokerto_areas():
        if area.level != "kelurahan" or area.geometry is None:
            continue
        point = area.geometry.representative_point()
        match = index.locate(point.y, point.x)
        assert match is not None and match.exact
        if match.kelurahan.code == area.code:
            own += 1
        else:  # a sliver overlap: the other polygon covers the point and has a smaller code
            other = next(a for a in mojokerto_areas() if a.code == match.kelurahan.code)
            assert match.kelurahan.code < area.code
            assert other.geometry is not None and other.geometry.covers(point)
    assert own >= 315


def shared_vertices(limit: int) -> list[tuple[float, float, str, str]]:
    """Vertices present in the exterior rings of exactly two kelurahan: (x, y, code1, code2)."""
    owners: dict[tuple[float, float], set[str]] = {}
    for area in mojokerto_areas():
        if area.level != "kelurahan" or area.geometry is None:
            continue
        for polygon in getattr(area.geometry, "geoms", [area.geometry]):
            for x, y in polygon.exterior.coords:
                owners.setdefault((x, y), set()).add(area.code)
    pairs = [(x, y, *sorted(codes)) for (x, y), codes in owners.items() if len(codes) == 2]
    random.Random(7).shuffle(pairs)
    return pairs[:limit]


def test_point_on_shared_border_goes_to_the_smaller_code() -> None:
    index = mojokerto_index()
    geoms = {a.code: a.geometry for a in mojokerto_areas() if a.level == "kelurahan"}
    vertices = shared_vertices(40)
    assert len(vertices) == 40
    for x, y, smaller, larger in vertices:
        assert shapely.intersects_xy(geoms[smaller], x, y)
        assert shapely.intersects_xy(geoms[larger], x, y)
        match = index.locate(y, x)
        assert match is not None
        assert (match.kelurahan.code, match.exact) == (smaller, True)
    many = index.locate_many([(y, x) for x, y, _, _ in vertices])
    assert [m.kelurahan.code for m in many if m] == [smaller for _, _, smaller, _ in vertices]


def metres_between(geometry: shapely.Geometry, x: float, y: float) -> float:
    """Distance from (x, y) to the geometry in a local equirectangular projection."""
    scale = np.array([111_195.08 * math.cos(math.radians(y)), 111_195.08])
    offset = np.array([x, y])
    local = shapely.transform(geometry, lambda c: (c - offset) * scale)
    return float(local.distance(shapely.Point(0, 0)))


def test_real_sliver_gap_takes_the_nearest_within_tolerance() -> None:
    """Sliver gaps between desa: the kab/kota outlines (small holes closed) minus the desa."""
    index = mojokerto_index()
    kelurahan = [a for a in mojokerto_areas() if a.level == "kelurahan" and a.geometry]
    outlines = load_areas_geojson(data_dir() / "kabkota_mojokerto.geojson")
    outline = shapely.union_all([a.geometry for a in outlines if a.geometry is not None])
    pieces = shapely.get_parts(
        outline.difference(shapely.union_all([a.geometry for a in kelurahan]))
    )
    gaps = sorted(pieces, key=lambda g: g.area, reverse=True)[:40]
    checked = 0
    for gap in gaps:
        point = gap.representative_point()
        x, y = point.x, point.y
        # Brute force over every kelurahan, in metres around the point.
        distances = sorted((metres_between(a.geometry, x, y), a.code) for a in kelurahan)
        (d1, code1), (d2, _) = distances[:2]
        if d1 == 0 or abs(d2 - d1) < 0.01:
            continue  # on a border, or too close to call
        match = index.locate(y, x)
        if d1 <= 50.0:
            assert match is not None
            assert (match.kelurahan.code, match.exact) == (code1, False)
            checked += 1
        else:
            assert match is None
    assert checked >= 3


# --- outside the service area and bad input ---------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (-6.2, 106.82),  # Jakarta
        (0.0, 0.0),
        (math.nan, 112.43),
        (-7.47, math.nan),
        (200.0, 112.43),
        (-7.47, 400.0),
        (math.inf, 112.43),
        (-7.47, -math.inf),
        (-7.30, 112.33),  # inside the bbox corner, but more than 50 m from any desa
        (None, 112.43),
        ("abc", 112.43),
        (10**400, 112.43),
    ],
)
def test_outside_or_invalid_is_none(lat: object, lon: object) -> None:
    assert mojokerto_index().locate(lat, lon) is None  # type: ignore[arg-type]
    assert mojokerto_index().locate_many([(lat, lon)]) == [None]  # type: ignore[list-item]


def test_locate_many_agrees_with_locate_on_random_points() -> None:
    index = mojokerto_index()
    rng = np.random.default_rng(112)
    min_x, min_y, max_x, max_y = MOJOKERTO_BBOX
    points = list(
        zip(
            rng.uniform(min_y, max_y, 2000).tolist(),
            rng.uniform(min_x, max_x, 2000).tolist(),
            strict=True,
        )
    )
    # A few bad ones mixed in.
    points[5] = (math.nan, 112.4)
    points[6] = (-95.0, 112.4)
    single = [index.locate(lat, lon) for lat, lon in points]
    batched = index.locate_many(points)
    assert batched == single
    assert single[5] is None and single[6] is None
    found = [m for m in single if m is not None]
    assert 800 <= len(found) <= 1300  # the districts cover about half of the bbox
    assert {m.kabkota.code for m in found} == {"35.16", "35.76"}
    assert all(m.kelurahan.code.startswith(m.kecamatan.code + ".") for m in found)
    # Ragged input falls back to one-at-a-time.
    ragged = [points[0], (1.0,), points[1]]
    assert index.locate_many(ragged) == [single[0], None, single[1]]  # type: ignore[list-item]
    assert index.locate_many([]) == []


coordinate = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=300, deadline=None)
@given(
    lat=st.one_of(coordinate, st.floats(MOJOKERTO_BBOX[1], MOJOKERTO_BBOX[3])),
    lon=st.one_of(coordinate, st.floats(MOJOKERTO_BBOX[0], MOJOKERTO_BBOX[2])),
)
def test_property_locate_never_raises_and_hierarchy_is_consistent(lat: float, lon: float) -> None:
    match = mojokerto_index().locate(lat, lon)
    inside_bbox = (
        MOJOKERTO_BBOX[1] - 0.01 <= lat <= MOJOKERTO_BBOX[3] + 0.01
        and MOJOKERTO_BBOX[0] - 0.01 <= lon <= MOJOKERTO_BBOX[2] + 0.01
    )
    if not inside_bbox:
        assert match is None
        return
    if match is None:
        return
    assert match.kelurahan.code.startswith(match.kecamatan.code + ".")
    assert match.kecamatan.code.startswith(match.kabkota.code + ".")
    assert match.kabkota.code.startswith(match.provinsi.code + ".")
    assert match.provinsi == match.provinsi.__class__("35", "Jawa Timur")
    assert mojokerto_index().locate_many([(lat, lon)]) == [match]
