"""The in-memory reverse-geocoding index (geo.areas), on the Mojokerto data and on synthetic
polygons. No database."""

from __future__ import annotations

import gzip
import json
import math
import random
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box, mapping

from geo.area_codes import Area, AreaMatch, level_of_code, parent_code
from geo.area_geojson import load_areas_geojson
from geo.areas import AreaIndex

REPO = Path(__file__).resolve().parents[1]
DATA_DIRS = (REPO / "dispatch" / "tools" / "demo_data", Path("/work/shared/data/mojokerto"))
DESA_FILES = ("desa_kota_mojokerto.geojson", "desa_kab_mojokerto.geojson")
MOJOKERTO_BBOX = (112.33187, -7.77922, 112.66377, -7.30313)  # min lon, min lat, max lon, max lat


def data_dir() -> Path:
    """dispatch/tools/demo_data once the files are copied there, else the shared data folder."""
    for folder in DATA_DIRS:
        if all((folder / name).is_file() for name in DESA_FILES):
            return folder
    pytest.fail(f"no Mojokerto desa files in any of {[str(d) for d in DATA_DIRS]}")


@cache
def mojokerto_areas() -> tuple[Area, ...]:
    return tuple(load_areas_geojson([data_dir() / name for name in DESA_FILES]))


@cache
def mojokerto_index() -> AreaIndex:
    return AreaIndex.build(mojokerto_areas(), version="test-1")


def kelurahan_by_name() -> dict[str, Area]:
    return {a.name: a for a in mojokerto_areas() if a.level == "kelurahan"}


def square(x0: float, y0: float, size: float) -> shapely.Polygon:
    return box(x0, y0, x0 + size, y0 + size)


def synthetic(*kelurahan: tuple[str, shapely.Polygon], **build_kwargs: object) -> AreaIndex:
    rows = [
        Area(code, f"Kel {code}", "kelurahan", parent_code(code), geom) for code, geom in kelurahan
    ]
    rows.append(Area("99.01.01", "Kec Satu", "kecamatan", "99.01", None))
    rows.append(Area("99.01", "Kota Uji", "kabkota", "99", None))
    return AreaIndex.build(rows, **build_kwargs)  # type: ignore[arg-type]


# --- loading ------------------------------------------------------------------------------


def test_load_gives_every_level_with_synthesised_parents() -> None:
    areas = mojokerto_areas()
    levels = Counter(a.level for a in areas)
    assert levels == {"kelurahan": 322, "kecamatan": 21, "kabkota": 2, "provinsi": 1}
    by_code = {a.code: a for a in areas}
    assert by_code["35"] == Area("35", "Jawa Timur", "provinsi", None, None)
    assert by_code["35.76"].name == "Kota Mojokerto"
    assert by_code["35.76"].geometry is None  # no polygon file given: synthesised
    assert by_code["35.76.01"].name == "Prajuritkulon"
    assert by_code["35.76.01"].parent_code == "35.76"
    mentikan = by_code["35.76.01.1003"]
    assert (mentikan.name, mentikan.level, mentikan.parent_code) == (
        "Mentikan",
        "kelurahan",
        "35.76.01",
    )
    assert mentikan.geometry is not None and mentikan.geometry.geom_type == "Polygon"
    assert [a.level for a in areas[:3]] == ["provinsi", "kabkota", "kabkota"]


def test_load_with_polygon_files_for_parents_keeps_their_geometry() -> None:
    folder = data_dir()
    areas = load_areas_geojson(
        [
            folder / n
            for n in (*DESA_FILES, "kecamatan_mojokerto.geojson", "kabkota_mojokerto.geojson")
        ]
    )
    by_code = {a.code: a for a in areas}
    assert len(areas) == 322 + 21 + 2 + 1
    assert by_code["35.76"].geometry is not None
    assert by_code["35.16.01"].name == "Jatirejo"
    assert by_code["35.16.01"].geometry is not None
    assert by_code["35"].geometry is None


def test_load_national_style_gz_derives_parent_codes(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {
                "code": code,
                "name": name,
                "jenis": "desa",
                "kecamatan": "Kec A",
                "kabkota": "Kabupaten B",
                "provinsi": "Prov C",
            },
            "geometry": mapping(square(x, 0.0, 0.01)),
        }
        for code, name, x in (("77.01.02.2001", "Satu", 0.0), ("77.01.02.2002", "Dua", 0.01))
    ]
    path = tmp_path / "national.geojson.gz"
    with gzip.open(path, "wt") as fh:
        json.dump({"type": "FeatureCollection", "features": features}, fh)
    areas = load_areas_geojson(path)
    assert [(a.code, a.name, a.level, a.parent_code) for a in areas] == [
        ("77", "Prov C", "provinsi", None),
        ("77.01", "Kabupaten B", "kabkota", "77"),
        ("77.01.02", "Kec A", "kecamatan", "77.01"),
        ("77.01.02.2001", "Satu", "kelurahan", "77.01.02"),
        ("77.01.02.2002", "Dua", "kelurahan", "77.01.02"),
    ]
    match = AreaIndex.build(areas).locate(0.005, 0.015)
    assert match is not None
    assert match.to_dict() == {
        "kelurahan": {"code": "77.01.02.2002", "name": "Dua"},
        "kecamatan": {"code": "77.01.02", "name": "Kec A"},
        "kabkota": {"code": "77.01", "name": "Kabupaten B"},
        "provinsi": {"code": "77", "name": "Prov C"},
    }


