"""Shared by the area index tests (tests/test_areas_*.py): the Mojokerto desa files, loaded
and indexed once per run, and a square polygon builder."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import shapely
from shapely.geometry import box

from geo.area_codes import Area
from geo.area_geojson import load_areas_geojson
from geo.areas import AreaIndex

REPO = Path(__file__).resolve().parents[1]
DATA_DIRS = (REPO / "dispatch" / "tools" / "demo_data", Path("/work/shared/data/mojokerto"))
DESA_FILES = ("desa_kota_mojokerto.geojson", "desa_kab_mojokerto.geojson")


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


def square(x0: float, y0: float, size: float) -> shapely.Polygon:
    return box(x0, y0, x0 + size, y0 + size)
