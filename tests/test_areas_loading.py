"""Loading areas for the in-memory reverse-geocoding index (geo.area_geojson, geo.area_codes):
the Mojokerto desa files, parent polygon files, national-style gzip files, code helpers.
No database."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from shapely.geometry import mapping

from geo.area_codes import Area, level_of_code, parent_code
from geo.area_geojson import load_areas_geojson
from geo.areas import AreaIndex
from tests.areas_support import DESA_FILES, data_dir, mojokerto_areas, square

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
