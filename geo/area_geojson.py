"""Loading `Area` rows from the project's GeoJSON files (desa, kecamatan, kab/kota levels)."""

from __future__ import annotations

import gc
import gzip
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from shapely.geometry import shape

from geo.area_codes import LEVELS, Area, level_of_code, parent_code

# GeoJSON `level` values of the project's files; desa and kelurahan are the same level.
_LEVEL_ALIASES = {
    "desa": "kelurahan",
    "kelurahan": "kelurahan",
    "kecamatan": "kecamatan",
    "kabkota": "kabkota",
    "provinsi": "provinsi",
}
# Property keys (code, name) of each parent level in the desa/kecamatan/kabkota files.
_PARENT_KEYS = {
    "kecamatan": ("kecamatan_code", "kecamatan"),
    "kabkota": ("kabkota_code", "kabkota"),
    "provinsi": ("provinsi_code", "provinsi"),
}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing a big GeoJSON allocates millions of lists; cyclic GC passes triple the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_feature_collection(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh, _gc_paused():
        doc = cast(dict[str, Any], json.loads(fh.read()))
    if doc.get("type") != "FeatureCollection":
        raise ValueError(f"{path}: not a GeoJSON FeatureCollection")
    features: list[dict[str, Any]] = doc["features"]
    return features


def load_areas_geojson(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Area]:
    """Area rows for every level from the project's GeoJSON files (`.geojson` or `.gz`).

    Feature properties: `code`, `name`, optional `level` ("desa" | "kecamatan" | "kabkota"),
    and the parents' `*_code`/name pairs when present; where a parent's code is absent (the
    national file) it is derived from the feature's code. Parents without a feature of
    their own (the provinsi always) are synthesised with geometry None. Rows come out sorted
    by level (provinsi first) then code.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    with_feature: dict[str, Area] = {}
    parent_names: dict[str, str] = {}
    for raw_path in paths:
        path = Path(raw_path)
        features = _read_feature_collection(path)
        with _gc_paused():
            for feature in features:
                area = _area_of_feature(path, feature, parent_names)
                if area.code in with_feature:
                    raise ValueError(f"{path}: duplicate area code {area.code}")
                with_feature[area.code] = area
    areas = dict(with_feature)
    for code in {p for c in with_feature for p in _ancestors(c)}:
        if code not in areas:
            areas[code] = Area(
                code, parent_names.get(code, code), level_of_code(code), parent_code(code), None
            )
    return sorted(areas.values(), key=lambda a: (LEVELS.index(a.level), a.code))


def _area_of_feature(path: Path, feature: dict[str, Any], parent_names: dict[str, str]) -> Area:
    """The feature's own Area; records its parents' names (first seen wins)."""
    props = feature.get("properties") or {}
    code = str(props["code"])
    level = level_of_code(code)
    declared = props.get("level")
    if declared is not None and _LEVEL_ALIASES.get(declared) != level:
        raise ValueError(f"{path}: {code} has level {declared!r}, its code says {level}")
    for ancestor in _ancestors(code):
        key_code, key_name = _PARENT_KEYS[level_of_code(ancestor)]
        if props.get(key_code) not in (None, ancestor):
            raise ValueError(f"{path}: {code} has {key_code} {props[key_code]!r}")
        name = props.get(key_name)
        if name and ancestor not in parent_names:
            parent_names[ancestor] = str(name)
    geometry = feature.get("geometry")
    return Area(
        code,
        str(props.get("name") or code),
        level,
        parent_code(code),
        shape(geometry) if geometry else None,
    )


def _ancestors(code: str) -> Iterator[str]:
    parent = parent_code(code)
    while parent is not None:
        yield parent
        parent = parent_code(parent)
