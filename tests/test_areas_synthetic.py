"""The in-memory reverse-geocoding index (geo.areas) on synthetic polygons: gaps and the
nearest within tolerance, overlaps, missing parents, rows it refuses. No database."""

from __future__ import annotations

import pytest
import shapely

from geo.area_codes import Area, parent_code
from geo.areas import AreaIndex
from tests.areas_support import mojokerto_index, square


def synthetic(*kelurahan: tuple[str, shapely.Polygon], **build_kwargs: object) -> AreaIndex:
    rows = [
        Area(code, f"Kel {code}", "kelurahan", parent_code(code), geom) for code, geom in kelurahan
    ]
    rows.append(Area("99.01.01", "Kec Satu", "kecamatan", "99.01", None))
    rows.append(Area("99.01", "Kota Uji", "kabkota", "99", None))
    return AreaIndex.build(rows, **build_kwargs)  # type: ignore[arg-type]


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