def test_code_helpers() -> None:
    assert parent_code("35.76.01.1003") == "35.76.01"
    assert parent_code("35.76") == "35"
    assert parent_code("35") is None
    assert [level_of_code(c) for c in ("35", "35.76", "35.76.01", "35.76.01.1003")] == [
        "provinsi",
        "kabkota",
        "kecamatan",
        "kelurahan",
    ]
    with pytest.raises(ValueError):
        level_of_code("35.76.01.1003.7")


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


# --- synthetic geometry: gaps, overlaps, tolerance -------------------------------------------

DEG_PER_M = 1 / 111_195.08  # at the equator, where these squares sit


def test_synthetic_gap_nearest_and_tie_break() -> None:
    gap = 30 * DEG_PER_M  # two squares 30 m apart, side by side
    left, right = square(0.0, 0.0, 0.01), square(0.01 + gap, 0.0, 0.01)
    index = synthetic(("99.01.01.2002", left), ("99.01.01.2001", right))
    # 10 m from the left square, 20 m from the right one.
    match = index.locate(0.005, 0.01 + 10 * DEG_PER_M)
    assert match is not None
    assert (match.kelurahan.code, match.exact) == ("99.01.01.2002", False)
    assert match.kecamatan.name == "Kec Satu"
    # 25 m from the left, 5 m from the right.
    match = index.locate(0.005, 0.01 + 25 * DEG_PER_M)
    assert match is not None and (match.kelurahan.code, match.exact) == ("99.01.01.2001", False)
    # Exactly halfway: the smaller code.
    match = index.locate(0.005, 0.01 + gap / 2)
    assert match is not None and (match.kelurahan.code, match.exact) == ("99.01.01.2001", False)
    # Inside: exact.
    match = index.locate(0.005, 0.005)
    assert match is not None and (match.kelurahan.code, match.exact) == ("99.01.01.2002", True)


def test_synthetic_tolerance_limits() -> None:
    index = synthetic(("99.01.01.2001", square(0.0, 0.0, 0.01)), gap_tolerance_m=50.0)
    just_in = index.locate(0.005, 0.01 + 49 * DEG_PER_M)
    assert just_in is not None and just_in.exact is False
    assert index.locate(0.005, 0.01 + 51 * DEG_PER_M) is None
    # Diagonal from the corner: 40 m east and 40 m north is 56.6 m away.
    assert index.locate(0.01 + 40 * DEG_PER_M, 0.01 + 40 * DEG_PER_M) is None
    strict = synthetic(("99.01.01.2001", square(0.0, 0.0, 0.01)), gap_tolerance_m=0)
    assert strict.locate(0.005, 0.01 + 1 * DEG_PER_M) is None
    with pytest.raises(ValueError):
        synthetic(("99.01.01.2001", square(0.0, 0.0, 0.01)), gap_tolerance_m=-1)


def test_synthetic_overlap_goes_to_smaller_code_whatever_the_input_order() -> None:
    a = ("99.01.01.2005", square(0.0, 0.0, 0.02))
    b = ("99.01.01.1001", square(0.01, 0.01, 0.02))
    for rows in ((a, b), (b, a)):
        index = synthetic(*rows)
        overlap = index.locate(0.015, 0.015)
        assert overlap is not None and overlap.kelurahan.code == "99.01.01.1001"
        only_a = index.locate(0.005, 0.005)
        assert only_a is not None and only_a.kelurahan.code == "99.01.01.2005"
        # On b's corner, inside a: both cover it, smaller code.
        corner = index.locate(0.01, 0.01)
        assert corner is not None and (corner.kelurahan.code, corner.exact) == (
            "99.01.01.1001",
            True,
        )


def test_missing_parent_is_named_by_its_code_and_version_len() -> None:
    rows = [Area("88.02.03.2001", "Desa X", "kelurahan", "88.02.03", square(0, 0, 0.01))]
    index = AreaIndex.build(rows, version=42)
    assert index.version == 42 and len(index) == 1
    match = index.locate(0.005, 0.005)
    assert match is not None
    assert match.to_dict() == {
        "kelurahan": {"code": "88.02.03.2001", "name": "Desa X"},
        "kecamatan": {"code": "88.02.03", "name": "88.02.03"},
        "kabkota": {"code": "88.02", "name": "88.02"},
        "provinsi": {"code": "88", "name": "88"},
    }
    assert len(mojokerto_index()) == 322 and mojokerto_index().version == "test-1"


def test_build_rejects_bad_rows() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        synthetic(("99.01.01.2001", square(0, 0, 1)), ("99.01.01.2001", square(2, 0, 1)))
    with pytest.raises(ValueError, match="polygon"):
        synthetic(("99.01.01.2001", shapely.Point(0, 0)))
    with pytest.raises(ValueError):
        AreaIndex.build([Area("99.01", "X", "kelurahan", "99", square(0, 0, 1))])
    empty = synthetic(("99.01.01.2001", None))  # type: ignore[arg-type]
    assert len(empty) == 0 and empty.locate(0.5, 0.5) is None
    assert empty.locate_many([(0.5, 0.5)]) == [None]


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
